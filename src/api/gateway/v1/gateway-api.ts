// The Gateway API kinds pilotfish reads (HTTPRoute and GRPCRoute, for the mesh: GAMMA), the
// version of the official CRDs the Helm chart ships, and the name pilotfish writes status under.
import type { GatewayRouteKind } from '../../../model/gateway-route.js';

export const GATEWAY_GROUP = 'gateway.networking.k8s.io';
export const GATEWAY_API_VERSION = `${GATEWAY_GROUP}/v1`;

/**
 * The release of sigs.k8s.io/gateway-api whose standard-channel CRDs the chart ships
 * (deploy/helm/pilotfish/files/gateway-api/); the CRDs carry it in GATEWAY_BUNDLE_VERSION_ANNOTATION.
 */
export const GATEWAY_API_BUNDLE_VERSION = 'v1.6.3';
export const GATEWAY_BUNDLE_VERSION_ANNOTATION = 'gateway.networking.k8s.io/bundle-version';

/** status.parents[].controllerName of the entries pilotfish writes (and the only ones it touches). */
export const MESH_CONTROLLER_NAME = 'pilotfish.io/mesh';

interface GatewayRouteKindInfo {
  readonly kind: GatewayRouteKind;
  readonly plural: string;
}

export const HTTP_ROUTE_KIND: GatewayRouteKindInfo = { kind: 'HTTPRoute', plural: 'httproutes' };
export const GRPC_ROUTE_KIND: GatewayRouteKindInfo = { kind: 'GRPCRoute', plural: 'grpcroutes' };

export function gatewayCrdName(info: GatewayRouteKindInfo): string {
  return `${info.plural}.${GATEWAY_GROUP}`;
}

export function gatewayKindInfo(kind: GatewayRouteKind): GatewayRouteKindInfo {
  return kind === 'HTTPRoute' ? HTTP_ROUTE_KIND : GRPC_ROUTE_KIND;
}
