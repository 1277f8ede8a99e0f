// The discovery services and their methods: ADS serves every type, the per-type services one.
import { CLUSTER, ENDPOINT, LISTENER, ROUTE, SECRET } from '../types.js';

interface DiscoveryServiceSpec {
  readonly service: string;
  readonly sotwMethod: string;
  readonly deltaMethod: string;
  /** Per-type services serve exactly one type; ADS serves them all. */
  readonly typeUrl?: string;
}

export const ADS_SERVICE = 'envoy.service.discovery.v3.AggregatedDiscoveryService';

export const DISCOVERY_SERVICES: readonly DiscoveryServiceSpec[] = [
  { service: ADS_SERVICE, sotwMethod: 'StreamAggregatedResources', deltaMethod: 'DeltaAggregatedResources' },
  { service: 'envoy.service.listener.v3.ListenerDiscoveryService', sotwMethod: 'StreamListeners', deltaMethod: 'DeltaListeners', typeUrl: LISTENER },
  { service: 'envoy.service.route.v3.RouteDiscoveryService', sotwMethod: 'StreamRoutes', deltaMethod: 'DeltaRoutes', typeUrl: ROUTE },
  { service: 'envoy.service.cluster.v3.ClusterDiscoveryService', sotwMethod: 'StreamClusters', deltaMethod: 'DeltaClusters', typeUrl: CLUSTER },
  { service: 'envoy.service.endpoint.v3.EndpointDiscoveryService', sotwMethod: 'StreamEndpoints', deltaMethod: 'DeltaEndpoints', typeUrl: ENDPOINT },
  // Only the pod-side agent has secrets to serve; the control plane's views hold none, so a
  // client asking it gets an empty answer.
  { service: 'envoy.service.secret.v3.SecretDiscoveryService', sotwMethod: 'StreamSecrets', deltaMethod: 'DeltaSecrets', typeUrl: SECRET },
];

export function methodPath(service: string, method: string): string {
  return `/${service}/${method}`;
}
