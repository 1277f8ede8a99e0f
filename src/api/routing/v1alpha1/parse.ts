// Turns a stored TrafficRoute / TrafficPolicy object into the model of routing.ts.
//
// Step 1 walks the spec with the CRD's own schema (routing-crd-schema.ts), so an object is
// refused exactly where the API server would refuse it. Step 2 converts the now well-typed spec.
// A few checks the API server cannot do come on top: regular expressions must be RE2 that Envoy
// would compile (re2.ts), and header names must be names Envoy accepts (header-name.ts).
import type { CustomObject } from '../../../model/k8s-object.js';
import { GRPC_STATUS_CODES, TRAFFIC_POLICY_SPEC, TRAFFIC_ROUTE_SPEC } from './schema.js';
import { ROUTING_API_VERSION } from './crd.js';
import { parseDuration } from './duration.js';
import { re2Problem } from './re2.js';
import { caseInsensitiveDuplicates, headerNameProblem } from './header-name.js';
import { pathKey } from './field-path.js';
import { isPlainObject, validateValue, type FieldError, type RuleEvaluator, evaluateWithTwin } from './openapi.js';
import { DEFAULT_RETRY_ON, resolveHost, type ConnectionPool, type Destination, type FaultPolicy, type HashKey, type HeaderMatch, type HeaderOperations, type HealthCheck, type HttpMethod, type HttpRule, type LoadBalancer, type LocalRateLimit, type OutlierDetection, type PolicyFields, type PolicySettings, type PortPolicy, type QueryParamMatch, type RedirectCode, type RequestMatch, type RoutingKind, type RoutingObjectMeta, type RuleAction, type ServiceRef, type SimpleLoadBalancer, type StringMatch, type Subset, type TrafficPolicy, type TrafficRoute } from '../../../model/routing.js';
import { parseEnvelope } from '../../object-envelope.js';

export type ParseResult<T> =
  | { readonly ok: T; readonly errors?: undefined }
  | { readonly ok?: undefined; readonly errors: readonly FieldError[] };

// The spec as written, once the schema walk has passed: optional fields may be absent, types hold.
interface RawDestination { host: string; port?: number; subset?: string }
interface RawStringMatch { exact?: string; prefix?: string; regex?: string }
interface RawHeaderMatch extends RawStringMatch { present?: boolean }
interface RawQueryMatch { exact?: string; regex?: string; present?: boolean }
interface RawMatch {
  uri?: RawStringMatch; headers?: Record<string, RawHeaderMatch>; method?: string; queryParams?: Record<string, RawQueryMatch>;
}
interface RawHeaderOps { add?: Record<string, string>; set?: Record<string, string>; remove?: string[] }
interface RawHttpRule {
  name?: string;
  match?: RawMatch[];
  route?: { destination: RawDestination; weight?: number }[];
  redirect?: { uri?: string; authority?: string; responseCode?: number };
  timeout?: string;
  retries?: { attempts: number; perTryTimeout?: string; retryOn?: string };
  fault?: {
    delay?: { fixedDelay: string; percentage?: number };
    abort?: { httpStatus?: number; grpcStatus?: string; percentage?: number };
  };
  mirror?: RawDestination;
  mirrorPercentage?: number;
  rewrite?: { uri?: string; authority?: string };
  headers?: { request?: RawHeaderOps; response?: RawHeaderOps };
}
interface RawRouteSpec { hosts: string[]; http: RawHttpRule[] }

interface RawPolicyFields {
  loadBalancer?: {
    simple?: string;
    consistentHash?: {
      httpHeaderName?: string; httpCookie?: { name: string; ttl?: string }; useSourceIp?: boolean; minimumRingSize?: number;
    };
  };
  connectionPool?: {
    tcp?: { maxConnections?: number; connectTimeout?: string };
    http?: { http1MaxPendingRequests?: number; http2MaxRequests?: number; maxRequestsPerConnection?: number; maxRetries?: number };
  };
  outlierDetection?: {
    consecutive5xxErrors?: number; consecutiveGatewayErrors?: number; interval?: string; baseEjectionTime?: string;
    maxEjectionPercent?: number;
  };
  healthCheck?: {
    http?: { path: string }; tcp?: Record<string, never>; interval: string; timeout: string;
    unhealthyThreshold?: number; healthyThreshold?: number;
  };
  localRateLimit?: { maxTokens: number; tokensPerFill?: number; fillInterval: string };
}
interface RawPortSettings extends RawPolicyFields { port: number }
interface RawPolicySettings extends RawPolicyFields { portLevelSettings?: RawPortSettings[] }
interface RawPolicySpec {
  host: string;
  trafficPolicy?: RawPolicySettings;
  subsets?: { name: string; labels: Record<string, string>; trafficPolicy?: RawPolicySettings }[];
}

