// Routing objects for tests: one valid object of each kind using every feature, and a catalogue
// of broken ones, each with the path and message a user should see.
import type { CustomObject } from '../../src/model/k8s-object.js';

export const API_VERSION = 'routing.pilotfish.io/v1alpha1';

type Spec = { [k: string]: unknown };

export function trafficRoute(spec: unknown, name = 'reviews', namespace = 'shop', extra: { [k: string]: unknown } = {}): CustomObject {
  return { apiVersion: API_VERSION, kind: 'TrafficRoute', metadata: { name, namespace, generation: 1, ...extra }, spec } as CustomObject;
}

export function trafficPolicy(spec: unknown, name = 'reviews', namespace = 'shop', extra: { [k: string]: unknown } = {}): CustomObject {
  return { apiVersion: API_VERSION, kind: 'TrafficPolicy', metadata: { name, namespace, generation: 1, ...extra }, spec } as CustomObject;
}

export function validRouteSpec(): Spec {
  return {
    hosts: ['reviews', 'ratings.shop.svc.cluster.local'],
    http: [
      {
        name: 'canary',
        match: [
          {
            uri: { prefix: '/api/' },
            headers: { 'x-user': { exact: 'jason' }, 'x-debug': { present: true }, 'x-skip': { present: false }, 'x-v': { regex: 'v[0-9]+' } },
            method: 'GET',
            queryParams: { v: { regex: '^[0-9]+$' }, debug: { present: true }, lang: { exact: 'en' } },
          },
          { uri: { regex: '^/v[12]/.*' } },
        ],
        route: [
          { destination: { host: 'reviews', port: 9080, subset: 'v2' }, weight: 90 },
          { destination: { host: 'reviews.shop', port: 9080, subset: 'v1' }, weight: 10 },
        ],
        timeout: '1m30s',
        retries: { attempts: 3, perTryTimeout: '250ms', retryOn: '5xx, connect-failure,unavailable,5xx' },
        fault: { delay: { fixedDelay: '1.5s', percentage: 12.5 }, abort: { grpcStatus: 'UNAVAILABLE' } },
        mirror: { host: 'reviews-shadow', port: 9080 },
        mirrorPercentage: 5,
        rewrite: { uri: '/v1/', authority: 'reviews.internal:9080' },
        headers: {
          request: { add: { 'x-b': '2', 'x-a': '1' }, set: { 'x-env': 'prod' }, remove: ['x-secret'] },
          response: { remove: ['server'] },
        },
      },
      { name: 'legacy', match: [{ uri: { exact: '/old' } }], redirect: { uri: '/new', responseCode: 308 } },
      { route: [{ destination: { host: 'reviews', port: 9090 } }], fault: { abort: { httpStatus: 503, percentage: 0.1 } } },
    ],
  };
}

export function validPolicySpec(): Spec {
  return {
    host: 'reviews',
    trafficPolicy: {
      loadBalancer: { simple: 'LEAST_REQUEST' },
      connectionPool: {
        tcp: { maxConnections: 100, connectTimeout: '2s' },
        http: { http1MaxPendingRequests: 10, http2MaxRequests: 1000, maxRequestsPerConnection: 0, maxRetries: 3 },
      },
      outlierDetection: { consecutive5xxErrors: 5, consecutiveGatewayErrors: 3, interval: '10s', baseEjectionTime: '30s', maxEjectionPercent: 50 },
      healthCheck: { http: { path: '/healthz' }, interval: '5s', timeout: '1s' },
      localRateLimit: { maxTokens: 100, fillInterval: '1s' },
      portLevelSettings: [
        { port: 9090, loadBalancer: { consistentHash: { httpCookie: { name: 'session', ttl: '0s' } } } },
        { port: 9080, loadBalancer: { simple: 'RANDOM' }, healthCheck: { tcp: {}, interval: '10s', timeout: '2s', unhealthyThreshold: 2, healthyThreshold: 2 } },
      ],
    },
    subsets: [
      { name: 'v1', labels: { version: 'v1' } },
      {
        name: 'v2',
        labels: { version: 'v2', track: 'canary' },
        trafficPolicy: {
          loadBalancer: { consistentHash: { httpHeaderName: 'x-user', minimumRingSize: 2048 } },
          portLevelSettings: [{ port: 9080, connectionPool: { http: { http2MaxRequests: 10 } } }],
        },
      },
      { name: 'v3', labels: { version: 'v3' }, trafficPolicy: { loadBalancer: { consistentHash: { useSourceIp: true } } } },
    ],
  };
}

