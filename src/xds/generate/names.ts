// Resource names, following Istio's where users already know them (see DESIGN.md).
import { serviceFqdn, type Service, type ServicePort } from '../../model/mesh.js';

export function outboundClusterName(svc: Service, port: number, subset = ''): string {
  return `outbound|${port}|${subset}|${serviceFqdn(svc.namespace, svc.name)}`;
}

export function inboundClusterName(port: number): string {
  return `inbound|${port}||`;
}

/**
 * Every name a client in `fromNamespace` may use for a service port. Short names only resolve
 * inside the service's own namespace, as with Kubernetes DNS search paths.
 */
export function hostNames(svc: Service, fromNamespace: string): string[] {
  const names = [serviceFqdn(svc.namespace, svc.name), `${svc.name}.${svc.namespace}`];
  if (svc.namespace === fromNamespace) names.push(svc.name);
  return names;
}

/** Proxyless listener names: what a gRPC client puts after `xds:///`. */
export function grpcListenerNames(svc: Service, port: ServicePort, fromNamespace: string): string[] {
  return hostNames(svc, fromNamespace).map((h) => `${h}:${port.port}`);
}

/** One RouteConfiguration per service port serves every listener name of that port. */
export function grpcRouteName(svc: Service, port: ServicePort): string {
  return `${serviceFqdn(svc.namespace, svc.name)}:${port.port}`;
}

/**
 * Registry services are also served under their bare name, so a hand-written Envoy config whose
 * EDS cluster says `service_name: myservice` works unchanged (the classic "EDS server" setup).
 * Outside `default` the namespace is appended, because bare names would collide.
 */
export function registryEdsName(svc: Service): string {
  return svc.namespace === 'default' ? svc.name : `${svc.name}.${svc.namespace}`;
}
