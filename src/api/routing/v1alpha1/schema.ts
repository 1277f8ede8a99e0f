// The single definition of the TrafficRoute, TrafficPolicy and TrafficScope schemas. crds/*.yaml are rendered
// from here (see routing-crd.ts), and parsing walks the very same data, so a file in a config
// directory is rejected exactly where the API server would reject it.
//
// Every list, map and string has an upper bound: the API server estimates the worst-case cost of
// each CEL rule from those bounds and refuses a CRD whose rules could cost too much.
import { DURATION_HINT, DURATION_PATTERN, parseDuration } from './duration.js';
import { isPlainObject, type CelRule, type Schema } from './openapi.js';
import { MAX_HEADER_NAME_LENGTH } from './header-name.js';
import { matchLabelsSchema, MAX_SELECTOR_LABELS } from '../../security/v1alpha1/schema.js';

// ---------------------------------------------------------------------------------------------
// CEL rules with their TypeScript twins

function has(self: unknown, field: string): boolean {
  return isPlainObject(self) && self[field] !== undefined && self[field] !== null;
}

function exactlyOne(fields: readonly string[], message: string): CelRule {
  return {
    rule: `${fields.map((f) => `(has(self.${f}) ? 1 : 0)`).join(' + ')} == 1`,
    message,
    check: (self) => fields.filter((f) => has(self, f)).length === 1,
  };
}

function atLeastOne(fields: readonly string[], message: string): CelRule {
  return {
    rule: fields.map((f) => `has(self.${f})`).join(' || '),
    message,
    check: (self) => fields.some((f) => has(self, f)),
  };
}

function durationAtLeast(min: string, inclusive: boolean, message: string): CelRule {
  const minMs = parseDuration(min) ?? 0;
  return {
    rule: `duration(self) ${inclusive ? '>=' : '>'} duration('${min}')`,
    message,
    check: (self) => {
      const ms = typeof self === 'string' ? parseDuration(self) : undefined;
      return ms !== undefined && (inclusive ? ms >= minMs : ms > minMs);
    },
  };
}

const NON_EMPTY_KEYS: CelRule = {
  rule: 'self.all(k, size(k) > 0)',
  message: 'names must not be empty',
  check: (self) => isPlainObject(self) && Object.keys(self).every((k) => k.length > 0),
};

// ---------------------------------------------------------------------------------------------
// Building blocks

const INT32_MAX = 2147483647;

function str(maxLength: number, extra: Partial<Schema> = {}): Schema {
  return { type: 'string', maxLength, ...extra };
}

function int(minimum: number, maximum: number, description: string): Schema {
  return { type: 'integer', format: maximum <= INT32_MAX ? 'int32' : 'int64', minimum, maximum, description };
}

function obj(description: string, properties: Record<string, Schema>, extra: Partial<Schema> = {}): Schema {
  return { type: 'object', description, properties, ...extra };
}

function list(description: string, items: Schema, maxItems: number, extra: Partial<Schema> = {}): Schema {
  return { type: 'array', description, items, maxItems, ...extra };
}

function map(description: string, values: Schema, maxProperties: number, extra: Partial<Schema> = {}): Schema {
  return { type: 'object', description, additionalProperties: values, maxProperties, ...extra };
}

/** A duration; `min` is '0s' (any, zero allowed), '>0s' (positive) or another inclusive minimum. */
function duration(description: string, min: '0s' | '>0s' | '50ms'): Schema {
  const rules: CelRule[] = [];
  if (min === '>0s') rules.push(durationAtLeast('0s', false, 'must be greater than 0s'));
  if (min === '50ms') rules.push(durationAtLeast('50ms', true, 'must be at least 50ms'));
  return {
    type: 'string', description, maxLength: 32, minLength: 2, pattern: DURATION_PATTERN, patternMessage: DURATION_HINT,
    ...(rules.length ? { 'x-kubernetes-validations': rules } : {}),
  };
}

const DNS_LABEL = '[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?';

/** `name`, `name.namespace`, `name.namespace.svc` or `name.namespace.svc.cluster.local`. */
const HOST_PATTERN = `^${DNS_LABEL}(\\.${DNS_LABEL}(\\.svc(\\.cluster\\.local)?)?)?$`;

