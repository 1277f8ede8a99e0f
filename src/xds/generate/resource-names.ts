// Resource names, following Istio's where users already know them (see DESIGN.md).
import { PORT_INBOUND, PORT_OUTBOUND, PROXY_PORTS } from '../../model/ports.js';
import { serviceFqdn, type Service, type ServicePort } from '../../model/mesh.js';

export function clusterName(namespace: string, name: string, port: number, subset = ''): string {
  return `outbound|${port}|${subset}|${serviceFqdn(namespace, name)}`;
}

export function outboundClusterName(svc: Service, port: number, subset = ''): string {
  return clusterName(svc.namespace, svc.name, port, subset);
}

export function inboundClusterName(port: number): string {
  return `inbound|${port}||`;
}

/** Where a sidecar sends traffic for destinations the mesh does not know (ALLOW_ANY). */
export const PASSTHROUGH_CLUSTER = 'PassthroughCluster';
/** Where it sends that traffic under REGISTRY_ONLY: a cluster without endpoints. */
export const BLACKHOLE_CLUSTER = 'BlackHoleCluster';
/** Inbound connections to ports no Service declares go to their original destination. */
export const INBOUND_PASSTHROUGH_CLUSTER = 'InboundPassthroughCluster';

export const VIRTUAL_OUTBOUND = 'virtualOutbound';
export const VIRTUAL_INBOUND = 'virtualInbound';
/** The capture ports the injected iptables rules redirect to. */
export const VIRTUAL_OUTBOUND_PORT = PORT_OUTBOUND;
export const VIRTUAL_INBOUND_PORT = PORT_INBOUND;
/**
 * Ports the sidecar itself listens on (admin, capture, readiness, metrics).
 * A Service port among them gets no outbound listener: Envoy refuses two listeners on one address.
 */
export const SIDECAR_OWN_PORTS: readonly number[] = PROXY_PORTS;

/** The sidecar's per-port outbound listener. */
export function outboundListenerName(port: number): string {
  return `0.0.0.0_${port}`;
}

/** The sidecar's RouteConfiguration for one HTTP port: every service on that port is a virtual host. */
export function sidecarRouteName(port: number): string {
  return String(port);
}

/**
 * Every name a client in `fromNamespace` may use for a service port. Short names only resolve
 * inside the service's own namespace, as with Kubernetes DNS search paths.
 */
function hostNames(svc: Service, fromNamespace: string): string[] {
  const names = [serviceFqdn(svc.namespace, svc.name), `${svc.name}.${svc.namespace}`];
  if (svc.namespace === fromNamespace) names.push(svc.name);
  return names;
}

/**
 * The Host/:authority values a sidecar's virtual host for a service port answers to: every DNS
 * name (FQDN, `name.ns.svc`, `name.ns`, the short name from the same namespace) and the cluster
 * IP. No `host:port` forms: the outbound connection manager strips any port from the Host before
 * matching (`strip_any_host_port`, see http-filters.ts), which halves the domains of the route
 * configurations every sidecar holds.
 */
export function sidecarDomains(svc: Service, fromNamespace: string): string[] {
  const hosts = [serviceFqdn(svc.namespace, svc.name), `${svc.name}.${svc.namespace}.svc`, `${svc.name}.${svc.namespace}`];
  if (svc.namespace === fromNamespace) hosts.push(svc.name);
  if (svc.clusterIP !== undefined) hosts.push(svc.clusterIP.includes(':') ? `[${svc.clusterIP}]` : svc.clusterIP);
  return hosts;
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
