// Generation: pure functions of (snapshot, proxy) -> plain resource objects per type.
// Same input, same output; encoding and caching happen in xds/encoder.ts.
//
// What depends on what (mesh-source.ts generates each part only as often as it can change):
// - clusters: per proxy kind (sidecars and gRPC clients get different settings), plus a
//   sidecar's inbound clusters, which depend on its workload;
// - endpoints: the same for every proxy;
// - listeners and routes: per (kind, namespace), except a sidecar's virtualInbound (workload);
//   made of per-service parts (serviceClusters, sidecarVirtualHost, grpcListeners,
//   grpcRouteConfiguration) that mesh-source.ts encodes once per service and reuses.
import type { Endpoint, Service } from '../../model/mesh.js';
import type { OutboundTrafficPolicy } from '../../model/outbound-policy.js';
import type { ProxyIdentity, ProxyKind } from '../../model/proxy.js';
import { effectivePolicy, type TrafficPolicy } from '../../model/routing.js';
import type { MeshSnapshot } from '../../model/snapshot.js';
import { CLUSTER, ENDPOINT, LISTENER, ROUTE, type XdsTypeUrl } from '../types.js';
import {
  blackHoleCluster, inboundCluster, inboundPassthroughCluster, outboundCluster, passthroughCluster, registryCluster, usesHttp2,
  type ClusterObject,
} from './cds.js';
import { clusterLoadAssignment } from './eds.js';
import { grpcListeners } from './grpc-lds.js';
import { grpcRouteConfiguration } from './grpc-rds.js';
import { outboundClusterName, registryEdsName } from './resource-names.js';
import { sidecarInboundListener, sidecarListeners, sidecarOutboundListeners } from './sidecar-lds.js';
import { sidecarRouteConfigurations } from './sidecar-rds.js';
import { sidecarWorkload } from './workload.js';

export type ResourceObject = Record<string, unknown> & { name?: string; cluster_name?: string };
export type ResourceSet = Map<string, ResourceObject>;
export type GeneratedConfig = Map<XdsTypeUrl, ResourceSet>;

export interface GenerateOptions {
  /** Mesh default for sidecars (a Namespace annotation overrides it); ALLOW_ANY when absent. */
  readonly outboundTrafficPolicy?: OutboundTrafficPolicy;
}

/** Types whose content depends on the proxy class (plus a sidecar's inbound clusters). */
export const PER_CLASS_TYPES: readonly XdsTypeUrl[] = [LISTENER, ROUTE];

function byName<T extends ResourceObject & { name: string }>(list: Iterable<T>): ResourceSet {
  const out: ResourceSet = new Map();
  for (const r of list) out.set(r.name, r);
  return out;
}

export function generateListeners(snapshot: MeshSnapshot, proxy: ProxyIdentity, options: GenerateOptions = {}): ResourceSet {
  if (proxy.kind === 'sidecar') return byName(sidecarListeners(snapshot, proxy, options));
  const out: ResourceSet = new Map();
  for (const svc of snapshot.services.values()) {
    for (const port of svc.ports) {
      for (const l of grpcListeners(svc, port, proxy.namespace)) out.set(l.name, l);
    }
  }
  return out;
}

/**
 * The listeners every proxy of a (kind, namespace) gets: a sidecar's outbound ones, all of a
 * gRPC client's. generateListeners = these plus generateWorkloadListeners.
 */
export function generateScopedListeners(snapshot: MeshSnapshot, proxy: ProxyIdentity, options: GenerateOptions = {}): ResourceSet {
  if (proxy.kind === 'sidecar') return byName(sidecarOutboundListeners(snapshot, proxy, options));
  return generateListeners(snapshot, proxy, options);
}

/** The listeners of the proxy's own workload: a sidecar's virtualInbound; none for gRPC. */
export function generateWorkloadListeners(snapshot: MeshSnapshot, proxy: ProxyIdentity): ResourceSet {
  if (proxy.kind !== 'sidecar') return new Map();
  return byName([sidecarInboundListener(snapshot, proxy)]);
}

export function generateRoutes(snapshot: MeshSnapshot, proxy: ProxyIdentity, options: GenerateOptions = {}): ResourceSet {
  if (proxy.kind === 'sidecar') return byName(sidecarRouteConfigurations(snapshot, proxy, options));
  const out: ResourceSet = new Map();
  for (const svc of snapshot.services.values()) {
    for (const port of svc.ports) {
      const rc = grpcRouteConfiguration(snapshot, svc, port, proxy.namespace);
      out.set(rc.name, rc);
    }
  }
  return out;
}

