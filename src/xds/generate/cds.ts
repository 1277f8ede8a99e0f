// CDS: one EDS cluster per service port and subset, shaped by the host's TrafficPolicy; for
// sidecars also the static clusters (passthrough, black hole) and the workload's inbound clusters.
//
// Proxyless gRPC clients get only what they implement (see model/routing-proxyless.ts): a
// ROUND_ROBIN or RING_HASH policy (they NACK any other lb_policy) and max_requests circuit
// breaking. Everything else of a TrafficPolicy is left out for them.
import type { Service, ServicePort } from '../../model/mesh.js';
import { policyFields, type EffectivePolicy } from '../../model/effective-policy.js';
import type { ProxyKind } from '../../model/proxy.js';
import type { ConnectionPool, HealthCheck, LoadBalancer, OutlierDetection, PolicyFields } from '../../model/routing.js';
import type {
  Any, Cluster, envoy_config_cluster_v3_CircuitBreakers_Thresholds as Thresholds,
  envoy_config_cluster_v3_Cluster_RingHashLbConfig as RingHashLbConfig, envoy_config_cluster_v3_OutlierDetection as EnvoyOutlierDetection,
  envoy_config_core_v3_HealthCheck as EnvoyHealthCheck,
} from '../envoy-types.js';
import {
  BLACKHOLE_CLUSTER, INBOUND_PASSTHROUGH_CLUSTER, inboundClusterName, outboundClusterName, PASSTHROUGH_CLUSTER, registryEdsName,
} from './resource-names.js';
import { ADS_CONFIG_SOURCE, duration, socketAddress, typed, u32 } from './proto-helpers.js';
import type { Named } from './resource.js';
import { autoMtlsTransportSocketMatches, grpcClusterTransportSocket, grpcUpstreamTls, sidecarUpstreamTls } from './tls.js';

const CONNECT_TIMEOUT_MS = 10_000;

const HTTP_PROTOCOL_OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

export function usesHttp2(port: ServicePort): boolean {
  return port.protocol === 'grpc' || port.protocol === 'http2';
}

export function isHttp(port: ServicePort): boolean {
  return port.protocol !== 'tcp';
}

/**
 * No service_name: Envoy and gRPC (xds-dependency-manager: `edsServiceName ?? clusterName`) ask
 * EDS for the cluster's own name then, and leaving it out takes ~50 bytes off each of the
 * thousands of clusters every sidecar holds.
 */
function edsCluster(name: string, connectTimeoutMs = CONNECT_TIMEOUT_MS): Named<Cluster> {
  return {
    name,
    type: 'EDS',
    eds_cluster_config: { eds_config: ADS_CONFIG_SOURCE },
    connect_timeout: duration(connectTimeoutMs),
  };
}

/** Whom a client checks behind a destination Service, and where a proxyless client sends mTLS. */
export interface DestinationIdentity {
  readonly trustDomain: string;
  /** SPIFFE IDs of the Service's endpoints (MeshIndex.spiffeIdsOf); empty: the trust domain's prefix. */
  readonly spiffeIds: readonly string[];
  /** Service ports a proxyless client sends mTLS to (MeshIndex.clientMtlsPorts). */
  readonly grpcMtlsPorts: readonly number[];
}

/** The outbound cluster of a service port (and subset), with the policy that applies to it. */
export function outboundCluster(svc: Service, port: ServicePort, kind: ProxyKind, policy: PolicyFields = {}, subset = '',
  identity?: DestinationIdentity): Named<Cluster> {
  const name = outboundClusterName(svc, port.port, subset);
  if (kind === 'grpc') {
    const cluster = grpcCluster(name, policy);
    if (identity?.grpcMtlsPorts.includes(port.port)) {
      cluster.transport_socket = grpcClusterTransportSocket(grpcUpstreamTls(identity.spiffeIds, { trustDomain: identity.trustDomain }));
    }
    return cluster;
  }
  const cluster = sidecarCluster(name, port, policy);
  if (identity) {
    // Auto-mTLS: TLS to endpoints EDS marks as meshed, plaintext to the rest (tls.ts).
    cluster.transport_socket_matches = autoMtlsTransportSocketMatches(sidecarUpstreamTls({
      sni: name, spiffeIds: identity.spiffeIds, trustDomain: identity.trustDomain, protocol: port.protocol,
    }));
  }
  return cluster;
}

