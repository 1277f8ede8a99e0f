// Hand-made gRPC service definitions for the discovery services. Responses leave the streams
// already encoded, so the response serializer passes bytes through untouched.
import type * as grpc from '@grpc/grpc-js';
import { CLUSTER, ENDPOINT, LISTENER, ROUTE } from '../types.js';
import { encodeDeltaRequest, encodeSotwRequest } from './client-codec.js';
import { decodeDeltaRequest, decodeSotwRequest, type DeltaRequest, type SotwRequest } from './codec.js';

export interface DiscoveryServiceSpec {
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
];

export function methodPath(service: string, method: string): string {
  return `/${service}/${method}`;
}

const passBytes = (b: Buffer): Buffer => b;

export function sotwMethodDefinition(path: string): grpc.MethodDefinition<SotwRequest, Buffer> {
  return {
    path, requestStream: true, responseStream: true,
    requestSerialize: encodeSotwRequest, requestDeserialize: decodeSotwRequest,
    responseSerialize: passBytes, responseDeserialize: passBytes,
  };
}

export function deltaMethodDefinition(path: string): grpc.MethodDefinition<DeltaRequest, Buffer> {
  return {
    path, requestStream: true, responseStream: true,
    requestSerialize: encodeDeltaRequest, requestDeserialize: decodeDeltaRequest,
    responseSerialize: passBytes, responseDeserialize: passBytes,
  };
}

export function serviceDefinition(spec: DiscoveryServiceSpec): grpc.ServiceDefinition {
  return {
    [spec.sotwMethod]: sotwMethodDefinition(methodPath(spec.service, spec.sotwMethod)),
    [spec.deltaMethod]: deltaMethodDefinition(methodPath(spec.service, spec.deltaMethod)),
  };
}
