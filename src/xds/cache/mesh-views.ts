// Turns published mesh snapshots into per-proxy views of encoded resources for the xDS server.
// Generation runs once per proxy class, not per proxy: a sidecar's virtualInbound and inbound
// clusters per class (and only when its workload changed); routes and the other listeners per
// (kind, namespace); outbound clusters per proxy kind; endpoints once per snapshot (and then only
// for services whose endpoints or subsets changed). Below those maps, each service's parts are
// encoded once and kept while their inputs are the same objects (service-memo.ts), so a config
// change encodes what it changed, not the mesh.
import type { Endpoint, Service } from '../../model/mesh.js';
import type { OutboundTrafficPolicy } from '../../model/outbound-policy.js';
import { proxyClassKey, type ProxyIdentity, type ProxyKind } from '../../model/proxy.js';
import { type NodeInfo } from '../node-info.js';
import { proxyIdentityFromNode } from './proxy-identity.js';
import { resolveProxyIdentity, sameResolution, type ResolvedIdentity } from './proxy-resolve.js';
import type { TrafficPolicy } from '../../model/routing.js';
import { EMPTY_SNAPSHOT, type MeshSnapshot } from '../../model/snapshot.js';
import type { Logger } from '../../logging.js';
import type { ChangeCause, ProxyViews, ProxyView, ResourceMap, XdsResource } from '../proxy-view.js';
import type { EncodedPart, EncoderStats, ResourceEncoder } from './encoder.js';
import { grpcListeners } from '../generate/grpc-lds.js';
import { grpcRouteConfiguration } from '../generate/grpc-rds.js';
import { serviceRoutesInputs } from '../generate/http-routes.js';
import {
  generateScopedListeners, generateWorkloadClusters, generateWorkloadListeners, serviceClusters, serviceLoadAssignments,
  staticClusters,
  type GenerateOptions, type ResourceSet,
} from '../generate/index.js';
import { outboundPolicyFor } from '../generate/sidecar-lds.js';
import { fallthroughHost, sidecarRouteLayout, sidecarVirtualHost } from '../generate/sidecar-rds.js';
import { sidecarWorkload, workloadSignature } from '../generate/workload.js';
import { ServiceMemo } from './service-memo.js';
import { mergeResourceMaps } from '../merged-map.js';
import { CLUSTER, ENDPOINT, LISTENER, ROUTE } from '../types.js';

type Listener = (typeUrls: ReadonlySet<string>, cause?: ChangeCause) => void;

interface ClassState {
  readonly key: string;
  readonly identity: ProxyIdentity;
  /** The (kind, namespace)'s listeners plus workloadListeners: what the class's proxies get. */
  listeners: ResourceMap;
  routes: ResourceMap;
  /** A sidecar's virtualInbound. */
  workloadListeners: ResourceMap;
  /** A sidecar's inbound clusters. */
  workloadClusters: ResourceMap;
  /** What workloadListeners and workloadClusters were generated from (workload.ts workloadSignature). */
  workloadSignature: string | undefined;
  /** The shared maps `listeners` and `clusters` were merged from, to tell when they need merging again. */
  scopedListeners: ResourceMap;
  kindClusters: ResourceMap;
  /** The kind's clusters plus workloadClusters: what the class's proxies get. */
  clusters: ResourceMap;
  configGeneration: number;
  /** Services whose endpoint changes can change this class (named target ports of its workload). */
  endpointDependencies: ReadonlySet<string>;
  readonly views: Set<MeshProxyView>;
}

interface KindClusters {
  resources: ResourceMap;
  configGeneration: number;
}

/** Routes or listeners of one (kind, namespace): every class there shares the map (see routesFor). */
interface Scoped {
  resources: ResourceMap;
  configGeneration: number;
}

export interface MeshConfigOptions {
  /** Mesh-wide default for sidecars; a Namespace annotation overrides it. Default ALLOW_ANY. */
  readonly outboundTrafficPolicy?: OutboundTrafficPolicy;
}

