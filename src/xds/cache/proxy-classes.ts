// The per-class cache: what each proxy class gets, as maps of encoded resources, regenerated only
// as often as it can change. Generation runs once per proxy class, not per proxy, and shares
// across classes whatever does not depend on the class: a sidecar's virtualInbound and inbound
// clusters per class (and only when its workload changed); routes and the other listeners per
// (kind, namespace); outbound clusters per proxy kind; endpoints once per snapshot (and then only
// for services whose endpoints or subsets changed). A sidecar's TrafficScope narrows the shared
// maps, so they are kept per scope too: classes with the same scope share them, and a change to a
// service outside a scope leaves that scope's maps (and their proxies) alone. Below these maps, service-parts.ts keeps
// each service's encoded parts. Which resources each map holds is generate/assemble.ts's call.
import { MeshIndex, type MeshIdentityOptions } from '../../model/mesh-index.js';
import { proxyClassKey, type ProxyIdentity, type ProxyKind } from '../../model/proxy.js';
import { EMPTY_SNAPSHOT, type MeshSnapshot } from '../../model/snapshot.js';
import { scopeIncludes, type ResolvedScope, type TrafficScope } from '../../model/traffic-scope.js';
import type { ChangeCause, ResourceMap, XdsResource } from '../proxy-view.js';
import { mergeResourceMaps } from '../merged-map.js';
import { CLUSTER, ENDPOINT, LISTENER, ROUTE } from '../types.js';
import {
  kindClusters, routes, scopedListeners, serviceAssignments, workloadClusters, workloadListeners,
} from '../generate/assemble.js';
import type { SidecarOptions } from '../generate/sidecar-lds.js';
import { workloadLabels, workloadSignature } from '../generate/workload.js';
import { proxyScope } from '../generate/proxy-scope.js';
import { endpointPort } from '../generate/eds.js';
import type { ResourceEncoder } from './encoder.js';
import { ServiceParts } from './service-parts.js';
import { WorkloadMemo } from './workload-memo.js';

/** How long after a push the encodings no class holds any more are forgotten, by default (see pushEnded). */
const SWEEP_DELAY_MS = 1000;
/** ...unless pushes keep coming: then at the end of one, at least this often. */
const SWEEP_AT_LEAST_EVERY_MS = 10_000;

/** A proxy of a class: told when the class's resources changed. */
export interface ClassMember {
  notify(types: ReadonlySet<string>, cause: ChangeCause): void;
}

export interface ClassState<V extends ClassMember> {
  readonly key: string;
  readonly identity: ProxyIdentity;
  /** The sidecar's TrafficScope as of the last regeneration; undefined: the whole mesh. */
  scope: ResolvedScope | undefined;
  /** What `scope` was resolved from (see scopeOf). */
  scopeInputs?: { readonly scopes: readonly TrafficScope[]; readonly labels: Readonly<Record<string, string>> };
  /** The (kind, namespace)'s listeners plus workloadListeners: what the class's proxies get. */
  listeners: ResourceMap;
  routes: ResourceMap;
  /** A sidecar's virtualInbound. */
  workloadListeners: ResourceMap;
  /** A sidecar's inbound clusters. */
  workloadClusters: ResourceMap;
  /** What workloadListeners and workloadClusters were generated from (generate/workload.ts workloadSignature). */
  workloadSignature: string | undefined;
  /** The shared maps `listeners` and `clusters` were merged from, to tell when they need merging again. */
  scopedListeners: ResourceMap;
  kindClusters: ResourceMap;
  /** The kind's clusters plus workloadClusters: what the class's proxies get. */
  clusters: ResourceMap;
  configGeneration: number;
  /** Services whose endpoint changes can change this class (named target ports of its workload). */
  endpointDependencies: ReadonlySet<string>;
  readonly views: Set<V>;
}

/** Resources shared by the classes of a proxy kind, or of a (kind, namespace). */
interface Shared {
  resources: ResourceMap;
  configGeneration: number;
  /** Besides config, what the map was generated from (gRPC listeners: the Pods), compared by identity. */
  stamp?: unknown;
}

/** What moving to a new snapshot changed before any class was looked at. */
export interface SnapshotChange {
  readonly prev: MeshSnapshot;
  readonly configChanged: boolean;
  /** Shared cluster maps (clusterKey: kind and scope) that changed. */
  readonly changedClusters: ReadonlySet<string>;
  readonly endpointsChanged: boolean;
  /** Whether this snapshot's endpoint changes touch a service a scope includes, by scope key (see seesEndpointChanges). */
  readonly endpointsSeen: Map<string, boolean>;
}

