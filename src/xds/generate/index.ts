// Generation as plain objects: everything one proxy would get, for `config-dump` and the golden
// tests. Pure functions of (snapshot, proxy): each call indexes the snapshot afresh and keeps
// nothing. What a proxy gets is decided in assemble.ts, which the cache (xds/cache/) runs too,
// encoding and keeping parts there; `plainParts` here takes the generated objects as they are.
import { MeshIndex, type MeshIdentityOptions } from '../../model/mesh-index.js';
import type { OutboundTrafficPolicy } from '../../model/outbound-policy.js';
import type { ProxyIdentity } from '../../model/proxy.js';
import type { MeshSnapshot } from '../../model/snapshot.js';
import type { ScopeOptions } from '../../model/traffic-scope.js';
import { CLUSTER, ENDPOINT, LISTENER, ROUTE, type XdsTypeUrl } from '../types.js';
import {
  endpoints, kindClusters, routes, scopedListeners, workloadClusters, workloadListeners, type Parts,
} from './assemble.js';
import type { VirtualHost } from '../envoy-types.js';
import { resourceName, type EnvoyResource } from './resource.js';
import { sidecarWorkload } from './workload.js';
import { proxyScope } from './proxy-scope.js';

type ResourceSet = Map<string, EnvoyResource>;
export type GeneratedConfig = Map<XdsTypeUrl, ResourceSet>;

export interface GenerateOptions extends MeshIdentityOptions, ScopeOptions {
  /** Mesh default for sidecars (a Namespace annotation overrides it); ALLOW_ANY when absent. */
  readonly outboundTrafficPolicy?: OutboundTrafficPolicy;
}

/** The generated objects as they are; nothing kept. */
const plainParts: Parts<EnvoyResource, VirtualHost> = {
  resource: (_typeUrl, obj) => obj,
  ofService: (_typeUrl, _svc, _part, _inputs, make) => make(),
  loadAssignments: (_svc, _endpoints, _policy, _security, make) => make(),
  virtualHost: (_svc, _part, _inputs, make) => make(),
  fallthroughHost: (_policy, make) => make(),
  routeConfiguration: (name, hosts) => ({ name, virtual_hosts: [...hosts] }),
  nameOf: resourceName,
};

function clustersOf(mesh: MeshIndex, proxy: ProxyIdentity, options: GenerateOptions): ResourceSet {
  const own = proxy.kind === 'sidecar' ? workloadClusters(plainParts, sidecarWorkload(mesh, proxy)) : new Map();
  return new Map([...kindClusters(plainParts, mesh, proxy.kind, proxyScope(mesh.snapshot, proxy, options)), ...own]);
}

function listenersOf(mesh: MeshIndex, proxy: ProxyIdentity, options: GenerateOptions): ResourceSet {
  const own = proxy.kind === 'sidecar' ? workloadListeners(plainParts, sidecarWorkload(mesh, proxy)) : new Map();
  return new Map([...scopedListeners(plainParts, mesh, proxy, options, proxyScope(mesh.snapshot, proxy, options)), ...own]);
}

function routesOf(mesh: MeshIndex, proxy: ProxyIdentity, options: GenerateOptions): ResourceSet {
  return routes(plainParts, mesh, proxy, options, proxyScope(mesh.snapshot, proxy, options));
}

export function generateClusters(snapshot: MeshSnapshot, proxy: ProxyIdentity, options: GenerateOptions = {}): ResourceSet {
  return clustersOf(new MeshIndex(snapshot, undefined, options), proxy, options);
}

export function generateEndpoints(snapshot: MeshSnapshot, options: GenerateOptions = {}): ResourceSet {
  return endpoints(plainParts, new MeshIndex(snapshot, undefined, options));
}

export function generateListeners(snapshot: MeshSnapshot, proxy: ProxyIdentity, options: GenerateOptions = {}): ResourceSet {
  return listenersOf(new MeshIndex(snapshot, undefined, options), proxy, options);
}

export function generateRoutes(snapshot: MeshSnapshot, proxy: ProxyIdentity, options: GenerateOptions = {}): ResourceSet {
  return routesOf(new MeshIndex(snapshot, undefined, options), proxy, options);
}

/** Everything one proxy would get: used by `config-dump` and golden tests. */
export function generateAll(snapshot: MeshSnapshot, proxy: ProxyIdentity, options: GenerateOptions = {}): GeneratedConfig {
  const mesh = new MeshIndex(snapshot, undefined, options);
  return new Map<XdsTypeUrl, ResourceSet>([
    [CLUSTER, clustersOf(mesh, proxy, options)],
    [ENDPOINT, endpoints(plainParts, mesh)],
    [LISTENER, listenersOf(mesh, proxy, options)],
    [ROUTE, routesOf(mesh, proxy, options)],
  ]);
}
