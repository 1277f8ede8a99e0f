// RDS for Envoy sidecars: one RouteConfiguration per HTTP port number (named `<port>`, as the
// 0.0.0.0_<port> listener asks for it), a virtual host per Service speaking HTTP on that port,
// and a last catch-all virtual host for hosts the mesh does not know.
import { serviceFqdn } from '../../model/mesh.js';
import type { OutboundTrafficPolicy } from '../../model/outbound-policy.js';
import type { ProxyIdentity } from '../../model/proxy.js';
import type { MeshSnapshot } from '../../model/snapshot.js';
import { isHttp } from './cds.js';
import { serviceRoutes, type RouteObject } from './http-routes.js';
import { SIDECAR_OWN_PORTS, sidecarDomains, sidecarRouteName } from './names.js';
import { duration } from './proto-helpers.js';
import { fallthroughCluster, outboundPolicyFor, portsInMesh, type SidecarOptions } from './sidecar-lds.js';
import type { RouteConfigurationObject } from './grpc-rds.js';

function fallthroughHost(policy: OutboundTrafficPolicy): RouteObject {
  if (policy === 'REGISTRY_ONLY') {
    return { name: 'block_all', domains: ['*'], routes: [{ name: 'block_all', match: { prefix: '/' }, direct_response: { status: 502 } }] };
  }
  return {
    name: 'allow_any',
    domains: ['*'],
    routes: [{ name: 'allow_any', match: { prefix: '/' }, route: { cluster: fallthroughCluster(policy), timeout: duration(0) } }],
  };
}

export function sidecarRouteConfigurations(snapshot: MeshSnapshot, proxy: ProxyIdentity, options: SidecarOptions = {}): RouteConfigurationObject[] {
  const policy = outboundPolicyFor(snapshot, proxy, options);
  const out: RouteConfigurationObject[] = [];
  for (const [portNumber, list] of portsInMesh(snapshot)) {
    if (SIDECAR_OWN_PORTS.includes(portNumber)) continue;
    const hosts = list.filter(({ port }) => isHttp(port)).map(({ svc, port }) => ({
      name: `${serviceFqdn(svc.namespace, svc.name)}:${port.port}`,
      domains: sidecarDomains(svc, port, proxy.namespace),
      routes: serviceRoutes(snapshot, svc, port, 'sidecar'),
    }));
    if (hosts.length === 0) continue;
    out.push({ name: sidecarRouteName(portNumber), virtual_hosts: [...hosts, fallthroughHost(policy)] });
  }
  return out;
}
