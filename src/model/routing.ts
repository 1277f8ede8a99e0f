// The validated, normalized model of the routing CRDs (TrafficRoute, TrafficPolicy).
//
// Everything here has already passed the same checks the API server applies (schema and CEL
// rules, see routing-crd-schema.ts), so consumers never re-validate: durations are integer
// milliseconds, percentages are numbers in [0, 100], defaults are filled in, maps became lists
// sorted by name, and every host is resolved to a Service (name + namespace + key). Whether those
// Services, ports and subsets exist is decided later, against the mesh, by
// routing/validate.ts.
//
// Parsing: parseTrafficRoute / parseTrafficPolicy (api/routing/v1alpha1/parse.ts) return `{ ok }` or
// `{ errors }` with API-server style paths ("spec.http[1].route[0].weight: must be >= 0").
import { serviceKey } from './mesh.js';
import type { ObjectIdentity } from './object-identity.js';

/**
 * pilotfish's own kinds, the Istio kinds translated into the same model (api/istio/), and the
 * Gateway API kinds HTTPRoute and GRPCRoute (model/gateway-route.ts), merged into TrafficRoutes per Service.
 */
export type RoutingKind = 'TrafficRoute' | 'TrafficPolicy' | 'VirtualService' | 'DestinationRule' | 'HTTPRoute' | 'GRPCRoute';

/** Identity of a routing object, carried by its model so status can be written back. */
export interface RoutingObjectMeta extends ObjectIdentity {
  readonly kind: RoutingKind;
}

/** `<kind>/<namespace>/<name>`: identifies an object across generations. */
export function routingObjectKey(meta: Pick<RoutingObjectMeta, 'kind' | 'namespace' | 'name'>): string {
  return `${meta.kind}/${meta.namespace}/${meta.name}`;
}

/** A Service named by a host string. */
export interface ServiceRef {
  readonly name: string;
  readonly namespace: string;
  /** serviceKey(namespace, name): `name.namespace`, as used by MeshSnapshot.services. */
  readonly key: string;
  /** The host exactly as written in the object, for messages. */
  readonly host: string;
}

const FQDN_SUFFIX = ['svc', 'cluster', 'local'];

/**
 * Resolves `reviews` (relative to `namespace`), `reviews.shop`, `reviews.shop.svc` and
 * `reviews.shop.svc.cluster.local`. The host must already match HOST_PATTERN.
 */
export function resolveHost(host: string, namespace: string): ServiceRef {
  let labels = host.split('.');
  if (labels.length === 5 && labels.slice(2).join('.') === FQDN_SUFFIX.join('.')) labels = labels.slice(0, 2);
  else if (labels.length === 3 && labels[2] === 'svc') labels = labels.slice(0, 2);
  const name = labels[0];
  const ns = labels.length > 1 ? labels[1] : namespace;
  return { name, namespace: ns, key: serviceKey(ns, name), host };
}

// ---------------------------------------------------------------------------------------------
// TrafficRoute

export interface Destination {
  readonly service: ServiceRef;
  /** Service port; undefined means the Service's only port (routing-validate checks there is exactly one). */
  readonly port?: number;
  /** Subset of the destination's TrafficPolicy; undefined means all endpoints. */
  readonly subset?: string;
}

type StringMatchType = 'exact' | 'prefix' | 'regex';

export interface StringMatch {
  readonly type: StringMatchType;
  /** Literal for exact/prefix; an RE2 pattern that must match the whole value for regex. */
  readonly value: string;
}

export type HeaderMatch =
  | { readonly name: string; readonly type: StringMatchType; readonly value: string }
  /** `present: true` / `present: false` in the CRD. */
  | { readonly name: string; readonly type: 'present' | 'absent' };

export type QueryParamMatch =
  | { readonly name: string; readonly type: 'exact' | 'regex'; readonly value: string }
  | { readonly name: string; readonly type: 'present' };

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE' | 'CONNECT' | 'OPTIONS' | 'TRACE' | 'PATCH';

/** One match block: every condition present must hold (AND). */
export interface RequestMatch {
  readonly uri?: StringMatch;
  /** Sorted by name. */
  readonly headers: readonly HeaderMatch[];
  readonly method?: HttpMethod;
  /** Sorted by name. */
  readonly queryParams: readonly QueryParamMatch[];
}

