// A small JSON client for the few plain requests the controller makes itself (paged lists, status
// patches, Lease reads and writes). It reuses client-node's KubeConfig for everything that makes
// a request authentic (server, CA, client certs, tokens, exec plugins, proxies), but not its
// generated API classes, because those
//  - have no timeout at all (a hung list or Lease renewal would block forever), and
//  - turn list items into model classes (Dates instead of strings) while watch events stay raw
//    JSON, so one informer cache would hold two shapes of the same object.
import http from 'node:http';
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

/** An error answer of the API server, with the Status it carried. */
export class KubeApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'KubeApiError';
  }
}

/** The HTTP status of an error from this client, client-node's Watch, or its generated APIs. */
export function errorCode(err: unknown): number | undefined {
  if (err instanceof KubeApiError) return err.code;
  const e = err as { statusCode?: unknown; code?: unknown } | null;
  if (typeof e?.statusCode === 'number') return e.statusCode;
  return typeof e?.code === 'number' ? e.code : undefined;
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

interface RequestOptions {
  readonly query?: Readonly<Record<string, string | number | boolean | undefined>>;
  readonly body?: unknown;
  /** Default application/json; patches name their type (application/merge-patch+json, ...). */
  readonly contentType?: string;
  /** The whole request, headers and body included; default the client's. */
  readonly timeoutMs?: number;
  /** Extra request headers (the client's own authentication stays as the kubeconfig says). */
  readonly headers?: Readonly<Record<string, string>>;
}

export const MERGE_PATCH = 'application/merge-patch+json';

export class KubeRest {
  constructor(private readonly kc: KubeConfig, private readonly defaultTimeoutMs = 30_000) {}

  /** The kubeconfig user's bearer token, when it authenticates with one (not with a client certificate). */
  async bearerToken(): Promise<string | undefined> {
    const options: https.RequestOptions = {};
    await this.kc.applyToHTTPSOptions(options);
    const given = options.headers;
    const auth = given && !Array.isArray(given) ? (given as http.OutgoingHttpHeaders).Authorization ?? (given as http.OutgoingHttpHeaders).authorization : undefined;
    const m = typeof auth === 'string' ? /^Bearer (\S+)$/.exec(auth) : null;
    return m?.[1];
  }

  /** The API server URL, for messages. */
  get server(): string {
    return this.kc.getCurrentCluster()?.server ?? '(no cluster)';
  }

  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const cluster = this.kc.getCurrentCluster();
    if (!cluster) throw new Error('the kubeconfig has no current cluster');
    const url = new URL(cluster.server.replace(/\/+$/, '') + path);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const options: https.RequestOptions = {};
    await this.kc.applyToHTTPSOptions(options);
    const given = options.headers;
    const headers: http.OutgoingHttpHeaders = { ...opts.headers, ...(given && !Array.isArray(given) ? given as http.OutgoingHttpHeaders : {}), accept: 'application/json' };
    let payload: Buffer | undefined;
    if (opts.body !== undefined) {
      payload = Buffer.from(JSON.stringify(opts.body));
      headers['content-type'] = opts.contentType ?? 'application/json';
      headers['content-length'] = payload.length;
    }
    const timeoutMs = opts.timeoutMs ?? this.defaultTimeoutMs;
    const what = `${method} ${url.pathname}`;
    const send = url.protocol === 'https:' ? https.request : http.request;
    return new Promise<T>((resolve, reject) => {
      const req = send(url, { method, headers, agent: options.agent, auth: options.auth }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err) => finish(err));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) {
            try {
              finish(undefined, text === '' ? undefined : JSON.parse(text));
            } catch (err) {
              finish(new Error(`${what}: the API server answered with invalid JSON: ${errorText(err)}`));
            }
            return;
          }
          finish(statusError(what, status, text, res.headers['retry-after']));
        });
      });
      let done = false;
      const finish = (err: Error | undefined, value?: unknown): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(value as T);
      };
      const timer = setTimeout(() => {
        const err = new Error(`${what}: no answer from ${cluster.server} within ${timeoutMs} ms`);
        finish(err);
        req.destroy(err);
      }, timeoutMs);
      req.on('error', (err) => finish(new Error(`${what}: ${err.message}`)));
      req.end(payload);
    });
  }
}

function statusError(what: string, code: number, body: string, retryAfter: string | string[] | undefined): KubeApiError {
  let reason = '';
  let message = body.trim().slice(0, 500);
  let retry: number | undefined = typeof retryAfter === 'string' && /^\d+$/.test(retryAfter) ? Number(retryAfter) : undefined;
  try {
    const status = JSON.parse(body) as { reason?: unknown; message?: unknown; details?: { retryAfterSeconds?: unknown } };
    if (typeof status.reason === 'string') reason = status.reason;
    if (typeof status.message === 'string') message = status.message;
    if (typeof status.details?.retryAfterSeconds === 'number') retry = status.details.retryAfterSeconds;
  } catch {
    // Not a Status (a proxy in the way, say): the raw text is the best explanation there is.
  }
  return new KubeApiError(code, reason, `${what}: ${code}${reason ? ` ${reason}` : ''}: ${message || 'no details'}`, retry);
}
