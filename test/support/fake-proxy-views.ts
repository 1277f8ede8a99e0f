// An in-memory ProxyViews holding real, encoded Envoy resources: test input for the xDS
// server (and anything else that consumes a ProxyViews), not a stand-in for a peer.
import { createHash } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import type { NodeInfo } from '../../src/xds/node-info.js';
import { lookupType } from '../../src/xds/protos.js';
import { encodeAny } from './xds-response-codec.js';
import type { ProxyViews, ProxyView, ResourceMap, XdsResource } from '../../src/xds/proxy-view.js';
import { CLUSTER, ENDPOINT, LISTENER, ROUTE, TYPE_PREFIX, messageName } from '../../src/xds/types.js';

export interface TypedResource extends XdsResource {
  readonly typeUrl: string;
}

/** Encodes a plain (snake_case) Envoy message of the given type as an XdsResource. */
export function resource(typeUrl: string, name: string, message: Record<string, unknown>): TypedResource {
  const T = lookupType(messageName(typeUrl));
  const msg = T.fromObject(message);
  const problem = T.verify(msg);
  if (problem) throw new Error(`bad ${messageName(typeUrl)} ${name}: ${problem}`);
  const value = T.encode(msg).finish();
  const any = encodeAny(typeUrl, value);
  const version = createHash('sha256').update(any).digest('hex').slice(0, 12);
  return { typeUrl, name, version, any };
}

function anyOf(type: string, message: Record<string, unknown>): { type_url: string; value: Uint8Array } {
  const T = lookupType(type);
  return { type_url: TYPE_PREFIX + type, value: T.encode(T.fromObject(message)).finish() };
}

const ADS_SOURCE = { ads: {}, resource_api_version: 'V3' };

/** An EDS cluster; `rev` changes its content (connect timeout) without changing its name. */
export function cluster(name: string, rev = 1): TypedResource {
  return resource(CLUSTER, name, {
    name, type: 'EDS', connect_timeout: { seconds: rev }, lb_policy: 'ROUND_ROBIN',
    eds_cluster_config: { eds_config: ADS_SOURCE, service_name: name },
  });
}

/** Endpoints of a cluster; `port` doubles as the content revision. */
export function endpoints(clusterName: string, port = 8080, address = '127.0.0.1'): TypedResource {
  return resource(ENDPOINT, clusterName, {
    cluster_name: clusterName,
    endpoints: [{
      locality: { region: 'local' },
      // gRPC clients skip localities without a weight.
      load_balancing_weight: { value: 1 },
      lb_endpoints: [{ endpoint: { address: { socket_address: { address, port_value: port } } } }],
    }],
  });
}

/** An API listener (what proxyless gRPC uses) whose HCM fetches `routeName` over RDS. */
export function listener(name: string, routeName = name, rev = 1): TypedResource {
  const hcm = anyOf('envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager', {
    stat_prefix: `${name}-${rev}`,
    rds: { route_config_name: routeName, config_source: ADS_SOURCE },
    http_filters: [{ name: 'router', typed_config: anyOf('envoy.extensions.filters.http.router.v3.Router', {}) }],
  });
  return resource(LISTENER, name, { name, api_listener: { api_listener: hcm } });
}

/** A route configuration sending everything for `domain` to `clusterName`. */
export function routeConfig(name: string, clusterName = 'c', domain = '*'): TypedResource {
  return resource(ROUTE, name, {
    name,
    virtual_hosts: [{ name: 'vh', domains: [domain], routes: [{ match: { prefix: '' }, route: { cluster: clusterName } }] }],
  });
}

const EMPTY: ResourceMap = new Map();

export interface Change {
  put(...resources: TypedResource[]): Change;
  remove(typeUrl: string, ...names: string[]): Change;
}

/**
 * Every proxy sees the same resources. Maps are replaced, never mutated, on change, so a
 * response being built always reads one consistent snapshot.
 */
export class FakeProxyViews extends EventEmitter implements ProxyViews {
  private state = new Map<string, ResourceMap>();
  readonly openViews = new Set<FakeView>();
  readonly nodes: NodeInfo[] = [];
  /** When set, viewFor throws this error (to test how the server copes with a failing source). */
  failWith?: Error;

  constructor(...initial: TypedResource[]) {
    super();
    if (initial.length > 0) this.apply((c) => c.put(...initial), false);
  }

  viewFor(node: NodeInfo): ProxyView {
    if (this.failWith) throw this.failWith;
    const view = new FakeView(this, node);
    this.openViews.add(view);
    this.nodes.push(node);
    this.emit('view', view);
    return view;
  }

  resources(typeUrl: string): ResourceMap {
    return this.state.get(typeUrl) ?? EMPTY;
  }

  put(...resources: TypedResource[]): void {
    this.update((c) => c.put(...resources));
  }

  remove(typeUrl: string, ...names: string[]): void {
    this.update((c) => c.remove(typeUrl, ...names));
  }

  /** Applies several changes, then notifies every view once with all changed types. */
  update(fn: (c: Change) => void): void {
    this.apply(fn, true);
  }

  /** Resolves with the next view that gets closed. */
  async nextViewClosed(): Promise<FakeView> {
    const [view] = (await once(this, 'viewClosed')) as [FakeView];
    return view;
  }

  /** Resolves with the next view opened. */
  async nextView(): Promise<FakeView> {
    const [view] = (await once(this, 'view')) as [FakeView];
    return view;
  }

  /** @internal */
  closed(view: FakeView): void {
    if (this.openViews.delete(view)) this.emit('viewClosed', view);
  }

  private apply(fn: (c: Change) => void, notify: boolean): void {
    const next = new Map<string, Map<string, XdsResource>>();
    const draft = (typeUrl: string): Map<string, XdsResource> => {
      let m = next.get(typeUrl);
      if (!m) {
        m = new Map(this.state.get(typeUrl) ?? EMPTY);
        next.set(typeUrl, m);
      }
      return m;
    };
    const change: Change = {
      put(...resources) {
        for (const r of resources) draft(r.typeUrl).set(r.name, r);
        return change;
      },
      remove(typeUrl, ...names) {
        for (const n of names) draft(typeUrl).delete(n);
        return change;
      },
    };
    fn(change);
    const changed = new Set<string>();
    for (const [typeUrl, m] of next) {
      this.state.set(typeUrl, m);
      changed.add(typeUrl);
    }
    if (notify && changed.size > 0) for (const v of [...this.openViews]) v.notify(changed);
  }
}

export class FakeView implements ProxyView {
  private readonly listeners: ((typeUrls: ReadonlySet<string>) => void)[] = [];
  closed = false;

  constructor(private readonly source: FakeProxyViews, readonly node: NodeInfo) {}

  resources(typeUrl: string): ResourceMap {
    return this.source.resources(typeUrl);
  }

  onChange(listener: (typeUrls: ReadonlySet<string>) => void): void {
    this.listeners.push(listener);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.source.closed(this);
  }

  /** @internal */
  notify(typeUrls: ReadonlySet<string>): void {
    if (this.closed) return;
    for (const l of this.listeners) l(typeUrls);
  }
}