const HOST: Schema = str(253, {
  pattern: HOST_PATTERN,
  patternMessage: "must name a Service as 'reviews', 'reviews.shop' or 'reviews.shop.svc.cluster.local'",
  description: 'A Service: `name` (in this object\'s namespace), `name.namespace` or `name.namespace.svc.cluster.local`.',
});

const PORT: Schema = int(1, 65535, 'A port number of the Service.');

const SUBSET_NAME: Schema = str(63, {
  minLength: 1,
  pattern: `^${DNS_LABEL}$`,
  patternMessage: 'must be a DNS label (lower-case letters, digits and "-")',
  description: 'Name of a subset defined by the TrafficPolicy of the destination host.',
});

const PERCENT: Schema = { type: 'number', minimum: 0, maximum: 100, description: 'Percentage of requests, 0 to 100 (fractions allowed). Default 100.' };

/** RFC 7230 token: what Envoy accepts as a header name in strict mode. */
const HEADER_NAME_PATTERN = "^[0-9A-Za-z!#$%&'*+.^_|~\\x60-]+$";
const HEADER_NAME: Schema = str(MAX_HEADER_NAME_LENGTH, {
  pattern: HEADER_NAME_PATTERN,
  patternMessage: 'must be an HTTP header name (letters, digits and !#$%&\'*+-.^_`|~)',
});
/** Envoy refuses NUL, CR and LF in header values (and in anything it turns into a header). */
const HEADER_VALUE: Schema = str(4096, { pattern: '^[^\\x00\\r\\n]*$', patternMessage: 'must not contain NUL, CR or LF' });

/** Every spelling of "host": CEL has no cheap case-insensitive key lookup, and `in` costs O(1). */
const HOST_SPELLINGS: readonly string[] = Array.from({ length: 16 }, (_, bits) =>
  [...'host'].map((c, i) => ((bits >> i) & 1 ? c.toUpperCase() : c)).join(''));

const HEADER_NAME_MAP_RULE: CelRule = {
  rule: `self.all(k, size(k) > 0 && !k.startsWith(':')) && ![${HOST_SPELLINGS.map((h) => `'${h}'`).join(', ')}].exists(h, h in self)`,
  message: 'header names must not be empty, start with ":" or be "host" in any letter case (use rewrite.authority to change the host)',
  check: (self) => isPlainObject(self)
    && Object.keys(self).every((k) => k.length > 0 && !k.startsWith(':') && k.toLowerCase() !== 'host'),
};

/**
 * Map keys carry no maxLength in a structural schema; size() is O(1) in CEL, so this bounds them
 * at the API server without raising the rule's estimated cost. The characters are checked by
 * pilotfish (header-name.ts), because a per-key regex over unbounded keys could exceed the cost budget.
 */
const HEADER_NAME_LENGTH_RULE: CelRule = {
  rule: `self.all(k, size(k) <= ${MAX_HEADER_NAME_LENGTH})`,
  message: `header names must be at most ${MAX_HEADER_NAME_LENGTH} characters long`,
  check: (self) => isPlainObject(self) && Object.keys(self).every((k) => k.length <= MAX_HEADER_NAME_LENGTH),
};

const AUTHORITY: Schema = str(260, {
  minLength: 1,
  pattern: '^[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?(:[0-9]{1,5})?$',
  patternMessage: 'must be a host name with an optional port, like "reviews.shop:8080"',
});

const PATH: Schema = str(1024, { pattern: '^/[^\\x00\\r\\n]*$', patternMessage: 'must start with "/"' });

const DESTINATION: Schema = obj('Where requests go.', {
  host: HOST,
  port: { ...PORT, description: 'Port of the Service. May be omitted when the Service has exactly one port.' },
  subset: SUBSET_NAME,
}, { required: ['host'] });

// ---------------------------------------------------------------------------------------------
// TrafficRoute

export const RETRY_ON_CONDITIONS: readonly string[] = [
  '5xx', 'gateway-error', 'reset', 'reset-before-request', 'connect-failure', 'envoy-ratelimited',
  'retriable-4xx', 'refused-stream', 'http3-post-connect-failure',
  'cancelled', 'deadline-exceeded', 'internal', 'resource-exhausted', 'unavailable',
];
const RETRY_TOKEN = `(${RETRY_ON_CONDITIONS.join('|')})`;