// Mutations reach deep into fixtures (s.http[0].route[0].weight = -1); typing every path would
// bury the point of each case, so the mutators take `any`.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Mutator = (s: any) => void;

/** Deep copy of `base` changed by `change`. */
export function mutate(base: Spec, change: Mutator): Spec {
  const copy = structuredClone(base);
  change(copy);
  return copy;
}

export interface InvalidCase {
  readonly name: string;
  readonly object: CustomObject;
  /** Where the error must be reported. */
  readonly path: string;
  /** What it must say (substring or pattern). */
  readonly message: string | RegExp;
  /**
   * 'schema': the CRD (schema + CEL) rejects it too. 'parser': only parsing rejects it, because
   * the API server cannot check it (RE2 syntax, case-insensitive host header, the envelope).
   */
  readonly by: 'schema' | 'parser';
  /** Parse as this kind instead of object.kind. */
  readonly parseAs?: 'TrafficRoute' | 'TrafficPolicy';
}

const r = (name: string, change: Mutator, path: string, message: string | RegExp, by: 'schema' | 'parser' = 'schema'): InvalidCase =>
  ({ name, object: trafficRoute(mutate(validRouteSpec(), change)), path, message, by });
const p = (name: string, change: Mutator, path: string, message: string | RegExp, by: 'schema' | 'parser' = 'schema'): InvalidCase =>
  ({ name, object: trafficPolicy(mutate(validPolicySpec(), change)), path, message, by });

