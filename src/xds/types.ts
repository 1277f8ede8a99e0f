// xDS type URLs and the order in which they are pushed.

export const TYPE_PREFIX = 'type.googleapis.com/';

export const LISTENER = 'type.googleapis.com/envoy.config.listener.v3.Listener';
export const ROUTE = 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration';
export const CLUSTER = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';
export const ENDPOINT = 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment';
/** SDS: served by the pod-side agent to its Envoy, never by the control plane. */
export const SECRET = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret';

export type XdsTypeUrl = typeof LISTENER | typeof ROUTE | typeof CLUSTER | typeof ENDPOINT;

/**
 * Make-before-break: clusters before the endpoints they need, both before the listeners and
 * routes that point at them, so a proxy never routes to a cluster it does not know yet.
 */
export const PUSH_ORDER: readonly XdsTypeUrl[] = [CLUSTER, ENDPOINT, LISTENER, ROUTE];

/** LDS and CDS responses carry the full state; RDS and EDS only the named resources. */
export function isFullState(typeUrl: string): boolean {
  return typeUrl === LISTENER || typeUrl === CLUSTER;
}

export function messageName(typeUrl: string): string {
  return typeUrl.startsWith(TYPE_PREFIX) ? typeUrl.slice(TYPE_PREFIX.length) : typeUrl;
}

export function shortTypeName(typeUrl: string): 'LDS' | 'RDS' | 'CDS' | 'EDS' | string {
  switch (typeUrl) {
    case LISTENER: return 'LDS';
    case ROUTE: return 'RDS';
    case CLUSTER: return 'CDS';
    case ENDPOINT: return 'EDS';
    case SECRET: return 'SDS';
    default: return messageName(typeUrl);
  }
}
