// `pilotfish proxy-status`: which proxies are connected to the control plane's replicas and, per
// xDS type, whether each has ACKed the newest configuration it was sent.
import { DebugClientError, DEFAULT_SERVER, formatTable } from '../admin/debug-client.js';
import type { ProxySync } from '../admin/syncz.js';
import { parseCommandLine, type ParsedLine } from './command-line.js';
import { proxyStatusCommand } from './commands.js';
import { proxiesOfAll, replicasOf, resolveProxy, type Replica, type ReplicaProxy } from './control-planes.js';

const COLUMNS = ['CDS', 'LDS', 'RDS', 'EDS'] as const;

/** One row per proxy; with more than one replica asked, the replica each proxy is connected to. */
function proxyStatusTable(proxies: readonly ReplicaProxy[], replicas: number): string {
  const rows = proxies.map(({ replica, proxy: p }) => [
    p.id,
    p.kind,
    ...(replicas > 1 ? [replica.name] : []),
    ...COLUMNS.map((t) => p.types[t]?.state ?? 'NOT SENT'),
    p.lastNack ? `${p.lastNack.type}: ${p.lastNack.message.replace(/\s+/g, ' ')}` : '',
  ]);
  return formatTable(['NAME', 'KIND', ...(replicas > 1 ? ['CONTROL PLANE'] : []), ...COLUMNS, 'LAST NACK'], rows);
}

/** `pilotfish proxy-status` from its arguments. */
export async function runProxyStatus(argv: readonly string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  return proxyStatus(parseCommandLine(proxyStatusCommand, argv), out, err);
}

export async function proxyStatus({ values, positionals }: ParsedLine<typeof proxyStatusCommand.flags>, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const format = values.output!;
  let servers: Replica[];
  try {
    servers = await replicasOf(values, DEFAULT_SERVER, 'proxy-status');
  } catch (e) {
    if (!(e instanceof DebugClientError)) throw e;
    err.write(`pilotfish proxy-status: ${e.message}\n`);
    return 1;
  }
  const { proxies: all, failures } = await proxiesOfAll(servers);
  for (const f of failures) err.write(`pilotfish proxy-status: ${f}\n`);
  if (failures.length === servers.length) return 1;
  const name = positionals[0];
  const proxies = name === undefined ? all : resolveProxy(name, all);
  if (format === 'json') {
    const list: Array<ProxySync & { controlPlane?: string }> = proxies.map((r) => (servers.length > 1 ? { ...r.proxy, controlPlane: r.replica.name } : r.proxy));
    out.write(`${JSON.stringify(list, null, 2)}\n`);
  } else if (name !== undefined && proxies.length === 0) {
    err.write(`pilotfish proxy-status: proxy "${name}" has no open xDS stream (name a node id, or a Pod as name.namespace)\n`);
    return 1;
  } else {
    out.write(proxyStatusTable(proxies, servers.length));
  }
  return failures.length > 0 ? 1 : 0;
}
