// `pilotfish config-dump`: what a given proxy would receive from a config directory, as JSON or
// YAML, with every problem of the files (why an object is not applied, what gRPC clients ignore).
// Exits 3 when a file has errors or a routing object is not applied, so it can gate CI.
import { stringify as toYaml } from 'yaml';
import { silentLogger } from '../logging.js';
import { META_KIND, META_LABELS, META_NAMESPACE, META_POD_NAME } from '../xds/node-info.js';
import { proxyIdentityFromNode } from '../xds/cache/proxy-identity.js';
import { generateAll } from '../xds/generate/index.js';
import { shortTypeName } from '../xds/types.js';
import type { ParsedLine } from './command-line.js';
import type { configDumpCommand } from './commands.js';
import { configFindings, formatFinding } from './config-findings.js';
import { loadConfig } from './config-load.js';
import { defaultScopeFlag, outboundPolicyFlag, parseLabels, requireFlag } from './flags.js';
import { EXIT } from './exit-codes.js';

export async function configDump({ values }: ParsedLine<typeof configDumpCommand.flags>, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const dir = requireFlag(values['config-dir'], 'config-dir', 'config-dump');
  const nodeId = requireFlag(values['node-id'], 'node-id', 'config-dump');
  const outboundTrafficPolicy = outboundPolicyFlag(values['outbound-traffic-policy']);
  const defaultScope = defaultScopeFlag(values['default-scope']);
  const labels = parseLabels(values.labels, 'config-dump');
  const loaded = await loadConfig(dir, silentLogger());

  const metadata: Record<string, unknown> = {};
  if (values.namespace) metadata[META_NAMESPACE] = values.namespace;
  if (values.kind) metadata[META_KIND] = values.kind;
  if (values['pod-name']) metadata[META_POD_NAME] = values['pod-name'];
  if (Object.keys(labels).length > 0) metadata[META_LABELS] = labels;
  const proxy = proxyIdentityFromNode({ id: nodeId, metadata });
  const resources: Record<string, unknown[]> = {};
  for (const [typeUrl, set] of generateAll(loaded.snapshot, proxy, { outboundTrafficPolicy, defaultScope })) {
    resources[shortTypeName(typeUrl)] = [...set.values()];
  }
  const { access } = loaded.snapshot;
  const dump = {
    proxy, configErrors: loaded.configErrors, warnings: loaded.warnings, routing: loaded.snapshot.routing.statuses,
    // Only with AccessPolicies: the dump of a mesh without them stays as it was.
    ...(access.statuses.length > 0 ? { access: access.statuses } : {}),
    resources,
  };
  out.write(values.output === 'yaml' ? toYaml(dump, { aliasDuplicateObjects: false }) : `${JSON.stringify(dump, null, 2)}\n`);

  // Errors and warnings go to stderr, one line each, so stdout stays a clean document (what proxyless
  // clients ignore is in each object's status above). Only errors fail: a file or a routing object
  // that is not applied.
  const findings = configFindings(loaded).filter((f) => f.severity !== 'Info');
  for (const f of findings) err.write(`${formatFinding(f)}\n`);
  return findings.some((f) => f.severity === 'Error') ? EXIT.configProblems : EXIT.ok;
}
