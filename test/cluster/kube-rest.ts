// A small REST client for the real API server, used by the cluster e2e suite to set up and observe
// the cluster. It is deliberately independent of @kubernetes/client-node, which pilotfish itself
// uses: a bug in one cannot hide behind the same bug in the other, and tests see the API server's
// status codes and messages exactly as it sends them.
import { request as httpsRequest, type RequestOptions } from 'node:https';
import type { IncomingMessage } from 'node:http';

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    resourceVersion?: string;
    uid?: string;
    generation?: number;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

export interface KubeStatus {
  kind?: string;
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: { causes?: Array<{ reason?: string; message?: string; field?: string }> };
}

/** A non-2xx answer, with the API server's own message. */
export class KubeApiError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly code: number,
    readonly status: KubeStatus,
  ) {
    super(`${method} ${path}: HTTP ${code}${status.reason ? ` ${status.reason}` : ''}: ${status.message ?? JSON.stringify(status)}`);
  }
}

export interface KubeTarget {
  /** https://127.0.0.1:PORT */
  readonly url: string;
  readonly caPem: string;
  readonly token: string;
}

export type PatchType = 'merge' | 'strategic' | 'json' | 'apply';

const PATCH_CONTENT_TYPES: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  json: 'application/json-patch+json',
  apply: 'application/apply-patch+yaml',
};

interface ApiResource {
  name: string;
  namespaced: boolean;
  kind: string;
}

export interface WatchEvent<T extends KubeObject> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

export class KubeRest {
  private readonly base: URL;
  /** apiVersion -> kind -> resource, from discovery; refreshed on a miss (CRDs add kinds). */
  private readonly discovery = new Map<string, Map<string, ApiResource>>();

  constructor(readonly target: KubeTarget, readonly fieldManager = 'pilotfish-e2e') {
    this.base = new URL(target.url);
  }

  private options(method: string, path: string, headers: Record<string, string>): RequestOptions {
    return {
      method,
      host: this.base.hostname,
      port: this.base.port,
      path,
      ca: this.target.caPem,
      headers: { Authorization: `Bearer ${this.target.token}`, Accept: 'application/json', ...headers },
    };
  }

