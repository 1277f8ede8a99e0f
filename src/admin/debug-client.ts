// Reads a running control plane's debug endpoints, for `pilotfish proxy-status` and
// `pilotfish proxy-config`. Every failure becomes one sentence an operator can act on. A server
// that is not on loopback answers /debug only to a caller RBAC allows (debug-access.ts), so the
// kubeconfig's credentials go along as a bearer token; a loopback one (port-forward) needs none,
// and gets none: a token is not handed to whatever listens on a port unless it must be.
import { isLoopbackAddress } from './debug-access.js';
import { PORT_CONTROL_HTTP } from '../model/ports.js';

export const DEFAULT_SERVER = `http://127.0.0.1:${PORT_CONTROL_HTTP}`;

export class DebugClientError extends Error {}

interface DebugClientOptions {
  /** The bearer token for a non-loopback server; default: the current kubeconfig user's. */
  readonly token?: () => Promise<string | undefined>;
  /** Whether a server host is this machine (tests play a remote server with it). */
  readonly isLocal?: (host: string) => boolean;
}

function isLocalHost(host: string): boolean {
  return host === 'localhost' || isLoopbackAddress(host.replace(/^\[|\]$/g, ''));
}

/** The Authorization the kubeconfig ($KUBECONFIG, ~/.kube/config, in-cluster) would send to its API server. */
async function kubeconfigToken(): Promise<string | undefined> {
  // Loaded here, not at the top: `pilotfish --help` and friends import this module.
  const { KubeConfig } = await import('@kubernetes/client-node');
  try {
    const kc = new KubeConfig();
    kc.loadFromDefault();
    const opts: { headers: Record<string, string | string[] | number | undefined> } = { headers: {} };
    await kc.applyToHTTPSOptions(opts);
    const auth = opts.headers.Authorization ?? opts.headers.authorization;
    const m = typeof auth === 'string' ? /^Bearer (\S+)$/.exec(auth) : null;
    return m?.[1];
  } catch {
    return undefined;
  }
}

/** GETs `path` (with query) from the admin server and parses the JSON answer. */
export async function getDebugJson<T>(server: string, path: string, query: Record<string, string> = {},
  options: DebugClientOptions = {}): Promise<T> {
  let url: URL;
  try {
    url = new URL(path, server.endsWith('/') ? server : `${server}/`);
  } catch {
    throw new DebugClientError(`--server "${server}" is not a URL (expected e.g. ${DEFAULT_SERVER})`);
  }
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
  const headers: Record<string, string> = {};
  if (!(options.isLocal ?? isLocalHost)(url.hostname)) {
    const token = await (options.token ?? kubeconfigToken)();
    if (token) headers.authorization = `Bearer ${token}`;
  }
  let res: Response;
  try {
    res = await fetch(url, { headers, signal: AbortSignal.timeout(15_000) });
  } catch (err) {
    const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : String(err);
    throw new DebugClientError(`cannot reach the pilotfish control plane at ${server}: ${cause} (is it running? point --server at its port ${PORT_CONTROL_HTTP})`);
  }
  const text = await res.text();
  // Fastify's own 404 (no such route) differs from an endpoint's "no such proxy".
  if (res.status === 404 && /Route GET:\S+ not found/.test(text)) {
    throw new DebugClientError(`${server} does not serve ${path}: debug endpoints are off (--no-debug-endpoints) or it is not pilotfish`);
  }
  if (res.status === 401 || res.status === 403) {
    const hint = headers.authorization ? 'the kubeconfig user needs a RoleBinding to pilotfish-debug-reader' : 'port-forward to it (loopback needs no token) or use a kubeconfig with a token';
    throw new DebugClientError(`${server}${path}: HTTP ${res.status}: ${text.trim()} (${hint})`);
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
