// The routes of one service port: its TrafficRoute's rules in order, or a single default route.
// Shared by sidecars (RDS per port) and proxyless gRPC clients (RDS per service port).
//
// For proxyless clients ("grpc" flavor) everything gRPC cannot express is left out, as
// routing/proxyless.ts tells users in the object's status: query and method matches (a
// match block that can never match an RPC is dropped, one that always does loses the
// condition), matchers on -bin headers, redirects (matching RPCs fail with UNAVAILABLE, which is
// what gRPC does with a redirect), mirrors, rewrites, header changes, per-try timeouts, HTTP-only
// retry conditions and hash keys other than headers. The route timeout becomes
// max_stream_duration, which is what gRPC reads (gRPC A31).
import { serviceFqdn, serviceKey, type Service, type ServicePort } from '../../model/mesh.js';
import { policyFields } from '../../model/effective-policy.js';
import type { MeshIndex } from '../../model/mesh-index.js';
import { routeDestinations, type Destination, type HashKey, type HeaderMatch, type HeaderOperations, type HttpRule, type Redirect, type RequestMatch, type RetryPolicy, type StringMatch } from '../../model/routing.js';
import { GRPC_RETRY_ON } from '../../model/proxyless.js';
import type { MeshSnapshot } from '../../model/snapshot.js';
import type {
  Any, HTTPFault, envoy_config_core_v3_HeaderValueOption as HeaderValueOption, envoy_config_route_v3_HeaderMatcher as HeaderMatcher,
  envoy_config_route_v3_RedirectAction as RedirectAction, envoy_config_route_v3_RedirectAction_RedirectResponseCode as RedirectCode, envoy_config_route_v3_RetryPolicy as EnvoyRetryPolicy,
  envoy_config_route_v3_Route as Route, envoy_config_route_v3_RouteAction as RouteAction,
  envoy_config_route_v3_RouteAction_HashPolicy as HashPolicy, envoy_config_route_v3_RouteMatch as RouteMatch,
  envoy_type_matcher_v3_StringMatcher as StringMatcher,
} from '../envoy-types.js';
import { FAULT_FILTER, FAULT_TYPE } from './http-filters.js';
import { clusterName } from './resource-names.js';
import { duration, fractionalPercent, typed, u32 } from './proto-helpers.js';

type RouteFlavor = 'sidecar' | 'grpc';

/** gRPC status UNAVAILABLE. */
const GRPC_UNAVAILABLE = 14;

const REDIRECT_CODES: Readonly<Record<number, RedirectCode | undefined>> = {
  // MOVED_PERMANENTLY is the proto3 default and so left out.
  301: undefined, 302: 'FOUND', 303: 'SEE_OTHER', 307: 'TEMPORARY_REDIRECT', 308: 'PERMANENT_REDIRECT',
};

interface Target {
  readonly cluster: string;
  readonly destination: Destination;
  readonly port: number;
}

/** The cluster of a destination; undefined when its port cannot be known (the Service is gone). */
function targetOf(snapshot: MeshSnapshot, d: Destination): Target | undefined {
  const svc = snapshot.services.get(d.service.key);
  const port = d.port ?? (svc?.ports.length === 1 ? svc.ports[0].port : undefined);
  if (port === undefined) return undefined;
  return { cluster: clusterName(d.service.namespace, d.service.name, port, d.subset ?? ''), destination: d, port };
}

function hashPolicy(key: HashKey, flavor: RouteFlavor): HashPolicy | undefined {
  switch (key.type) {
    case 'header':
      return { header: { header_name: key.name.toLowerCase() } };
    case 'cookie':
      if (flavor === 'grpc') return undefined;
      return { cookie: { name: key.name, ...(key.ttlMs !== undefined ? { ttl: duration(key.ttlMs) } : {}) } };
    case 'sourceIp':
      return flavor === 'grpc' ? undefined : { connection_properties: { source_ip: true } };
  }
}