// ---------------------------------------------------------------------------------------------
// Object envelope

function envelope<K extends RoutingKind>(obj: CustomObject, kind: K, errors: FieldError[]): (RoutingObjectMeta & { kind: K }) | undefined {
  return parseEnvelope(obj, ROUTING_API_VERSION, kind, errors);
}

function validateSpec(obj: CustomObject, schema: typeof TRAFFIC_ROUTE_SPEC, evaluate: RuleEvaluator): FieldError[] {
  if (obj.spec === undefined || obj.spec === null) return [{ path: 'spec', message: 'is required' }];
  return validateValue(obj.spec, schema, 'spec', evaluate);
}

// ---------------------------------------------------------------------------------------------
// Checks beyond the schema

function checkRegex(pattern: string | undefined, path: string, errors: FieldError[]): void {
  if (pattern === undefined) return;
  const problem = re2Problem(pattern);
  if (problem) errors.push({ path, message: `is not a valid RE2 regular expression: ${problem}` });
}

/** Header names as Envoy accepts them, each header once whatever its letter case. */
function checkHeaderNames(names: readonly string[], path: string, errors: FieldError[], keyed = true): void {
  names.forEach((n, i) => {
    const problem = headerNameProblem(n);
    if (problem) errors.push({ path: keyed ? `${path}[${pathKey(n)}]` : `${path}[${i}]`, message: problem });
  });
  for (const [a, b] of caseInsensitiveDuplicates(names)) {
    errors.push({ path, message: `${JSON.stringify(pathKey(a))} and ${JSON.stringify(pathKey(b))} are the same header (header names are case-insensitive); keep one` });
  }
}

// ---------------------------------------------------------------------------------------------
// TrafficRoute

function ms(d: string): number {
  // The schema walk already checked the grammar.
  return parseDuration(d) as number;
}

function stringMatch(m: RawStringMatch): StringMatch {
  if (m.exact !== undefined) return { type: 'exact', value: m.exact };
  if (m.prefix !== undefined) return { type: 'prefix', value: m.prefix };
  return { type: 'regex', value: m.regex as string };
}

function byName<T extends { name: string }>(a: T, b: T): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

function destination(d: RawDestination, namespace: string): Destination {
  return {
    service: resolveHost(d.host, namespace),
    ...(d.port !== undefined ? { port: d.port } : {}),
    ...(d.subset !== undefined ? { subset: d.subset } : {}),
  };
}

function headerOps(raw: RawHeaderOps | undefined): HeaderOperations {
  const pairs = (m: Record<string, string> | undefined) => Object.entries(m ?? {}).map(([name, value]) => ({ name, value })).sort(byName);
  return { add: pairs(raw?.add), set: pairs(raw?.set), remove: [...(raw?.remove ?? [])].sort() };
}

function requestMatch(m: RawMatch, path: string, errors: FieldError[]): RequestMatch {
  checkHeaderNames(Object.keys(m.headers ?? {}), `${path}.headers`, errors);
  const headers: HeaderMatch[] = Object.entries(m.headers ?? {}).map(([name, h]): HeaderMatch => {
    checkRegex(h.regex, `${path}.headers[${pathKey(name)}].regex`, errors);
    if (h.present !== undefined) return { name, type: h.present ? 'present' : 'absent' };
    return { name, ...stringMatch(h) };
  }).sort(byName);
  const queryParams: QueryParamMatch[] = Object.entries(m.queryParams ?? {}).map(([name, q]): QueryParamMatch => {
    checkRegex(q.regex, `${path}.queryParams[${pathKey(name)}].regex`, errors);
    if (q.present !== undefined) return { name, type: 'present' };
    return q.exact !== undefined ? { name, type: 'exact', value: q.exact } : { name, type: 'regex', value: q.regex as string };
  }).sort(byName);
  if (m.uri) checkRegex(m.uri.regex, `${path}.uri.regex`, errors);
  return {
    ...(m.uri ? { uri: stringMatch(m.uri) } : {}),
    headers,
    ...(m.method ? { method: m.method as HttpMethod } : {}),
    queryParams,
  };
}

function fault(raw: NonNullable<RawHttpRule['fault']>): FaultPolicy {
  const out: { -readonly [K in keyof FaultPolicy]: FaultPolicy[K] } = {};
  if (raw.delay) out.delay = { fixedDelayMs: ms(raw.delay.fixedDelay), percentage: raw.delay.percentage ?? 100 };
  if (raw.abort) {
    const percentage = raw.abort.percentage ?? 100;
    out.abort = raw.abort.httpStatus !== undefined
      ? { type: 'http', httpStatus: raw.abort.httpStatus, percentage }
      : {
        type: 'grpc', grpcStatus: GRPC_STATUS_CODES[raw.abort.grpcStatus as string],
        grpcStatusName: raw.abort.grpcStatus as string, percentage,
      };
  }
  return out;
}

