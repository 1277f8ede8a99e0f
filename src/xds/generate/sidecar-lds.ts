// LDS for Envoy sidecars, in Istio's topology (iptables sends every outbound connection to
// 15001 and every inbound one to 15006):
//
// - virtualOutbound (0.0.0.0:15001, use_original_dst) hands each connection to the listener of
//   its original destination port, or passes it through (ALLOW_ANY) / drops it (REGISTRY_ONLY).
// - 0.0.0.0_<port> (bind_to_port false), one per Service port number in the mesh: an HTTP
//   connection manager with RDS `<port>` when any Service speaks HTTP on that port, plus a
//   tcp_proxy chain per TCP Service, matched on its cluster IP; anything else falls through.
// - virtualInbound (0.0.0.0:15006) with a chain per port of the workload, to inbound|<port>||.
import type { Service, ServicePort } from '../../model/mesh.js';
import type { MeshIndex } from '../../model/mesh-index.js';
import { DEFAULT_OUTBOUND_TRAFFIC_POLICY, type OutboundTrafficPolicy } from '../../model/outbound-policy.js';
import type { ProxyIdentity } from '../../model/proxy.js';
import type { ResolvedScope, ScopeOptions } from '../../model/traffic-scope.js';
import type { MeshSnapshot } from '../../model/snapshot.js';
import type {
  Listener, envoy_config_core_v3_CidrRange as CidrRange, envoy_config_listener_v3_FilterChain as FilterChain,
} from '../envoy-types.js';
import { isHttp } from './cds.js';
import {
  hcmFilter, HCM_TYPE, localRateLimitFilter, ORIGINAL_DST_FILTER, ORIGINAL_DST_TYPE, rdsConnectionManager, routerFilter,
  tcpProxyFilter,
} from './http-filters.js';
import {
  BLACKHOLE_CLUSTER, INBOUND_PASSTHROUGH_CLUSTER, inboundClusterName, outboundClusterName, outboundListenerName,
  PASSTHROUGH_CLUSTER, SIDECAR_OWN_PORTS, sidecarRouteName, VIRTUAL_INBOUND, VIRTUAL_INBOUND_PORT, VIRTUAL_OUTBOUND, VIRTUAL_OUTBOUND_PORT,
} from './resource-names.js';
import { bool, duration, socketAddress, typed, u32 } from './proto-helpers.js';
import type { Named } from './resource.js';
import { inboundChainsForMode, sidecarDownstreamTls, tlsInspectorListenerFilter } from './tls.js';
import type { Workload, WorkloadPort } from './workload.js';
import { accessHttpFilters, accessNetworkFilters } from './access-rbac.js';

export interface SidecarOptions extends ScopeOptions {
  /** The mesh default; a Namespace annotation overrides it for its sidecars. */
  readonly outboundTrafficPolicy?: OutboundTrafficPolicy;
}

/** The policy that applies to sidecars in the proxy's namespace. */
export function outboundPolicyFor(snapshot: MeshSnapshot, proxy: ProxyIdentity, options: SidecarOptions): OutboundTrafficPolicy {
  return snapshot.namespaces.get(proxy.namespace)?.outboundTrafficPolicy
    ?? options.outboundTrafficPolicy ?? DEFAULT_OUTBOUND_TRAFFIC_POLICY;
}

/** Where unknown outbound traffic goes. */
export function fallthroughCluster(policy: OutboundTrafficPolicy): string {
  return policy === 'REGISTRY_ONLY' ? BLACKHOLE_CLUSTER : PASSTHROUGH_CLUSTER;
}

function fallthroughChain(name: string, cluster: string): FilterChain {
  return { name, filters: [tcpProxyFilter(cluster, cluster)] };
}

function virtualOutbound(fallthrough: string): Named<Listener> {
  return {
    name: VIRTUAL_OUTBOUND,
    address: socketAddress('0.0.0.0', VIRTUAL_OUTBOUND_PORT),
    use_original_dst: bool(true),
    filter_chains: [fallthroughChain(`${VIRTUAL_OUTBOUND}-catchall-tcp`, fallthrough)],
    traffic_direction: 'OUTBOUND',
  };
}

interface PortServices {
  http: boolean;
  /** TCP services on this port that have a cluster IP to match on. */
  readonly tcp: { svc: Service; port: ServicePort; ip: string }[];
}

function cidr(ip: string): CidrRange {
  return { address_prefix: ip, prefix_len: u32(ip.includes(':') ? 128 : 32) };
}

function outboundListener(portNumber: number, services: PortServices, fallthrough: string): Named<Listener> | undefined {
  const name = outboundListenerName(portNumber);
  const chains: FilterChain[] = services.tcp.map(({ svc, port, ip }) => {
    const cluster = outboundClusterName(svc, port.port);
    return { filter_chain_match: { prefix_ranges: [cidr(ip)] }, filters: [tcpProxyFilter(cluster, cluster)] };
  });
  if (services.http) {
    // No match: every destination on this port not claimed by a TCP service above is HTTP.
    chains.push({ filters: [hcmFilter(rdsConnectionManager(`outbound_${name}`, sidecarRouteName(portNumber), { stripAnyHostPort: true }))] });
  }
  if (chains.length === 0) return undefined;
  return {
    name,
    address: socketAddress('0.0.0.0', portNumber),
    bind_to_port: bool(false),
    filter_chains: chains,
    default_filter_chain: fallthroughChain(`${name}-fallthrough`, fallthrough),
    traffic_direction: 'OUTBOUND',
  };
}

