// An Istio VirtualService as pilotfish applies it: translated field by field into the spec of its
// TrafficRoute twin, then parsed by the TrafficRoute parser, so the model (and every generator,
// golden and status note downstream) is the same as for the twin.
//
// What has no TrafficRoute counterpart is left out and listed (UnsupportedFields), never dropped
// silently. Two kinds of omission, chosen so that leaving something out never widens what a rule
// catches: a match condition pilotfish cannot evaluate (sourceLabels, port, authority, …) takes
// its whole match block out, so the block never matches rather than matching everything; a rule
// whose action pilotfish cannot perform (delegate, directResponse) is left out, so its requests
// fall through to the next rule. Modifiers (CORS, per-destination headers, retry backoff, …) are
// ignored and listed.
import type { CustomObject } from '../../../../model/k8s-object.js';
import type { TrafficRoute } from '../../../../model/routing.js';
import { parseTrafficRoute } from '../../../routing/v1alpha1/parse.js';
import { evaluateWithTwin, isPlainObject, type FieldError, type RuleEvaluator } from '../../../routing/v1alpha1/openapi.js';
import { RETRY_ON_CONDITIONS } from '../../../routing/v1alpha1/schema.js';
import { pathKey } from '../../../routing/v1alpha1/field-path.js';
import { asPilotfishObject, istioEnvelope, percentage, portNumber, type IstioParseResult } from './istio-object.js';
import { UnsupportedFields } from './unsupported-fields.js';

type Json = Record<string, unknown>;

/** The gateway name that means "sidecars and proxyless clients", the only traffic pilotfish programs. */
const MESH_GATEWAY = 'mesh';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

const NEVER_MATCHES = 'the match block is left out (it never matches)';

/** Match conditions pilotfish cannot evaluate; a block using one never matches. */
const UNEVALUATED_CONDITIONS: Readonly<Record<string, string>> = {
  authority: `matching on the authority is not supported; ${NEVER_MATCHES}`,
  scheme: `matching on the scheme is not supported; ${NEVER_MATCHES}`,
  port: `matching on the port is not supported; ${NEVER_MATCHES}`,
  sourceLabels: `matching on the client's labels is not supported; ${NEVER_MATCHES}`,
  sourceNamespace: `matching on the client's namespace is not supported; ${NEVER_MATCHES}`,
};

const RULE_REASONS: Readonly<Record<string, string>> = {
  delegate: 'delegation is not supported; the rule is left out',
  directResponse: 'direct responses are not supported; the rule is left out',
  corsPolicy: 'CORS policies are not supported; ignored',
};

function gatewaysProblem(v: unknown): 'mesh' | 'gatewaysOnly' {
  if (!Array.isArray(v) || v.length === 0) return 'mesh';
  return v.includes(MESH_GATEWAY) ? 'mesh' : 'gatewaysOnly';
}

function reportOtherGateways(v: unknown, at: string, f: UnsupportedFields): void {
  if (!Array.isArray(v)) return;
  v.forEach((g, i) => {
    if (g !== MESH_GATEWAY) f.add(`${at}[${i}]`, 'gateways are not programmed by pilotfish (only the mesh is); ignored');
  });
}

function destination(d: unknown, at: string, f: UnsupportedFields): unknown {
  if (!isPlainObject(d)) return d;
  f.rest(d, at, ['host', 'port', 'subset']);
  return {
    ...(d.host !== undefined ? { host: d.host } : {}),
    ...(d.port !== undefined ? { port: portNumber(d.port) } : {}),
    ...(d.subset !== undefined ? { subset: d.subset } : {}),
  };
}

/** A header or query parameter matcher; Istio's empty matcher means "present with any value". */
function valueMatch(m: unknown, at: string, kinds: readonly string[], f: UnsupportedFields): unknown {
  if (!isPlainObject(m)) return m;
  if (Object.keys(m).length === 0) return { present: true };
  f.rest(m, at, kinds);
  const out: Json = {};
  for (const k of kinds) if (m[k] !== undefined) out[k] = m[k];
  return out;
}