/** Consistent hashing is a cluster setting in the CRD but a route setting in Envoy: the first destination that hashes decides. */
function hashPolicies(mesh: MeshIndex, targets: readonly Target[], flavor: RouteFlavor): HashPolicy[] | undefined {
  for (const t of targets) {
    const policy = mesh.policyOf(t.destination.service.key);
    if (!policy) continue;
    const lb = policyFields(policy, t.port, t.destination.subset).loadBalancer;
    if (lb?.type !== 'consistentHash') continue;
    const h = hashPolicy(lb.hashKey, flavor);
    return h ? [h] : undefined;
  }
  return undefined;
}

function stringMatcher(m: StringMatch): StringMatcher {
  switch (m.type) {
    case 'exact': return { exact: m.value };
    case 'prefix': return { prefix: m.value };
    case 'regex': return { safe_regex: { regex: m.value } };
  }
}

function headerMatcher(h: HeaderMatch): HeaderMatcher {
  const name = h.name.toLowerCase();
  switch (h.type) {
    case 'present': return { name, present_match: true };
    // invert_match of "present" means absent in Envoy and in gRPC alike.
    case 'absent': return { name, present_match: true, invert_match: true };
    default: return { name, string_match: stringMatcher(h) };
  }
}

/** The RouteMatch of one match block; undefined when the block can never match for this flavor. */
function routeMatch(m: RequestMatch | undefined, flavor: RouteFlavor): RouteMatch | undefined {
  const out: RouteMatch = {};
  const uri = m?.uri;
  if (uri === undefined) out.prefix = '/';
  else if (uri.type === 'exact') out.path = uri.value;
  else if (uri.type === 'prefix') out.prefix = uri.value;
  else out.safe_regex = { regex: uri.value };
  if (m === undefined) return out;

  const headers = m.headers.filter((h) => flavor === 'sidecar' || !h.name.toLowerCase().endsWith('-bin')).map(headerMatcher);
  if (m.method !== undefined) {
    if (flavor === 'sidecar') headers.push({ name: ':method', string_match: { exact: m.method } });
    else if (m.method !== 'POST') return undefined;
  }
  if (headers.length > 0) out.headers = headers;
  if (m.queryParams.length > 0) {
    if (flavor === 'grpc') return undefined;
    out.query_parameters = m.queryParams.map((q) => (q.type === 'present'
      ? { name: q.name, present_match: true }
      : { name: q.name, string_match: q.type === 'exact' ? { exact: q.value } : { safe_regex: { regex: q.value } } }));
  }
  return out;
}

function retryPolicy(r: RetryPolicy, flavor: RouteFlavor): EnvoyRetryPolicy | undefined {
  if (r.attempts === 0) return undefined;
  const on = flavor === 'grpc' ? r.retryOn.filter((c) => GRPC_RETRY_ON.includes(c)) : r.retryOn;
  if (on.length === 0) return undefined;
  const out: EnvoyRetryPolicy = { retry_on: on.join(','), num_retries: u32(r.attempts) };
  if (flavor === 'sidecar' && r.perTryTimeoutMs !== undefined) out.per_try_timeout = duration(r.perTryTimeoutMs);
  return out;
}

function faultConfig(rule: HttpRule): Record<string, Any> | undefined {
  const f = rule.fault;
  if (!f) return undefined;
  const body: HTTPFault = {};
  if (f.delay) body.delay = { fixed_delay: duration(f.delay.fixedDelayMs), percentage: fractionalPercent(f.delay.percentage) };
  if (f.abort) {
    body.abort = {
      ...(f.abort.type === 'grpc' ? { grpc_status: f.abort.grpcStatus } : { http_status: f.abort.httpStatus }),
      percentage: fractionalPercent(f.abort.percentage),
    };
  }
  return { [FAULT_FILTER]: typed(FAULT_TYPE, body) };
}

/** What gRPC does with a route it cannot follow: fail the RPC with UNAVAILABLE. */
function unavailableFault(): Record<string, Any> {
  return { [FAULT_FILTER]: typed(FAULT_TYPE, { abort: { grpc_status: GRPC_UNAVAILABLE, percentage: fractionalPercent(100) } }) };
}

