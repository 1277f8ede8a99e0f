// `pilotfish config-dump`: what a given proxy would receive from a config directory, as JSON.
import { ConfigDirSource } from '../controller/config-dir.js';
import { SnapshotStore } from '../controller/store.js';
import { createLogger } from '../logging.js';
import { META_KIND, META_NAMESPACE, proxyIdentityFromNode } from '../model/proxy.js';
import { generateAll } from '../xds/generate/index.js';
import { shortTypeName } from '../xds/types.js';
import { parseFlags, requireFlag } from './flags.js';

export async function runConfigDump(argv: string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const { values } = parseFlags(argv, {
    'config-dir': { type: 'string' },
    'node-id': { type: 'string' },
    namespace: { type: 'string' },
    kind: { type: 'string' },
  }, 'config-dump');
  const dir = requireFlag(values['config-dir'], 'config-dir', 'config-dump');
  const nodeId = requireFlag(values['node-id'], 'node-id', 'config-dump');
  // Problems with the files go to stderr as log lines; stdout stays pure JSON.
  const logger = createLogger('warn', err);
  const source = new ConfigDirSource(dir, logger, { watch: false });
  const store = new SnapshotStore({ logger, quietMs: 0 });
  const snapshot = await store.start([source]);
  await store.stop();

  const metadata: Record<string, string> = {};
  if (values.namespace) metadata[META_NAMESPACE] = values.namespace;
  if (values.kind) metadata[META_KIND] = values.kind;
  const proxy = proxyIdentityFromNode({ id: nodeId, metadata });
  const resources: Record<string, unknown[]> = {};
  for (const [typeUrl, set] of generateAll(snapshot, proxy)) {
    resources[shortTypeName(typeUrl)] = [...set.values()];
  }
  const dump = { proxy, configErrors: source.errors(), resources };
  out.write(`${JSON.stringify(dump, null, 2)}\n`);
  return 0;
}
