// The filters every generated HTTP connection manager and TCP proxy is built from.
import type { LocalRateLimit } from '../../model/routing.js';
import type {
  Any, envoy_config_listener_v3_Filter as Filter,
  envoy_extensions_filters_network_http_connection_manager_v3_HttpFilter as HttpFilter,
} from '../envoy-types.js';
import { ADS_CONFIG_SOURCE, duration, fractionalPercent, typed, u32 } from './proto-helpers.js';

export const HCM_TYPE = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
export const HCM_FILTER = 'envoy.filters.network.http_connection_manager';
const TCP_PROXY_TYPE = 'envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';
const TCP_PROXY_FILTER = 'envoy.filters.network.tcp_proxy';
export const ROUTER_TYPE = 'envoy.extensions.filters.http.router.v3.Router';
export const ROUTER_FILTER = 'envoy.filters.http.router';
export const FAULT_TYPE = 'envoy.extensions.filters.http.fault.v3.HTTPFault';
export const FAULT_FILTER = 'envoy.filters.http.fault';
const LOCAL_RATE_LIMIT_TYPE = 'envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit';
const LOCAL_RATE_LIMIT_FILTER = 'envoy.filters.http.local_ratelimit';
export const ORIGINAL_DST_TYPE = 'envoy.extensions.filters.listener.original_dst.v3.OriginalDst';
export const ORIGINAL_DST_FILTER = 'envoy.filters.listener.original_dst';

export function routerFilter(): HttpFilter {
  return { name: ROUTER_FILTER, typed_config: typed(ROUTER_TYPE) };
}

/**
 * Always present and empty: faults come from per-route config. Keeping the filter in every
 * connection manager means adding a fault to a route changes RDS only, never the listener
 * (Envoy drains connections when a listener changes).
 */
function faultFilter(): HttpFilter {
  return { name: FAULT_FILTER, typed_config: typed(FAULT_TYPE) };
}

/**
 * The HCM of an outbound (or proxyless) listener: routes come over RDS. A sidecar's strips any
 * port from the Host before matching virtual hosts, so `web:8080` matches the domain `web` and
 * the route configurations list every name once rather than with and without the port. gRPC
 * clients match their dial target themselves (with the port) and ignore the field.
 */
export function rdsConnectionManager(statPrefix: string, routeName: string, opts: { stripAnyHostPort?: boolean } = {}): Any {
  return typed(HCM_TYPE, {
    stat_prefix: statPrefix,
    rds: { config_source: ADS_CONFIG_SOURCE, route_config_name: routeName },
    http_filters: [faultFilter(), routerFilter()],
    ...(opts.stripAnyHostPort ? { strip_any_host_port: true } : {}),
  });
}

/** Token bucket shared by every connection to this listener chain, always on and enforced. */
export function localRateLimitFilter(limit: LocalRateLimit, statPrefix: string): HttpFilter {
  const always = { default_value: fractionalPercent(100), runtime_key: `${statPrefix}.enabled` };
  return {
    name: LOCAL_RATE_LIMIT_FILTER,
    typed_config: typed(LOCAL_RATE_LIMIT_TYPE, {
      stat_prefix: statPrefix,
      token_bucket: {
        max_tokens: limit.maxTokens,
        tokens_per_fill: u32(limit.tokensPerFill),
        fill_interval: duration(limit.fillIntervalMs),
      },
      filter_enabled: always,
      filter_enforced: { ...always, runtime_key: `${statPrefix}.enforced` },
    }),
  };
}

export function tcpProxyFilter(statPrefix: string, cluster: string): Filter {
  return { name: TCP_PROXY_FILTER, typed_config: typed(TCP_PROXY_TYPE, { stat_prefix: statPrefix, cluster }) };
}

/** `config`: an HttpConnectionManager Any (from `typed(HCM_TYPE, ...)` or rdsConnectionManager). */
export function hcmFilter(config: Any): Filter {
  return { name: HCM_FILTER, typed_config: config };
}
