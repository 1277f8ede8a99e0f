// LDS for proxyless gRPC: an api_listener per name a client may dial, pointing at RDS over ADS.
import type { Service, ServicePort } from '../../model/mesh.js';
import { grpcListenerNames, grpcRouteName } from './names.js';
import { ADS_CONFIG_SOURCE, typed } from './proto-helpers.js';

export type ListenerObject = Record<string, unknown> & { name: string };

const HCM = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const ROUTER = 'envoy.extensions.filters.http.router.v3.Router';

export function routerFilter(): Record<string, unknown> {
  return { name: 'envoy.filters.http.router', typed_config: typed(ROUTER) };
}

export function grpcListeners(svc: Service, port: ServicePort, fromNamespace: string): ListenerObject[] {
  const routeName = grpcRouteName(svc, port);
  return grpcListenerNames(svc, port, fromNamespace).map((name) => ({
    name,
    api_listener: {
      api_listener: typed(HCM, {
        stat_prefix: name,
        rds: { config_source: ADS_CONFIG_SOURCE, route_config_name: routeName },
        http_filters: [routerFilter()],
      }),
    },
  }));
}