function httpRule(raw: RawHttpRule, index: number, namespace: string, errors: FieldError[]): HttpRule {
  const path = `spec.http[${index}]`;
  const match = (raw.match ?? []).map((m, i) => requestMatch(m, `${path}.match[${i}]`, errors));
  let action: RuleAction;
  if (raw.route) {
    const single = raw.route.length === 1;
    action = {
      type: 'route',
      destinations: raw.route.map((d) => ({
        destination: destination(d.destination, namespace),
        weight: d.weight ?? (single ? 100 : 0),
      })),
    };
  } else {
    const r = raw.redirect ?? {};
    action = {
      type: 'redirect',
      redirect: {
        ...(r.uri !== undefined ? { uri: r.uri } : {}),
        ...(r.authority !== undefined ? { authority: r.authority } : {}),
        responseCode: (r.responseCode ?? 301) as RedirectCode,
      },
    };
  }
  for (const side of ['request', 'response'] as const) {
    const ops = raw.headers?.[side];
    checkHeaderNames(Object.keys(ops?.add ?? {}), `${path}.headers.${side}.add`, errors);
    checkHeaderNames(Object.keys(ops?.set ?? {}), `${path}.headers.${side}.set`, errors);
    checkHeaderNames(ops?.remove ?? [], `${path}.headers.${side}.remove`, errors, false);
  }
  const retryOn = raw.retries?.retryOn === undefined
    ? DEFAULT_RETRY_ON
    : [...new Set(raw.retries.retryOn.split(',').map((t) => t.trim()))];
  return {
    index,
    ...(raw.name !== undefined ? { name: raw.name } : {}),
    match,
    action,
    ...(raw.timeout !== undefined ? { timeoutMs: ms(raw.timeout) } : {}),
    ...(raw.retries ? {
      retries: {
        attempts: raw.retries.attempts,
        ...(raw.retries.perTryTimeout !== undefined ? { perTryTimeoutMs: ms(raw.retries.perTryTimeout) } : {}),
        retryOn,
      },
    } : {}),
    ...(raw.fault ? { fault: fault(raw.fault) } : {}),
    ...(raw.mirror ? { mirror: { destination: destination(raw.mirror, namespace), percentage: raw.mirrorPercentage ?? 100 } } : {}),
    ...(raw.rewrite ? {
      rewrite: {
        ...(raw.rewrite.uri !== undefined ? { uriPrefix: raw.rewrite.uri } : {}),
        ...(raw.rewrite.authority !== undefined ? { authority: raw.rewrite.authority } : {}),
      },
    } : {}),
    requestHeaders: headerOps(raw.headers?.request),
    responseHeaders: headerOps(raw.headers?.response),
  };
}

/**
 * Validates and normalizes a TrafficRoute. `evaluate` decides CEL rules; the default uses their
 * TypeScript twins (tests pass a real CEL engine to prove the twins right).
 */
export function parseTrafficRoute(obj: CustomObject, evaluate: RuleEvaluator = evaluateWithTwin): ParseResult<TrafficRoute> {
  const errors: FieldError[] = [];
  const meta = envelope(obj, 'TrafficRoute', errors);
  if (meta) errors.push(...validateSpec(obj, TRAFFIC_ROUTE_SPEC, evaluate));
  if (errors.length || !meta) return { errors };
  const spec = obj.spec as RawRouteSpec;
  const hosts: ServiceRef[] = [];
  for (const h of spec.hosts) {
    const ref = resolveHost(h, meta.namespace);
    if (!hosts.some((x) => x.key === ref.key)) hosts.push(ref);
  }
  const http = spec.http.map((r, i) => httpRule(r, i, meta.namespace, errors));
  if (errors.length) return { errors };
  return { ok: { meta, hosts, http } };
}

// ---------------------------------------------------------------------------------------------
// TrafficPolicy

function loadBalancer(raw: NonNullable<RawPolicyFields['loadBalancer']>): LoadBalancer {
  if (raw.simple !== undefined) return { type: 'simple', algorithm: raw.simple as SimpleLoadBalancer };
  const ch = raw.consistentHash as NonNullable<typeof raw.consistentHash>;
  let hashKey: HashKey;
  if (ch.httpHeaderName !== undefined) hashKey = { type: 'header', name: ch.httpHeaderName };
  else if (ch.httpCookie !== undefined) {
    hashKey = { type: 'cookie', name: ch.httpCookie.name, ...(ch.httpCookie.ttl !== undefined ? { ttlMs: ms(ch.httpCookie.ttl) } : {}) };
  } else hashKey = { type: 'sourceIp' };
  return { type: 'consistentHash', hashKey, ...(ch.minimumRingSize !== undefined ? { minimumRingSize: ch.minimumRingSize } : {}) };
}

