// `pilotfish config-dump`: what a given proxy would receive from a config directory, as JSON,
// with the status of every routing object (why one is not applied, what gRPC clients ignore).
import { ConfigDirSource } from '../sources/config-dir/directory-source.js';
import { SnapshotStore } from '../store/snapshot-store.js';
import { createLogger } from '../logging.js';
import { META_KIND, META_LABELS, META_NAMESPACE, META_POD_NAME } from '../xds/node-info.js';
import { proxyIdentityFromNode } from '../xds/cache/proxy-identity.js';
import { generateAll } from '../xds/generate/index.js';
import { shortTypeName } from '../xds/types.js';
import { outboundPolicyFlag, parseFlags, requireFlag, UsageError } from './flags.js';

/** `app=web,version=v1` -> labels. */
export function parseLabels(text: string | undefined, command: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!text) return out;
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new UsageError(`pilotfish ${command}: --labels must look like "app=web,version=v1" (got "${part}")`);
    out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}

export async function runConfigDump(argv: string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const { values } = parseFlags(argv, {
    'config-dir': { type: 'string' },
    'node-id': { type: 'string' },
    namespace: { type: 'string' },
    kind: { type: 'string' },
    labels: { type: 'string' },
    'pod-name': { type: 'string' },
    'outbound-traffic-policy': { type: 'string', default: 'ALLOW_ANY' },
  }, 'config-dump');
  const dir = requireFlag(values['config-dir'], 'config-dir', 'config-dump');
  const nodeId = requireFlag(values['node-id'], 'node-id', 'config-dump');
  const outboundTrafficPolicy = outboundPolicyFlag(values['outbound-traffic-policy']);
  if (values.kind !== undefined && values.kind !== 'grpc' && values.kind !== 'sidecar') {
    throw new UsageError(`pilotfish config-dump: --kind must be grpc or sidecar (got "${values.kind}")`);
  }
  const labels = parseLabels(values.labels, 'config-dump');
  // Problems with the files go to stderr as log lines; stdout stays pure JSON.
  const logger = createLogger('warn', err);
  const source = new ConfigDirSource(dir, logger, { watch: false });
  const store = new SnapshotStore({ logger, quietMs: 0 });
  const snapshot = await store.start([source]);
  await store.stop();

  const metadata: Record<string, unknown> = {};
  if (values.namespace) metadata[META_NAMESPACE] = values.namespace;
  if (values.kind) metadata[META_KIND] = values.kind;
  if (values['pod-name']) metadata[META_POD_NAME] = values['pod-name'];
  if (Object.keys(labels).length > 0) metadata[META_LABELS] = labels;
  const proxy = proxyIdentityFromNode({ id: nodeId, metadata });
  const resources: Record<string, unknown[]> = {};
  for (const [typeUrl, set] of generateAll(snapshot, proxy, { outboundTrafficPolicy })) {
    resources[shortTypeName(typeUrl)] = [...set.values()];
  }
  const dump = { proxy, configErrors: source.errors(), routing: snapshot.routing.statuses, resources };
  out.write(`${JSON.stringify(dump, null, 2)}\n`);
  return 0;
}