export const GRPC_STATUS_CODES: Readonly<Record<string, number>> = Object.freeze({
  CANCELLED: 1, UNKNOWN: 2, INVALID_ARGUMENT: 3, DEADLINE_EXCEEDED: 4, NOT_FOUND: 5, ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7, RESOURCE_EXHAUSTED: 8, FAILED_PRECONDITION: 9, ABORTED: 10, OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12, INTERNAL: 13, UNAVAILABLE: 14, DATA_LOSS: 15, UNAUTHENTICATED: 16,
});

const HTTP_METHODS: readonly string[] = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH'];

const REDIRECT_CODES: readonly number[] = [301, 302, 303, 307, 308];

const URI_MATCH = obj('Matches the request path. Exactly one of exact, prefix or regex.', {
  exact: { ...PATH, description: 'The whole path, e.g. "/api/v1/cart".' },
  prefix: { ...PATH, description: 'A path prefix, e.g. "/api/".' },
  regex: str(1024, { minLength: 1, description: 'An RE2 regular expression that must match the whole path.' }),
}, { 'x-kubernetes-validations': [exactlyOne(['exact', 'prefix', 'regex'], 'exactly one of exact, prefix or regex must be set')] });

const HEADER_MATCH = obj('Matches one request header. Exactly one of exact, prefix, regex or present; `present: false` matches when the header is absent.', {
  exact: { ...HEADER_VALUE, description: 'The whole value.' },
  prefix: { ...HEADER_VALUE, minLength: 1, description: 'A prefix of the value.' },
  regex: str(1024, { minLength: 1, description: 'An RE2 regular expression that must match the whole value.' }),
  present: { type: 'boolean', description: 'true: the header is present (any value); false: the header is absent.' },
}, { 'x-kubernetes-validations': [exactlyOne(['exact', 'prefix', 'regex', 'present'], 'exactly one of exact, prefix, regex or present must be set')] });

const QUERY_MATCH = obj('Matches one query parameter. Exactly one of exact, regex or present.', {
  exact: str(1024, { description: 'The whole value.' }),
  regex: str(1024, { minLength: 1, description: 'An RE2 regular expression that must match the whole value.' }),
  present: { type: 'boolean', description: 'Must be true: the parameter is present with any value.' },
}, {
  'x-kubernetes-validations': [
    exactlyOne(['exact', 'regex', 'present'], 'exactly one of exact, regex or present must be set'),
    {
      rule: '!has(self.present) || self.present',
      message: 'present: false is not supported for query parameters; remove the matcher instead',
      check: (self) => !has(self, 'present') || (self as Record<string, unknown>).present === true,
    },
  ],
});

const MATCH_BLOCK = obj('One match block: all of its conditions must hold. An empty block matches every request.', {
  uri: URI_MATCH,
  headers: map('Request headers by name (RFC 7230 tokens, case-insensitive, at most 256 characters).', HEADER_MATCH, 16, {
    'x-kubernetes-validations': [NON_EMPTY_KEYS, HEADER_NAME_LENGTH_RULE],
  }),
  method: { type: 'string', enum: HTTP_METHODS, description: 'The HTTP method.' },
  queryParams: map('Query parameters by name.', QUERY_MATCH, 16, { 'x-kubernetes-validations': [NON_EMPTY_KEYS] }),
});

const ROUTE_DESTINATION = obj('A destination with its share of the traffic.', {
  destination: DESTINATION,
  weight: int(0, 1000000, 'Relative share of the traffic. Required when there is more than one destination; a single destination gets all traffic.'),
}, { required: ['destination'] });

const RETRIES = obj('Retry policy.', {
  attempts: int(0, 100, 'Number of retries (not counting the first try). 0 disables retries.'),
  perTryTimeout: duration('Timeout of each try, e.g. "2s".', '>0s'),
  retryOn: str(512, {
    pattern: `^ *${RETRY_TOKEN} *(, *${RETRY_TOKEN} *)*$`,
    patternMessage: `must be a comma-separated list of: ${RETRY_ON_CONDITIONS.join(', ')}`,
    description: `Comma-separated conditions: ${RETRY_ON_CONDITIONS.join(', ')}. Default: connect-failure,refused-stream,unavailable,cancelled,resource-exhausted.`,
  }),
}, { required: ['attempts'] });