export interface PushSummary {
  readonly snapshotVersion: number;
  readonly trigger: 'config' | 'endpoints' | 'none';
  readonly changedTypes: readonly string[];
  readonly classes: number;
  readonly proxies: number;
  readonly durationMs: number;
  /** When the push finished (ISO 8601). */
  readonly at: string;
  /** Epoch ms of the first source change the snapshot covers, when the store recorded it. */
  readonly changedAt?: number;
}

const EMPTY: ResourceMap = new Map();
const NO_DEPENDENCIES: ReadonlySet<string> = new Set();
const VIRTUAL_HOST = 'envoy.config.route.v3.VirtualHost';
/** RouteConfiguration.virtual_hosts. */
const VIRTUAL_HOSTS_FIELD = 2;
/**
 * How long a push may keep the event loop before letting I/O and timers run. Every yield lets
 * the ACKs of the proxies served so far be read before the rest are served, and a proxy's ACK
 * (tens of kilobytes restating its EDS names) costs the server more than its response: so the
 * streams are served in as few slices as the process's liveness allows. An endpoint push only
 * hands shared maps to the streams (~50 µs each, ~100 ms for 2,000); a config push regenerates
 * per class as well, so it yields more often.
 */
const YIELD_EVERY_MS = { endpoints: 250, config: 50 } as const;

class MeshProxyView implements ProxyView {
  private readonly listeners: Listener[] = [];
  closed = false;

  /**
   * `state` changes when the proxy is matched to its Pod later, or the Pod changes (see
   * model/proxy-resolve.ts); `base` is what the node says about itself, parsed once.
   */
  constructor(private readonly owner: MeshProxyViews, public state: ClassState, readonly node: NodeInfo,
    readonly base: ProxyIdentity, public resolved: ResolvedIdentity) {}

  resources(typeUrl: string): ResourceMap {
    return this.owner.resourcesFor(this.state, typeUrl);
  }

  onChange(listener: Listener): void {
    this.listeners.push(listener);
  }

  notify(types: ReadonlySet<string>, cause: ChangeCause): void {
    for (const l of this.listeners) l(types, cause);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.owner.release(this);
  }
}

function sameResources(a: ResourceMap, b: ResourceMap): boolean {
  if (a.size !== b.size) return false;
  for (const [name, r] of a) {
    if (b.get(name)?.version !== r.version) return false;
  }
  return true;
}

const edsKeys = new ServiceMemo<string>();

/**
 * Everything besides the endpoints that shapes a service's ClusterLoadAssignments. Kept per
 * Service object (unchanged services keep theirs across snapshots): this runs for every service
 * on every endpoint change.
 */
function serviceEdsKey(svc: Service, policy: TrafficPolicy | undefined): string {
  return edsKeys.get(svc, 'eds', [policy], () =>
    JSON.stringify([svc.name, svc.namespace, svc.synthetic === true, svc.ports, policy?.subsets.map((s) => [s.name, s.labels]) ?? []]));
}

/** A class's clusters: its kind's (shared, never copied per class) plus its workload's own. */
function merged(a: ResourceMap, b: ResourceMap): ResourceMap {
  return mergeResourceMaps(a, b);
}

export class MeshProxyViews implements ProxyViews {
  private snapshot: MeshSnapshot = EMPTY_SNAPSHOT;
  private readonly classes = new Map<string, ClassState>();
  private readonly kindClusters = new Map<ProxyKind, KindClusters>();
  private readonly scopedRoutes = new Map<string, Scoped>();
  /** Listeners of one (kind, namespace), shared like the routes (see listenersFor). */
  private readonly scopedListeners = new Map<string, Scoped>();
  private endpoints: ResourceMap = EMPTY;
  private endpointsKey = '';
  private readonly generateOptions: GenerateOptions;
  /** Per endpoints array (stable while a service's endpoints are unchanged) and port layout. */
  private edsMemo = new WeakMap<readonly Endpoint[], Map<string, XdsResource[]>>();
  /** A service's outbound clusters per kind. */
  private readonly clusterMemo = new ServiceMemo<XdsResource[]>();
  /** A sidecar virtual host per service port, from its own namespace or another. */
  private readonly hostMemo = new ServiceMemo<EncodedPart>();
  /** A gRPC client's listeners for a service, and its route configurations per port. */
  private readonly grpcListenerMemo = new ServiceMemo<XdsResource[]>();
  private readonly grpcRouteMemo = new ServiceMemo<XdsResource>();
  private readonly fallthroughParts = new Map<string, EncodedPart>();
  private chain: Promise<void> = Promise.resolve();
  private lastPush: PushSummary | undefined;
  private readonly pushListeners: ((summary: PushSummary) => void)[] = [];

