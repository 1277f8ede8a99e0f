// RDS for proxyless gRPC: one RouteConfiguration per service port, one virtual host whose
// domains are every name a client may dial, with the routes of the service's TrafficRoute.
import type { Service, ServicePort } from '../../model/mesh.js';
import type { MeshSnapshot } from '../../model/snapshot.js';
import { serviceRoutes } from './http-routes.js';
import { grpcListenerNames, grpcRouteName } from './resource-names.js';

export type RouteConfigurationObject = Record<string, unknown> & { name: string };

export function grpcRouteConfiguration(snapshot: MeshSnapshot, svc: Service, port: ServicePort, fromNamespace: string): RouteConfigurationObject {
  const name = grpcRouteName(svc, port);
  return {
    name,
    virtual_hosts: [{
      name,
      domains: grpcListenerNames(svc, port, fromNamespace),
      routes: serviceRoutes(snapshot, svc, port, 'grpc'),
    }],
  };
}