export const INVALID_ROUTES: readonly InvalidCase[] = [
  r('negative weight', (s) => { s.http[0].route[0].weight = -1; }, 'spec.http[0].route[0].weight', 'must be >= 0 (got -1)'),
  r('fractional weight', (s) => { s.http[0].route[0].weight = 1.5; }, 'spec.http[0].route[0].weight', 'must be an integer'),
  r('split without weights', (s) => { delete s.http[0].route[1].weight; }, 'spec.http[0].route', 'weight is required on every destination when there is more than one'),
  r('empty route', (s) => { s.http[2].route = []; }, 'spec.http[2].route', 'must have at least 1 item'),
  r('route and redirect', (s) => { s.http[1].route = [{ destination: { host: 'reviews' } }]; }, 'spec.http[1]', 'route and redirect are mutually exclusive'),
  r('neither route nor redirect', (s) => { delete s.http[2].route; }, 'spec.http[2]', 'one of route or redirect is required'),
  r('redirect with timeout', (s) => { s.http[1].timeout = '1s'; }, 'spec.http[1]', 'cannot be combined with redirect'),
  r('redirect with rewrite', (s) => { s.http[1].rewrite = { uri: '/x' }; }, 'spec.http[1]', 'cannot be combined with redirect'),
  r('empty redirect', (s) => { s.http[1].redirect = { responseCode: 301 }; }, 'spec.http[1].redirect', 'at least one of uri or authority must be set'),
  r('bad redirect code', (s) => { s.http[1].redirect.responseCode = 399; }, 'spec.http[1].redirect.responseCode', 'must be one of: 301, 302, 303, 307, 308'),
  r('redirect to a relative path', (s) => { s.http[1].redirect.uri = 'new'; }, 'spec.http[1].redirect.uri', 'must start with "/"'),
  r('uri with two kinds', (s) => { s.http[0].match[0].uri = { exact: '/a', prefix: '/a' }; }, 'spec.http[0].match[0].uri', 'exactly one of exact, prefix or regex must be set'),
  r('uri with no kind', (s) => { s.http[0].match[0].uri = {}; }, 'spec.http[0].match[0].uri', 'exactly one of exact, prefix or regex must be set'),
  r('uri prefix without slash', (s) => { s.http[0].match[0].uri = { prefix: 'api' }; }, 'spec.http[0].match[0].uri.prefix', 'must start with "/"'),
  r('header with two kinds', (s) => { s.http[0].match[0].headers['x-user'] = { exact: 'a', present: true }; }, 'spec.http[0].match[0].headers[x-user]', 'exactly one of exact, prefix, regex or present must be set'),
  r('header with empty name', (s) => { s.http[0].match[0].headers[''] = { exact: 'a' }; }, 'spec.http[0].match[0].headers', 'names must not be empty'),
  r('query present false', (s) => { s.http[0].match[0].queryParams.debug = { present: false }; }, 'spec.http[0].match[0].queryParams[debug]', 'present: false is not supported for query parameters'),
  r('query with two kinds', (s) => { s.http[0].match[0].queryParams.lang = { exact: 'en', regex: 'e.' }; }, 'spec.http[0].match[0].queryParams[lang]', 'exactly one of exact, regex or present must be set'),
  r('empty rewrite', (s) => { s.http[0].rewrite = {}; }, 'spec.http[0].rewrite', 'at least one of uri or authority must be set'),
  r('unknown method', (s) => { s.http[0].match[0].method = 'FETCH'; }, 'spec.http[0].match[0].method', 'must be one of: GET'),
  r('delay percentage above 100', (s) => { s.http[0].fault.delay.percentage = 150; }, 'spec.http[0].fault.delay.percentage', 'must be <= 100 (got 150)'),
  r('negative mirror percentage', (s) => { s.http[0].mirrorPercentage = -1; }, 'spec.http[0].mirrorPercentage', 'must be >= 0 (got -1)'),
  r('mirror percentage without mirror', (s) => { delete s.http[0].mirror; }, 'spec.http[0]', 'mirrorPercentage requires mirror'),
  r('timeout without unit', (s) => { s.http[0].timeout = '1.5'; }, 'spec.http[0].timeout', 'must be a duration like'),
  r('timeout in days', (s) => { s.http[0].timeout = '1d'; }, 'spec.http[0].timeout', 'must be a duration like'),
  r('zero per-try timeout', (s) => { s.http[0].retries.perTryTimeout = '0s'; }, 'spec.http[0].retries.perTryTimeout', 'must be greater than 0s'),
  r('unknown retry condition', (s) => { s.http[0].retries.retryOn = '5xx,bogus'; }, 'spec.http[0].retries.retryOn', 'must be a comma-separated list of'),
  r('retries without attempts', (s) => { delete s.http[0].retries.attempts; }, 'spec.http[0].retries.attempts', 'is required'),
  r('empty fault', (s) => { s.http[0].fault = {}; }, 'spec.http[0].fault', 'at least one of delay or abort must be set'),
  r('abort with two statuses', (s) => { s.http[0].fault.abort = { httpStatus: 503, grpcStatus: 'UNAVAILABLE' }; }, 'spec.http[0].fault.abort', 'exactly one of httpStatus or grpcStatus must be set'),
  r('abort status 700', (s) => { s.http[0].fault.abort = { httpStatus: 700 }; }, 'spec.http[0].fault.abort.httpStatus', 'must be <= 599'),
  r('unknown gRPC status', (s) => { s.http[0].fault.abort = { grpcStatus: 'NOPE' }; }, 'spec.http[0].fault.abort.grpcStatus', 'must be one of: CANCELLED'),
  r('delay without fixedDelay', (s) => { s.http[0].fault.delay = { percentage: 5 }; }, 'spec.http[0].fault.delay.fixedDelay', 'is required'),
  r('no hosts', (s) => { s.hosts = []; }, 'spec.hosts', 'must have at least 1 item'),
  r('host with bad characters', (s) => { s.hosts = ['Reviews!']; }, 'spec.hosts[0]', "must name a Service as 'reviews'"),
  r('host outside the cluster domain', (s) => { s.hosts = ['reviews.shop.example.com']; }, 'spec.hosts[0]', "must name a Service as 'reviews'"),
  r('duplicate host', (s) => { s.hosts = ['reviews', 'reviews']; }, 'spec.hosts[1]', 'duplicate value "reviews"'),
  r('duplicate rule names', (s) => { s.http[1].name = 'canary'; }, 'spec.http', 'rule names must be unique'),
  r('unknown field', (s) => { s.http[0].retry = { attempts: 1 }; }, 'spec.http[0].retry', 'unknown field'),
  r('destination without host', (s) => { delete s.http[0].route[0].destination.host; }, 'spec.http[0].route[0].destination.host', 'is required'),
  r('port out of range', (s) => { s.http[0].route[0].destination.port = 70000; }, 'spec.http[0].route[0].destination.port', 'must be <= 65535'),
  r('port as string', (s) => { s.http[0].route[0].destination.port = '9080'; }, 'spec.http[0].route[0].destination.port', 'must be an integer, not the string "9080"'),
  r('pseudo-header set', (s) => { s.http[0].headers.request.set[':path'] = '/x'; }, 'spec.http[0].headers.request.set', 'header names must not be empty, start with ":" or be "host"'),
  r('host header added', (s) => { s.http[0].headers.response.add = { host: 'x' }; }, 'spec.http[0].headers.response.add', 'header names must not be empty, start with ":" or be "host"'),
  r('host header removed', (s) => { s.http[0].headers.request.remove = ['Host']; }, 'spec.http[0].headers.request.remove', 'the host header cannot be removed'),
  r('header value with newline', (s) => { s.http[0].headers.request.set['x-env'] = 'a\nb'; }, 'spec.http[0].headers.request.set[x-env]', 'must not contain NUL, CR or LF'),
  r('header name with space', (s) => { s.http[0].headers.request.remove = ['x secret']; }, 'spec.http[0].headers.request.remove[0]', 'must be an HTTP header name'),
  r('too many rules', (s) => { s.http = Array.from({ length: 65 }, () => ({ route: [{ destination: { host: 'reviews' } }] })); }, 'spec.http', 'must have at most 64 items (has 65)'),
  r('http is not a list', (s) => { s.http = { route: [] }; }, 'spec.http', 'must be a list, not an object'),
  r('host header in odd case', (s) => { s.http[0].headers.request.set = { hOsT: 'x' }; }, 'spec.http[0].headers.request.set', 'be "host" in any letter case'),
  r('header name over 256 characters (set)', (s) => { s.http[0].headers.request.add = { ['x'.repeat(257)]: '1' }; }, 'spec.http[0].headers.request.add', 'header names must be at most 256 characters long'),
  r('header name of 1 MiB (match)', (s) => { s.http[0].match[0].headers = { ['x'.repeat(1 << 20)]: { exact: 'a' } }; }, 'spec.http[0].match[0].headers', 'header names must be at most 256 characters long'),
  r('invalid regex', (s) => { s.http[0].match[1].uri = { regex: '(unclosed' }; }, 'spec.http[0].match[1].uri.regex', 'is not a valid RE2 regular expression: missing closing ): `(unclosed`', 'parser'),
  r('lookahead regex', (s) => { s.http[0].match[0].headers['x-v'] = { regex: '(?=a)b' }; }, 'spec.http[0].match[0].headers[x-v].regex', 'invalid or unsupported Perl syntax: `(?=`', 'parser'),
  r('lookbehind regex', (s) => { s.http[0].match[0].queryParams.v = { regex: '(?<=a)b' }; }, 'spec.http[0].match[0].queryParams[v].regex', 'is not a valid RE2 regular expression', 'parser'),
  r('backreference', (s) => { s.http[0].match[1].uri = { regex: '(a)\\1' }; }, 'spec.http[0].match[1].uri.regex', 'invalid escape sequence: `\\1`', 'parser'),
  r('regex over Envoy\'s program size', (s) => { s.http[0].match[1].uri = { regex: 'a{1000}' }; }, 'spec.http[0].match[1].uri.regex', /too large for Envoy \(estimated RE2 program size at least \d+; the limit is 100\)/, 'parser'),
  r('Unicode class repeated past the program size', (s) => { s.http[0].match[0].headers['x-v'] = { regex: '.{30}' }; }, 'spec.http[0].match[0].headers[x-v].regex', 'too large for Envoy', 'parser'),
  r('header match name with a space', (s) => { s.http[0].match[0].headers['x user'] = { exact: 'a' }; }, 'spec.http[0].match[0].headers["x user"]', 'may contain only letters, digits', 'parser'),
  r('header match name with a control character', (s) => { s.http[0].match[0].headers['x-a\u0001'] = { exact: 'a' }; }, 'spec.http[0].match[0].headers["x-a\\u0001"]', 'no spaces, colons or control characters', 'parser'),
  r('header match name with a colon', (s) => { s.http[0].match[0].headers[':authority'] = { exact: 'a' }; }, 'spec.http[0].match[0].headers[":authority"]', 'may contain only letters, digits', 'parser'),
  r('header set with a control character', (s) => { s.http[0].headers.request.set = { 'x\r\ny': 'a' }; }, 'spec.http[0].headers.request.set["x\\r\\ny"]', 'no spaces, colons or control characters', 'parser'),
  r('same header matched in two cases', (s) => { s.http[0].match[0].headers['X-User'] = { exact: 'b' }; }, 'spec.http[0].match[0].headers', '"x-user" and "X-User" are the same header', 'parser'),
  r('same header set in two cases', (s) => { s.http[0].headers.request.set = { 'X-Env': 'a', 'x-env': 'b' }; }, 'spec.http[0].headers.request.set', 'are the same header (header names are case-insensitive)', 'parser'),
  r('same header removed in two cases', (s) => { s.http[0].headers.request.remove = ['x-secret', 'X-Secret']; }, 'spec.http[0].headers.request.remove', 'are the same header', 'parser'),
];

