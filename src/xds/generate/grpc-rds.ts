// RDS for proxyless gRPC: one RouteConfiguration per service port, one virtual host whose
// domains are every name a client may dial.
import type { Service, ServicePort } from '../../model/mesh.js';
import { grpcListenerNames, grpcRouteName, outboundClusterName } from './names.js';

export type RouteConfigurationObject = Record<string, unknown> & { name: string };

export function grpcRouteConfiguration(svc: Service, port: ServicePort, fromNamespace: string): RouteConfigurationObject {
  const name = grpcRouteName(svc, port);
  return {
    name,
    virtual_hosts: [{
      name,
      domains: grpcListenerNames(svc, port, fromNamespace),
      routes: [{ match: { prefix: '/' }, route: { cluster: outboundClusterName(svc, port.port) } }],
    }],
  };
}
