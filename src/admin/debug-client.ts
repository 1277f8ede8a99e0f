// Reads a running control plane's debug endpoints, for `pilotfish proxy-status` and
// `pilotfish proxy-config`. Every failure becomes one sentence an operator can act on.

export const DEFAULT_SERVER = 'http://127.0.0.1:15014';

export class DebugClientError extends Error {}

/** GETs `path` (with query) from the admin server and parses the JSON answer. */
export async function getDebugJson<T>(server: string, path: string, query: Record<string, string> = {}): Promise<T> {
  let url: URL;
  try {
    url = new URL(path, server.endsWith('/') ? server : `${server}/`);
  } catch {
    throw new DebugClientError(`--server "${server}" is not a URL (expected e.g. ${DEFAULT_SERVER})`);
  }
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(15_000) });
  } catch (err) {
    const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : String(err);
    throw new DebugClientError(`cannot reach the pilotfish control plane at ${server}: ${cause} (is it running? point --server at its port 15014)`);
  }
  const text = await res.text();
  // Fastify's own 404 (no such route) differs from an endpoint's "no such proxy".
  if (res.status === 404 && /Route GET:\S+ not found/.test(text)) {
    throw new DebugClientError(`${server} does not serve ${path}: debug endpoints are off (--no-debug-endpoints) or it is not pilotfish`);
  }
  if (!res.ok) throw new DebugClientError(`${server}${path}: HTTP ${res.status}: ${text.trim()}`);
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new DebugClientError(`${server}${path} did not answer JSON: ${text.slice(0, 200)}`);
  }
}

/** Fixed-width columns, two spaces apart; the last column is not padded. */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}