function grpcCluster(name: string, policy: PolicyFields): Named<Cluster> {
  const cluster = edsCluster(name);
  if (policy.loadBalancer?.type === 'consistentHash') {
    cluster.lb_policy = 'RING_HASH';
    const ring = ringConfig(policy.loadBalancer);
    if (ring) cluster.ring_hash_lb_config = ring;
  } else {
    cluster.lb_policy = 'ROUND_ROBIN';
  }
  const maxRequests = policy.connectionPool?.http?.http2MaxRequests;
  if (maxRequests !== undefined) cluster.circuit_breakers = { thresholds: [{ max_requests: u32(maxRequests) }] };
  return cluster;
}

function sidecarCluster(name: string, port: ServicePort, policy: PolicyFields): Named<Cluster> {
  const pool = policy.connectionPool;
  const cluster = edsCluster(name, pool?.tcp?.connectTimeoutMs);
  Object.assign(cluster, sidecarLoadBalancer(policy.loadBalancer));
  const thresholds = circuitBreaker(pool);
  if (thresholds) cluster.circuit_breakers = { thresholds: [thresholds] };
  const protocol = protocolOptions(port, pool);
  if (protocol) cluster.typed_extension_protocol_options = { [HTTP_PROTOCOL_OPTIONS]: protocol };
  if (policy.outlierDetection) cluster.outlier_detection = outlierDetection(policy.outlierDetection);
  if (policy.healthCheck) cluster.health_checks = [healthCheck(policy.healthCheck, port)];
  return cluster;
}

function ringConfig(lb: LoadBalancer & { type: 'consistentHash' }): RingHashLbConfig | undefined {
  return lb.minimumRingSize === undefined ? undefined : { minimum_ring_size: { value: lb.minimumRingSize } };
}

function sidecarLoadBalancer(lb: LoadBalancer | undefined): Pick<Cluster, 'lb_policy' | 'ring_hash_lb_config'> {
  if (lb === undefined) return { lb_policy: 'ROUND_ROBIN' };
  if (lb.type === 'consistentHash') {
    const ring = ringConfig(lb);
    return ring ? { lb_policy: 'RING_HASH', ring_hash_lb_config: ring } : { lb_policy: 'RING_HASH' };
  }
  return { lb_policy: lb.algorithm };
}

function circuitBreaker(pool: ConnectionPool | undefined): Thresholds | undefined {
  const out: Thresholds = {};
  if (pool?.tcp?.maxConnections !== undefined) out.max_connections = u32(pool.tcp.maxConnections);
  if (pool?.http?.http1MaxPendingRequests !== undefined) out.max_pending_requests = u32(pool.http.http1MaxPendingRequests);
  if (pool?.http?.http2MaxRequests !== undefined) out.max_requests = u32(pool.http.http2MaxRequests);
  if (pool?.http?.maxRetries !== undefined) out.max_retries = u32(pool.http.maxRetries);
  return Object.keys(out).length > 0 ? out : undefined;
}

/**
 * Envoy speaks HTTP/1.1 upstream unless told otherwise, which gRPC and h2c backends refuse. The
 * per-connection request limit lives in the same message.
 */
function protocolOptions(port: ServicePort, pool: ConnectionPool | undefined): Any | undefined {
  const perConnection = pool?.http?.maxRequestsPerConnection;
  const limit = perConnection !== undefined && perConnection > 0 && isHttp(port);
  if (!usesHttp2(port) && !limit) return undefined;
  return typed(HTTP_PROTOCOL_OPTIONS, {
    ...(limit ? { common_http_protocol_options: { max_requests_per_connection: u32(perConnection) } } : {}),
    explicit_http_config: usesHttp2(port) ? { http2_protocol_options: {} } : { http_protocol_options: {} },
  });
}

/**
 * Unset fields keep Envoy's defaults, except success-rate ejection: the CRD cannot configure it,
 * and ejecting on statistics the user never asked for surprises more than it helps (Istio agrees).
 */