/** One match block, or undefined when it uses a condition pilotfish cannot evaluate. */
function matchBlock(m: unknown, at: string, f: UnsupportedFields): unknown {
  if (!isPlainObject(m)) return m;
  for (const [key, reason] of Object.entries(UNEVALUATED_CONDITIONS)) {
    if (m[key] !== undefined) {
      f.add(`${at}.${key}`, reason);
      return undefined;
    }
  }
  if (m.gateways !== undefined && gatewaysProblem(m.gateways) === 'gatewaysOnly') {
    f.add(`${at}.gateways`, `applies to gateways only, which pilotfish does not program; ${NEVER_MATCHES}`);
    return undefined;
  }
  reportOtherGateways(m.gateways, `${at}.gateways`, f);
  f.rest(m, at, ['uri', 'headers', 'withoutHeaders', 'queryParams', 'method', 'gateways', ...Object.keys(UNEVALUATED_CONDITIONS)], {
    name: 'match names are not used by pilotfish; ignored',
    ignoreUriCase: 'case-insensitive path matching is not supported; the path is matched case-sensitively',
    statPrefix: 'per-match statistics prefixes are not supported; ignored',
  });
  const out: Json = {};
  if (m.uri !== undefined) out.uri = isPlainObject(m.uri) ? valueMatch(m.uri, `${at}.uri`, ['exact', 'prefix', 'regex'], f) : m.uri;
  if (m.method !== undefined) {
    if (isPlainObject(m.method) && Object.keys(m.method).length === 1 && typeof m.method.exact === 'string') out.method = m.method.exact;
    else {
      f.add(`${at}.method`, `only an exact method match is supported; ${NEVER_MATCHES}`);
      return undefined;
    }
  }
  const headers: Json = {};
  if (isPlainObject(m.headers)) {
    for (const [name, h] of Object.entries(m.headers)) headers[name] = valueMatch(h, `${at}.headers[${pathKey(name)}]`, ['exact', 'prefix', 'regex'], f);
  } else if (m.headers !== undefined) out.headers = m.headers;
  if (isPlainObject(m.withoutHeaders)) {
    for (const [name, h] of Object.entries(m.withoutHeaders)) {
      if (!isPlainObject(h) || Object.keys(h).length !== 0) {
        f.add(`${at}.withoutHeaders[${pathKey(name)}]`, `only "header absent" ({}) is supported in withoutHeaders; ${NEVER_MATCHES}`);
        return undefined;
      }
      headers[name] = { present: false };
    }
  }
  if (Object.keys(headers).length > 0) out.headers = headers;
  if (isPlainObject(m.queryParams)) {
    const params: Json = {};
    for (const [name, q] of Object.entries(m.queryParams)) {
      if (isPlainObject(q) && q.prefix !== undefined) {
        f.add(`${at}.queryParams[${pathKey(name)}].prefix`, `prefix matches of query parameters are not supported; ${NEVER_MATCHES}`);
        return undefined;
      }
      params[name] = valueMatch(q, `${at}.queryParams[${pathKey(name)}]`, ['exact', 'regex'], f);
    }
    out.queryParams = params;
  } else if (m.queryParams !== undefined) out.queryParams = m.queryParams;
  return out;
}

function headerOperations(h: unknown, at: string, f: UnsupportedFields): unknown {
  if (!isPlainObject(h)) return h;
  f.rest(h, at, ['request', 'response']);
  const side = (s: unknown, where: string): unknown => {
    if (!isPlainObject(s)) return s;
    f.rest(s, where, ['set', 'add', 'remove']);
    return Object.fromEntries(['set', 'add', 'remove'].filter((k) => s[k] !== undefined).map((k) => [k, s[k]]));
  };
  return {
    ...(h.request !== undefined ? { request: side(h.request, `${at}.request`) } : {}),
    ...(h.response !== undefined ? { response: side(h.response, `${at}.response`) } : {}),
  };
}

