// Generation: pure functions of (snapshot, proxy) -> plain resource objects per type.
// Same input, same output; encoding and caching happen in xds/encoder.ts.
import type { Service } from '../../model/mesh.js';
import type { Endpoint } from '../../model/mesh.js';
import type { ProxyIdentity } from '../../model/proxy.js';
import type { MeshSnapshot } from '../../model/snapshot.js';
import { CLUSTER, ENDPOINT, LISTENER, ROUTE, type XdsTypeUrl } from '../types.js';
import { outboundCluster, registryCluster } from './cds.js';
import { clusterLoadAssignment } from './eds.js';
import { grpcListeners } from './grpc-lds.js';
import { grpcRouteConfiguration } from './grpc-rds.js';
import { outboundClusterName, registryEdsName } from './names.js';

export type ResourceObject = Record<string, unknown> & { name?: string; cluster_name?: string };
export type ResourceSet = Map<string, ResourceObject>;
export type GeneratedConfig = Map<XdsTypeUrl, ResourceSet>;

/** Types whose content depends on the proxy class (the rest are the same for every proxy). */
export const PER_CLASS_TYPES: readonly XdsTypeUrl[] = [LISTENER, ROUTE];

export function generateListeners(snapshot: MeshSnapshot, proxy: ProxyIdentity): ResourceSet {
  const out: ResourceSet = new Map();
  for (const svc of snapshot.services.values()) {
    for (const port of svc.ports) {
      for (const l of grpcListeners(svc, port, proxy.namespace)) out.set(l.name, l);
    }
  }
  return out;
}

export function generateRoutes(snapshot: MeshSnapshot, proxy: ProxyIdentity): ResourceSet {
  const out: ResourceSet = new Map();
  for (const svc of snapshot.services.values()) {
    for (const port of svc.ports) {
      const rc = grpcRouteConfiguration(svc, port, proxy.namespace);
      out.set(rc.name, rc);
    }
  }
  return out;
}

export function generateClusters(snapshot: MeshSnapshot): ResourceSet {
  const out: ResourceSet = new Map();
  for (const svc of snapshot.services.values()) {
    for (const port of svc.ports) {
      const c = outboundCluster(svc, port);
      out.set(c.name, c);
    }
    if (svc.synthetic) {
      const alias = registryCluster(registryEdsName(svc));
      out.set(alias.name, alias);
    }
  }
  return out;
}

/** The ClusterLoadAssignments of one service: one per port, plus the registry alias. */
export function serviceLoadAssignments(svc: Service, endpoints: readonly Endpoint[]): ResourceObject[] {
  const out: ResourceObject[] = [];
  for (const port of svc.ports) {
    out.push(clusterLoadAssignment(outboundClusterName(svc, port.port), port, endpoints));
  }
  if (svc.synthetic && svc.ports.length > 0) {
    out.push(clusterLoadAssignment(registryEdsName(svc), svc.ports[0], endpoints));
  }
  return out;
}

export function generateEndpoints(snapshot: MeshSnapshot): ResourceSet {
  const out: ResourceSet = new Map();
  for (const [key, svc] of snapshot.services) {
    for (const cla of serviceLoadAssignments(svc, snapshot.endpoints.get(key) ?? [])) {
      out.set(cla.cluster_name as string, cla);
    }
  }
  return out;
}

/** Everything one proxy would get: used by `config-dump` and golden tests. */
export function generateAll(snapshot: MeshSnapshot, proxy: ProxyIdentity): GeneratedConfig {
  return new Map<XdsTypeUrl, ResourceSet>([
    [CLUSTER, generateClusters(snapshot)],
    [ENDPOINT, generateEndpoints(snapshot)],
    [LISTENER, generateListeners(snapshot, proxy)],
    [ROUTE, generateRoutes(snapshot, proxy)],
  ]);
}
