// An HTTP fake of the Kubernetes API server for tests (see test/support/README.md): the unmodified
// @kubernetes/client-node talks to it over a real socket, with list/watch, resourceVersions,
// optimistic concurrency, status subresources, and faults (410 Gone, dropped and stalled watches,
// injected error codes) that a controller must survive.
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { KubeConfig } from '@kubernetes/client-node';
import { handleRequest, type HandlerContext } from './fake-kube-api/handler.js';
import { applyJsonPatch, applyMergePatch, applyStrategicMergePatch } from './fake-kube-api/patch.js';
import {
  type Fault, type FaultSpec, FaultTable, type RequestMatcher, type RequestRecord, RequestLog,
} from './fake-kube-api/requests.js';
import {
  BUILTIN_TYPES, ResourceRegistry, resourceType, type ResourceTypeInit, ROUTING_TYPES,
} from './fake-kube-api/resources.js';
import { parseLabelSelector } from './fake-kube-api/selectors.js';
import { ApiError } from './fake-kube-api/status.js';
import { ObjectStore } from './fake-kube-api/store.js';
import { selfSignedCertificate, type TlsMaterial } from './fake-kube-api/tls.js';
import { type AccessRule, AccessRules } from './fake-kube-api/subject-access-review.js';
import { type FakeToken, TokenRegistry } from './fake-kube-api/token-review.js';
import type { KubeObject, ResourceType, StoredObject } from './fake-kube-api/types.js';
import { type WatchConnection, WatchHub, type WatchInfo, type WatchMatcher } from './fake-kube-api/watch.js';
import { loadKubeConfig, writeKubeconfig } from './kubeconfig.js';

export type { Fault, FaultSpec, RequestMatcher, RequestRecord } from './fake-kube-api/requests.js';
export type { KubeObject, ResourceType, StoredObject, StatusObject } from './fake-kube-api/types.js';
export type { WatchInfo, WatchMatcher } from './fake-kube-api/watch.js';
export type { ResourceTypeInit } from './fake-kube-api/resources.js';
export type { FakeToken } from './fake-kube-api/token-review.js';
export type { AccessRule } from './fake-kube-api/subject-access-review.js';
export { DEFAULT_API_AUDIENCES } from './fake-kube-api/token-review.js';
export { ApiError } from './fake-kube-api/status.js';

export interface FakeKubeApiOptions {
  /** Serve HTTPS: true for a fresh self-signed certificate (needs the openssl CLI), or your own key/cert. */
  https?: boolean | TlsMaterial;
  /** What /version reports; default v1.33.0. */
  gitVersion?: string;
  /** Namespaces that exist from the start; default those of a fresh cluster. */
  namespaces?: readonly string[];
  /** Custom resource types served from the start; default pilotfish's TrafficRoute and TrafficPolicy. */
  customResources?: readonly ResourceTypeInit[];
  /** Reject namespaced objects in a namespace that does not exist (404), as the real server does; default true. */
  enforceNamespaces?: boolean;
  /** Changes kept for resuming watches; older resourceVersions get 410 Expired. Default 10000. */
  historyLimit?: number;
  /** Period of BOOKMARK events to watches that allow them; default 60000 (0 = only on sendBookmarks()). */
  bookmarkIntervalMs?: number;
  /** Server-side end of watches that ask for no timeoutSeconds; default: never. */
  watchTimeoutSeconds?: number;
  /** When set, every request must carry this bearer token (the kubeconfig includes it). */
  token?: string;
  /** First resourceVersion is this + 1; default 1000. */
  startResourceVersion?: number;
  /** Audiences a TokenReview without spec.audiences checks against; default DEFAULT_API_AUDIENCES. */
  apiAudiences?: readonly string[];
}

/** Identifies one object for the in-process helpers. */
export interface ObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
}

export interface ListQuery {
  apiVersion: string;
  kind: string;
  namespace?: string;
  labelSelector?: string;
}

export type PatchType = 'merge' | 'strategic' | 'json';

export interface WaitOptions {
  /** Fails with a description of what was seen instead of hanging; default 30000. */
  timeoutMs?: number;
}

export const DEFAULT_NAMESPACES: readonly string[] = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

