// EDS: one ClusterLoadAssignment per service port (and per subset of its TrafficPolicy), ready
// endpoints grouped by locality.
import type { Endpoint, Service, ServicePort } from '../../model/mesh.js';
import type { envoy_config_endpoint_v3_LocalityLbEndpoints as LocalityLbEndpoints } from '../envoy-types.js';
import { subsetMatches, type Subset, type TrafficPolicy } from '../../model/routing.js';
import { u32 } from './proto-helpers.js';
import { outboundClusterName, registryEdsName } from './resource-names.js';
import type { NamedLoadAssignment } from './resource.js';
import { meshEndpointMetadata } from './tls.js';

/** Whether the server behind an endpoint takes mTLS on `port` (MeshIndex.endpointAcceptance). */
type MtlsMarker = (ep: Endpoint, port: number) => boolean;

const NO_MTLS: MtlsMarker = () => false;

/** The endpoint port that serves a service port, or undefined when this endpoint lacks it. */
export function endpointPort(ep: Endpoint, port: ServicePort): number | undefined {
  const byName = ep.ports[port.name];
  if (byName !== undefined) return byName;
  // Registry and hand-made endpoints often carry a single unnamed port.
  const values = Object.values(ep.ports);
  if (port.name === '' && values.length === 1) return values[0];
  return typeof port.targetPort === 'number' && Object.keys(ep.ports).length === 0 ? port.targetPort : undefined;
}

function localityKey(ep: Endpoint): string {
  return `${ep.locality.region}/${ep.locality.zone}/${ep.locality.subZone}`;
}

/**
 * Endpoints that may take traffic: the ready ones; when there are none, those still serving while
 * they terminate (as kube-proxy does), so a rollout's last old Pod drains instead of dropping calls.
 */
function usableEndpoints(endpoints: readonly Endpoint[], port: ServicePort, subset?: Subset): { ep: Endpoint; port: number }[] {
  const ready: { ep: Endpoint; port: number }[] = [];
  const draining: { ep: Endpoint; port: number }[] = [];
  for (const ep of endpoints) {
    if (!ep.ready && !(ep.serving && ep.terminating)) continue;
    if (subset && !subsetMatches(subset, ep.labels)) continue;
    const p = endpointPort(ep, port);
    if (p === undefined) continue;
    (ep.ready ? ready : draining).push({ ep, port: p });
  }
  return ready.length > 0 ? ready : draining;
}

/**
 * gRPC ignores localities without a weight, so every locality carries one: its endpoint count,
 * which keeps per-endpoint load even across zones of different size.
 */
export function clusterLoadAssignment(
  clusterName: string, port: ServicePort, endpoints: readonly Endpoint[], subset?: Subset, acceptsMtls: MtlsMarker = NO_MTLS,
): NamedLoadAssignment {
  const groups = new Map<string, { ep: Endpoint; port: number }[]>();
  for (const member of usableEndpoints(endpoints, port, subset)) {
    const key = localityKey(member.ep);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push(member);
  }
  const localities = [...groups.keys()].sort();
  return {
    cluster_name: clusterName,
    endpoints: localities.map((key): LocalityLbEndpoints => {
      const members = groups.get(key)!;
      members.sort((a, b) => (a.ep.address < b.ep.address ? -1 : a.ep.address > b.ep.address ? 1 : a.port - b.port));
      const loc = members[0].ep.locality;
      return {
        locality: {
          ...(loc.region ? { region: loc.region } : {}), ...(loc.zone ? { zone: loc.zone } : {}),
          ...(loc.subZone ? { sub_zone: loc.subZone } : {}),
        },
        lb_endpoints: members.map((m) => ({
          endpoint: { address: { socket_address: { address: m.ep.address, port_value: m.port } } },
          health_status: 'HEALTHY',
          // Sidecar clients send mTLS exactly to these (auto-mTLS); gRPC ignores endpoint metadata.
          ...(acceptsMtls(m.ep, m.port) ? { metadata: meshEndpointMetadata() } : {}),
        })),
        load_balancing_weight: u32(members.length),
      };
    }),
  };
}

/**
 * The ClusterLoadAssignments of one service: one per port and per subset of its TrafficPolicy
 * (endpoints whose pod has the subset's labels), plus the registry alias.
 */
export function serviceLoadAssignments(svc: Service, endpoints: readonly Endpoint[], policy?: TrafficPolicy,
  acceptsMtls: MtlsMarker = NO_MTLS): NamedLoadAssignment[] {
  const out: NamedLoadAssignment[] = [];
  for (const port of svc.ports) {
    out.push(clusterLoadAssignment(outboundClusterName(svc, port.port), port, endpoints, undefined, acceptsMtls));
    for (const subset of policy?.subsets ?? []) {
      out.push(clusterLoadAssignment(outboundClusterName(svc, port.port, subset.name), port, endpoints, subset, acceptsMtls));
    }
  }
  const first = out[0];
  if (svc.synthetic && first !== undefined) {
    // The first port's whole-service assignment under another name: its localities are shared
    // (not made twice), so a service of thousands of endpoints is generated and serialized once.
    out.push({ ...first, cluster_name: registryEdsName(svc) });
  }
  return out;
}