/** Which shared cluster map a class uses: one per proxy kind and scope. */
function clusterKey(kind: ProxyKind, scope: ResolvedScope | undefined): string {
  return `${kind}|${scope?.key ?? ''}`;
}

/** Which shared routes and listeners a class uses: one per (kind, namespace) and scope. */
function sharedKey(state: { readonly identity: ProxyIdentity; readonly scope: ResolvedScope | undefined }): string {
  return `${state.identity.kind}/${state.identity.namespace}|${state.scope?.key ?? ''}`;
}

function sameResources(a: ResourceMap, b: ResourceMap): boolean {
  if (a.size !== b.size) return false;
  for (const [name, r] of a) {
    if (b.get(name)?.version !== r.version) return false;
  }
  return true;
}

export class ProxyClasses<V extends ClassMember> {
  /** What a class holds before it is generated, and what a type with no resources returns. */
  private readonly empty: ResourceMap = new Map();
  private readonly noDependencies: ReadonlySet<string> = new Set();
  private mesh: MeshIndex;
  private readonly classes = new Map<string, ClassState<V>>();
  /** By clusterKey. */
  private readonly kindClusters = new Map<string, Shared>();
  /** Routes of one (kind, namespace, scope): every class there shares the map (see routesFor). */
  private readonly scopedRoutes = new Map<string, Shared>();
  /** Listeners of one (kind, namespace, scope), shared like the routes (see listenersFor). */
  private readonly scopedListeners = new Map<string, Shared>();
  private endpoints: ResourceMap = this.empty;
  private endpointsKey = '';
  private readonly parts: ServiceParts;
  private readonly workloads = new WorkloadMemo();
  private sweepTimer: NodeJS.Timeout | undefined;
  /** When the oldest push that left encodings to sweep ended (performance.now()). */
  private sweepOwedSince: number | undefined;
  private pushing = false;

  constructor(private readonly encoder: ResourceEncoder, private readonly options: SidecarOptions, identity: MeshIdentityOptions = {},
    private readonly sweepDelayMs = SWEEP_DELAY_MS) {
    this.mesh = new MeshIndex(EMPTY_SNAPSHOT, undefined, identity);
    this.parts = new ServiceParts(encoder);
  }

  get snapshot(): MeshSnapshot {
    return this.mesh.snapshot;
  }

  /** The classes in creation order (a copy: a push may add and drop classes as it goes). */
  all(): ClassState<V>[] {
    return [...this.classes.values()];
  }

  get size(): number {
    return this.classes.size;
  }

  proxyCount(): number {
    let n = 0;
    for (const s of this.classes.values()) n += s.views.size;
    return n;
  }

  /** The class of `identity`, generated for the current snapshot when it is new. */
  classFor(identity: ProxyIdentity): ClassState<V> {
    const key = proxyClassKey(identity);
    let state = this.classes.get(key);
    if (!state) {
      state = {
        key, identity, scope: undefined, listeners: this.empty, routes: this.empty, workloadListeners: this.empty, workloadClusters: this.empty,
        workloadSignature: undefined, scopedListeners: this.empty, kindClusters: this.empty, clusters: this.empty, configGeneration: -1,
        endpointDependencies: this.noDependencies, views: new Set(),
      };
      this.regenerateClass(state);
      this.classes.set(key, state);
    }
    return state;
  }

  join(view: V, state: ClassState<V>): void {
    state.views.add(view);
  }

  leave(view: V, state: ClassState<V>): void {
    state.views.delete(view);
    // A class nobody uses any more would only hold memory; it is rebuilt on the next connect.
    if (state.views.size === 0) this.classes.delete(state.key);
  }

  resourcesFor(state: ClassState<V>, typeUrl: string): ResourceMap {
    switch (typeUrl) {
      case LISTENER: return state.listeners;
      case ROUTE: return state.routes;
      case CLUSTER: return state.clusters;
      case ENDPOINT: return this.endpoints;
      default: return this.empty;
    }
  }