const FAULT = obj('Injects faults into matching requests. At least one of delay or abort.', {
  delay: obj('Delays requests.', {
    fixedDelay: duration('How long to delay, e.g. "5s".', '>0s'),
    percentage: PERCENT,
  }, { required: ['fixedDelay'] }),
  abort: obj('Fails requests. Exactly one of httpStatus or grpcStatus.', {
    httpStatus: int(200, 599, 'HTTP status to answer with.'),
    grpcStatus: { type: 'string', enum: Object.keys(GRPC_STATUS_CODES), description: 'gRPC status to answer with.' },
    percentage: PERCENT,
  }, { 'x-kubernetes-validations': [exactlyOne(['httpStatus', 'grpcStatus'], 'exactly one of httpStatus or grpcStatus must be set')] }),
}, { 'x-kubernetes-validations': [atLeastOne(['delay', 'abort'], 'at least one of delay or abort must be set')] });

const REWRITE = obj('Rewrites the request before forwarding it. At least one of uri or authority.', {
  uri: { ...HEADER_VALUE, minLength: 1, maxLength: 1024, description: 'Replaces the matched path prefix (or the whole path for an exact match).' },
  authority: { ...AUTHORITY, description: 'Replaces the Host/:authority header.' },
}, { 'x-kubernetes-validations': [atLeastOne(['uri', 'authority'], 'at least one of uri or authority must be set')] });

const REDIRECT = obj('Answers with an HTTP redirect instead of forwarding. At least one of uri or authority.', {
  uri: { ...PATH, description: 'The path to redirect to.' },
  authority: { ...AUTHORITY, description: 'The host (and port) to redirect to.' },
  responseCode: { type: 'integer', enum: REDIRECT_CODES, description: 'Redirect status; default 301.' },
}, { 'x-kubernetes-validations': [atLeastOne(['uri', 'authority'], 'at least one of uri or authority must be set')] });

const HEADER_OPS = obj('Header changes.', {
  add: map('Headers to append (keeps existing values).', HEADER_VALUE, 32, { 'x-kubernetes-validations': [HEADER_NAME_MAP_RULE, HEADER_NAME_LENGTH_RULE] }),
  set: map('Headers to set (replaces existing values).', HEADER_VALUE, 32, { 'x-kubernetes-validations': [HEADER_NAME_MAP_RULE, HEADER_NAME_LENGTH_RULE] }),
  remove: list('Headers to remove.', HEADER_NAME, 32, {
    'x-kubernetes-list-type': 'set',
    'x-kubernetes-validations': [{
      rule: "self.all(h, h.lowerAscii() != 'host')",
      message: 'the host header cannot be removed',
      check: (self) => Array.isArray(self) && self.every((h) => typeof h !== 'string' || h.toLowerCase() !== 'host'),
    }],
  }),
});

const HEADERS = obj('Changes to request and response headers.', {
  request: { ...HEADER_OPS, description: 'Changes to the request before it is forwarded.' },
  response: { ...HEADER_OPS, description: 'Changes to the response before it is returned.' },
});

