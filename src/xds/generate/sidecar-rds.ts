// RDS for Envoy sidecars: one RouteConfiguration per HTTP port number (named `<port>`, as the
// 0.0.0.0_<port> listener asks for it), a virtual host per Service speaking HTTP on that port,
// and a last catch-all virtual host for hosts the mesh does not know.
//
// The parts are exported on their own: mesh-source.ts encodes each virtual host once per
// (service port, same namespace or not) and puts the configurations together from the encoded
// hosts, so a new Service costs its own virtual hosts, not the mesh's.
import { serviceFqdn, type Service, type ServicePort } from '../../model/mesh.js';
import type { OutboundTrafficPolicy } from '../../model/outbound-policy.js';
import type { ProxyIdentity } from '../../model/proxy.js';
import type { MeshSnapshot } from '../../model/snapshot.js';
import { isHttp } from './cds.js';
import { serviceRoutes, type RouteObject } from './http-routes.js';
import { SIDECAR_OWN_PORTS, sidecarDomains, sidecarRouteName } from './resource-names.js';
import { duration } from './proto-helpers.js';
import { fallthroughCluster, outboundPolicyFor, portsInMesh, type SidecarOptions } from './sidecar-lds.js';
import type { RouteConfigurationObject } from './grpc-rds.js';

/** The catch-all virtual host, last in every sidecar RouteConfiguration. */
export function fallthroughHost(policy: OutboundTrafficPolicy): RouteObject {
  if (policy === 'REGISTRY_ONLY') {
    return { name: 'block_all', domains: ['*'], routes: [{ name: 'block_all', match: { prefix: '/' }, direct_response: { status: 502 } }] };
  }
  return {
    name: 'allow_any',
    domains: ['*'],
    routes: [{ name: 'allow_any', match: { prefix: '/' }, route: { cluster: fallthroughCluster(policy), timeout: duration(0) } }],
  };
}

/** The virtual host of one HTTP service port, as seen from sidecars in `fromNamespace`. */
export function sidecarVirtualHost(snapshot: MeshSnapshot, svc: Service, port: ServicePort, fromNamespace: string): RouteObject {
  return {
    name: `${serviceFqdn(svc.namespace, svc.name)}:${port.port}`,
    domains: sidecarDomains(svc, fromNamespace),
    routes: serviceRoutes(snapshot, svc, port, 'sidecar'),
  };
}

export interface SidecarRouteLayout {
  /** The RouteConfiguration's name. */
  readonly name: string;
  /** Its service virtual hosts, in order (the fallthrough host follows them). */
  readonly hosts: readonly { readonly svc: Service; readonly port: ServicePort }[];
}

const layoutMemo = new WeakMap<MeshSnapshot, readonly SidecarRouteLayout[]>();

/** Which RouteConfigurations sidecars get and which service ports each has a host for (once per snapshot). */
export function sidecarRouteLayout(snapshot: MeshSnapshot): readonly SidecarRouteLayout[] {
  let layout = layoutMemo.get(snapshot);
  if (layout) return layout;
  const out: SidecarRouteLayout[] = [];
  for (const [portNumber, list] of portsInMesh(snapshot)) {
    if (SIDECAR_OWN_PORTS.includes(portNumber)) continue;
    const hosts = list.filter(({ port }) => isHttp(port));
    if (hosts.length > 0) out.push({ name: sidecarRouteName(portNumber), hosts });
  }
  layoutMemo.set(snapshot, (layout = out));
  return layout;
}

export function sidecarRouteConfigurations(snapshot: MeshSnapshot, proxy: ProxyIdentity, options: SidecarOptions = {}): RouteConfigurationObject[] {
  const fallthrough = fallthroughHost(outboundPolicyFor(snapshot, proxy, options));
  return sidecarRouteLayout(snapshot).map(({ name, hosts }) => ({
    name,
    virtual_hosts: [...hosts.map(({ svc, port }) => sidecarVirtualHost(snapshot, svc, port, proxy.namespace)), fallthrough],
  }));
}