  /**
   * Moves to `snapshot`: regenerates what every class shares (kind clusters, endpoints), the
   * endpoints with `pause` between services and between batches of a large service's endpoints.
   */
  async advance(snapshot: MeshSnapshot, pause: () => Promise<void>): Promise<SnapshotChange> {
    const prev = this.mesh.snapshot;
    const before = this.mesh;
    this.mesh = this.mesh.next(snapshot);
    const configChanged = snapshot.configGeneration !== prev.configGeneration || prev === EMPTY_SNAPSHOT;
    const changedClusters = new Set<string>();
    const kinds = new Set([...this.classes.values()].map((c) => c.identity.kind));
    // Endpoints alone change clusters only through identity: a new service account behind a
    // Service (SAN checks), or what a proxyless client must send (mTLS or plaintext).
    const identityChanged = !configChanged && this.identityChanged(before, kinds);
    if (configChanged || identityChanged) {
      // The scopes classes had: a class whose scope changes with this snapshot regenerates anyway.
      const used = new Map([...this.classes.values()].map((c) => [clusterKey(c.identity.kind, c.scope), c] as const));
      for (const [key, c] of used) {
        if (this.kindClustersFor(c.identity.kind, c.scope, identityChanged).changed) changedClusters.add(key);
      }
    }
    return { prev, configChanged, changedClusters, endpointsChanged: await this.regenerateEndpoints(pause), endpointsSeen: new Map() };
  }

  /** Brings a class up to the current snapshot; returns the per-class types whose content changed. */
  refresh(state: ClassState<V>, change: SnapshotChange): string[] {
    if (this.classOutdated(state, change.prev)) return this.regenerateClass(state);
    if (change.changedClusters.has(clusterKey(state.identity.kind, state.scope)) && this.mergeClusters(state)) return [CLUSTER];
    return [];
  }

  /**
   * Whether the snapshot `change` moved to certainly changed what the class's proxies get: its
   * scope's cluster map did. A push serves such classes before the others, which it may only
   * have to refresh (a config change outside a scope changes nothing there).
   */
  scopedClustersChanged(state: ClassState<V>, change: SnapshotChange): boolean {
    return state.scope !== undefined && change.changedClusters.has(clusterKey(state.identity.kind, state.scope));
  }

  /**
   * Whether the endpoint changes of the snapshot `change` moved to can concern the class's
   * proxies. A scoped sidecar holds no cluster of a service outside its scope, so it has no
   * assignment of one to update: telling it (and its server stream looking through its
   * subscriptions) would be work for nothing, ten times over in a mesh scoped by namespace.
   */
  seesEndpointChanges(state: ClassState<V>, change: SnapshotChange): boolean {
    const scope = state.scope;
    if (scope === undefined) return true;
    let seen = change.endpointsSeen.get(scope.key);
    if (seen === undefined) {
      seen = false;
      for (const key of this.snapshot.changedEndpoints) {
        // A service gone with this snapshot is judged as it was.
        const svc = this.snapshot.services.get(key) ?? change.prev.services.get(key);
        if (svc === undefined || scopeIncludes(scope, svc)) {
          seen = true;
          break;
        }
      }
      change.endpointsSeen.set(scope.key, seen);
    }
    return seen;
  }

  /** Whether a Service whose endpoints changed now has other SPIFFE IDs or proxyless mTLS ports. */
  private identityChanged(before: MeshIndex, kinds: ReadonlySet<ProxyKind>): boolean {
    const snapshot = this.snapshot;
    for (const key of snapshot.changedEndpoints) {
      const svc = snapshot.services.get(key);
      const old = before.snapshot.services.get(key);
      if (!svc || !old) continue;
      // The earlier index first: equal answers are then the very same arrays.
      if (before.spiffeIdsOf(old) !== this.mesh.spiffeIdsOf(svc)) return true;
      if (kinds.has('grpc') && before.clientMtlsPorts(old, endpointPort) !== this.mesh.clientMtlsPorts(svc, endpointPort)) return true;
    }
    return false;
  }

  /** The kind clusters of a proxy kind and scope for the current snapshot, regenerated when config (or `force`: identity) changed. */
  private kindClustersFor(kind: ProxyKind, scope: ResolvedScope | undefined, force = false): { resources: ResourceMap; changed: boolean } {
    const key = clusterKey(kind, scope);
    const cached = this.kindClusters.get(key);
    const generation = this.snapshot.configGeneration;
    if (cached && cached.configGeneration === generation && !force) return { resources: cached.resources, changed: false };
    const next = kindClusters(this.parts, this.mesh, kind, scope);
    const same = cached !== undefined && sameResources(next, cached.resources);
    const resources = same ? cached.resources : next;
    this.kindClusters.set(key, { resources, configGeneration: generation });
    return { resources, changed: !same };
  }