function redirectAction(r: Redirect): RedirectAction {
  const out: RedirectAction = {};
  if (r.authority !== undefined) {
    const colon = r.authority.lastIndexOf(':');
    if (colon > 0) {
      out.host_redirect = r.authority.slice(0, colon);
      out.port_redirect = Number(r.authority.slice(colon + 1));
    } else {
      out.host_redirect = r.authority;
    }
  }
  if (r.uri !== undefined) out.path_redirect = r.uri;
  const code = REDIRECT_CODES[r.responseCode];
  if (code !== undefined) out.response_code = code;
  return out;
}

function headerOperations(ops: HeaderOperations, side: 'request' | 'response'): Route {
  const add: HeaderValueOption[] = [
    // APPEND_IF_EXISTS_OR_ADD is the proto3 default, so `add` entries carry no append_action.
    ...ops.add.map((h) => ({ header: { key: h.name, value: h.value } })),
    ...ops.set.map((h) => ({ header: { key: h.name, value: h.value }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' })),
  ];
  const out: Route = {};
  if (side === 'request') {
    if (add.length > 0) out.request_headers_to_add = add;
    if (ops.remove.length > 0) out.request_headers_to_remove = [...ops.remove];
  } else {
    if (add.length > 0) out.response_headers_to_add = add;
    if (ops.remove.length > 0) out.response_headers_to_remove = [...ops.remove];
  }
  return out;
}

/** The cluster of a service port as the target of the default route. */
function defaultTarget(svc: Service, port: ServicePort): Target {
  return {
    cluster: clusterName(svc.namespace, svc.name, port.port),
    destination: { service: { name: svc.name, namespace: svc.namespace, key: serviceKey(svc.namespace, svc.name), host: serviceFqdn(svc.namespace, svc.name) } },
    port: port.port,
  };
}

/** A RouteAction to these targets (one cluster, or weighted clusters). */
function forward(mesh: MeshIndex, targets: readonly { target: Target; weight: number }[], flavor: RouteFlavor): RouteAction {
  const merged = new Map<string, number>();
  for (const { target, weight } of targets) merged.set(target.cluster, (merged.get(target.cluster) ?? 0) + weight);
  const action: RouteAction = merged.size === 1
    ? { cluster: [...merged.keys()][0] }
    : { weighted_clusters: { clusters: [...merged].map(([name, weight]) => ({ name, weight: u32(weight) })) } };
  const hash = hashPolicies(mesh, targets.map((t) => t.target), flavor);
  if (hash) action.hash_policy = hash;
  return action;
}

function ruleRoutes(mesh: MeshIndex, svc: Service, port: ServicePort, rule: HttpRule, flavor: RouteFlavor): Route[] {
  const snapshot = mesh.snapshot;
  const base: Route = {};
  const fault = faultConfig(rule);
  if (rule.action.type === 'redirect') {
    if (flavor === 'grpc') {
      base.route = forward(mesh, [{ target: defaultTarget(svc, port), weight: 1 }], flavor);
      base.typed_per_filter_config = unavailableFault();
    } else {
      base.redirect = redirectAction(rule.action.redirect);
    }
  } else {
    const targets = rule.action.destinations
      .filter((d) => d.weight > 0)
      .map((d) => ({ target: targetOf(snapshot, d.destination), weight: d.weight }))
      .filter((t): t is { target: Target; weight: number } => t.target !== undefined);
    if (targets.length === 0) {
      // Only a route kept from an earlier generation can get here (its Service has since gone).
      if (flavor === 'grpc') {
        base.route = forward(mesh, [{ target: defaultTarget(svc, port), weight: 1 }], flavor);
        base.typed_per_filter_config = unavailableFault();
      } else {
        base.direct_response = { status: 503 };
      }
    } else {
      const action = forward(mesh, targets, flavor);
      if (flavor === 'sidecar') {
        // Envoy's default of 15 s would cut long gRPC streams; no timeout unless the rule sets one.
        action.timeout = duration(rule.timeoutMs ?? 0);
        if (rule.rewrite?.uriPrefix !== undefined) action.prefix_rewrite = rule.rewrite.uriPrefix;
        if (rule.rewrite?.authority !== undefined) action.host_rewrite_literal = rule.rewrite.authority;
        const mirror = rule.mirror && targetOf(snapshot, rule.mirror.destination);
        if (rule.mirror && mirror) {
          action.request_mirror_policies = [{
            cluster: mirror.cluster,
            ...(rule.mirror.percentage < 100 ? { runtime_fraction: { default_value: fractionalPercent(rule.mirror.percentage) } } : {}),
          }];
        }
      } else if (rule.timeoutMs !== undefined) {
        action.max_stream_duration = { max_stream_duration: duration(rule.timeoutMs) };
      }
      const retry = rule.retries && retryPolicy(rule.retries, flavor);
      if (retry) action.retry_policy = retry;
      base.route = action;
    }
  }
  if (fault && base.typed_per_filter_config === undefined) base.typed_per_filter_config = fault;
  if (flavor === 'sidecar') {
    Object.assign(base, headerOperations(rule.requestHeaders, 'request'), headerOperations(rule.responseHeaders, 'response'));
  }

  const name = rule.name ?? `rule-${rule.index}`;
  const blocks: (RequestMatch | undefined)[] = rule.match.length > 0 ? [...rule.match] : [undefined];
  const out: Route[] = [];
  blocks.forEach((m, j) => {
    const match = routeMatch(m, flavor);
    if (match === undefined) return;
    out.push({ name: blocks.length > 1 ? `${name}.${j}` : name, match, ...base });
  });
  return out;
}

/**
 * The routes for requests to `svc` on `port`: the rules of the TrafficRoute applied to the service
 * in order (a request no rule matches gets 404 / UNIMPLEMENTED, as with Istio), or one route to the
 * port's cluster when no TrafficRoute applies.
 */
export function serviceRoutes(mesh: MeshIndex, svc: Service, port: ServicePort, flavor: RouteFlavor): Route[] {
  const route = mesh.snapshot.routing.applied.routeByHost.get(serviceKey(svc.namespace, svc.name));
  // Rules merged from Gateway API routes may be limited to some ports; a port none of them
  // names keeps the default route.
  const rules = route?.http.filter((rule) => rule.ports === undefined || rule.ports.includes(port.port)) ?? [];
  if (rules.length > 0) return rules.flatMap((rule) => ruleRoutes(mesh, svc, port, rule, flavor));
  const action = forward(mesh, [{ target: defaultTarget(svc, port), weight: 1 }], flavor);
  if (flavor === 'sidecar') action.timeout = duration(0);
  return [{ name: 'default', match: { prefix: '/' }, route: action }];
}

/**
 * Everything of the snapshot that serviceRoutes(mesh, svc, ...) reads besides `svc` itself, as
 * references: the service's TrafficRoute and TrafficPolicy, and the Service and TrafficPolicy of
 * every destination the route names (a destination's port and hashing come from them; the index
 * resolves a TrafficPolicy object to one resolution, so the object stands for it). Two
 * snapshots with element-wise identical lists give the same routes, which is what lets
 * the cache (xds/cache/service-parts.ts) keep a service's encoded routes across config changes elsewhere in the mesh
 * (the store keeps unchanged Services, and applied routing while unchanged, identical).
 */
export function serviceRoutesInputs(snapshot: MeshSnapshot, svc: Service): unknown[] {
  const applied = snapshot.routing.applied;
  const key = serviceKey(svc.namespace, svc.name);
  const route = applied.routeByHost.get(key);
  const out: unknown[] = [route, applied.policyByHost.get(key)];
  if (route) {
    for (const { destination } of routeDestinations(route)) {
      out.push(snapshot.services.get(destination.service.key), applied.policyByHost.get(destination.service.key));
    }
  }
  return out;
}
