// LDS for proxyless gRPC: an api_listener per name a client may dial, pointing at RDS over ADS.
import type { Service, ServicePort } from '../../model/mesh.js';
import { rdsConnectionManager } from './http-filters.js';
import { grpcListenerNames, grpcRouteName } from './resource-names.js';

export type ListenerObject = Record<string, unknown> & { name: string };

export function grpcListeners(svc: Service, port: ServicePort, fromNamespace: string): ListenerObject[] {
  const routeName = grpcRouteName(svc, port);
  return grpcListenerNames(svc, port, fromNamespace).map((name) => ({
    name,
    // gRPC runs the fault filter client-side (gRPC A33); routes configure it per route.
    api_listener: { api_listener: rdsConnectionManager(name, routeName) },
  }));
}