function versionInfo(gitVersion: string): Record<string, string> {
  const m = /^v(\d+)\.(\d+)/.exec(gitVersion);
  return {
    major: m ? m[1] : '1', minor: m ? m[2] : '0', gitVersion,
    gitCommit: '0000000000000000000000000000000000000000', gitTreeState: 'clean',
    buildDate: '2025-01-01T00:00:00Z', goVersion: 'go1.24.0', compiler: 'gc', platform: 'linux/amd64',
  };
}

export class FakeKubeApi {
  readonly registry: ResourceRegistry;
  private readonly store: ObjectStore;
  private readonly faults = new FaultTable();
  private readonly log = new RequestLog();
  private readonly hub: WatchHub;
  private readonly tokens: TokenRegistry;
  private readonly access = new AccessRules();
  private readonly server: Server;
  private bookmarkTimer: NodeJS.Timeout | undefined;
  private address = '';
  /** Set after start: http(s)://127.0.0.1:PORT */
  url = '';

  /** Use startFakeKubeApi(). */
  constructor(private readonly options: FakeKubeApiOptions, private readonly tls: TlsMaterial | undefined) {
    const custom = (options.customResources ?? ROUTING_TYPES).map((init) => resourceType({ custom: true, ...init }));
    this.registry = new ResourceRegistry([...BUILTIN_TYPES, ...custom]);
    this.store = new ObjectStore(this.registry, {
      startResourceVersion: options.startResourceVersion ?? 1000,
      historyLimit: options.historyLimit ?? 10000,
      enforceNamespaces: options.enforceNamespaces ?? true,
    });
    this.hub = new WatchHub(this.store);
    this.tokens = new TokenRegistry(options.apiAudiences);
    for (const name of options.namespaces ?? DEFAULT_NAMESPACES) {
      this.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    }
    const ctx: HandlerContext = {
      registry: this.registry, store: this.store, faults: this.faults, log: this.log, hub: this.hub,
      versionInfo: versionInfo(options.gitVersion ?? 'v1.33.0'), serverAddress: () => this.address,
      token: options.token, watchTimeoutSeconds: options.watchTimeoutSeconds, tokens: this.tokens,
      access: this.access,
    };
    const handler = (req: IncomingMessage, res: ServerResponse): void => { void handleRequest(ctx, req, res); };
    this.server = tls ? createHttpsServer({ key: tls.key, cert: tls.cert }, handler) : createHttpServer(handler);
  }