  constructor(private readonly encoder: ResourceEncoder, private readonly logger: Logger, options: MeshConfigOptions = {}) {
    this.generateOptions = options.outboundTrafficPolicy ? { outboundTrafficPolicy: options.outboundTrafficPolicy } : {};
  }

  viewFor(node: NodeInfo): ProxyView {
    const base = proxyIdentityFromNode(node);
    const resolved = resolveProxyIdentity(node, this.snapshot.pods, base);
    if (resolved.provisional) {
      this.logger.debug('proxy connected before its pod is known; using its own metadata until the pod appears', {
        proxy: node.id, namespace: base.namespace, podName: base.podName, ip: base.ip,
      });
    }
    const view = new MeshProxyView(this, this.classFor(resolved.identity), node, base, resolved);
    view.state.views.add(view);
    return view;
  }

  /**
   * Matches every proxy against the new snapshot's Pods. A proxy whose class changes (its Pod
   * appeared, or was relabelled) moves to its new class; the moved views are returned, they need
   * their per-class resources re-sent.
   */
  private reresolve(): MeshProxyView[] {
    const moved: MeshProxyView[] = [];
    for (const state of [...this.classes.values()]) {
      for (const view of [...state.views]) {
        const resolved = resolveProxyIdentity(view.node, this.snapshot.pods, view.base);
        if (sameResolution(resolved, view.resolved)) continue;
        if (view.resolved.provisional && !resolved.provisional) {
          this.logger.info('proxy matched to its pod', { proxy: view.node.id, pod: resolved.pod });
        }
        view.resolved = resolved;
        const key = proxyClassKey(resolved.identity);
        if (key === state.key) continue;
        state.views.delete(view);
        if (state.views.size === 0) this.classes.delete(state.key);
        view.state = this.classFor(resolved.identity);
        view.state.views.add(view);
        moved.push(view);
      }
    }
    return moved;
  }

  private classFor(identity: ProxyIdentity): ClassState {
    const key = proxyClassKey(identity);
    let state = this.classes.get(key);
    if (!state) {
      state = {
        key, identity, listeners: EMPTY, routes: EMPTY, workloadListeners: EMPTY, workloadClusters: EMPTY, workloadSignature: undefined,
        scopedListeners: EMPTY, kindClusters: EMPTY, clusters: EMPTY, configGeneration: -1,
        endpointDependencies: NO_DEPENDENCIES, views: new Set(),
      };
      this.regenerateClass(state);
      this.classes.set(key, state);
    }
    return state;
  }

  resourcesFor(state: ClassState, typeUrl: string): ResourceMap {
    switch (typeUrl) {
      case LISTENER: return state.listeners;
      case ROUTE: return state.routes;
      case CLUSTER: return state.clusters;
      case ENDPOINT: return this.endpoints;
      default: return EMPTY;
    }
  }

  release(view: MeshProxyView): void {
    const state = view.state;
    state.views.delete(view);
    // A class nobody uses any more would only hold memory; it is rebuilt on the next connect.
    if (state.views.size === 0) this.classes.delete(state.key);
  }

  current(): MeshSnapshot {
    return this.snapshot;
  }

  lastPushSummary(): PushSummary | undefined {
    return this.lastPush;
  }

  /** Running totals of the shared encoder (cache misses and hits), for metrics. */
  encoderStats(): Readonly<EncoderStats> {
    return this.encoder.stats;
  }