  /** One request; resolves with the status code and parsed JSON body, whatever the code. */
  raw(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<{ code: number; body: unknown }> {
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const headers: Record<string, string> = payload === undefined ? {} : { 'Content-Type': contentType };
    return new Promise((resolve, reject) => {
      const req = httpsRequest(this.options(method, path, headers), (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = text === '' ? undefined : JSON.parse(text);
          } catch {
            // not JSON (e.g. /readyz answers text); keep the text
          }
          resolve({ code: res.statusCode ?? 0, body: parsed });
        });
      });
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** Like raw(), but a non-2xx answer throws a KubeApiError carrying the API server's Status. */
  async call<T = KubeObject>(method: string, path: string, body?: unknown, contentType?: string): Promise<T> {
    const { code, body: answer } = await this.raw(method, path, body, contentType);
    if (code < 200 || code > 299) {
      const status: KubeStatus = typeof answer === 'object' && answer !== null ? (answer as KubeStatus) : { message: String(answer) };
      throw new KubeApiError(method, path, code, status);
    }
    return answer as T;
  }

  get<T extends KubeObject = KubeObject>(path: string): Promise<T> {
    return this.call<T>('GET', path);
  }

  /** The object, or undefined when the server answers 404. */
  async tryGet<T extends KubeObject = KubeObject>(path: string): Promise<T | undefined> {
    try {
      return await this.get<T>(path);
    } catch (err) {
      if (err instanceof KubeApiError && err.code === 404) return undefined;
      throw err;
    }
  }

  list<T extends KubeObject = KubeObject>(path: string): Promise<{ metadata: { resourceVersion: string }; items: T[] }> {
    return this.call('GET', path);
  }

  patch<T extends KubeObject = KubeObject>(path: string, body: unknown, type: PatchType): Promise<T> {
    // Strict, as kubectl sends it: an unknown or duplicated field is an error, not a silent prune.
    const query = `?fieldValidation=Strict${type === 'apply' ? `&fieldManager=${this.fieldManager}&force=true` : ''}`;
    return this.call<T>('PATCH', `${path}${query}`, body, PATCH_CONTENT_TYPES[type]);
  }

  delete(path: string): Promise<KubeObject> {
    return this.call('DELETE', path);
  }

  // ---- objects addressed by apiVersion/kind, resolved through discovery as kubectl does ----

  private async resource(apiVersion: string, kind: string): Promise<ApiResource> {
    const known = this.discovery.get(apiVersion)?.get(kind);
    if (known) return known;
    const path = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    const { code, body } = await this.raw('GET', path);
    if (code === 200) {
      const kinds = new Map<string, ApiResource>();
      for (const r of (body as { resources: ApiResource[] }).resources) {
        if (!r.name.includes('/')) kinds.set(r.kind, r); // skip subresources such as pods/status
      }
      this.discovery.set(apiVersion, kinds);
      const found = kinds.get(kind);
      if (found) return found;
    }
    throw new Error(`the API server does not serve ${kind} in ${apiVersion} (GET ${path}: HTTP ${code})`);
  }

  /** The REST path of an object (with a name) or of its collection (without). */
  async pathOf(obj: KubeObject, defaultNamespace = 'default'): Promise<string> {
    if (!obj.apiVersion || !obj.kind) throw new Error(`object without apiVersion/kind: ${JSON.stringify(obj).slice(0, 200)}`);
    const r = await this.resource(obj.apiVersion, obj.kind);
    const prefix = obj.apiVersion.includes('/') ? `/apis/${obj.apiVersion}` : `/api/${obj.apiVersion}`;
    const ns = r.namespaced ? `/namespaces/${obj.metadata?.namespace ?? defaultNamespace}` : '';
    const name = obj.metadata?.name ? `/${obj.metadata.name}` : '';
    return `${prefix}${ns}/${r.name}${name}`;
  }

  /** POST to the object's collection, with strict field validation as kubectl does. */
  async create<T extends KubeObject>(obj: T): Promise<T> {
    const collection = await this.pathOf({ ...obj, metadata: { ...obj.metadata, name: undefined } });
    return this.call<T>('POST', `${collection}?fieldValidation=Strict`, obj);
  }

  /** Server-side apply (create or update), as `kubectl apply --server-side --force-conflicts`. */
  async apply<T extends KubeObject>(obj: T, defaultNamespace = 'default'): Promise<T> {
    return this.patch<T>(await this.pathOf(obj, defaultNamespace), obj, 'apply');
  }

  // ---- waiting on the server's own notifications ----

  /**
   * Resolves with the first object in the collection for which `done` holds: checks the current
   * list, then follows a watch from the list's resourceVersion. The watch is the API server's push
   * notification, so nothing here polls. `done` may throw to abort the wait with that error.
   * `timeoutMs` only turns a hang into a failure that names `what`; it asserts nothing about speed.
   */
  async waitFor<T extends KubeObject>(
    collectionPath: string,
    done: (obj: T, type: WatchEvent<T>['type']) => boolean,
    what: string,
    timeoutMs = 90_000,
  ): Promise<T> {
    const abort = new AbortController();
    let lastSeen: T | undefined;
    const seen = (obj: T, type: WatchEvent<T>['type']): boolean => {
      lastSeen = obj;
      return done(obj, type);
    };
    const timer = setTimeout(() => abort.abort(), timeoutMs);
    try {
      for (;;) {
        const list = await this.list<T>(collectionPath);
        const now = list.items.find((o) => seen(o, 'ADDED'));
        if (now) return now;
        let resourceVersion = list.metadata.resourceVersion;
        for (;;) {
          const outcome = await this.watchOnce<T>(collectionPath, resourceVersion, seen, abort.signal);
          if (outcome.kind === 'found') return outcome.object;
          if (outcome.kind === 'expired') break; // relist
          resourceVersion = outcome.resourceVersion; // the server closed the watch; resume it
        }
      }
    } catch (err) {
      if (abort.signal.aborted) {
        const last = lastSeen ? `; last object seen: ${JSON.stringify(lastSeen).slice(0, 2000)}` : '; no object seen';
        throw new Error(`gave up after ${timeoutMs / 1000} s waiting for ${what} (${collectionPath})${last}`);
      }
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  private watchOnce<T extends KubeObject>(
    collectionPath: string,
    resourceVersion: string,
    done: (obj: T, type: WatchEvent<T>['type']) => boolean,
    signal: AbortSignal,
  ): Promise<{ kind: 'found'; object: T } | { kind: 'expired' } | { kind: 'ended'; resourceVersion: string }> {
    const sep = collectionPath.includes('?') ? '&' : '?';
    const path = `${collectionPath}${sep}watch=true&allowWatchBookmarks=true&resourceVersion=${resourceVersion}`;
    return new Promise((resolve, reject) => {
      let last = resourceVersion;
      let settled = false;
      const req = httpsRequest({ ...this.options('GET', path, {}), signal }, (res: IncomingMessage) => {
        if (res.statusCode === 410) {
          res.resume();
          resolve({ kind: 'expired' });
          return;
        }
        if (res.statusCode !== 200) {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => reject(new Error(`watch ${path}: HTTP ${res.statusCode}: ${Buffer.concat(chunks).toString('utf8')}`)));
          return;
        }
        let buffered = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (settled) return;
          buffered += chunk;
          let nl: number;
          while (!settled && (nl = buffered.indexOf('\n')) >= 0) {
            const line = buffered.slice(0, nl);
            buffered = buffered.slice(nl + 1);
            if (line.trim() === '') continue;
            const event = JSON.parse(line) as WatchEvent<T>;
            if (event.type === 'ERROR') {
              settled = true;
              req.destroy();
              const status = event.object as KubeStatus;
              if (status.code === 410) resolve({ kind: 'expired' });
              else reject(new Error(`watch ${path}: ${status.message ?? JSON.stringify(status)}`));
              return;
            }
            last = event.object.metadata?.resourceVersion ?? last;
            if (event.type === 'BOOKMARK') continue;
            let matched: boolean;
            try {
              matched = done(event.object, event.type);
            } catch (err) {
              settled = true;
              req.destroy();
              reject(err);
              return;
            }
            if (matched) {
              settled = true;
              req.destroy();
              resolve({ kind: 'found', object: event.object });
            }
          }
        });
        res.on('end', () => {
          if (!settled) {
            settled = true;
            resolve({ kind: 'ended', resourceVersion: last });
          }
        });
        res.on('error', (err) => {
          if (!settled) {
            settled = true;
            reject(err);
          }
        });
      });
      req.on('error', (err) => {
        if (!settled) {
          settled = true;
          reject(err);
        }
      });
      req.end();
    });
  }
}
