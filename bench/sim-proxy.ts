// One simulated proxy: an ADS stream over a raw HTTP/2 connection that subscribes, follows and
// ACKs exactly as the real clients do, and records when it got and acknowledged what.
//   sidecar SotW / Delta (Envoy): CDS wildcard -> EDS by the clusters' names -> LDS wildcard ->
//     RDS by the listeners' route names; every response ACKed with its version and nonce.
//   proxyless gRPC: LDS by the listener names it dials -> RDS -> CDS by the routes' clusters ->
//     EDS by the clusters' names.
// Only the envelope is read; dependent names come from a per-content cache (derive.ts), and a
// sample of proxies fully decodes and checks everything they get (checks.ts).
import http2 from 'node:http2';
import { META_INSTANCE_IP, META_KIND, META_LABELS, META_NAMESPACE, META_POD_NAME, type NodeInfo } from '../src/xds/node-info.js';
import { lookupType } from '../src/xds/protos.js';
import { nodeInfoToProto } from '../test/support/node-proto.js';
import { CLUSTER, ENDPOINT, LISTENER, ROUTE, isFullState, shortTypeName } from '../src/xds/types.js';
import { Checker, type Expectations } from './checks.js';
import { anyDependentNames, canonical, decodeAny, dependentNames, type DeriveCache, type ResourceDeriveCache, type SotwEdsNames } from './derive.js';
import {
  deltaAckFrame, deltaRequestFrame, FrameDecoder, scanDelta, scanSotw, sotwAckFrame, sotwAnys, sotwRequestFrame,
} from './wire.js';

export type ProxyKind = 'sotw' | 'delta' | 'grpc';

export interface ProxySpec {
  readonly id: string;
  readonly kind: ProxyKind;
  readonly namespace: string;
  readonly ip: string;
  readonly podName: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Proxyless only: the `xds:///` targets it dials. */
  readonly listeners: readonly string[];
  /** Fully decode and check everything. */
  readonly sample: boolean;
  /** Present itself as an Istio proxy (istioNodeOf) instead of with pilotfish's metadata. */
  readonly istioNode?: boolean;
}

const SOTW_PATH = '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources';
const DELTA_PATH = '/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources';

/** Wall-clock milliseconds with sub-millisecond resolution, comparable across processes. */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

/** The Istio version the Istio-looking nodes claim (istiod gates features on it). */
const ISTIO_VERSION = '1.31.0';

/**
 * The node an Istio sidecar or proxyless gRPC client sends: istiod accepts only `sidecar~` ids
 * for both, and tells proxyless clients by `GENERATOR: grpc`. pilotfish reads the same node (the
 * id's parts, LABELS, NAMESPACE, GENERATOR), so one node serves both servers in a comparison.
 */
export function istioNodeOf(spec: ProxySpec): NodeInfo {
  const app = spec.labels.app ?? spec.podName;
  return {
    id: `sidecar~${spec.ip}~${spec.podName}.${spec.namespace}~${spec.namespace}.svc.cluster.local`,
    cluster: `${app}.${spec.namespace}`,
    metadata: {
      NAMESPACE: spec.namespace, LABELS: { ...spec.labels }, INSTANCE_IPS: spec.ip, ISTIO_VERSION, CLUSTER_ID: 'Kubernetes',
      MESH_ID: 'cluster.local', NAME: spec.podName, WORKLOAD_NAME: app, ...(spec.kind === 'grpc' ? { GENERATOR: 'grpc' } : {}),
    },
  };
}

export function nodeOf(spec: ProxySpec): NodeInfo {
  if (spec.istioNode === true) return istioNodeOf(spec);
  if (spec.kind === 'grpc') {
    return { id: spec.id, metadata: { [META_KIND]: 'grpc', [META_NAMESPACE]: spec.namespace } };
  }
  return {
    id: spec.id,
    cluster: `${spec.labels.app ?? spec.podName}.${spec.namespace}`,
    metadata: {
      [META_KIND]: 'sidecar', [META_NAMESPACE]: spec.namespace, [META_POD_NAME]: spec.podName,
      [META_INSTANCE_IP]: spec.ip, [META_LABELS]: { ...spec.labels },
    },
  };
}

function encodeNode(node: NodeInfo): Uint8Array {
  const T = lookupType('envoy.config.core.v3.Node');
  return T.encode(T.fromObject(nodeInfoToProto(node))).finish();
}