interface WeightedDestination {
  readonly destination: Destination;
  /** Relative weight >= 0; a lone destination without weight gets 100. */
  readonly weight: number;
}

export interface RetryPolicy {
  /** Retries after the first try; 0 disables retries. */
  readonly attempts: number;
  readonly perTryTimeoutMs?: number;
  /** Envoy retry_on / grpc-retry-on conditions, deduplicated, in the order written. */
  readonly retryOn: readonly string[];
}

/** retryOn when the object does not say (Envoy understands both HTTP and gRPC conditions in one list). */
export const DEFAULT_RETRY_ON: readonly string[] = Object.freeze(
  ['connect-failure', 'refused-stream', 'unavailable', 'cancelled', 'resource-exhausted']);

type FaultAbort =
  | { readonly type: 'http'; readonly httpStatus: number; readonly percentage: number }
  | { readonly type: 'grpc'; readonly grpcStatus: number; readonly grpcStatusName: string; readonly percentage: number };

export interface FaultPolicy {
  readonly delay?: { readonly fixedDelayMs: number; readonly percentage: number };
  readonly abort?: FaultAbort;
}

interface MirrorPolicy {
  readonly destination: Destination;
  readonly percentage: number;
}

interface Rewrite {
  /** Replaces the matched prefix (or the whole path of an exact match). */
  readonly uriPrefix?: string;
  /** New Host/:authority. */
  readonly authority?: string;
}

export type RedirectCode = 301 | 302 | 303 | 307 | 308;

export interface Redirect {
  readonly uri?: string;
  readonly authority?: string;
  /** Default 301. */
  readonly responseCode: RedirectCode;
}

interface HeaderValue {
  readonly name: string;
  readonly value: string;
}

export interface HeaderOperations {
  /** Appended to existing values. Sorted by name. */
  readonly add: readonly HeaderValue[];
  /** Replace existing values. Sorted by name. */
  readonly set: readonly HeaderValue[];
  /** Sorted. */
  readonly remove: readonly string[];
}

export type RuleAction =
  | { readonly type: 'route'; readonly destinations: readonly WeightedDestination[] }
  | { readonly type: 'redirect'; readonly redirect: Redirect };

export interface HttpRule {
  /** Position in spec.http; rules are evaluated in this order. */
  readonly index: number;
  readonly name?: string;
  /** Match blocks, OR-ed. Empty: every request. */
  readonly match: readonly RequestMatch[];
  readonly action: RuleAction;
  /** Whole-request timeout; 0 disables it; undefined leaves the proxy default. Only with route. */
  readonly timeoutMs?: number;
  readonly retries?: RetryPolicy;
  readonly fault?: FaultPolicy;
  readonly mirror?: MirrorPolicy;
  readonly rewrite?: Rewrite;
  readonly requestHeaders: HeaderOperations;
  readonly responseHeaders: HeaderOperations;
  /**
   * The Service ports the rule applies to; undefined means every port. Only rules merged from
   * Gateway API routes whose parentRef names a port carry it.
   */
  readonly ports?: readonly number[];
}

export interface TrafficRoute {
  /** A TrafficRoute, a VirtualService, or the oldest of the Gateway API routes merged into this one (routing/gateway-merge.ts). */
  readonly meta: RoutingObjectMeta & { readonly kind: 'TrafficRoute' | 'VirtualService' | 'HTTPRoute' | 'GRPCRoute' };
  /** In the order written, without duplicates. */
  readonly hosts: readonly ServiceRef[];
  readonly http: readonly HttpRule[];
}

