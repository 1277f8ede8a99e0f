// HOST:PORT as the command line and the servers take it.

/** Splits `HOST:PORT` (IPv6 hosts in brackets); an empty host is every interface. */
export function splitHostPort(addr: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(addr);
  if (!m) throw new Error(`invalid address "${addr}": expected HOST:PORT`);
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`invalid address "${addr}": port ${port} is out of range`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}
