// RDS for proxyless gRPC: one RouteConfiguration per service port, one virtual host whose
// domains are every name a client may dial, with the routes of the service's TrafficRoute.
import type { Service, ServicePort } from '../../model/mesh.js';
import type { MeshIndex } from '../../model/mesh-index.js';
import type { RouteConfiguration } from '../envoy-types.js';
import { serviceRoutes } from './http-routes.js';
import { grpcListenerNames, grpcRouteName } from './resource-names.js';
import type { Named } from './resource.js';

export function grpcRouteConfiguration(mesh: MeshIndex, svc: Service, port: ServicePort, fromNamespace: string): Named<RouteConfiguration> {
  const name = grpcRouteName(svc, port);
  return {
    name,
    virtual_hosts: [{
      name,
      domains: grpcListenerNames(svc, port, fromNamespace),
      routes: serviceRoutes(mesh, svc, port, 'grpc'),
    }],
  };
}
