// RDS for Envoy sidecars: one RouteConfiguration per HTTP port number (named `<port>`, as the
// 0.0.0.0_<port> listener asks for it), a virtual host per Service speaking HTTP on that port,
// and a last catch-all virtual host for hosts the mesh does not know.
//
// The parts are exported on their own: assemble.ts puts the configurations together from them,
// and the cache (xds/cache/service-parts.ts) encodes each virtual host once per (service port,
// same namespace or not), so a new Service costs its own virtual hosts, not the mesh's.
import { serviceFqdn, type Service, type ServicePort } from '../../model/mesh.js';
import type { OutboundTrafficPolicy } from '../../model/outbound-policy.js';
import type { MeshIndex, ServicePortRef } from '../../model/mesh-index.js';
import type { ResolvedScope } from '../../model/traffic-scope.js';
import type { VirtualHost } from '../envoy-types.js';
import { isHttp } from './cds.js';
import { serviceRoutes } from './http-routes.js';
import { SIDECAR_OWN_PORTS, sidecarDomains, sidecarRouteName } from './resource-names.js';
import { duration } from './proto-helpers.js';
import { fallthroughCluster } from './sidecar-lds.js';

/** The catch-all virtual host, last in every sidecar RouteConfiguration. */
export function fallthroughHost(policy: OutboundTrafficPolicy): VirtualHost {
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
export function sidecarVirtualHost(mesh: MeshIndex, svc: Service, port: ServicePort, fromNamespace: string): VirtualHost {
  return {
    name: `${serviceFqdn(svc.namespace, svc.name)}:${port.port}`,
    domains: sidecarDomains(svc, fromNamespace),
    routes: serviceRoutes(mesh, svc, port, 'sidecar'),
  };
}

interface SidecarRouteLayout {
  /** The RouteConfiguration's name. */
  readonly name: string;
  /** Its service virtual hosts, in order (the fallthrough host follows them). */
  readonly hosts: readonly ServicePortRef[];
}

/** Which RouteConfigurations sidecars under `scope` get and which service ports each has a host for. */
export function sidecarRouteLayout(mesh: MeshIndex, scope?: ResolvedScope): SidecarRouteLayout[] {
  const out: SidecarRouteLayout[] = [];
  for (const [portNumber, list] of mesh.portsInScope(scope)) {
    if (SIDECAR_OWN_PORTS.includes(portNumber)) continue;
    const hosts = list.filter(({ port }) => isHttp(port));
    if (hosts.length > 0) out.push({ name: sidecarRouteName(portNumber), hosts });
  }
  return out;
}