/** After a connection to an address fails, new connections avoid it this long (as a Service drops a dead endpoint). */
const ADDRESS_DOWN_MS = 1000;

/**
 * HTTP/2 connections to the server, each carrying up to `perConnection` streams. With several
 * addresses (replicas), each new connection goes to the one this pool has the fewest connections
 * to, skipping one that just refused a connection: a Service with a least-connections scheduler.
 */
export class ConnectionPool {
  private current: http2.ClientHttp2Session | undefined;
  private used = 0;
  private readonly all = new Set<http2.ClientHttp2Session>();
  private readonly addresses: readonly string[];
  /** Which address each open session went to. */
  private readonly addressOf = new Map<http2.ClientHttp2Session, number>();
  private readonly downUntil: number[];
  errors = 0;
  /** Connections that failed before the server answered (refused, reset). */
  refused = 0;

  constructor(address: string | readonly string[], private readonly perConnection: number) {
    this.addresses = typeof address === 'string' ? [address] : address;
    this.downUntil = this.addresses.map(() => 0);
  }

  private pick(): number {
    const t = now();
    // Sessions still taking streams: one told to go away (GOAWAY) no longer counts.
    const open = this.addresses.map(() => 0);
    for (const [s, i] of this.addressOf) if (!s.closed && !s.destroyed) open[i]++;
    let best = -1;
    for (let i = 0; i < this.addresses.length; i++) {
      if (this.downUntil[i] > t && this.addresses.length > 1) continue;
      if (best < 0 || open[i] < open[best]) best = i;
    }
    // Every address is down: try the least recently failed.
    if (best < 0) best = this.downUntil.indexOf(Math.min(...this.downUntil));
    return best;
  }

  session(): http2.ClientHttp2Session {
    if (!this.current || this.used >= this.perConnection || this.current.closed || this.current.destroyed) {
      const i = this.pick();
      const s = http2.connect(`http://${this.addresses[i]}`, {
        // xDS responses run to megabytes: windows like Envoy's, so flow control is not what we measure.
        settings: { enablePush: false, initialWindowSize: 8 << 20 },
        maxSessionMemory: 256,
      });
      this.addressOf.set(s, i);
      let connected = false;
      s.on('connect', () => {
        connected = true;
        s.setLocalWindowSize(64 << 20);
      });
      s.on('error', () => {
        this.errors++;
        if (!connected) {
          this.refused++;
          this.downUntil[i] = now() + ADDRESS_DOWN_MS;
        }
      });
      s.on('close', () => {
        this.all.delete(s);
        this.addressOf.delete(s);
      });
      this.all.add(s);
      this.current = s;
      this.used = 0;
    }
    this.used++;
    return this.current;
  }

  get connections(): number {
    return this.all.size;
  }



  closeAll(): void {
    for (const s of this.all) s.destroy();
    this.all.clear();
    this.addressOf.clear();
    this.current = undefined;
  }
}

interface TypeState {
  requested: boolean;
  /** A request that must be answered is outstanding. */
  waiting: boolean;
  wildcard: boolean;
  /** SotW: the subscribed names (canonical, shared between proxies). */
  names: readonly string[];
  /** Delta: the subscribed names. */
  readonly subscribed: Set<string>;
  version: string;
  nonce: string;
  received: number;
  /** Delta: resource name -> the dependent names it contributes. */
  readonly deps: Map<string, readonly string[]>;
  /** Delta: dependent name -> how many held resources need it. */
  readonly refs: Map<string, number>;
}

function typeState(): TypeState {
  return {
    requested: false, waiting: false, wildcard: false, names: [], subscribed: new Set(), version: '', nonce: '',
    received: 0, deps: new Map(), refs: new Map(),
  };
}

/** What a proxy records while a measurement is running. */
export interface WatchRecord {
  expected: boolean;
  responses: number;
  bytes: number;
  /** Bytes per type (short names: CDS, EDS, LDS, RDS). */
  readonly bytesByType: Record<string, number>;
  /** When it ACKed the response carrying the change. */
  targetAckAt?: number;
  /** When it ACKed its last response since the change. */
  lastAckAt?: number;
  /** Sampled proxies: whether the change was really in what it got. */
  verified?: boolean;
  /** Responses other than the one carrying the change (for an endpoint change: pushes it did not need). */
  unneeded: number;
}

