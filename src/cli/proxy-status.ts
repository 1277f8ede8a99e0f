// `pilotfish proxy-status`: which proxies are connected to a running control plane and, per
// xDS type, whether each has ACKed the newest configuration it was sent.
import { DebugClientError, formatTable, getDebugJson } from '../admin/debug-client.js';
import type { ProxySync } from '../admin/syncz.js';
import { parseCommandLine, type ParsedLine } from './command-line.js';
import { proxyStatusCommand } from './commands.js';

const COLUMNS = ['CDS', 'LDS', 'RDS', 'EDS'] as const;

export function proxyStatusTable(proxies: readonly ProxySync[]): string {
  const rows = proxies.map((p) => [
    p.id,
    p.kind,
    ...COLUMNS.map((t) => p.types[t]?.state ?? 'NOT SENT'),
    p.lastNack ? `${p.lastNack.type}: ${p.lastNack.message.replace(/\s+/g, ' ')}` : '',
  ]);
  return formatTable(['NAME', 'KIND', ...COLUMNS, 'LAST NACK'], rows);
}

/** `pilotfish proxy-status` from its arguments. */
export async function runProxyStatus(argv: readonly string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  return proxyStatus(parseCommandLine(proxyStatusCommand, argv), out, err);
}

export async function proxyStatus({ values, positionals }: ParsedLine<typeof proxyStatusCommand.flags>, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const format = values.output!;
  const query: Record<string, string> = positionals[0] ? { proxy: positionals[0] } : {};
  let proxies: ProxySync[];
  try {
    proxies = await getDebugJson<ProxySync[]>(values.server!, '/debug/syncz', query);
  } catch (e) {
    if (!(e instanceof DebugClientError)) throw e;
    err.write(`pilotfish proxy-status: ${e.message}\n`);
    return 1;
  }
  if (format === 'json') {
    out.write(`${JSON.stringify(proxies, null, 2)}\n`);
    return 0;
  }
  if (positionals[0] && proxies.length === 0) {
    err.write(`pilotfish proxy-status: proxy "${positionals[0]}" has no open xDS stream\n`);
    return 1;
  }
  out.write(proxyStatusTable(proxies));
  return 0;
}
