// Which resources of each type a proxy gets, put together from the generated parts: the one
// place that decides it, for both consumers. config-dump and the goldens take the generated
// objects as they are (index.ts); the cache encodes them and keeps each service's parts while
// their inputs hold (xds/cache/service-parts.ts). A new resource is added here, once, and both
// get it.
//
// Every type is assembled in the pieces the cache keeps apart, each depending on as little as it
// can: clusters per proxy kind plus a sidecar's workload; endpoints once for every proxy;
// listeners per (kind, namespace) plus a sidecar's virtualInbound; routes per (kind, namespace).
// A sidecar's TrafficScope (proxy-scope.ts) narrows its clusters, outbound listeners and routes
// to the services it includes; undefined is the whole mesh.
import type { Endpoint, Service } from '../../model/mesh.js';
import type { MeshIndex } from '../../model/mesh-index.js';
import type { OutboundTrafficPolicy } from '../../model/outbound-policy.js';
import type { ProxyIdentity, ProxyKind } from '../../model/proxy.js';
import type { TrafficPolicy } from '../../model/routing.js';
import type { PeerAuthentication } from '../../model/peer-authentication.js';
import { scopeIncludes, type ResolvedScope } from '../../model/traffic-scope.js';
import type { VirtualHost } from '../envoy-types.js';
import { CLUSTER, LISTENER, ROUTE, type XdsTypeUrl } from '../types.js';
import { inboundCluster, serviceClusters, staticClusters, usesHttp2, type DestinationIdentity } from './cds.js';
import { endpointPort, serviceLoadAssignments } from './eds.js';
import { grpcListeners } from './grpc-lds.js';
import { grpcServerListeners } from './grpc-server-lds.js';
import { grpcRouteConfiguration } from './grpc-rds.js';
import { serviceRoutesInputs } from './http-routes.js';
import { outboundPolicyFor, sidecarInboundListener, sidecarOutboundListeners, type SidecarOptions } from './sidecar-lds.js';
import { fallthroughHost, sidecarRouteLayout, sidecarVirtualHost } from './sidecar-rds.js';
import type { EnvoyResource, NamedLoadAssignment } from './resource.js';
import type { Workload } from './workload.js';

/**
 * How generated objects become the assembled resources `R` (a RouteConfiguration's virtual hosts
 * become `H` first). `make` functions read nothing but the arguments they are given with, so an
 * implementation may keep what they made while those are the same (`inputs`: compared
 * element-wise by identity) instead of calling them.
 */
export interface Parts<R, H> {
  /** A resource of no one service. */
  resource(typeUrl: XdsTypeUrl, obj: EnvoyResource): R;
  /** One of a service's parts (`part` tells which); `make` reads `svc` and `inputs`. */
  ofService(typeUrl: XdsTypeUrl, svc: Service, part: string, inputs: readonly unknown[], make: () => readonly EnvoyResource[]): readonly R[];
  /**
   * A service's ClusterLoadAssignments; `make` reads the arguments and the applied
   * PeerAuthentications (`security`, compared by identity), which decide the mTLS metadata.
   */
  loadAssignments(svc: Service, endpoints: readonly Endpoint[], policy: TrafficPolicy | undefined,
    security: readonly PeerAuthentication[], make: () => readonly NamedLoadAssignment[]): readonly R[];
  /** The virtual host of one of a service's ports (`part` tells which); `make` reads `svc` and `inputs`. */
  virtualHost(svc: Service, part: string, inputs: readonly unknown[], make: () => VirtualHost): H;
  /** The catch-all virtual host of sidecars under `policy`. */
  fallthroughHost(policy: OutboundTrafficPolicy, make: () => VirtualHost): H;
  /** A RouteConfiguration of these virtual hosts. */
  routeConfiguration(name: string, hosts: readonly H[]): R;
  nameOf(resource: R): string;
}

function add<R>(parts: Parts<R, unknown>, out: Map<string, R>, list: Iterable<R>): void {
  for (const r of list) out.set(parts.nameOf(r), r);
}

/** The clusters every proxy of a kind (and scope) gets: one per service port and subset, then the static ones. */
export function kindClusters<R, H>(parts: Parts<R, H>, mesh: MeshIndex, kind: ProxyKind, scope?: ResolvedScope): Map<string, R> {
  const out = new Map<string, R>();
  for (const [key, svc] of mesh.snapshot.services) {
    if (!scopeIncludes(scope, svc)) continue;
    const policy = mesh.policyOf(key);
    const identity = destinationIdentity(mesh, svc, kind);
    add(parts, out, parts.ofService(CLUSTER, svc, kind, [policy, identity.spiffeIds, identity.grpcMtlsPorts, identity.trustDomain],
      () => serviceClusters(svc, kind, policy, identity)));
  }
  add(parts, out, staticClusters(kind).map((c) => parts.resource(CLUSTER, c)));
  return out;
}

const NO_PORTS: readonly number[] = [];

/** What a client of `kind` checks behind `svc`; a sidecar's own decision is per endpoint (EDS). */
function destinationIdentity(mesh: MeshIndex, svc: Service, kind: ProxyKind): DestinationIdentity {
  return {
    trustDomain: mesh.trustDomain,
    spiffeIds: mesh.spiffeIdsOf(svc),
    grpcMtlsPorts: kind === 'grpc' ? mesh.clientMtlsPorts(svc, endpointPort) : NO_PORTS,
  };
}