function outlierDetection(od: OutlierDetection): EnvoyOutlierDetection {
  const out: EnvoyOutlierDetection = {};
  if (od.consecutive5xxErrors !== undefined) {
    // 0 disables the check; Envoy would otherwise apply its default of 5.
    if (od.consecutive5xxErrors > 0) out.consecutive_5xx = u32(od.consecutive5xxErrors);
    else out.enforcing_consecutive_5xx = u32(0);
  }
  if (od.consecutiveGatewayErrors !== undefined && od.consecutiveGatewayErrors > 0) {
    // Envoy counts gateway errors but does not eject on them unless enforcement is turned up.
    out.consecutive_gateway_failure = u32(od.consecutiveGatewayErrors);
    out.enforcing_consecutive_gateway_failure = u32(100);
  }
  if (od.intervalMs !== undefined) out.interval = duration(od.intervalMs);
  if (od.baseEjectionTimeMs !== undefined) out.base_ejection_time = duration(od.baseEjectionTimeMs);
  if (od.maxEjectionPercent !== undefined) out.max_ejection_percent = u32(od.maxEjectionPercent);
  out.enforcing_success_rate = u32(0);
  return out;
}

function healthCheck(hc: HealthCheck, port: ServicePort): EnvoyHealthCheck {
  const out: EnvoyHealthCheck = {
    timeout: duration(hc.timeoutMs),
    interval: duration(hc.intervalMs),
    unhealthy_threshold: u32(hc.unhealthyThreshold),
    healthy_threshold: u32(hc.healthyThreshold),
  };
  if (hc.check.type === 'http') {
    out.http_health_check = { path: hc.check.path, ...(usesHttp2(port) ? { codec_client_type: 'HTTP2' } : {}) };
  } else {
    out.tcp_health_check = {};
  }
  return out;
}

/** Original destination: the connection goes where the application sent it. */
export function passthroughCluster(name = PASSTHROUGH_CLUSTER): Named<Cluster> {
  return { name, type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED', connect_timeout: duration(CONNECT_TIMEOUT_MS) };
}

/** No endpoints: every connection routed here fails at once. */
function blackHoleCluster(): Named<Cluster> {
  return { name: BLACKHOLE_CLUSTER, type: 'STATIC', connect_timeout: duration(CONNECT_TIMEOUT_MS) };
}

function inboundPassthroughCluster(): Named<Cluster> {
  return passthroughCluster(INBOUND_PASSTHROUGH_CLUSTER);
}

/** The workload's own port, reached over loopback after the sidecar's inbound listener. */
export function inboundCluster(targetPort: number, http2: boolean): Named<Cluster> {
  const name = inboundClusterName(targetPort);
  const cluster: Named<Cluster> = {
    name,
    type: 'STATIC',
    connect_timeout: duration(CONNECT_TIMEOUT_MS),
    load_assignment: {
      cluster_name: name,
      endpoints: [{ lb_endpoints: [{ endpoint: { address: socketAddress('127.0.0.1', targetPort) } }] }],
    },
  };
  if (http2) {
    cluster.typed_extension_protocol_options = {
      [HTTP_PROTOCOL_OPTIONS]: typed(HTTP_PROTOCOL_OPTIONS, { explicit_http_config: { http2_protocol_options: {} } }),
    };
  }
  return cluster;
}

/** The cluster a registry service is also known by, for static Envoy configs that name it. */
function registryCluster(name: string): Named<Cluster> {
  return { ...edsCluster(name), lb_policy: 'ROUND_ROBIN' };
}

/** The outbound clusters of one service for a proxy kind: one per port and subset, plus the registry alias. */
export function serviceClusters(svc: Service, kind: ProxyKind, policy: EffectivePolicy | undefined,
  identity?: DestinationIdentity): Named<Cluster>[] {
  const out: Named<Cluster>[] = [];
  for (const port of svc.ports) {
    out.push(outboundCluster(svc, port, kind, policy ? policyFields(policy, port.port) : {}, '', identity));
    // A subset accepts the identities of the whole Service (a pod moving between subsets is not a
    // new identity), and a proxyless subset cluster follows the Service port's decision.
    for (const subset of policy?.policy.subsets ?? []) {
      out.push(outboundCluster(svc, port, kind, policyFields(policy!, port.port, subset.name), subset.name, identity));
    }
  }
  if (svc.synthetic) out.push(registryCluster(registryEdsName(svc)));
  return out;
}

/** The clusters a kind gets besides the services': a sidecar's passthrough and black hole. */
export function staticClusters(kind: ProxyKind): Named<Cluster>[] {
  return kind === 'sidecar' ? [passthroughCluster(), blackHoleCluster(), inboundPassthroughCluster()] : [];
}