function retries(r: unknown, at: string, f: UnsupportedFields): unknown {
  if (!isPlainObject(r)) return r;
  f.rest(r, at, ['attempts', 'perTryTimeout', 'retryOn'], {
    backoff: 'retry backoff is not supported; the proxy default applies',
    retryRemoteLocalities: 'retrying in other localities is not supported; ignored',
    retryIgnorePreviousHosts: 'not supported; ignored',
  });
  const out: Json = {};
  if (r.attempts !== undefined) out.attempts = r.attempts;
  if (r.perTryTimeout !== undefined) out.perTryTimeout = r.perTryTimeout;
  if (typeof r.retryOn === 'string') {
    const kept: string[] = [];
    for (const token of r.retryOn.split(',').map((t) => t.trim()).filter((t) => t !== '')) {
      if (RETRY_ON_CONDITIONS.includes(token)) kept.push(token);
      else f.add(`${at}.retryOn`, `retry condition ${JSON.stringify(token.slice(0, 64))} is not supported; left out`);
    }
    if (kept.length > 0) out.retryOn = kept.join(',');
  } else if (r.retryOn !== undefined) out.retryOn = r.retryOn;
  return out;
}

function fault(x: unknown, at: string, f: UnsupportedFields): unknown {
  if (!isPlainObject(x)) return x;
  f.rest(x, at, ['delay', 'abort']);
  const out: Json = {};
  if (isPlainObject(x.delay)) {
    const d = x.delay;
    f.rest(d, `${at}.delay`, ['fixedDelay', 'percentage', 'percent'], { exponentialDelay: 'exponential delays are not supported; ignored' });
    if (d.fixedDelay !== undefined) {
      const pct = d.percentage !== undefined ? percentage(d.percentage) : d.percent;
      out.delay = { fixedDelay: d.fixedDelay, ...(pct !== undefined ? { percentage: pct } : {}) };
    }
  } else if (x.delay !== undefined) out.delay = x.delay;
  if (isPlainObject(x.abort)) {
    const a = x.abort;
    f.rest(a, `${at}.abort`, ['httpStatus', 'grpcStatus', 'percentage'], { http2Error: 'HTTP/2 error aborts are not supported; ignored' });
    if (a.httpStatus !== undefined || a.grpcStatus !== undefined) {
      out.abort = {
        ...(a.httpStatus !== undefined ? { httpStatus: a.httpStatus } : {}),
        ...(a.grpcStatus !== undefined ? { grpcStatus: a.grpcStatus } : {}),
        ...(a.percentage !== undefined ? { percentage: percentage(a.percentage) } : {}),
      };
    }
  } else if (x.abort !== undefined) out.abort = x.abort;
  return Object.keys(out).length > 0 ? out : undefined;
}

function redirect(r: unknown, at: string, f: UnsupportedFields): unknown {
  if (!isPlainObject(r)) return r;
  f.rest(r, at, ['uri', 'authority', 'redirectCode'], {
    port: 'redirecting to another port is not supported; ignored',
    derivePort: 'redirecting to another port is not supported; ignored',
    scheme: 'redirecting to another scheme is not supported; ignored',
  });
  return {
    ...(r.uri !== undefined ? { uri: r.uri } : {}),
    ...(r.authority !== undefined ? { authority: r.authority } : {}),
    ...(r.redirectCode !== undefined ? { responseCode: r.redirectCode } : {}),
  };
}

function rewrite(r: unknown, at: string, f: UnsupportedFields): unknown {
  if (!isPlainObject(r)) return r;
  f.rest(r, at, ['uri', 'authority'], { uriRegexRewrite: 'regular-expression rewrites are not supported; ignored' });
  return {
    ...(r.uri !== undefined ? { uri: r.uri } : {}),
    ...(r.authority !== undefined ? { authority: r.authority } : {}),
  };
}

