// Turns published mesh snapshots into per-proxy views of encoded resources for the xDS server.
// Generation runs once per proxy class, not per proxy; clusters and endpoints do not depend on
// the class at all and are generated once per snapshot.
import type { Endpoint, Service } from '../model/mesh.js';
import { proxyClassKey, proxyIdentityFromNode, type NodeInfo, type ProxyIdentity } from '../model/proxy.js';
import { EMPTY_SNAPSHOT, type MeshSnapshot } from '../model/snapshot.js';
import type { Logger } from '../logging.js';
import type { ConfigSource, ProxyView, ResourceMap, XdsResource } from './server/config-source.js';
import type { ResourceEncoder } from './encoder.js';
import {
  generateClusters, generateListeners, generateRoutes, serviceLoadAssignments, type ResourceSet,
} from './generate/index.js';
import { CLUSTER, ENDPOINT, LISTENER, ROUTE } from './types.js';

type Listener = (typeUrls: ReadonlySet<string>) => void;

interface ClassState {
  readonly key: string;
  readonly identity: ProxyIdentity;
  listeners: ResourceMap;
  routes: ResourceMap;
  configGeneration: number;
  readonly views: Set<MeshProxyView>;
}

export interface PushSummary {
  readonly snapshotVersion: number;
  readonly trigger: 'config' | 'endpoints' | 'none';
  readonly changedTypes: readonly string[];
  readonly classes: number;
  readonly proxies: number;
  readonly durationMs: number;
}

const EMPTY: ResourceMap = new Map();

class MeshProxyView implements ProxyView {
  private readonly listeners: Listener[] = [];
  closed = false;

  constructor(private readonly owner: MeshConfigSource, readonly state: ClassState) {}

  resources(typeUrl: string): ResourceMap {
    return this.owner.resourcesFor(this.state, typeUrl);
  }

  onChange(listener: Listener): void {
    this.listeners.push(listener);
  }

  notify(types: ReadonlySet<string>): void {
    for (const l of this.listeners) l(types);
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

function servicePortsKey(svc: Service): string {
  return JSON.stringify([svc.name, svc.namespace, svc.synthetic === true, svc.ports]);
}

export class MeshConfigSource implements ConfigSource {
  private snapshot: MeshSnapshot = EMPTY_SNAPSHOT;
  private readonly classes = new Map<string, ClassState>();
  private clusters: ResourceMap = EMPTY;
  private endpoints: ResourceMap = EMPTY;
  private clustersGeneration = -1;
  private endpointsKey = '';
  /** Per endpoints array (stable while a service's endpoints are unchanged) and port layout. */
  private edsMemo = new WeakMap<readonly Endpoint[], Map<string, XdsResource[]>>();
  private chain: Promise<void> = Promise.resolve();
  private lastPush: PushSummary | undefined;

  constructor(private readonly encoder: ResourceEncoder, private readonly logger: Logger) {}

  viewFor(node: NodeInfo): ProxyView {
    const identity = proxyIdentityFromNode(node);
    const key = proxyClassKey(identity);
    let state = this.classes.get(key);
    if (!state) {
      state = {
        key, identity, listeners: EMPTY, routes: EMPTY, configGeneration: -1, views: new Set(),
      };
      this.regenerateClass(state);
      this.classes.set(key, state);
    }
    const view = new MeshProxyView(this, state);
    state.views.add(view);
    return view;
  }

  resourcesFor(state: ClassState, typeUrl: string): ResourceMap {
    switch (typeUrl) {
      case LISTENER: return state.listeners;
      case ROUTE: return state.routes;
      case CLUSTER: return this.clusters;
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
    const configChanged = snapshot.configGeneration !== prev.configGeneration || this.clustersGeneration < 0;
    const shared = new Set<string>();
    if (configChanged && this.regenerateClusters()) shared.add(CLUSTER);
    if (this.regenerateEndpoints()) shared.add(ENDPOINT);

    const changedTypes = new Set<string>(shared);
    let proxies = 0;
    for (const state of [...this.classes.values()]) {
      const types = new Set<string>(shared);
      if (state.configGeneration !== snapshot.configGeneration) {
        for (const t of this.regenerateClass(state)) types.add(t);
      }
      for (const t of types) changedTypes.add(t);
      if (types.size > 0) {
        for (const v of state.views) {
          v.notify(types);
          proxies++;
        }
      }
      // Large meshes have many classes: let streams and timers run between them.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    if (configChanged) this.sweepPerClass();
    this.lastPush = {
      snapshotVersion: snapshot.version,
      trigger: configChanged ? 'config' : shared.size > 0 ? 'endpoints' : 'none',
      changedTypes: [...changedTypes],
      classes: this.classes.size,
      proxies,
      durationMs: performance.now() - started,
    };
    if (changedTypes.size > 0) this.logger.info('push', this.lastPush);
  }

  private encodeAll(typeUrl: string, set: ResourceSet): Map<string, XdsResource> {
    const out = new Map<string, XdsResource>();
    for (const [name, obj] of set) out.set(name, this.encoder.encode(typeUrl, name, obj));
    return out;
  }

  private regenerateClusters(): boolean {
    const next = this.encodeAll(CLUSTER, generateClusters(this.snapshot));
    this.clustersGeneration = this.snapshot.configGeneration;
    this.encoder.sweep(CLUSTER, next.values());
    if (sameResources(next, this.clusters)) return false;
    this.clusters = next;
    return true;
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
      const portsKey = servicePortsKey(svc);
      let resources = this.edsMemo.get(eps)?.get(portsKey);
      if (!resources) {
        resources = serviceLoadAssignments(svc, eps).map((cla) =>
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

  /** Returns the per-class types whose content changed. */
  private regenerateClass(state: ClassState): string[] {
    const changed: string[] = [];
    const listeners = this.encodeAll(LISTENER, generateListeners(this.snapshot, state.identity));
    const routes = this.encodeAll(ROUTE, generateRoutes(this.snapshot, state.identity));
    if (!sameResources(listeners, state.listeners)) {
      state.listeners = listeners;
      changed.push(LISTENER);
    }
    if (!sameResources(routes, state.routes)) {
      state.routes = routes;
      changed.push(ROUTE);
    }
    state.configGeneration = this.snapshot.configGeneration;
    return changed;
  }

  private sweepPerClass(): void {
    const live = (pick: (s: ClassState) => ResourceMap): XdsResource[] =>
      [...this.classes.values()].flatMap((s) => [...pick(s).values()]);
    this.encoder.sweep(LISTENER, live((s) => s.listeners));
    this.encoder.sweep(ROUTE, live((s) => s.routes));
  }
}