/**
 * A port's chain. AccessPolicies come first (RBAC filters, access-rbac.ts): nothing they deny
 * reaches a rate limit or the app. They sit on the mTLS and the plaintext chain alike; on the
 * plaintext one, rules naming principals or namespaces cannot match.
 */
function inboundChain(p: WorkloadPort, w: Workload): FilterChain {
  const cluster = inboundClusterName(p.port);
  const statPrefix = `inbound_0.0.0.0_${p.port}`;
  const match = { filter_chain_match: { destination_port: u32(p.port) } };
  if (!isHttp(p.servicePort)) {
    const rbac = accessNetworkFilters(w.access, { trustDomain: w.trustDomain, statPrefix: cluster });
    return { name: cluster, ...match, filters: [...rbac, tcpProxyFilter(cluster, cluster)] };
  }
  const filters = [
    ...accessHttpFilters(w.access, { trustDomain: w.trustDomain, audit: true }),
    ...(p.localRateLimit ? [localRateLimitFilter(p.localRateLimit, `${statPrefix}_rate_limit`)] : []),
    routerFilter(),
  ];
  const hcm = typed(HCM_TYPE, {
    stat_prefix: statPrefix,
    route_config: {
      name: cluster,
      virtual_hosts: [{
        name: cluster,
        domains: ['*'],
        // The caller's sidecar already applied route timeouts; the inbound side must not add one.
        routes: [{ name: 'default', match: { prefix: '/' }, route: { cluster, timeout: duration(0) } }],
      }],
    },
    http_filters: filters,
  });
  return { name: cluster, ...match, filters: [hcmFilter(hcm)] };
}

/**
 * Each port's chain under its PeerAuthentication mode (tls.ts inboundChainsForMode: an mTLS chain
 * next to a plaintext or a refusing one), and passthrough traffic under the workload's mode: its
 * chains match no port, so they come after every port chain, and default_filter_chain stays the
 * plaintext passthrough for what none of them takes (DISABLE, or no TLS inspection).
 */
function virtualInbound(w: Workload): Named<Listener> {
  const name = `${VIRTUAL_INBOUND}-passthrough`;
  // Traffic to ports no Service names is TCP to the workload all the same: its policies apply.
  const passthrough: FilterChain = {
    name,
    filters: [
      ...accessNetworkFilters(w.access, { trustDomain: w.trustDomain, statPrefix: name }),
      tcpProxyFilter(INBOUND_PASSTHROUGH_CLUSTER, INBOUND_PASSTHROUGH_CLUSTER),
    ],
  };
  const tls = sidecarDownstreamTls(w.trustDomain);
  const chains = w.ports.flatMap((p) => inboundChainsForMode(p.mtlsMode, inboundChain(p, w), tls));
  if (w.mtlsMode !== 'DISABLE') chains.push(...inboundChainsForMode(w.mtlsMode, passthrough, tls));
  const inspect = w.mtlsMode !== 'DISABLE' || w.ports.some((p) => p.mtlsMode !== 'DISABLE');
  return {
    name: VIRTUAL_INBOUND,
    address: socketAddress('0.0.0.0', VIRTUAL_INBOUND_PORT),
    // Restores the address the connection was meant for, so chains can match its port; the TLS
    // inspector tells mTLS from plaintext for the chains' transport_protocol.
    listener_filters: [
      { name: ORIGINAL_DST_FILTER, typed_config: typed(ORIGINAL_DST_TYPE) },
      ...(inspect ? [tlsInspectorListenerFilter()] : []),
    ],
    filter_chains: chains,
    default_filter_chain: passthrough,
    traffic_direction: 'INBOUND',
  };
}

/**
 * virtualOutbound and the per-port outbound listeners of the services `scope` includes: they
 * depend on the proxy only through its namespace's outbound traffic policy and its scope, so
 * every sidecar class of a namespace with the same scope shares them.
 */
export function sidecarOutboundListeners(mesh: MeshIndex, proxy: ProxyIdentity, options: SidecarOptions = {},
  scope?: ResolvedScope): Named<Listener>[] {
  const fallthrough = fallthroughCluster(outboundPolicyFor(mesh.snapshot, proxy, options));
  const out: Named<Listener>[] = [virtualOutbound(fallthrough)];
  for (const [portNumber, list] of mesh.portsInScope(scope)) {
    if (SIDECAR_OWN_PORTS.includes(portNumber)) continue;
    const services: PortServices = { http: false, tcp: [] };
    for (const { svc, port } of list) {
      if (isHttp(port)) services.http = true;
      else if (svc.clusterIP !== undefined) services.tcp.push({ svc, port, ip: svc.clusterIP });
    }
    const l = outboundListener(portNumber, services, fallthrough);
    if (l) out.push(l);
  }
  return out;
}

/** virtualInbound: the only listener that depends on the sidecar's workload. */
export function sidecarInboundListener(workload: Workload): Named<Listener> {
  return virtualInbound(workload);
}