const HTTP_RULE = obj('One routing rule. Rules are tried in order; the first whose match applies wins.', {
  name: str(63, {
    minLength: 1, pattern: `^${DNS_LABEL}$`, patternMessage: 'must be a DNS label (lower-case letters, digits and "-")',
    description: 'Name of the rule, unique within the TrafficRoute; shown in proxy statistics.',
  }),
  match: list('Match blocks, OR-ed: the rule applies when any block matches. Empty or absent: every request.', MATCH_BLOCK, 16),
  route: list('Weighted destinations.', ROUTE_DESTINATION, 16, {
    minItems: 1,
    'x-kubernetes-validations': [{
      rule: 'size(self) == 1 || self.all(d, has(d.weight))',
      message: 'weight is required on every destination when there is more than one',
      check: (self) => Array.isArray(self) && (self.length === 1 || self.every((d) => has(d, 'weight'))),
    }],
  }),
  redirect: REDIRECT,
  timeout: duration('Timeout of the whole request, including retries, e.g. "15s". "0s" disables the timeout.', '0s'),
  retries: RETRIES,
  fault: FAULT,
  mirror: { ...DESTINATION, description: 'Also sends a copy of each request here (responses are discarded).' },
  mirrorPercentage: { ...PERCENT, description: 'Share of requests to mirror, 0 to 100. Default 100.' },
  rewrite: REWRITE,
  headers: HEADERS,
}, {
  'x-kubernetes-validations': [
    {
      rule: '!(has(self.route) && has(self.redirect))',
      message: 'route and redirect are mutually exclusive',
      check: (self) => !(has(self, 'route') && has(self, 'redirect')),
    },
    atLeastOne(['route', 'redirect'], 'one of route or redirect is required'),
    {
      rule: '!has(self.redirect) || !(has(self.rewrite) || has(self.mirror) || has(self.retries) || has(self.timeout))',
      message: 'rewrite, mirror, retries and timeout apply to forwarded requests and cannot be combined with redirect',
      check: (self) => !has(self, 'redirect') || !['rewrite', 'mirror', 'retries', 'timeout'].some((f) => has(self, f)),
    },
    {
      rule: '!has(self.mirrorPercentage) || has(self.mirror)',
      message: 'mirrorPercentage requires mirror',
      check: (self) => !has(self, 'mirrorPercentage') || has(self, 'mirror'),
    },
  ],
});

export const TRAFFIC_ROUTE_SPEC: Schema = obj('Routing rules for requests to the hosts.', {
  hosts: list('Services whose traffic these rules route.', HOST, 16, { minItems: 1, 'x-kubernetes-list-type': 'set' }),
  http: list('HTTP rules, in order: the first rule that matches a request decides.', HTTP_RULE, 64, {
    minItems: 1,
    'x-kubernetes-validations': [{
      rule: 'self.all(a, !has(a.name) || self.exists_one(b, has(b.name) && b.name == a.name))',
      message: 'rule names must be unique',
      check: (self) => {
        if (!Array.isArray(self)) return false;
        const names = self.filter((r) => has(r, 'name')).map((r) => (r as Record<string, unknown>).name);
        return new Set(names).size === names.length;
      },
    }],
  }),
}, { required: ['hosts', 'http'] });

// ---------------------------------------------------------------------------------------------
// TrafficPolicy

const SIMPLE_LOAD_BALANCERS: readonly string[] = ['ROUND_ROBIN', 'LEAST_REQUEST', 'RANDOM'];

/** Envoy's (and gRPC's) upper limit for a ring-hash ring. */
const MAX_RING_SIZE = 8388608;

const LOAD_BALANCER = obj('Load-balancing algorithm. Exactly one of simple or consistentHash.', {
  simple: { type: 'string', enum: SIMPLE_LOAD_BALANCERS, description: 'A simple algorithm.' },
  consistentHash: obj('Sticky sessions by ring hash. Exactly one of httpHeaderName, httpCookie or useSourceIp: true.', {
    httpHeaderName: { ...HEADER_NAME, description: 'Hash on this request header.' },
    httpCookie: obj('Hash on this cookie; the proxy sets it when absent.', {
      name: { ...HEADER_NAME, description: 'Cookie name.' },
      ttl: duration('Lifetime of a generated cookie; "0s" makes it a session cookie.', '0s'),
    }, { required: ['name'] }),
    useSourceIp: { type: 'boolean', description: 'Hash on the client IP address.' },
    minimumRingSize: int(1, MAX_RING_SIZE, 'Minimum number of virtual nodes on the ring. Default 1024.'),
  }, {
    'x-kubernetes-validations': [{
      rule: '(has(self.httpHeaderName) ? 1 : 0) + (has(self.httpCookie) ? 1 : 0) + ((has(self.useSourceIp) && self.useSourceIp) ? 1 : 0) == 1',
      message: 'exactly one of httpHeaderName, httpCookie or useSourceIp: true must be set',
      check: (self) => [has(self, 'httpHeaderName'), has(self, 'httpCookie'),
        has(self, 'useSourceIp') && (self as Record<string, unknown>).useSourceIp === true].filter(Boolean).length === 1,
    }],
  }),
}, { 'x-kubernetes-validations': [exactlyOne(['simple', 'consistentHash'], 'exactly one of simple or consistentHash must be set')] });