  private async regenerateEndpoints(pause: () => Promise<void>): Promise<boolean> {
    const snapshot = this.snapshot;
    const key = `${snapshot.configGeneration}/${snapshot.endpointsGeneration}`;
    if (key === this.endpointsKey) return false;
    this.endpointsKey = key;
    const mesh = this.mesh;
    // Proxies that connect meanwhile get the previous endpoints until this push reaches them.
    const next = await this.parts.assignmentsPass(async () => {
      const out = new Map<string, XdsResource>();
      for (const a of serviceAssignments(mesh)) {
        for (const r of await this.parts.pacedLoadAssignments(a, pause)) out.set(r.name, r);
        await pause();
      }
      return out;
    });
    this.encoder.sweep(ENDPOINT, next.values());
    if (sameResources(next, this.endpoints)) return false;
    this.endpoints = next;
    return true;
  }

  /**
   * Config changed, or something only this class depends on: endpoints that resolve its
   * workload's named ports, or its Pod when the proxy sent no labels of its own.
   */
  private classOutdated(state: ClassState<V>, prev: MeshSnapshot): boolean {
    const snapshot = this.snapshot;
    if (state.configGeneration !== snapshot.configGeneration) return true;
    for (const key of state.endpointDependencies) if (snapshot.changedEndpoints.has(key)) return true;
    const id = state.identity;
    // A gRPC class's listeners include the namespace's proxyless servers (its Pods).
    if (id.kind === 'grpc' && snapshot.pods !== prev.pods) return true;
    if (id.kind === 'sidecar' && Object.keys(id.labels).length === 0 && id.podName !== undefined) {
      const podKey = `${id.namespace}/${id.podName}`;
      return snapshot.pods.get(podKey) !== prev.pods.get(podKey);
    }
    return false;
  }

