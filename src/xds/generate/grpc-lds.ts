// LDS for proxyless gRPC: an api_listener per name a client may dial, pointing at RDS over ADS.
import type { Service, ServicePort } from '../../model/mesh.js';
import type { Listener } from '../envoy-types.js';
import { rdsConnectionManager } from './http-filters.js';
import { grpcListenerNames, grpcRouteName } from './resource-names.js';
import type { Named } from './resource.js';

export function grpcListeners(svc: Service, port: ServicePort, fromNamespace: string): Named<Listener>[] {
  const routeName = grpcRouteName(svc, port);
  return grpcListenerNames(svc, port, fromNamespace).map((name) => ({
    name,
    // gRPC runs the fault filter client-side (gRPC A33); routes configure it per route.
    api_listener: { api_listener: rdsConnectionManager(name, routeName) },
  }));
}