const CONNECTION_POOL = obj('Connection limits (circuit breaking).', {
  tcp: obj('TCP connection settings.', {
    maxConnections: int(1, INT32_MAX, 'Maximum connections to the whole destination.'),
    connectTimeout: duration('TCP connect timeout, e.g. "1s".', '>0s'),
  }),
  http: obj('HTTP request limits.', {
    http1MaxPendingRequests: int(1, INT32_MAX, 'Maximum requests waiting for a connection.'),
    http2MaxRequests: int(1, INT32_MAX, 'Maximum concurrent requests to the whole destination.'),
    maxRequestsPerConnection: int(0, INT32_MAX, 'Requests per connection before it is closed; 0 means unlimited.'),
    maxRetries: int(0, INT32_MAX, 'Maximum concurrent retries to the whole destination.'),
  }),
});

const OUTLIER_DETECTION = obj('Ejects endpoints that keep failing.', {
  consecutive5xxErrors: int(0, INT32_MAX, 'Consecutive 5xx responses (or gRPC errors) before ejection; 0 disables this check.'),
  consecutiveGatewayErrors: int(0, INT32_MAX, 'Consecutive 502/503/504 responses before ejection; 0 disables this check.'),
  interval: duration('How often endpoints are analysed, e.g. "10s".', '>0s'),
  baseEjectionTime: duration('Minimum ejection time, multiplied by the number of ejections, e.g. "30s".', '>0s'),
  maxEjectionPercent: int(0, 100, 'Maximum percentage of endpoints ejected at once.'),
});

const HEALTH_CHECK = obj('Active health checking. Exactly one of http or tcp.', {
  http: obj('HTTP GET health check.', { path: { ...PATH, description: 'Path to request, e.g. "/healthz".' } }, { required: ['path'] }),
  tcp: obj('TCP connect health check.', {}),
  interval: duration('Time between checks, e.g. "10s".', '>0s'),
  timeout: duration('Timeout of one check, e.g. "1s".', '>0s'),
  unhealthyThreshold: int(1, 1000, 'Failed checks before an endpoint is unhealthy. Default 3.'),
  healthyThreshold: int(1, 1000, 'Passed checks before an endpoint is healthy again. Default 1.'),
}, {
  required: ['interval', 'timeout'],
  'x-kubernetes-validations': [exactlyOne(['http', 'tcp'], 'exactly one of http or tcp must be set')],
});

const LOCAL_RATE_LIMIT = obj('Token-bucket rate limit applied by each receiving proxy.', {
  maxTokens: int(1, INT32_MAX, 'Bucket size: the largest burst.'),
  tokensPerFill: int(1, INT32_MAX, 'Tokens added per fill interval. Default 1.'),
  fillInterval: duration('Time between fills, at least 50ms.', '50ms'),
}, { required: ['maxTokens', 'fillInterval'] });

const SETTINGS_FIELDS: Record<string, Schema> = {
  loadBalancer: LOAD_BALANCER,
  connectionPool: CONNECTION_POOL,
  outlierDetection: OUTLIER_DETECTION,
  healthCheck: HEALTH_CHECK,
  localRateLimit: LOCAL_RATE_LIMIT,
};

const PORT_SETTINGS = obj('Settings for one port; they override the enclosing settings field by field.', {
  port: PORT,
  ...SETTINGS_FIELDS,
}, { required: ['port'] });

const POLICY_SETTINGS = obj('Traffic settings.', {
  ...SETTINGS_FIELDS,
  portLevelSettings: list('Per-port overrides.', PORT_SETTINGS, 16, {
    'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['port'],
  }),
});

const SUBSET = obj('A named group of the Service\'s endpoints, selected by pod labels.', {
  name: { ...SUBSET_NAME, description: 'Subset name, used by TrafficRoute destinations.' },
  labels: map('Pod labels an endpoint must have (all of them).', str(63, {
    pattern: '^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$',
    patternMessage: 'must be a label value (up to 63 letters, digits, "-", "_" and ".")',
  }), 32, { minProperties: 1, 'x-kubernetes-validations': [{ ...NON_EMPTY_KEYS, message: 'label names must not be empty' }] }),
  trafficPolicy: { ...POLICY_SETTINGS, description: 'Settings for this subset; they override the top-level settings field by field.' },
}, { required: ['name', 'labels'] });