function routeDestinations(list: unknown, at: string, f: UnsupportedFields): unknown {
  if (!Array.isArray(list)) return list;
  // Istio reads a missing weight as 0 when there are several destinations.
  const several = list.length > 1;
  return list.map((d: unknown, i) => {
    if (!isPlainObject(d)) return d;
    f.rest(d, `${at}[${i}]`, ['destination', 'weight'], { headers: 'per-destination header changes are not supported; ignored' });
    const weight = d.weight ?? (several ? 0 : undefined);
    return {
      destination: destination(d.destination, `${at}[${i}].destination`, f),
      ...(weight !== undefined ? { weight } : {}),
    };
  });
}

/** The mirror of a rule: `mirror` (+ `mirrorPercentage`, or the older `mirrorPercent`), or the first of `mirrors`. */
function mirror(rule: Json, at: string, out: Json, f: UnsupportedFields): void {
  const pct = rule.mirrorPercentage !== undefined ? percentage(rule.mirrorPercentage) : rule.mirrorPercent ?? rule.mirror_percent;
  if (rule.mirror !== undefined) {
    out.mirror = destination(rule.mirror, `${at}.mirror`, f);
    if (pct !== undefined) out.mirrorPercentage = pct;
    if (rule.mirrors !== undefined) f.add(`${at}.mirrors`, 'only one mirror is supported; mirrors is ignored next to mirror');
    return;
  }
  if (!Array.isArray(rule.mirrors) || rule.mirrors.length === 0) return;
  const first: unknown = rule.mirrors[0];
  if (isPlainObject(first)) {
    f.rest(first, `${at}.mirrors[0]`, ['destination', 'percentage']);
    out.mirror = destination(first.destination, `${at}.mirrors[0].destination`, f);
    if (first.percentage !== undefined) out.mirrorPercentage = percentage(first.percentage);
  }
  for (let i = 1; i < rule.mirrors.length; i++) f.add(`${at}.mirrors[${i}]`, 'only one mirror is supported; left out');
}

/** One http rule, or undefined when it cannot be applied at all. */
function httpRule(rule: unknown, at: string, f: UnsupportedFields): unknown {
  if (!isPlainObject(rule)) return rule;
  f.rest(rule, at, ['name', 'match', 'route', 'redirect', 'timeout', 'retries', 'fault', 'mirror', 'mirrorPercentage', 'mirrorPercent',
    'mirror_percent', 'mirrors', 'rewrite', 'headers'], RULE_REASONS);
  if (rule.route === undefined && rule.redirect === undefined) {
    if (rule.delegate === undefined && rule.directResponse === undefined) f.add(at, 'has neither route nor redirect; the rule is left out');
    return undefined;
  }
  const out: Json = {};
  if (typeof rule.name === 'string' && DNS_LABEL.test(rule.name)) out.name = rule.name;
  else if (rule.name !== undefined) f.add(`${at}.name`, 'not a DNS label, so not used as the route name (the rule is named after its position)');
  if (Array.isArray(rule.match)) {
    const blocks = rule.match.map((m: unknown, i) => matchBlock(m, `${at}.match[${i}]`, f)).filter((m) => m !== undefined);
    if (rule.match.length > 0 && blocks.length === 0) {
      f.add(`${at}.match`, 'no match block pilotfish can evaluate, so the rule never matches; the rule is left out');
      return undefined;
    }
    if (blocks.length > 0) out.match = blocks;
  } else if (rule.match !== undefined) out.match = rule.match;
  if (rule.route !== undefined) out.route = routeDestinations(rule.route, `${at}.route`, f);
  if (rule.redirect !== undefined) out.redirect = redirect(rule.redirect, `${at}.redirect`, f);
  if (rule.timeout !== undefined) out.timeout = rule.timeout;
  if (rule.retries !== undefined) out.retries = retries(rule.retries, `${at}.retries`, f);
  if (rule.fault !== undefined) {
    const x = fault(rule.fault, `${at}.fault`, f);
    if (x !== undefined) out.fault = x;
  }
  mirror(rule, at, out, f);
  if (rule.rewrite !== undefined) out.rewrite = rewrite(rule.rewrite, `${at}.rewrite`, f);
  if (rule.headers !== undefined) out.headers = headerOperations(rule.headers, `${at}.headers`, f);
  return out;
}