/** Every destination a route refers to (route targets and mirrors), with their paths for messages. */
export function routeDestinations(route: TrafficRoute): { readonly path: string; readonly destination: Destination }[] {
  const out: { path: string; destination: Destination }[] = [];
  for (const rule of route.http) {
    if (rule.action.type === 'route') {
      rule.action.destinations.forEach((d, i) => out.push({ path: `spec.http[${rule.index}].route[${i}].destination`, destination: d.destination }));
    }
    if (rule.mirror) out.push({ path: `spec.http[${rule.index}].mirror`, destination: rule.mirror.destination });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// TrafficPolicy

export type SimpleLoadBalancer = 'ROUND_ROBIN' | 'LEAST_REQUEST' | 'RANDOM';

export type HashKey =
  | { readonly type: 'header'; readonly name: string }
  | { readonly type: 'cookie'; readonly name: string; readonly ttlMs?: number }
  | { readonly type: 'sourceIp' };

export type LoadBalancer =
  | { readonly type: 'simple'; readonly algorithm: SimpleLoadBalancer }
  | { readonly type: 'consistentHash'; readonly hashKey: HashKey; readonly minimumRingSize?: number };

export interface ConnectionPool {
  readonly tcp?: { readonly maxConnections?: number; readonly connectTimeoutMs?: number };
  readonly http?: {
    readonly http1MaxPendingRequests?: number;
    readonly http2MaxRequests?: number;
    /** 0 means unlimited. */
    readonly maxRequestsPerConnection?: number;
    readonly maxRetries?: number;
  };
}

/** Unset fields keep the proxy's defaults. */
export interface OutlierDetection {
  readonly consecutive5xxErrors?: number;
  readonly consecutiveGatewayErrors?: number;
  readonly intervalMs?: number;
  readonly baseEjectionTimeMs?: number;
  readonly maxEjectionPercent?: number;
}

export interface HealthCheck {
  readonly check: { readonly type: 'http'; readonly path: string } | { readonly type: 'tcp' };
  readonly intervalMs: number;
  readonly timeoutMs: number;
  /** Default 3. */
  readonly unhealthyThreshold: number;
  /** Default 1. */
  readonly healthyThreshold: number;
}

export interface LocalRateLimit {
  readonly maxTokens: number;
  /** Default 1. */
  readonly tokensPerFill: number;
  /** At least 50 (Envoy refuses faster fill timers). */
  readonly fillIntervalMs: number;
}

/** The settings that can be given at every level (top, subset, port). */
export interface PolicyFields {
  readonly loadBalancer?: LoadBalancer;
  readonly connectionPool?: ConnectionPool;
  readonly outlierDetection?: OutlierDetection;
  readonly healthCheck?: HealthCheck;
  readonly localRateLimit?: LocalRateLimit;
}

const POLICY_FIELD_NAMES: readonly (keyof PolicyFields)[] =
  ['loadBalancer', 'connectionPool', 'outlierDetection', 'healthCheck', 'localRateLimit'];

export interface PortPolicy extends PolicyFields {
  readonly port: number;
}

export interface PolicySettings extends PolicyFields {
  /** In the order written (so status paths can name them by index); ports unique. */
  readonly portLevelSettings: readonly PortPolicy[];
}

export interface Subset {
  readonly name: string;
  /** An endpoint belongs to the subset when its pod has all these labels. */
  readonly labels: Readonly<Record<string, string>>;
  readonly trafficPolicy?: PolicySettings;
}

export interface TrafficPolicy {
  readonly meta: RoutingObjectMeta & { readonly kind: 'TrafficPolicy' | 'DestinationRule' };
  readonly host: ServiceRef;
  /** Always present; empty when the object sets nothing at the top level. */
  readonly trafficPolicy: PolicySettings;
  /** In the order written; names unique. */
  readonly subsets: readonly Subset[];
}

function overlay(base: PolicyFields, top: PolicyFields | undefined): PolicyFields {
  if (!top) return base;
  const out: { -readonly [K in keyof PolicyFields]: PolicyFields[K] } = { ...base };
  for (const f of POLICY_FIELD_NAMES) {
    if (top[f] !== undefined) (out as Record<string, unknown>)[f] = top[f];
  }
  return out;
}

/**
 * The settings that apply to traffic for `port` (and `subset`, if any), following Istio's order:
 * top-level settings, then the top-level port settings for that port, then the subset's settings,
 * then the subset's port settings. Each field (loadBalancer, connectionPool, ...) is replaced
 * whole by the most specific level that sets it.
 */
export function effectivePolicy(policy: TrafficPolicy, port: number, subset?: string): PolicyFields {
  const top = policy.trafficPolicy;
  let out = overlay({}, top);
  out = overlay(out, top.portLevelSettings.find((p) => p.port === port));
  const sub = subset === undefined ? undefined : policy.subsets.find((s) => s.name === subset)?.trafficPolicy;
  if (sub) {
    out = overlay(out, sub);
    out = overlay(out, sub.portLevelSettings.find((p) => p.port === port));
  }
  return out;
}

/** True when an endpoint with `labels` belongs to `subset`. */
export function subsetMatches(subset: Subset, labels: Readonly<Record<string, string>>): boolean {
  return Object.entries(subset.labels).every(([k, v]) => labels[k] === v);
}