export interface Watch {
  readonly typeUrl: string;
  readonly name: string;
  /** Sampled proxies check that this address is in the assignment of `name`. */
  readonly address?: string;
  /** Expected are the proxies subscribed to `name` or, if set, any wildcard subscriber of the type. */
  readonly wildcard: boolean;
  /** Scoped meshes: only wildcard subscribers in these namespaces are expected (the others must get nothing). */
  readonly namespaces?: readonly string[];
}

/** Worker-wide shared state: the derivation cache and the activity clock. */
export interface ProxyEnv {
  readonly derive: DeriveCache<readonly string[]>;
  /** Per Delta resource (type, name, version): the names it depends on. */
  readonly resources: ResourceDeriveCache;
  /** Per SotW CDS response: the EDS names it makes a sidecar ask for. */
  readonly sotwEdsNames: SotwEdsNames;
  /** Per response: each resource's name and the names it depends on. */
  readonly entries: DeriveCache<readonly (readonly [string, readonly string[]])[]>;
  readonly pool: ConnectionPool;
  /** How often a proxy reconnects before it gives up; default MAX_RECONNECTS. */
  readonly maxReconnects?: number;
  activity(at: number): void;
  converged(p: SimProxy): void;
}

const sets = new WeakMap<readonly string[], Set<string>>();
function setOf(names: readonly string[]): Set<string> {
  let s = sets.get(names);
  if (!s) sets.set(names, (s = new Set(names)));
  return s;
}

const addsMemo = new WeakMap<readonly string[], WeakMap<readonly string[], boolean>>();