interface TranslatedSpec {
  readonly spec: unknown;
  /** Position in the VirtualService's spec.http of each translated rule. */
  readonly ruleOrigin: readonly number[];
}

function translateSpec(spec: unknown, f: UnsupportedFields, errors: FieldError[]): TranslatedSpec {
  if (!isPlainObject(spec)) return { spec, ruleOrigin: [] };
  if (spec.gateways !== undefined && gatewaysProblem(spec.gateways) === 'gatewaysOnly') {
    errors.push({ path: 'spec.gateways', message: 'names gateways only (not "mesh"); pilotfish programs only the mesh, so nothing of this VirtualService applies' });
    return { spec, ruleOrigin: [] };
  }
  reportOtherGateways(spec.gateways, 'spec.gateways', f);
  f.rest(spec, 'spec', ['hosts', 'http', 'gateways'], {
    exportTo: 'visibility scoping is not supported: the VirtualService applies to clients in every namespace',
    tcp: 'TCP routes are not supported; TCP traffic to these hosts goes to the whole Service',
    tls: 'TLS routes are not supported; TLS traffic to these hosts goes to the whole Service',
  });
  const out: Json = {};
  if (spec.hosts !== undefined) out.hosts = spec.hosts;
  const ruleOrigin: number[] = [];
  if (Array.isArray(spec.http)) {
    const rules: unknown[] = [];
    spec.http.forEach((r: unknown, i) => {
      const t = httpRule(r, `spec.http[${i}]`, f);
      if (t === undefined) return;
      rules.push(t);
      ruleOrigin.push(i);
    });
    if (rules.length === 0) {
      errors.push({ path: 'spec.http', message: 'has no rule pilotfish can apply (see the unsupported fields), so nothing of this VirtualService applies' });
    }
    out.http = rules;
  } else if (spec.http !== undefined) out.http = spec.http;
  else {
    errors.push({ path: 'spec.http', message: 'is required: pilotfish applies HTTP (and gRPC) routes only' });
  }
  return { spec: out, ruleOrigin };
}

/** `spec.http[2]…` of the translated spec -> the VirtualService's own rule position. */
function originalPath(path: string, ruleOrigin: readonly number[]): string {
  return path.replace(/^spec\.http\[(\d+)\]/, (whole, n: string) => {
    const original = ruleOrigin[Number(n)];
    return original === undefined ? whole : `spec.http[${original}]`;
  });
}

/**
 * Validates and translates a VirtualService. `ok.meta.kind` is VirtualService and each rule's
 * `index` is its position in the VirtualService, so messages and route names point at the
 * object as written.
 */
export function parseVirtualService(obj: CustomObject, evaluate: RuleEvaluator = evaluateWithTwin): IstioParseResult<TrafficRoute> {
  const errors: FieldError[] = [];
  const meta = istioEnvelope(obj, 'VirtualService', errors);
  if (!meta || errors.length) return { errors, unsupported: [] };
  const f = new UnsupportedFields();
  const t = translateSpec(obj.spec, f, errors);
  if (errors.length) return { errors, unsupported: f.result() };
  const parsed = parseTrafficRoute(asPilotfishObject(obj, 'TrafficRoute', t.spec), evaluate);
  if (parsed.errors) {
    return { errors: parsed.errors.map((e) => ({ path: originalPath(e.path, t.ruleOrigin), message: e.message })), unsupported: f.result() };
  }
  const route = parsed.ok;
  return {
    ok: {
      ...route,
      meta: { ...route.meta, kind: 'VirtualService' },
      http: route.http.map((r) => ({ ...r, index: t.ruleOrigin[r.index] ?? r.index })),
    },
    unsupported: f.result(),
  };
}