export const TRAFFIC_POLICY_SPEC: Schema = obj('How traffic to one Service is handled once routed.', {
  host: { ...HOST, description: 'The Service these settings apply to.' },
  trafficPolicy: POLICY_SETTINGS,
  subsets: list('Named subsets of the Service\'s endpoints.', SUBSET, 32, {
    'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'],
  }),
}, { required: ['host'] });

// ---------------------------------------------------------------------------------------------
// TrafficScope

/** At most this many egress hosts in one TrafficScope (documented in the CRD). */
export const MAX_EGRESS_HOSTS = 256;

const DNS_NAME = `${DNS_LABEL}(\\.${DNS_LABEL})*`;

/** `<namespace>/<host>`: the namespace is a name, `.` (this one) or `*`; the host `*`, `*.<suffix>` or a Service's FQDN. */
const EGRESS_HOST: Schema = str(63 + 1 + 253, {
  pattern: `^(\\*|\\.|${DNS_LABEL})/(\\*|(\\*\\.)?${DNS_NAME})$`,
  patternMessage: "must be '<namespace>/<host>' as in './*', 'shop/*', '*/reviews.shop.svc.cluster.local' or 'pilotfish-system/*'",
  description: 'A `<namespace>/<host>` pattern: the namespace is a name, `.` (the TrafficScope\'s own) or `*` (every namespace); '
    + 'the host is `*` (every Service there), `*.<suffix>` or a Service\'s full name `<name>.<namespace>.svc.cluster.local`.',
});

export const TRAFFIC_SCOPE_SPEC: Schema = obj('Which Services the selected sidecars get configuration for (like the egress hosts of an Istio Sidecar).', {
  selector: obj('The workloads (pods) of this namespace the scope applies to. Absent: the whole namespace '
    + "(the whole mesh, where no other scope applies, for a scope in pilotfish's own namespace).", {
    matchLabels: matchLabelsSchema(`Pod labels a workload must have, all of them (1 to ${MAX_SELECTOR_LABELS}).`),
  }),
  egress: obj('What the selected sidecars send traffic to.', {
    hosts: list(`The Services the selected sidecars get clusters, listeners and routes for (at most ${MAX_EGRESS_HOSTS}); `
      + 'traffic to any other host follows the outbound traffic policy.', EGRESS_HOST, MAX_EGRESS_HOSTS, {
      minItems: 1, 'x-kubernetes-list-type': 'set',
    }),
  }, { required: ['hosts'] }),
}, {
  required: ['egress'],
  'x-kubernetes-validations': [{
    rule: '!has(self.selector) || (has(self.selector.matchLabels) && size(self.selector.matchLabels) > 0)',
    message: 'a selector needs at least one label in matchLabels (leave selector out to cover the whole namespace)',
    check: (self) => {
      if (!has(self, 'selector')) return true;
      const selector = (self as Record<string, unknown>).selector;
      return has(selector, 'matchLabels') && isPlainObject((selector as Record<string, unknown>).matchLabels)
        && Object.keys((selector as { matchLabels: object }).matchLabels).length > 0;
    },
  }],
});

// ---------------------------------------------------------------------------------------------
// Status (written by pilotfish; never validated by parsing)

const CONDITION = obj('A metav1.Condition.', {
  type: str(316, {
    pattern: '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$',
    description: 'Condition type: Accepted or ResolvedRefs.',
  }),
  status: { type: 'string', enum: ['True', 'False', 'Unknown'], description: 'True, False or Unknown.' },
  observedGeneration: { type: 'integer', format: 'int64', minimum: 0, description: 'metadata.generation the condition was computed for.' },
  lastTransitionTime: { type: 'string', format: 'date-time', description: 'When the status last changed.' },
  reason: str(1024, {
    minLength: 1, pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$', description: 'Machine-readable reason in CamelCase.',
  }),
  message: str(32768, { description: 'Human-readable details.' }),
}, { required: ['type', 'status', 'lastTransitionTime', 'reason', 'message'] });

export const ROUTING_STATUS: Schema = obj('Written by pilotfish.', {
  observedGeneration: { type: 'integer', format: 'int64', minimum: 0, description: 'The metadata.generation last processed.' },
  conditions: list('Accepted and ResolvedRefs conditions.', CONDITION, 8, {
    'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'],
  }),
});