/** Whether `next` names anything `before` does not (lists are shared: once per pair per worker). */
function addsNames(before: readonly string[], next: readonly string[]): boolean {
  let byNext = addsMemo.get(before);
  let adds = byNext?.get(next);
  if (adds === undefined) {
    const have = setOf(before);
    adds = next.some((n) => !have.has(n));
    if (!byNext) addsMemo.set(before, (byNext = new WeakMap()));
    byNext.set(next, adds);
  }
  return adds;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Like Envoy and gRPC, a proxy whose stream breaks reconnects with a jittered backoff (at most this often, unless the env says). */
const MAX_RECONNECTS = 5;

function freshTypes(): Map<string, TypeState> {
  return new Map([[CLUSTER, typeState()], [ENDPOINT, typeState()], [LISTENER, typeState()], [ROUTE, typeState()]]);
}

export class SimProxy {
  readonly checker: Checker | undefined;
  /** Sampled proxies check what they got after ACKing it (see deferCheck). */
  private checks: (() => void)[] = [];
  types = freshTypes();
  private stream: http2.ClientHttp2Stream | undefined;
  private node: Uint8Array | undefined;
  /** Bumped per stream, so events of a broken stream are not taken for the new one's. */
  private attempt = 0;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | undefined;
  reconnects = 0;
  /** Streams the server ended at their connection's maximum age (a reconnect it asked for). */
  agedOut = 0;
  /** Streams lost otherwise (a replica gone, a reset): since when it has been without a stream. */
  lost = 0;
  lostAt: number | undefined;
  /** When it converged again after its last loss. */
  recoveredAt: number | undefined;
  lastError: string | undefined;
  startedAt = 0;
  convergedAt: number | undefined;
  /** When it first converged (convergedAt is cleared by every reconnect). */
  firstConvergedAt: number | undefined;
  lastAckAt = 0;
  failure: string | undefined;
  bytes = 0;
  /** Bytes received per type URL. */
  readonly bytesByType: Record<string, number> = {};
  responses = 0;
  watch: Watch | undefined;
  record: WatchRecord | undefined;

  constructor(readonly spec: ProxySpec, private readonly env: ProxyEnv) {
    if (spec.sample) this.checker = new Checker(spec.id);
  }

  private get delta(): boolean {
    return this.spec.kind === 'delta';
  }

  private get sidecar(): boolean {
    return this.spec.kind !== 'grpc';
  }

  /** The type whose subscription follows from a type's resources. */
  private dependent(typeUrl: string): string | undefined {
    switch (typeUrl) {
      case CLUSTER: return ENDPOINT;
      case LISTENER: return ROUTE;
      case ROUTE: return this.sidecar ? undefined : CLUSTER;
      default: return undefined;
    }
  }

  start(): void {
    this.startedAt = now();
    this.open();
  }

  private open(): void {
    const attempt = ++this.attempt;
    const live = (): boolean => attempt === this.attempt && !this.stopped;
    this.types = freshTypes();
    this.checks = [];
    this.checker?.reset();
    this.node = encodeNode(nodeOf(this.spec));
    const session = this.env.pool.session();
    const stream = session.request({
      ':method': 'POST', ':path': this.delta ? DELTA_PATH : SOTW_PATH,
      'content-type': 'application/grpc', te: 'trailers',
    }, { endStream: false });
    this.stream = stream;
    // Sampled proxies keep what they got until they have checked it; the others read and forget.
    const decoder = new FrameDecoder((msg) => this.receive(msg), !this.checker);
    stream.on('data', (chunk: Buffer) => {
      if (!live()) return;
      // A large response takes many chunks: the worker is not quiet while one is arriving.
      this.env.activity(now());
      try {
        decoder.push(chunk);
      } catch (err) {
        this.fail(`cannot handle a response: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
      }
    });
    stream.on('trailers', (headers) => {
      const status = headers['grpc-status'];
      if (live() && status !== undefined && status !== '0') this.broken(`stream ended: grpc-status ${String(status)} ${String(headers['grpc-message'] ?? '')}`);
    });
    stream.on('response', (headers) => {
      const status = headers['grpc-status'];
      if (live() && status !== undefined && status !== '0') this.broken(`stream refused: grpc-status ${String(status)} ${String(headers['grpc-message'] ?? '')}`);
    });
    stream.on('error', (err: Error) => { if (live()) this.broken(`stream error: ${err.message}`); });
    stream.on('close', () => { if (live()) this.broken('stream closed by the server'); });
    if (this.sidecar) this.request(CLUSTER, [], true);
    else this.request(LISTENER, canonical(this.spec.listeners), false);
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.stream?.close(http2.constants.NGHTTP2_CANCEL);
    this.stream = undefined;
  }

  /** The stream broke: reconnect as a real proxy would, until it has tried too often. */
  private broken(reason: string): void {
    this.lastError = reason;
    if (/maximum age/.test(reason)) this.agedOut++;
    else {
      this.lost++;
      this.lostAt ??= now();
      this.recoveredAt = undefined;
    }
    if (this.reconnects >= (this.env.maxReconnects ?? MAX_RECONNECTS)) return this.fail(`${reason} (after ${this.reconnects} reconnects)`);
    this.reconnects++;
    this.attempt++;
    // As gRPC clients do once a call has its status: our side of it is over too.
    if (this.stream && !this.stream.closed) this.stream.close(http2.constants.NGHTTP2_NO_ERROR);
    this.stream = undefined;
    this.convergedAt = undefined;
    this.env.activity(now());
    this.retryTimer = setTimeout(() => { if (!this.stopped) this.open(); }, 250 + Math.random() * 750);
  }

  get converged(): boolean {
    if (this.failure) return false;
    for (const st of this.types.values()) if (st.waiting) return false;
    // Both kinds end with listeners requested: sidecars ask once clusters are warm, proxyless first.
    return this.types.get(LISTENER)!.requested;
  }

  /** Whether the proxy would be sent a change to `name` of this type. */
  covers(typeUrl: string, name: string, wildcard: boolean, namespaces?: readonly string[]): boolean {
    const st = this.types.get(typeUrl);
    if (!st || !st.requested) return false;
    if (st.wildcard) return namespaces === undefined || namespaces.includes(this.spec.namespace);
    if (wildcard) return false;
    return this.delta ? st.subscribed.has(name) : setOf(st.names).has(name);
  }

  beginWatch(w: Watch): void {
    this.watch = w;
    this.record = { expected: !this.failure && this.covers(w.typeUrl, w.name, w.wildcard, w.namespaces), responses: 0, bytes: 0, bytesByType: {}, unneeded: 0 };
  }

  endWatch(): WatchRecord | undefined {
    const r = this.record;
    this.runChecks();
    if (r && this.checker && this.watch) r.verified = this.verifyWatch(this.watch);
    this.watch = undefined;
    this.record = undefined;
    return r;
  }

  /** Done with a measurement: the change arrived and was ACKed, nothing is outstanding. */
  settled(): boolean {
    const r = this.record;
    if (!r || !r.expected) return true;
    return r.targetAckAt !== undefined && this.converged;
  }

  private verifyWatch(w: Watch): boolean {
    const c = this.checker!;
    if (w.address !== undefined) return c.hasEndpoint(w.name, w.address);
    return c.has(w.typeUrl, w.name);
  }

  verify(exp: Expectations): void {
    this.runChecks();
    const clusters = exp.clustersByNamespace?.[this.spec.namespace] ?? exp.clusters;
    this.checker?.verify(this.sidecar, clusters === undefined ? exp : { ...exp, clusters });
  }

  /**
   * Full decoding and checking is the benchmark's own verification, not work a real proxy does
   * before it ACKs (Envoy parses in C++, far faster than protobufjs here). It is queued, in
   * order, and run when the measured phase is over (endWatch, verify), so it neither delays the
   * sampled proxies' ACKs (1 % of the proxies would otherwise be the p99) nor competes with the
   * server for the cores while a push is being measured; none of it is skipped.
   */
  private deferCheck(check: () => void): void {
    this.checks.push(check);
  }

  private runChecks(): void {
    const queued = this.checks;
    this.checks = [];
    for (const check of queued) {
      try {
        check();
      } catch (err) {
        this.fail(`check failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
      }
    }
  }

  private fail(reason: string): void {
    if (this.failure) return;
    this.failure = reason;
    this.env.activity(now());
  }

  private send(parts: readonly Uint8Array[]): void {
    const s = this.stream;
    if (!s) return;
    s.cork();
    for (const p of parts) s.write(p);
    s.uncork();
  }

  /** A (re)subscription. SotW restates the whole list; Delta sends the differences. */
  private request(typeUrl: string, names: readonly string[], wildcard: boolean, subscribe?: readonly string[], unsubscribe?: readonly string[]): void {
    const st = this.types.get(typeUrl)!;
    const first = !st.requested;
    const node = this.node;
    this.node = undefined;
    if (this.delta) {
      const add = subscribe ?? names;
      this.send(deltaRequestFrame({ node, typeUrl, subscribe: add, unsubscribe: unsubscribe ?? [] }));
      for (const n of add) st.subscribed.add(n);
      for (const n of unsubscribe ?? []) st.subscribed.delete(n);
      if (first || add.length > 0) st.waiting = true;
    } else {
      const added = first || addsNames(st.names, names);
      st.names = names;
      this.send(sotwRequestFrame({ node, versionInfo: st.version, names, typeUrl, nonce: st.nonce }));
      if (added) st.waiting = true;
    }
    st.requested = true;
    st.wildcard = wildcard;
  }

  private receive(msg: Buffer): void {
    const at = now();
    this.bytes += msg.length;
    this.responses++;
    this.env.activity(at);
    let typeUrl: string;
    let target = false;
    if (this.delta) {
      const env = scanDelta(msg);
      typeUrl = env.typeUrl;
      const checker = this.checker;
      if (checker) this.deferCheck(() => checker.onDelta(msg, env));
      const st = this.types.get(typeUrl);
      if (!st) return this.fail(`response of unrequested type ${typeUrl}`);
      st.nonce = env.nonce;
      st.version = env.systemVersionInfo;
      st.received++;
      st.waiting = false;
      this.send(deltaAckFrame(typeUrl, env.nonce));
      const w = this.watch;
      if (w && w.typeUrl === typeUrl) {
        target = env.resources.some((r) => r.name === w.name) || env.removed.includes(w.name);
      }
      const dep = this.dependent(typeUrl);
      if (dep) this.followDelta(typeUrl, st, dep, env.resources, env.removed);
    } else {
      const env = scanSotw(msg);
      typeUrl = env.typeUrl;
      const st = this.types.get(typeUrl);
      if (!st) return this.fail(`response of unrequested type ${typeUrl}`);
      const checker = this.checker;
      if (checker) {
        const names = st.wildcard ? undefined : setOf(st.names);
        this.deferCheck(() => checker.onSotw(msg, env, names));
      }
      st.nonce = env.nonce;
      st.version = env.versionInfo;
      st.received++;
      st.waiting = false;
      this.send(sotwAckFrame(env.versionInfo, st.names, typeUrl, env.nonce));
      target = this.watch?.typeUrl === typeUrl;
      const dep = this.dependent(typeUrl);
      if (dep) {
        // version_info is a hash of the content: the proxies of a class get the same version of
        // the same cluster list, and a worker reads its EDS names once (sotwEdsNames compares
        // them across classes).
        const names = typeUrl === CLUSTER
          ? (env.versionInfo === '' ? this.env.sotwEdsNames.get(msg)
            : this.env.derive.get(`${typeUrl}|${env.versionInfo}|${msg.length}`, () => this.env.sotwEdsNames.get(msg)))
          : isFullState(typeUrl)
            ? this.env.derive.get(`${typeUrl}|${env.versionInfo}|${msg.length}`, () =>
              canonical(sotwAnys(msg).flatMap((any) => anyDependentNames(typeUrl, any))))
            : this.mergeSotw(typeUrl, st, msg, env.versionInfo);
        const dst = this.types.get(dep)!;
        if (names.length > 0 && (!dst.requested || !sameList(names, dst.names))) this.request(dep, names, false);
        else if (names.length === 0 && dst.requested && dst.names.length > 0) this.request(dep, names, false);
      }
    }
    // Envoy asks for listeners once its clusters are warm (their endpoints arrived).
    if (this.sidecar && !this.types.get(LISTENER)!.requested) {
      const eds = this.types.get(ENDPOINT)!;
      if (typeUrl === ENDPOINT || (typeUrl === CLUSTER && !eds.requested)) this.request(LISTENER, [], true);
    }
    this.bytesByType[typeUrl] = (this.bytesByType[typeUrl] ?? 0) + msg.length;
    const acked = now();
    this.lastAckAt = acked;
    const r = this.record;
    if (r) {
      r.responses++;
      r.bytes += msg.length;
      const short = shortTypeName(typeUrl);
      r.bytesByType[short] = (r.bytesByType[short] ?? 0) + msg.length;
      r.lastAckAt = acked;
      if (target && r.expected && r.targetAckAt === undefined) r.targetAckAt = acked;
      else r.unneeded++;
    }
    if (this.convergedAt === undefined && this.converged) {
      this.convergedAt = acked;
      this.firstConvergedAt ??= acked;
      if (this.lostAt !== undefined) {
        this.recoveredAt = acked;
        this.lostAt = undefined;
      }
      this.env.converged(this);
    }
  }

  /**
   * An RDS (or EDS) response may carry only what changed: the proxy keeps the rest, so what it
   * depends on is the union over everything it holds.
   */
  private mergeSotw(typeUrl: string, st: TypeState, msg: Buffer, versionInfo: string): readonly string[] {
    const entries = this.env.entries.get(`${typeUrl}|${versionInfo}|${msg.length}`, () => sotwAnys(msg).map((any) => {
      const { value } = decodeAny(any);
      const name = typeof value.name === 'string' ? value.name : String(value.cluster_name ?? '');
      return [name, dependentNames(typeUrl, value)] as const;
    }));
    for (const [name, deps] of entries) st.deps.set(name, deps);
    // What it no longer subscribes to, it no longer holds (nor follows).
    const subscribed = setOf(st.names);
    for (const name of [...st.deps.keys()]) if (!subscribed.has(name)) st.deps.delete(name);
    return canonical([...st.deps.values()].flat());
  }

  private followDelta(typeUrl: string, st: TypeState, dep: string,
    resources: readonly { name: string; version: string; any?: Uint8Array }[], removed: readonly string[]): void {
    const add: string[] = [];
    const drop: string[] = [];
    const inc = (n: string): void => {
      const c = st.refs.get(n) ?? 0;
      st.refs.set(n, c + 1);
      if (c === 0) add.push(n);
    };
    const dec = (n: string): void => {
      const c = st.refs.get(n) ?? 0;
      if (c <= 1) {
        st.refs.delete(n);
        drop.push(n);
      } else st.refs.set(n, c - 1);
    };
    for (const r of resources) {
      const any = r.any;
      const names = any ? this.env.resources.get(typeUrl, r.name, r.version, () => anyDependentNames(typeUrl, any)) : [];
      const old = st.deps.get(r.name);
      if (old === names) continue;
      for (const n of names) inc(n);
      if (old) for (const n of old) dec(n);
      st.deps.set(r.name, names);
    }
    for (const name of removed) {
      const old = st.deps.get(name);
      if (!old) continue;
      st.deps.delete(name);
      for (const n of old) dec(n);
    }
    // A name dropped and re-added in one response nets out.
    const have = this.types.get(dep)!.subscribed;
    const realAdd = add.filter((n) => st.refs.has(n) && !have.has(n));
    const realDrop = drop.filter((n) => !st.refs.has(n) && have.has(n));
    if (realAdd.length > 0 || realDrop.length > 0) this.request(dep, [], false, realAdd, realDrop);
  }
}