  /** @internal */
  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = this.server.address() as AddressInfo;
    this.address = `127.0.0.1:${port}`;
    this.url = `${this.tls ? 'https' : 'http'}://${this.address}`;
    const interval = this.options.bookmarkIntervalMs ?? 60_000;
    if (interval > 0) {
      this.bookmarkTimer = setInterval(() => this.sendBookmarks(), interval);
      this.bookmarkTimer.unref();
    }
  }

  /** PEM of the certificate clients should trust (HTTPS only). */
  get caPem(): string | undefined {
    return this.tls?.cert;
  }

  async close(): Promise<void> {
    if (this.bookmarkTimer) clearInterval(this.bookmarkTimer);
    for (const conn of this.hub.find()) conn.end();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  /** Writes a kubeconfig for this server into `dir` and returns its path. */
  writeKubeconfig(dir: string, fileName?: string): Promise<string> {
    return writeKubeconfig(dir, { url: this.url, caPem: this.caPem, token: this.options.token }, fileName);
  }

  /** A client-node KubeConfig for this server, for in-process clients. */
  kubeConfig(): KubeConfig {
    return loadKubeConfig({ url: this.url, caPem: this.caPem, token: this.options.token });
  }

  // ---- in-process access (bypasses HTTP and faults; watches see the changes) ----

  private typeOf(apiVersion: string, kind: string): ResourceType {
    const rt = this.registry.byApiVersionKind(apiVersion, kind);
    if (!rt) throw new Error(`fake-kube-api: no resource type serves ${kind} in ${apiVersion}`);
    return rt;
  }

  /** Creates as the server would (defaults, uid, resourceVersion) but keeps any status given. */
  create<T extends KubeObject>(obj: T): T & StoredObject {
    const rt = this.typeOf(obj.apiVersion, obj.kind);
    return this.store.create(rt, obj.metadata?.namespace, obj, { fromClient: false }) as T & StoredObject;
  }

  /** Replaces the whole object, status included; a resourceVersion, if given, must be current. */
  update<T extends KubeObject>(obj: T): T & StoredObject {
    const rt = this.typeOf(obj.apiVersion, obj.kind);
    return this.store.update(rt, obj.metadata?.namespace, obj.metadata?.name ?? '', obj,
      { fromClient: false, verb: 'update' }) as T & StoredObject;
  }

  /** Creates the object, or replaces it unconditionally when it exists. */
  apply<T extends KubeObject>(obj: T): T & StoredObject {
    const existing = this.tryGet({ apiVersion: obj.apiVersion, kind: obj.kind, name: obj.metadata?.name ?? '',
      namespace: obj.metadata?.namespace });
    if (!existing) return this.create(obj);
    return this.update({ ...obj, metadata: { ...obj.metadata, resourceVersion: undefined } });
  }

  patch(ref: ObjectRef, patch: unknown, type: PatchType = 'merge'): StoredObject {
    const rt = this.typeOf(ref.apiVersion, ref.kind);
    const current = this.store.get(rt, ref.namespace, ref.name);
    const patched = type === 'json' ? applyJsonPatch(current, patch)
      : type === 'strategic' ? applyStrategicMergePatch(current, patch) : applyMergePatch(current, patch);
    return this.store.update(rt, ref.namespace, ref.name, patched as KubeObject, { fromClient: false, verb: 'patch' });
  }

  delete(ref: ObjectRef): StoredObject {
    const rt = this.typeOf(ref.apiVersion, ref.kind);
    return this.store.delete(rt, ref.namespace, ref.name, undefined, { fromClient: false });
  }

  /** Throws ApiError 404 when absent. */
  get<T extends KubeObject = StoredObject>(ref: ObjectRef): T & StoredObject {
    return this.store.get(this.typeOf(ref.apiVersion, ref.kind), ref.namespace, ref.name) as T & StoredObject;
  }

  tryGet<T extends KubeObject = StoredObject>(ref: ObjectRef): (T & StoredObject) | undefined {
    try {
      return this.get<T>(ref);
    } catch (err) {
      if (err instanceof ApiError && err.code === 404) return undefined;
      throw err;
    }
  }

  list<T extends KubeObject = StoredObject>(query: ListQuery): (T & StoredObject)[] {
    const rt = this.typeOf(query.apiVersion, query.kind);
    return this.store.list(rt, query.namespace, parseLabelSelector(query.labelSelector)).items as (T & StoredObject)[];
  }

  /** The current (latest) resourceVersion. */
  resourceVersion(): string {
    return String(this.store.currentResourceVersion());
  }

  // ---- authentication (TokenReview) ----

  /**
   * A TokenReview of `token` authenticates it as `identity` (a service account, or any username),
   * for its audiences, unless expired; unknown tokens are refused as invalid. Replaces an earlier registration.
   */
  registerToken(token: string, identity: FakeToken): void {
    this.tokens.register(token, identity);
  }

  revokeToken(token: string): void {
    this.tokens.revoke(token);
  }

  // ---- authorization (SubjectAccessReview) ----

  /** A SubjectAccessReview matching this rule is allowed; anything no rule matches is not. */
  allowAccess(rule: AccessRule): void {
    this.access.allow(rule);
  }

  /** Withdraws every rule given to allowAccess. */
  clearAccess(): void {
    this.access.clear();
  }

  // ---- faults ----

  /**
   * Compaction: every resourceVersion handed out so far becomes too old. A watch resuming from one
   * gets 200 + an ERROR event with a 410 Expired Status, then the stream ends; so does a list
   * continuation. Open watches are not affected (as in a real cluster).
   */
  expireHistory(): void {
    this.store.expireHistory();
  }

  /** Matching requests fail with spec.status (e.g. 410 on a list/watch, 429 with retryAfterSeconds, 500). */
  failNext(matcher: RequestMatcher, spec: FaultSpec): Fault {
    return this.faults.add(matcher, spec);
  }

  /** The next `count` matching requests are accepted and never answered (see FaultSpec.hang). */
  hangNext(matcher: RequestMatcher, count = 1): Fault {
    return this.faults.add(matcher, { status: 0, hang: true, count });
  }

  clearFaults(): void {
    this.faults.clear();
  }

  /**
   * Closes open watches. 'end' finishes the chunked stream cleanly, as the server's own watch timeout
   * does; 'reset' destroys the socket mid-stream, as a crashed server or broken network does.
   * Returns how many were closed.
   */
  dropWatches(matcher?: WatchMatcher, mode: 'end' | 'reset' = 'end'): number {
    const conns = this.hub.find(matcher);
    for (const conn of conns) {
      if (mode === 'end') conn.end();
      else conn.reset();
    }
    return conns.length;
  }

  /**
   * Open watches stay connected but receive nothing more (no events, no bookmarks, no timeout):
   * a silently stuck watch. With includeNew, watches opened later start stalled too, until
   * resumeWatches(). Stalled connections never recover; only closing them does.
   */
  stallWatches(matcher?: WatchMatcher, options: { includeNew?: boolean } = {}): number {
    const conns = this.hub.find(matcher);
    for (const conn of conns) conn.stalled = true;
    if (options.includeNew) this.hub.stallNew = matcher ?? {};
    return conns.length;
  }

  /** New watches are no longer stalled (connections already stalled stay stuck). */
  resumeWatches(): void {
    this.hub.stallNew = undefined;
  }

  /** A BOOKMARK at the current resourceVersion to every open watch that allows bookmarks and is not stalled. */
  sendBookmarks(): void {
    this.hub.bookmarkAll(this.resourceVersion());
  }

  // ---- observation ----

  /** Answered requests matching (all when omitted), oldest first. */
  requests(matcher?: RequestMatcher): RequestRecord[] {
    return this.log.find(matcher);
  }

  count(matcher?: RequestMatcher): number {
    return this.log.find(matcher).length;
  }

  resetRequests(): void {
    this.log.clear();
  }

  openWatches(matcher?: WatchMatcher): (WatchInfo & { stalled: boolean; withheld: number; delivered: number })[] {
    return this.hub.find(matcher).map((conn: WatchConnection) => ({
      ...conn.info, stalled: conn.stalled, withheld: conn.withheld, delivered: conn.delivered,
    }));
  }

  private waitUntil(check: () => boolean, describe: () => string, options: WaitOptions): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const unsubscribe: (() => void)[] = [];
      const done = (err?: Error): void => {
        clearTimeout(timer);
        for (const u of unsubscribe) u();
        if (err) reject(err);
        else resolve();
      };
      const poke = (): void => { if (check()) done(); };
      unsubscribe.push(this.log.onFinish(poke), this.hub.onChange(poke), this.store.subscribe(poke));
      const timer = setTimeout(() => done(new Error(`fake-kube-api: timed out waiting for ${describe()}`)),
        options.timeoutMs ?? 30_000);
    });
  }

  /** Resolves with the matching requests once at least `count` have been answered. */
  async waitForRequests(matcher: RequestMatcher, count = 1, options: WaitOptions = {}): Promise<RequestRecord[]> {
    await this.waitUntil(() => this.count(matcher) >= count,
      () => `${count} request(s) matching ${JSON.stringify(matcher)}; saw: ${this.requests().map((r) => `${r.method} ${r.path} -> ${r.status}`).join(', ')}`,
      options);
    return this.requests(matcher);
  }

  /** Resolves once at least `count` matching watches are open. */
  async waitForWatches(matcher: WatchMatcher = {}, count = 1, options: WaitOptions = {}): Promise<void> {
    await this.waitUntil(() => this.hub.find(matcher).length >= count,
      () => `${count} open watch(es) matching ${JSON.stringify(matcher)}; open: ${this.hub.find().map((c) => c.info.path).join(', ')}`,
      options);
  }
}

export async function startFakeKubeApi(options: FakeKubeApiOptions = {}): Promise<FakeKubeApi> {
  const tls = options.https === true ? await selfSignedCertificate()
    : typeof options.https === 'object' ? options.https : undefined;
  const api = new FakeKubeApi(options, tls);
  await api.listen();
  return api;
}