function connectionPool(raw: NonNullable<RawPolicyFields['connectionPool']>): ConnectionPool {
  const tcp = raw.tcp && {
    ...(raw.tcp.maxConnections !== undefined ? { maxConnections: raw.tcp.maxConnections } : {}),
    ...(raw.tcp.connectTimeout !== undefined ? { connectTimeoutMs: ms(raw.tcp.connectTimeout) } : {}),
  };
  return { ...(tcp ? { tcp } : {}), ...(raw.http ? { http: { ...raw.http } } : {}) };
}

function outlierDetection(raw: NonNullable<RawPolicyFields['outlierDetection']>): OutlierDetection {
  return {
    ...(raw.consecutive5xxErrors !== undefined ? { consecutive5xxErrors: raw.consecutive5xxErrors } : {}),
    ...(raw.consecutiveGatewayErrors !== undefined ? { consecutiveGatewayErrors: raw.consecutiveGatewayErrors } : {}),
    ...(raw.interval !== undefined ? { intervalMs: ms(raw.interval) } : {}),
    ...(raw.baseEjectionTime !== undefined ? { baseEjectionTimeMs: ms(raw.baseEjectionTime) } : {}),
    ...(raw.maxEjectionPercent !== undefined ? { maxEjectionPercent: raw.maxEjectionPercent } : {}),
  };
}

function healthCheck(raw: NonNullable<RawPolicyFields['healthCheck']>): HealthCheck {
  return {
    check: raw.http ? { type: 'http', path: raw.http.path } : { type: 'tcp' },
    intervalMs: ms(raw.interval),
    timeoutMs: ms(raw.timeout),
    unhealthyThreshold: raw.unhealthyThreshold ?? 3,
    healthyThreshold: raw.healthyThreshold ?? 1,
  };
}

function localRateLimit(raw: NonNullable<RawPolicyFields['localRateLimit']>): LocalRateLimit {
  return { maxTokens: raw.maxTokens, tokensPerFill: raw.tokensPerFill ?? 1, fillIntervalMs: ms(raw.fillInterval) };
}

function policyFields(raw: RawPolicyFields): PolicyFields {
  return {
    ...(raw.loadBalancer ? { loadBalancer: loadBalancer(raw.loadBalancer) } : {}),
    ...(raw.connectionPool ? { connectionPool: connectionPool(raw.connectionPool) } : {}),
    ...(raw.outlierDetection ? { outlierDetection: outlierDetection(raw.outlierDetection) } : {}),
    ...(raw.healthCheck ? { healthCheck: healthCheck(raw.healthCheck) } : {}),
    ...(raw.localRateLimit ? { localRateLimit: localRateLimit(raw.localRateLimit) } : {}),
  };
}

function policySettings(raw: RawPolicySettings | undefined): PolicySettings {
  const portLevelSettings: PortPolicy[] = (raw?.portLevelSettings ?? []).map((p) => ({ port: p.port, ...policyFields(p) }));
  return { ...policyFields(raw ?? {}), portLevelSettings };
}

export function parseTrafficPolicy(obj: CustomObject, evaluate: RuleEvaluator = evaluateWithTwin): ParseResult<TrafficPolicy> {
  const errors: FieldError[] = [];
  const meta = envelope(obj, 'TrafficPolicy', errors);
  if (meta) errors.push(...validateSpec(obj, TRAFFIC_POLICY_SPEC, evaluate));
  if (errors.length || !meta) return { errors };
  const spec = obj.spec as RawPolicySpec;
  const subsets: Subset[] = (spec.subsets ?? []).map((s) => ({
    name: s.name,
    labels: { ...s.labels },
    ...(s.trafficPolicy ? { trafficPolicy: policySettings(s.trafficPolicy) } : {}),
  }));
  return {
    ok: {
      meta,
      host: resolveHost(spec.host, meta.namespace),
      trafficPolicy: policySettings(spec.trafficPolicy),
      subsets,
    },
  };
}

/** Parses either kind, by obj.kind. */
export function parseRoutingObject(obj: CustomObject, evaluate: RuleEvaluator = evaluateWithTwin):
  ParseResult<TrafficRoute> | ParseResult<TrafficPolicy> {
  if (isPlainObject(obj) && obj.kind === 'TrafficPolicy') return parseTrafficPolicy(obj, evaluate);
  return parseTrafficRoute(obj, evaluate);
}