/** A sidecar's own clusters: inbound|<port>|| per port of its workload. */
export function workloadClusters<R, H>(parts: Parts<R, H>, workload: Workload): Map<string, R> {
  const out = new Map<string, R>();
  add(parts, out, workload.ports.map((p) => parts.resource(CLUSTER, inboundCluster(p.port, usesHttp2(p.servicePort)))));
  return out;
}

/** What one service's ClusterLoadAssignments are made of, as `Parts.loadAssignments` takes it. */
export interface ServiceAssignments {
  readonly svc: Service;
  readonly endpoints: readonly Endpoint[];
  readonly policy: TrafficPolicy | undefined;
  readonly security: readonly PeerAuthentication[];
  readonly make: () => readonly NamedLoadAssignment[];
}

/**
 * Every service's assignment inputs, one service at a time: the cache encodes a large service's
 * assignments with pauses between them, which a single call could not.
 */
export function* serviceAssignments(mesh: MeshIndex): Generator<ServiceAssignments> {
  const none: readonly Endpoint[] = [];
  const snapshot = mesh.snapshot;
  const security = snapshot.security.peerAuthentications;
  for (const [key, svc] of snapshot.services) {
    const eps = snapshot.endpoints.get(key) ?? none;
    const policy = snapshot.routing.applied.policyByHost.get(key);
    const acceptsMtls = (ep: Endpoint, port: number): boolean => mesh.endpointAcceptance(svc.namespace, ep, port) !== 'refused';
    yield { svc, endpoints: eps, policy, security, make: () => serviceLoadAssignments(svc, eps, policy, acceptsMtls) };
  }
}

/** The ClusterLoadAssignments, the same for every proxy. */
export function endpoints<R, H>(parts: Parts<R, H>, mesh: MeshIndex): Map<string, R> {
  const out = new Map<string, R>();
  for (const a of serviceAssignments(mesh)) add(parts, out, parts.loadAssignments(a.svc, a.endpoints, a.policy, a.security, a.make));
  return out;
}

/**
 * The listeners every proxy of a (kind, namespace, scope) gets: a sidecar's outbound ones, all of
 * a gRPC client's (those of a service depend on nothing but it and whether the client shares its
 * namespace).
 */
export function scopedListeners<R, H>(parts: Parts<R, H>, mesh: MeshIndex, proxy: ProxyIdentity, options: SidecarOptions,
  scope?: ResolvedScope): Map<string, R> {
  const out = new Map<string, R>();
  if (proxy.kind === 'sidecar') {
    add(parts, out, sidecarOutboundListeners(mesh, proxy, options, scope).map((l) => parts.resource(LISTENER, l)));
    return out;
  }
  const namespace = proxy.namespace;
  for (const svc of mesh.snapshot.services.values()) {
    const own = svc.namespace === namespace;
    add(parts, out, parts.ofService(LISTENER, svc, String(own), [], () => svc.ports.flatMap((port) => grpcListeners(svc, port, namespace))));
  }
  add(parts, out, grpcServerListeners(mesh, namespace).map((l) => parts.resource(LISTENER, l)));
  return out;
}

/** A sidecar's own listener: virtualInbound, with a chain per port of its workload. */
export function workloadListeners<R, H>(parts: Parts<R, H>, workload: Workload): Map<string, R> {
  const out = new Map<string, R>();
  add(parts, out, [parts.resource(LISTENER, sidecarInboundListener(workload))]);
  return out;
}

/**
 * The RouteConfigurations every proxy of a (kind, namespace, scope) gets. A sidecar's are one per
 * HTTP port number, of a virtual host per service port (seen from its own namespace or another)
 * and the catch-all; a gRPC client's one per service port.
 */
export function routes<R, H>(parts: Parts<R, H>, mesh: MeshIndex, proxy: ProxyIdentity, options: SidecarOptions,
  scope?: ResolvedScope): Map<string, R> {
  const out = new Map<string, R>();
  const snapshot = mesh.snapshot;
  const namespace = proxy.namespace;
  if (proxy.kind === 'sidecar') {
    const policy = outboundPolicyFor(snapshot, proxy, options);
    const fallthrough = parts.fallthroughHost(policy, () => fallthroughHost(policy));
    for (const { name, hosts } of sidecarRouteLayout(mesh, scope)) {
      const vhosts: H[] = hosts.map(({ svc, port }) => parts.virtualHost(svc, `${svc.ports.indexOf(port)}/${svc.namespace === namespace}`,
        serviceRoutesInputs(snapshot, svc), () => sidecarVirtualHost(mesh, svc, port, namespace)));
      vhosts.push(fallthrough);
      out.set(name, parts.routeConfiguration(name, vhosts));
    }
    return out;
  }
  for (const svc of snapshot.services.values()) {
    const own = svc.namespace === namespace;
    const inputs = serviceRoutesInputs(snapshot, svc);
    svc.ports.forEach((port, i) => {
      add(parts, out, parts.ofService(ROUTE, svc, `${i}/${own}`, inputs, () => [grpcRouteConfiguration(mesh, svc, port, namespace)]));
    });
  }
  return out;
}