  /** Called after every applied snapshot that changed something, with its summary (for metrics). */
  onPush(listener: (summary: PushSummary) => void): void {
    this.pushListeners.push(listener);
  }

  /** Applies snapshots strictly in order; resolves when every view has been notified. */
  update(snapshot: MeshSnapshot): Promise<void> {
    this.chain = this.chain.then(() => this.apply(snapshot)).catch((err: unknown) => {
      this.logger.error('xds generation failed; proxies keep their last config', {
        snapshotVersion: snapshot.version, error: err instanceof Error ? err.stack ?? err.message : String(err),
      });
    });
    return this.chain;
  }

  proxyCount(): number {
    let n = 0;
    for (const s of this.classes.values()) n += s.views.size;
    return n;
  }

  private async apply(snapshot: MeshSnapshot): Promise<void> {
    const started = performance.now();
    const prev = this.snapshot;
    this.snapshot = snapshot;
    const configChanged = snapshot.configGeneration !== prev.configGeneration || prev === EMPTY_SNAPSHOT;
    const changedKinds = new Set<ProxyKind>();
    if (configChanged) {
      for (const kind of new Set([...this.classes.values()].map((c) => c.identity.kind))) {
        if (this.kindClustersFor(kind).changed) changedKinds.add(kind);
      }
    }
    const shared = new Set<string>();
    if (this.regenerateEndpoints()) shared.add(ENDPOINT);

    // Proxies are matched to Pods: with the same Pods (an endpoint change), nothing can move.
    const moved = snapshot.pods === prev.pods ? [] : this.reresolve();
    const changedTypes = new Set<string>(shared);
    const cause: ChangeCause = {
      since: snapshot.changedAt ?? Date.now(), reason: configChanged ? 'config' : 'endpoints',
    };
    let proxies = 0;
    let lastYield = performance.now();
    for (const state of [...this.classes.values()]) {
      const types = new Set<string>(shared);
      if (this.classOutdated(state, prev)) {
        for (const t of this.regenerateClass(state)) types.add(t);
      } else if (changedKinds.has(state.identity.kind) && this.mergeClusters(state)) {
        types.add(CLUSTER);
      }
      for (const t of types) changedTypes.add(t);
      if (types.size > 0) {
        for (const v of state.views) {
          v.notify(types, cause);
          proxies++;
        }
      }
      // Large meshes have many classes: let streams and timers run now and then (see YIELD_EVERY_MS).
      if (performance.now() - lastYield >= YIELD_EVERY_MS[cause.reason === 'config' ? 'config' : 'endpoints']) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        lastYield = performance.now();
      }
    }
    for (const v of moved) {
      const types = new Set<string>([...shared, LISTENER, ROUTE, CLUSTER]);
      v.notify(types, cause);
      for (const t of types) changedTypes.add(t);
    }
    if (configChanged || moved.length > 0) this.sweepPerClass();
    this.lastPush = {
      snapshotVersion: snapshot.version,
      trigger: configChanged ? 'config' : changedTypes.size > 0 ? 'endpoints' : 'none',
      changedTypes: [...changedTypes],
      classes: this.classes.size,
      proxies,
      durationMs: performance.now() - started,
      at: new Date().toISOString(),
      ...(snapshot.changedAt !== undefined ? { changedAt: snapshot.changedAt } : {}),
    };
    if (changedTypes.size > 0) {
      this.logger.info('push', this.lastPush);
      for (const l of this.pushListeners) {
        try {
          l(this.lastPush);
        } catch (err) {
          // An observer's bug must not read as a failed generation.
          this.logger.error('push listener threw', { error: err instanceof Error ? err.stack ?? err.message : String(err) });
        }
      }
    }
  }

  private encodeAll(typeUrl: string, set: ResourceSet): Map<string, XdsResource> {
    const out = new Map<string, XdsResource>();
    for (const [name, obj] of set) out.set(name, this.encoder.encode(typeUrl, name, obj));
    return out;
  }

  /** The clusters of a proxy kind for the current snapshot, regenerated when config changed. */
  private kindClustersFor(kind: ProxyKind): { resources: ResourceMap; changed: boolean } {
    const cached = this.kindClusters.get(kind);
    if (cached && cached.configGeneration === this.snapshot.configGeneration) return { resources: cached.resources, changed: false };
    const next = new Map<string, XdsResource>();
    const policies = this.snapshot.routing.applied.policyByHost;
    for (const [key, svc] of this.snapshot.services) {
      const policy = policies.get(key);
      const resources = this.clusterMemo.get(svc, kind, [policy], () =>
        serviceClusters(svc, kind, policy).map((c) => this.encoder.encode(CLUSTER, c.name, c)));
      for (const r of resources) next.set(r.name, r);
    }
    for (const c of staticClusters(kind)) next.set(c.name, this.encoder.encode(CLUSTER, c.name, c));
    const same = cached !== undefined && sameResources(next, cached.resources);
    const resources = same ? cached.resources : next;
    this.kindClusters.set(kind, { resources, configGeneration: this.snapshot.configGeneration });
    return { resources, changed: !same };
  }

  private regenerateEndpoints(): boolean {
    const key = `${this.snapshot.configGeneration}/${this.snapshot.endpointsGeneration}`;
    if (key === this.endpointsKey) return false;
    this.endpointsKey = key;
    const next = new Map<string, XdsResource>();
    const memo = new WeakMap<readonly Endpoint[], Map<string, XdsResource[]>>();
    const none: readonly Endpoint[] = [];
    for (const [svcKey, svc] of this.snapshot.services) {
      const eps = this.snapshot.endpoints.get(svcKey) ?? none;
      const policy = this.snapshot.routing.applied.policyByHost.get(svcKey);
      const portsKey = serviceEdsKey(svc, policy);
      let resources = this.edsMemo.get(eps)?.get(portsKey);
      if (!resources) {
        resources = serviceLoadAssignments(svc, eps, policy).map((cla) =>
          this.encoder.encode(ENDPOINT, cla.cluster_name as string, cla));
      }
      let inner = memo.get(eps);
      if (!inner) memo.set(eps, (inner = new Map()));
      inner.set(portsKey, resources);
      for (const r of resources) next.set(r.name, r);
    }
    this.edsMemo = memo;
    this.encoder.sweep(ENDPOINT, next.values());
    if (sameResources(next, this.endpoints)) return false;
    this.endpoints = next;
    return true;
  }

  /**
   * Config changed, or something only this class depends on: endpoints that resolve its
   * workload's named ports, or its Pod when the proxy sent no labels of its own.
   */
  private classOutdated(state: ClassState, prev: MeshSnapshot): boolean {
    if (state.configGeneration !== this.snapshot.configGeneration) return true;
    for (const key of state.endpointDependencies) if (this.snapshot.changedEndpoints.has(key)) return true;
    const id = state.identity;
    if (id.kind === 'sidecar' && Object.keys(id.labels).length === 0 && id.podName !== undefined) {
      const podKey = `${id.namespace}/${id.podName}`;
      return this.snapshot.pods.get(podKey) !== prev.pods.get(podKey);
    }
    return false;
  }

  /** Recomputes the class's cluster list from its kind's and its own; true when it changed. */
  private mergeClusters(state: ClassState, workloadChanged = false): boolean {
    const kind = this.kindClustersFor(state.identity.kind).resources;
    if (kind === state.kindClusters && !workloadChanged) return false;
    state.kindClusters = kind;
    const next = merged(kind, state.workloadClusters);
    // kindClustersFor keeps its map while the content is the same, so a new map is new content:
    // comparing thousands of clusters per class would only confirm it.
    const changed = workloadChanged ? !sameResources(next, state.clusters) : next.size > 0 || state.clusters.size > 0;
    state.clusters = next;
    return changed;
  }

  /**
   * Returns the per-class types whose content changed. A class only merges the shared maps again
   * when they changed, and generates its own resources only when its workload did.
   */
  private regenerateClass(state: ClassState): string[] {
    const changed: string[] = [];
    const id = state.identity;
    let ownListenersChanged = false;
    let ownClustersChanged = false;
    if (id.kind === 'sidecar') {
      const workload = sidecarWorkload(this.snapshot, id);
      const signature = workloadSignature(workload);
      if (signature !== state.workloadSignature) {
        state.workloadSignature = signature;
        const listeners = this.encodeAll(LISTENER, generateWorkloadListeners(this.snapshot, id));
        const clusters = this.encodeAll(CLUSTER, generateWorkloadClusters(this.snapshot, id));
        ownListenersChanged = !sameResources(listeners, state.workloadListeners);
        ownClustersChanged = !sameResources(clusters, state.workloadClusters);
        if (ownListenersChanged) state.workloadListeners = listeners;
        if (ownClustersChanged) state.workloadClusters = clusters;
      }
      state.endpointDependencies = workload.endpointDependencies;
    }
    if (this.mergeClusters(state, ownClustersChanged)) changed.push(CLUSTER);
    const scoped = this.listenersFor(id);
    if (scoped !== state.scopedListeners || ownListenersChanged) {
      state.scopedListeners = scoped;
      const listeners = merged(scoped, state.workloadListeners);
      if (!sameResources(listeners, state.listeners)) changed.push(LISTENER);
      state.listeners = listeners;
    }
    const routes = this.routesFor(id);
    if (routes !== state.routes) {
      if (!sameResources(routes, state.routes)) changed.push(ROUTE);
      state.routes = routes;
    }
    state.configGeneration = this.snapshot.configGeneration;
    return changed;
  }

  /**
   * Routes depend on a proxy only through its kind and namespace (the outbound policy and the
   * short host names; generate/sidecar-rds.ts, grpc-rds.ts), not on its workload. Sidecar classes
   * are per workload, so without this every Deployment would regenerate and re-hash the whole
   * mesh's routes on every config change, and hold its own copy of the map.
   */
  private routesFor(identity: ProxyIdentity): ResourceMap {
    const key = `${identity.kind}/${identity.namespace}`;
    const cached = this.scopedRoutes.get(key);
    if (cached && cached.configGeneration === this.snapshot.configGeneration) return cached.resources;
    const next = identity.kind === 'sidecar' ? this.sidecarRoutes(identity) : this.grpcRoutes(identity.namespace);
    const routes = cached !== undefined && sameResources(next, cached.resources) ? cached.resources : next;
    this.scopedRoutes.set(key, { resources: routes, configGeneration: this.snapshot.configGeneration });
    return routes;
  }

  /**
   * Listeners depend on a proxy's workload only through a sidecar's virtualInbound: the rest
   * (outbound listeners; all of a gRPC client's) is generated and encoded once per (kind,
   * namespace) and shared by its classes, like the routes.
   */
  private listenersFor(identity: ProxyIdentity): ResourceMap {
    const key = `${identity.kind}/${identity.namespace}`;
    const cached = this.scopedListeners.get(key);
    if (cached && cached.configGeneration === this.snapshot.configGeneration) return cached.resources;
    const next = identity.kind === 'sidecar'
      ? this.encodeAll(LISTENER, generateScopedListeners(this.snapshot, identity, this.generateOptions))
      : this.grpcListeners(identity.namespace);
    const listeners = cached !== undefined && sameResources(next, cached.resources) ? cached.resources : next;
    this.scopedListeners.set(key, { resources: listeners, configGeneration: this.snapshot.configGeneration });
    return listeners;
  }

  /**
   * A sidecar's RouteConfigurations put together from encoded virtual hosts (encoder.ts
   * `compose`): each host is encoded once per (service port, seen from its own namespace or
   * another) and kept while its inputs hold, so a new service encodes its own hosts, and the
   * configurations it joins cost a concatenation each.
   */
  private sidecarRoutes(identity: ProxyIdentity): Map<string, XdsResource> {
    const snapshot = this.snapshot;
    const namespace = identity.namespace;
    const policy = outboundPolicyFor(snapshot, identity, this.generateOptions);
    let fallthrough = this.fallthroughParts.get(policy);
    if (!fallthrough) this.fallthroughParts.set(policy, (fallthrough = this.encoder.encodePart(VIRTUAL_HOST, fallthroughHost(policy))));
    const out = new Map<string, XdsResource>();
    for (const { name, hosts } of sidecarRouteLayout(snapshot)) {
      const parts: EncodedPart[] = [];
      for (const { svc, port } of hosts) {
        const own = svc.namespace === namespace;
        parts.push(this.hostMemo.get(svc, `${svc.ports.indexOf(port)}/${own}`, serviceRoutesInputs(snapshot, svc), () =>
          this.encoder.encodePart(VIRTUAL_HOST, sidecarVirtualHost(snapshot, svc, port, namespace))));
      }
      parts.push(fallthrough);
      out.set(name, this.encoder.compose(ROUTE, name, { name }, VIRTUAL_HOSTS_FIELD, parts));
    }
    return out;
  }

  /** A gRPC client's RouteConfigurations: one per service port, kept per service while its inputs hold. */
  private grpcRoutes(namespace: string): Map<string, XdsResource> {
    const snapshot = this.snapshot;
    const out = new Map<string, XdsResource>();
    for (const svc of snapshot.services.values()) {
      const own = svc.namespace === namespace;
      const inputs = serviceRoutesInputs(snapshot, svc);
      svc.ports.forEach((port, i) => {
        const r = this.grpcRouteMemo.get(svc, `${i}/${own}`, inputs, () => {
          const rc = grpcRouteConfiguration(snapshot, svc, port, namespace);
          return this.encoder.encode(ROUTE, rc.name, rc);
        });
        out.set(r.name, r);
      });
    }
    return out;
  }

  /** A gRPC client's listeners: those of a service depend on nothing but the service (and the client's namespace). */
  private grpcListeners(namespace: string): Map<string, XdsResource> {
    const out = new Map<string, XdsResource>();
    for (const svc of this.snapshot.services.values()) {
      const own = svc.namespace === namespace;
      const resources = this.grpcListenerMemo.get(svc, String(own), [], () => svc.ports
        .flatMap((port) => grpcListeners(svc, port, namespace))
        .map((l) => this.encoder.encode(LISTENER, l.name, l)));
      for (const r of resources) out.set(r.name, r);
    }
    return out;
  }

  private sweepPerClass(): void {
    const classes = [...this.classes.values()];
    const scopes = new Set(classes.map((c) => `${c.identity.kind}/${c.identity.namespace}`));
    for (const key of [...this.scopedRoutes.keys()]) if (!scopes.has(key)) this.scopedRoutes.delete(key);
    for (const key of [...this.scopedListeners.keys()]) if (!scopes.has(key)) this.scopedListeners.delete(key);
    // Kinds nobody is connected as anymore are forgotten; they are rebuilt on the next connect.
    const kinds = new Set(classes.map((c) => c.identity.kind));
    for (const kind of [...this.kindClusters.keys()]) if (!kinds.has(kind)) this.kindClusters.delete(kind);
    // What classes hold is the shared maps plus their own: walking those, not every class's
    // merged view of them, keeps this proportional to the mesh rather than mesh × classes.
    const values = <T>(maps: Iterable<ReadonlyMap<string, T>>): T[] => [...maps].flatMap((m) => [...m.values()]);
    this.encoder.sweep(LISTENER, [
      ...values([...this.scopedListeners.values()].map((s) => s.resources)),
      ...values(classes.map((c) => c.workloadListeners)),
    ]);
    this.encoder.sweep(ROUTE, values([...this.scopedRoutes.values()].map((s) => s.resources)));
    this.encoder.sweep(CLUSTER, [
      ...values([...this.kindClusters.values()].map((k) => k.resources)),
      ...values(classes.map((c) => c.workloadClusters)),
    ]);
  }
}