/** The outbound clusters of one service for a proxy kind: one per port and subset, plus the registry alias. */
export function serviceClusters(svc: Service, kind: ProxyKind, policy: TrafficPolicy | undefined): ClusterObject[] {
  const out: ClusterObject[] = [];
  for (const port of svc.ports) {
    out.push(outboundCluster(svc, port, kind, policy ? effectivePolicy(policy, port.port) : {}));
    for (const subset of policy?.subsets ?? []) {
      out.push(outboundCluster(svc, port, kind, effectivePolicy(policy!, port.port, subset.name), subset.name));
    }
  }
  if (svc.synthetic) out.push(registryCluster(registryEdsName(svc)));
  return out;
}

/** The clusters a kind gets besides the services': a sidecar's passthrough and black hole. */
export function staticClusters(kind: ProxyKind): ClusterObject[] {
  return kind === 'sidecar' ? [passthroughCluster(), blackHoleCluster(), inboundPassthroughCluster()] : [];
}

/** The clusters every proxy of a kind gets: one per service port and subset, plus the static ones. */
export function generateKindClusters(snapshot: MeshSnapshot, kind: ProxyKind): ResourceSet {
  const out: ResourceSet = new Map();
  const policies = snapshot.routing.applied.policyByHost;
  for (const [key, svc] of snapshot.services) {
    for (const c of serviceClusters(svc, kind, policies.get(key))) out.set(c.name, c);
  }
  for (const c of staticClusters(kind)) out.set(c.name, c);
  return out;
}

/** The clusters of the proxy's own workload: a sidecar's inbound|<port>|| clusters; none for gRPC. */
export function generateWorkloadClusters(snapshot: MeshSnapshot, proxy: ProxyIdentity): ResourceSet {
  if (proxy.kind !== 'sidecar') return new Map();
  return byName(sidecarWorkload(snapshot, proxy).ports.map((p) => inboundCluster(p.port, usesHttp2(p.servicePort))));
}

export function generateClusters(snapshot: MeshSnapshot, proxy: ProxyIdentity): ResourceSet {
  return new Map([...generateKindClusters(snapshot, proxy.kind), ...generateWorkloadClusters(snapshot, proxy)]);
}

/**
 * The ClusterLoadAssignments of one service: one per port and per subset of its TrafficPolicy
 * (endpoints whose pod has the subset's labels), plus the registry alias.
 */
export function serviceLoadAssignments(svc: Service, endpoints: readonly Endpoint[], policy?: TrafficPolicy): ResourceObject[] {
  const out: ResourceObject[] = [];
  for (const port of svc.ports) {
    out.push(clusterLoadAssignment(outboundClusterName(svc, port.port), port, endpoints));
    for (const subset of policy?.subsets ?? []) {
      out.push(clusterLoadAssignment(outboundClusterName(svc, port.port, subset.name), port, endpoints, subset));
    }
  }
  if (svc.synthetic && svc.ports.length > 0) {
    out.push(clusterLoadAssignment(registryEdsName(svc), svc.ports[0], endpoints));
  }
  return out;
}

export function generateEndpoints(snapshot: MeshSnapshot): ResourceSet {
  const out: ResourceSet = new Map();
  const policies = snapshot.routing.applied.policyByHost;
  for (const [key, svc] of snapshot.services) {
    for (const cla of serviceLoadAssignments(svc, snapshot.endpoints.get(key) ?? [], policies.get(key))) {
      out.set(cla.cluster_name as string, cla);
    }
  }
  return out;
}

/** Everything one proxy would get: used by `config-dump` and golden tests. */
export function generateAll(snapshot: MeshSnapshot, proxy: ProxyIdentity, options: GenerateOptions = {}): GeneratedConfig {
  return new Map<XdsTypeUrl, ResourceSet>([
    [CLUSTER, generateClusters(snapshot, proxy)],
    [ENDPOINT, generateEndpoints(snapshot)],
    [LISTENER, generateListeners(snapshot, proxy, options)],
    [ROUTE, generateRoutes(snapshot, proxy, options)],
  ]);
}