  /** Recomputes the class's cluster list from its kind's and its own; true when it changed. */
  private mergeClusters(state: ClassState<V>, workloadChanged = false): boolean {
    const kind = this.kindClustersFor(state.identity.kind, state.scope).resources;
    if (kind === state.kindClusters && !workloadChanged) return false;
    state.kindClusters = kind;
    // A class's clusters: its kind's (shared, never copied per class) plus its workload's own.
    const next = mergeResourceMaps(kind, state.workloadClusters);
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
  private regenerateClass(state: ClassState<V>): string[] {
    const changed: string[] = [];
    const id = state.identity;
    state.scope = this.scopeOf(state);
    let ownListenersChanged = false;
    let ownClustersChanged = false;
    if (id.kind === 'sidecar') {
      const workload = this.workloads.workloadOf(this.mesh, id);
      const signature = workloadSignature(workload);
      if (signature !== state.workloadSignature) {
        state.workloadSignature = signature;
        const listeners = workloadListeners(this.parts, workload);
        const clusters = workloadClusters(this.parts, workload);
        ownListenersChanged = !sameResources(listeners, state.workloadListeners);
        ownClustersChanged = !sameResources(clusters, state.workloadClusters);
        if (ownListenersChanged) state.workloadListeners = listeners;
        if (ownClustersChanged) state.workloadClusters = clusters;
      }
      state.endpointDependencies = workload.endpointDependencies;
    }
    if (this.mergeClusters(state, ownClustersChanged)) changed.push(CLUSTER);
    const scoped = this.listenersFor(state);
    if (scoped !== state.scopedListeners || ownListenersChanged) {
      state.scopedListeners = scoped;
      const listeners = mergeResourceMaps(scoped, state.workloadListeners);
      if (!sameResources(listeners, state.listeners)) changed.push(LISTENER);
      state.listeners = listeners;
    }
    const routes = this.routesFor(state);
    if (routes !== state.routes) {
      if (!sameResources(routes, state.routes)) changed.push(ROUTE);
      state.routes = routes;
    }
    state.configGeneration = this.snapshot.configGeneration;
    return changed;
  }

  /**
   * The class's scope, resolved again only when what it is resolved from changed: the applied
   * TrafficScopes (kept as the same array while unchanged) or the labels the class is known by.
   * A config change elsewhere then costs a scoped class two identity checks here.
   */
  private scopeOf(state: ClassState<V>): ResolvedScope | undefined {
    if (state.identity.kind !== 'sidecar') return undefined;
    const scopes = this.snapshot.scopes.scopes;
    const labels = workloadLabels(this.snapshot, state.identity);
    const known = state.scopeInputs;
    if (known !== undefined && known.scopes === scopes && known.labels === labels) return state.scope;
    state.scopeInputs = { scopes, labels };
    return proxyScope(this.snapshot, state.identity, this.options);
  }

  /**
   * Routes depend on a proxy only through its kind and namespace (the outbound policy and the
   * short host names; generate/sidecar-rds.ts, grpc-rds.ts), not on its workload. Sidecar classes
   * are per workload, so without this every Deployment would regenerate and re-hash the whole
   * mesh's routes on every config change, and hold its own copy of the map.
   */
  private routesFor(state: ClassState<V>): ResourceMap {
    return this.scoped(this.scopedRoutes, state, () => routes(this.parts, this.mesh, state.identity, this.options, state.scope));
  }

  /**
   * Listeners depend on a proxy's workload only through a sidecar's virtualInbound: the rest
   * (outbound listeners; all of a gRPC client's) is generated and encoded once per (kind,
   * namespace) and shared by its classes, like the routes.
   */
  private listenersFor(state: ClassState<V>): ResourceMap {
    const stamp = state.identity.kind === 'grpc' ? this.snapshot.pods : undefined;
    return this.scoped(this.scopedListeners, state, () => scopedListeners(this.parts, this.mesh, state.identity, this.options, state.scope), stamp);
  }

  /** The (kind, namespace, scope)'s map, generated once per config generation, kept while its content is the same. */
  private scoped(cache: Map<string, Shared>, state: ClassState<V>, generate: () => Map<string, XdsResource>, stamp?: unknown): ResourceMap {
    const key = sharedKey(state);
    const cached = cache.get(key);
    const generation = this.snapshot.configGeneration;
    if (cached && cached.configGeneration === generation && cached.stamp === stamp) return cached.resources;
    const next = generate();
    const resources = cached !== undefined && sameResources(next, cached.resources) ? cached.resources : next;
    cache.set(key, { resources, configGeneration: generation, stamp });
    return resources;
  }

  /** A push is applying a snapshot: a sweep that falls due meanwhile waits for pushEnded. */
  pushStarted(): void {
    this.pushing = true;
  }

  /**
   * A push is done; `changed`: it may have left encodings no class holds (config changed, proxies
   * moved). The sweep walks every encoding the classes hold, so it runs SWEEP_DELAY_MS later and
   * never inside a push: right after one it would delay the follow-up requests of the proxies
   * just served (their EDS for a new cluster), and in the next one those of its proxies.
   * Meanwhile the old encodings are held a little longer; with pushes back to back for
   * SWEEP_AT_LEAST_EVERY_MS, the sweep runs at the end of one.
   */
  pushEnded(changed: boolean): void {
    this.pushing = false;
    if (changed) this.sweepOwedSince ??= performance.now();
    if (this.sweepOwedSince === undefined) return;
    if (performance.now() - this.sweepOwedSince >= SWEEP_AT_LEAST_EVERY_MS) {
      this.sweep();
      return;
    }
    if (this.sweepTimer !== undefined) return;
    this.sweepTimer = setTimeout(() => {
      this.sweepTimer = undefined;
      // pushEnded schedules it again.
      if (!this.pushing) this.sweep();
    }, this.sweepDelayMs);
    this.sweepTimer.unref();
  }

  /** Forgets what no class uses any more: shared maps of scopes and kinds nobody is in, and their encodings. */
  sweep(): void {
    this.sweepOwedSince = undefined;
    if (this.sweepTimer !== undefined) {
      clearTimeout(this.sweepTimer);
      this.sweepTimer = undefined;
    }
    const classes = [...this.classes.values()];
    const scopes = new Set(classes.map(sharedKey));
    for (const key of [...this.scopedRoutes.keys()]) if (!scopes.has(key)) this.scopedRoutes.delete(key);
    for (const key of [...this.scopedListeners.keys()]) if (!scopes.has(key)) this.scopedListeners.delete(key);
    // Kinds nobody is connected as anymore are forgotten; they are rebuilt on the next connect.
    const clusterKeys = new Set(classes.map((c) => clusterKey(c.identity.kind, c.scope)));
    for (const key of [...this.kindClusters.keys()]) if (!clusterKeys.has(key)) this.kindClusters.delete(key);
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