export const INVALID_POLICIES: readonly InvalidCase[] = [
  p('no host', (s) => { delete s.host; }, 'spec.host', 'is required'),
  p('two load balancers', (s) => { s.trafficPolicy.loadBalancer = { simple: 'RANDOM', consistentHash: { useSourceIp: true } }; }, 'spec.trafficPolicy.loadBalancer', 'exactly one of simple or consistentHash must be set'),
  p('unknown algorithm', (s) => { s.trafficPolicy.loadBalancer = { simple: 'FASTEST' }; }, 'spec.trafficPolicy.loadBalancer.simple', 'must be one of: ROUND_ROBIN, LEAST_REQUEST, RANDOM'),
  p('useSourceIp false', (s) => { s.subsets[2].trafficPolicy.loadBalancer.consistentHash = { useSourceIp: false }; }, 'spec.subsets[2].trafficPolicy.loadBalancer.consistentHash', 'exactly one of httpHeaderName, httpCookie or useSourceIp: true must be set'),
  p('two hash keys', (s) => { s.subsets[1].trafficPolicy.loadBalancer.consistentHash.useSourceIp = true; }, 'spec.subsets[1].trafficPolicy.loadBalancer.consistentHash', 'exactly one of httpHeaderName, httpCookie or useSourceIp: true must be set'),
  p('ring too large', (s) => { s.subsets[1].trafficPolicy.loadBalancer.consistentHash.minimumRingSize = 8388609; }, 'spec.subsets[1].trafficPolicy.loadBalancer.consistentHash.minimumRingSize', 'must be <= 8388608'),
  p('cookie without name', (s) => { s.trafficPolicy.portLevelSettings[0].loadBalancer.consistentHash.httpCookie = { ttl: '1h' }; }, 'spec.trafficPolicy.portLevelSettings[0].loadBalancer.consistentHash.httpCookie.name', 'is required'),
  p('http and tcp health check', (s) => { s.trafficPolicy.healthCheck.tcp = {}; }, 'spec.trafficPolicy.healthCheck', 'exactly one of http or tcp must be set'),
  p('health check without interval', (s) => { delete s.trafficPolicy.healthCheck.interval; }, 'spec.trafficPolicy.healthCheck.interval', 'is required'),
  p('health check path without slash', (s) => { s.trafficPolicy.healthCheck.http.path = 'healthz'; }, 'spec.trafficPolicy.healthCheck.http.path', 'must start with "/"'),
  p('tcp health check with fields', (s) => { s.trafficPolicy.portLevelSettings[1].healthCheck.tcp = { send: 'x' }; }, 'spec.trafficPolicy.portLevelSettings[1].healthCheck.tcp.send', 'unknown field'),
  p('zero health check timeout', (s) => { s.trafficPolicy.healthCheck.timeout = '0ms'; }, 'spec.trafficPolicy.healthCheck.timeout', 'must be greater than 0s'),
  p('fill interval below 50ms', (s) => { s.trafficPolicy.localRateLimit.fillInterval = '10ms'; }, 'spec.trafficPolicy.localRateLimit.fillInterval', 'must be at least 50ms'),
  p('no tokens', (s) => { s.trafficPolicy.localRateLimit.maxTokens = 0; }, 'spec.trafficPolicy.localRateLimit.maxTokens', 'must be >= 1 (got 0)'),
  p('ejection above 100%', (s) => { s.trafficPolicy.outlierDetection.maxEjectionPercent = 101; }, 'spec.trafficPolicy.outlierDetection.maxEjectionPercent', 'must be <= 100 (got 101)'),
  p('zero connect timeout', (s) => { s.trafficPolicy.connectionPool.tcp.connectTimeout = '0s'; }, 'spec.trafficPolicy.connectionPool.tcp.connectTimeout', 'must be greater than 0s'),
  p('zero max connections', (s) => { s.trafficPolicy.connectionPool.tcp.maxConnections = 0; }, 'spec.trafficPolicy.connectionPool.tcp.maxConnections', 'must be >= 1 (got 0)'),
  p('duplicate subset', (s) => { s.subsets[1].name = 'v1'; }, 'spec.subsets[1]', 'duplicate entry with name="v1"'),
  p('subset without labels', (s) => { s.subsets[0].labels = {}; }, 'spec.subsets[0].labels', 'must have at least 1 entry'),
  p('subset name in capitals', (s) => { s.subsets[0].name = 'V1'; }, 'spec.subsets[0].name', 'must be a DNS label'),
  p('empty label name', (s) => { s.subsets[0].labels[''] = 'x'; }, 'spec.subsets[0].labels', 'label names must not be empty'),
  p('bad label value', (s) => { s.subsets[0].labels.version = 'v 1'; }, 'spec.subsets[0].labels[version]', 'must be a label value'),
  p('duplicate port settings', (s) => { s.trafficPolicy.portLevelSettings[1].port = 9090; }, 'spec.trafficPolicy.portLevelSettings[1]', 'duplicate entry with port=9090'),
  p('port settings without port', (s) => { delete s.trafficPolicy.portLevelSettings[0].port; }, 'spec.trafficPolicy.portLevelSettings[0].port', 'is required'),
  p('nested port settings', (s) => { s.trafficPolicy.portLevelSettings[0].portLevelSettings = []; }, 'spec.trafficPolicy.portLevelSettings[0].portLevelSettings', 'unknown field'),
  p('subset policy rules apply too', (s) => { s.subsets[1].trafficPolicy.portLevelSettings[0].loadBalancer = {}; }, 'spec.subsets[1].trafficPolicy.portLevelSettings[0].loadBalancer', 'exactly one of simple or consistentHash must be set'),
  p('null spec field counts as absent', (s) => { s.host = null; }, 'spec.host', 'is required'),
];

/** Objects whose envelope, not spec, is wrong. */
export const INVALID_ENVELOPES: readonly InvalidCase[] = [
  { name: 'wrong apiVersion', object: { ...trafficRoute(validRouteSpec()), apiVersion: 'networking.istio.io/v1' }, path: 'apiVersion', message: 'must be routing.pilotfish.io/v1alpha1', by: 'parser' },
  { name: 'wrong kind', object: { ...trafficPolicy(validPolicySpec()), kind: 'TrafficRoute' }, parseAs: 'TrafficPolicy', path: 'kind', message: 'must be TrafficPolicy (got "TrafficRoute")', by: 'parser' },
  { name: 'not DNS name', object: { ...trafficRoute(validRouteSpec()), metadata: { name: 'My_Route', namespace: 'shop' } }, path: 'metadata.name', message: 'must be a DNS subdomain', by: 'parser' },
  { name: 'no name', object: { ...trafficRoute(validRouteSpec()), metadata: { name: '', namespace: 'shop' } }, path: 'metadata.name', message: 'is required', by: 'parser' },
  { name: 'no spec', object: { apiVersion: API_VERSION, kind: 'TrafficRoute', metadata: { name: 'x' } }, path: 'spec', message: 'is required', by: 'parser' },
];
