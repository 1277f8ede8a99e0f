// Turns a stored HTTPRoute or GRPCRoute (gateway.networking.k8s.io/v1) into the model of
// model/gateway-route.ts, or into the list of reasons it cannot be used.
//
// Objects from the API server already passed the official CRD's schema; objects from files did
// not, so the bounds the CRD sets are checked again here (the same numbers: 32 parentRefs, 16
// rules, 64 matches, 16 filters, backendRefs, header and query matches per list, paths of 1024
// and header values of 4096 characters). On top come what pilotfish cannot do: every field it
// does not support is an error naming the field, so a route is never half applied. Errors make
// the route Accepted=False, reason UnsupportedValue (routing/gateway-validate.ts).
import type { CustomObject } from '../../../model/k8s-object.js';
import type {
  GatewayBackend, GatewayMatch, GatewayParentRef, GatewayRoute, GatewayRouteKind, GatewayRule,
} from '../../../model/gateway-route.js';
import { backendDestination } from '../../../model/gateway-route.js';
import type { HeaderMatch, HeaderOperations, HttpMethod, QueryParamMatch, RedirectCode, RequestMatch, RuleAction } from '../../../model/routing.js';
import { parseEnvelope } from '../../object-envelope.js';
import { headerNameProblem } from '../../routing/v1alpha1/header-name.js';
import { re2Problem } from '../../routing/v1alpha1/re2.js';
import { isPlainObject, type FieldError } from '../../routing/v1alpha1/openapi.js';
import { GATEWAY_API_VERSION, GATEWAY_GROUP } from './gateway-api.js';
import { parseGatewayDuration } from './duration.js';

type GatewayParseResult =
  | { readonly ok: GatewayRoute; readonly errors?: undefined }
  /** The parentRefs that could be read, so status can still be written on them. */
  | { readonly ok?: undefined; readonly errors: readonly FieldError[]; readonly parentRefs?: readonly GatewayParentRef[] };

/** The CRD's bounds (v1.6 standard channel). */
const MAX_PARENT_REFS = 32;
const MAX_RULES = 16;
const MAX_MATCHES = 64;
const MAX_LIST = 16;
const MAX_PATH = 1024;
const MAX_HEADER_VALUE = 4096;
const MAX_NAME = 253;
/** Peer-supplied values quoted in messages are cut to this many characters. */
const MAX_QUOTED = 64;

const METHODS: readonly HttpMethod[] = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH'];
const REDIRECT_CODES: readonly number[] = [301, 302, 303, 307, 308];
const GRPC_SERVICE = /^\.?[a-z_][a-z_0-9]*(\.[a-z_][a-z_0-9]*)*$/i;
const GRPC_METHOD = /^[A-Za-z_][A-Za-z_0-9]*$/;
const HOSTNAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

type Json = Record<string, unknown>;

function quoted(v: unknown): string {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > MAX_QUOTED ? `${text.slice(0, MAX_QUOTED)}…` : text;
}

/** Collects errors while reading the spec; every reader returns undefined on a wrong value. */
class SpecReader {
  readonly errors: FieldError[] = [];

  fail(path: string, message: string): undefined {
    this.errors.push({ path, message });
    return undefined;
  }

  /** An object with only `known` keys; `unsupported` keys get their own message. */
  object(v: unknown, path: string, known: readonly string[], unsupported: readonly string[] = []): Json | undefined {
    if (!isPlainObject(v)) return this.fail(path, 'must be an object');
    for (const k of Object.keys(v)) {
      if (unsupported.includes(k)) this.fail(`${path}.${k}`, 'is not supported by pilotfish');
      else if (!known.includes(k)) this.fail(`${path}.${k}`, 'unknown field');
    }
    return v;
  }

  list(v: unknown, path: string, max: number): unknown[] | undefined {
    if (v === undefined) return [];
    if (!Array.isArray(v)) return this.fail(path, 'must be a list');
    if (v.length > max) return this.fail(path, `must have at most ${max} items (has ${v.length})`);
    return v;
  }

  string(v: unknown, path: string, max: number, required = false): string | undefined {
    if (v === undefined) return required ? this.fail(path, 'is required') : undefined;
    if (typeof v !== 'string') return this.fail(path, 'must be a string');
    if (v.length > max) return this.fail(path, `must be at most ${max} characters long`);
    if (required && v === '') return this.fail(path, 'must not be empty');
    return v;
  }

  int(v: unknown, path: string, min: number, max: number): number | undefined {
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v)) return this.fail(path, 'must be an integer');
    if (v < min || v > max) return this.fail(path, `must be between ${min} and ${max} (got ${v})`);
    return v;
  }

  oneOf<T extends string>(v: unknown, path: string, values: readonly T[], fallback: T): T | undefined {
    if (v === undefined) return fallback;
    if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) {
      return this.fail(path, `must be one of ${values.join(', ')} (got ${quoted(v)}); pilotfish supports no other value`);
    }
    return v as T;
  }

  headerName(v: unknown, path: string): string | undefined {
    const name = this.string(v, path, 256, true);
    if (name === undefined) return undefined;
    const problem = headerNameProblem(name);
    return problem ? this.fail(path, problem) : name;
  }

  regex(v: string, path: string): string | undefined {
    const problem = re2Problem(v);
    return problem ? this.fail(path, `not a regular expression Envoy accepts: ${problem}`) : v;
  }
}

// ---------------------------------------------------------------------------------------------
// References

function parentRef(r: SpecReader, v: unknown, path: string, index: number, routeNamespace: string): GatewayParentRef | undefined {
  const o = r.object(v, path, ['group', 'kind', 'namespace', 'name', 'sectionName', 'port']);
  if (!o) return undefined;
  const name = r.string(o.name, `${path}.name`, MAX_NAME, true);
  const group = r.string(o.group, `${path}.group`, MAX_NAME) ?? GATEWAY_GROUP;
  const kind = r.string(o.kind, `${path}.kind`, 63) ?? 'Gateway';
  const namespace = r.string(o.namespace, `${path}.namespace`, 63);
  const sectionName = r.string(o.sectionName, `${path}.sectionName`, MAX_NAME);
  const port = r.int(o.port, `${path}.port`, 1, 65535);
  if (name === undefined) return undefined;
  return {
    index, group, kind, name, namespace: namespace ?? routeNamespace, namespaceWritten: namespace !== undefined,
    ...(port !== undefined ? { port } : {}),
    ...(sectionName !== undefined ? { sectionName } : {}),
  };
}

function backendRef(r: SpecReader, v: unknown, path: string, routeNamespace: string, withWeight: boolean): GatewayBackend | undefined {
  const known = ['group', 'kind', 'name', 'namespace', 'port', ...(withWeight ? ['weight'] : [])];
  const o = r.object(v, path, known, withWeight ? ['filters'] : []);
  if (!o) return undefined;
  const name = r.string(o.name, `${path}.name`, MAX_NAME, true);
  const group = r.string(o.group, `${path}.group`, MAX_NAME) ?? '';
  const kind = r.string(o.kind, `${path}.kind`, 63) ?? 'Service';
  const namespace = r.string(o.namespace, `${path}.namespace`, 63) ?? routeNamespace;
  const port = r.int(o.port, `${path}.port`, 1, 65535);
  const weight = withWeight ? r.int(o.weight, `${path}.weight`, 0, 1_000_000) ?? 1 : 1;
  if (group === '' && kind === 'Service' && port === undefined) r.fail(`${path}.port`, 'is required when the backend is a Service');
  if (name === undefined) return undefined;
  return { path, group, kind, namespace, name, weight, ...(port !== undefined ? { port } : {}) };
}

// ---------------------------------------------------------------------------------------------
// Matches

function byName<T extends { name: string }>(list: T[]): T[] {
  return list.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

interface NameValueMatch { name: string; type: 'exact' | 'regex'; value: string }

/**
 * Header or query parameter matches. Of entries naming the same header or parameter (`key` says
 * when two names are the same), the first counts, as the spec says.
 */
function nameValueMatches(r: SpecReader, v: unknown, path: string, what: { name: (v: unknown, at: string) => string | undefined; maxValue: number; key: (name: string) => string }): NameValueMatch[] {
  const out: NameValueMatch[] = [];
  const seen = new Set<string>();
  (r.list(v, path, MAX_LIST) ?? []).forEach((m, i) => {
    const at = `${path}[${i}]`;
    const o = r.object(m, at, ['type', 'name', 'value']);
    if (!o) return;
    const type = r.oneOf(o.type, `${at}.type`, ['Exact', 'RegularExpression'] as const, 'Exact');
    const name = what.name(o.name, `${at}.name`);
    const value = r.string(o.value, `${at}.value`, what.maxValue, true);
    if (type === undefined || name === undefined || value === undefined) return;
    if (type === 'RegularExpression' && r.regex(value, `${at}.value`) === undefined) return;
    if (seen.has(what.key(name))) return;
    seen.add(what.key(name));
    out.push({ name, type: type === 'Exact' ? 'exact' : 'regex', value });
  });
  return byName(out);
}

/** Header names are case-insensitive. */
function headerMatches(r: SpecReader, v: unknown, path: string): HeaderMatch[] {
  return nameValueMatches(r, v, path, { name: (n, at) => r.headerName(n, at), maxValue: MAX_HEADER_VALUE, key: (n) => n.toLowerCase() });
}

/** Query parameter names are case-sensitive. */
function queryMatches(r: SpecReader, v: unknown, path: string): QueryParamMatch[] {
  return nameValueMatches(r, v, path, { name: (n, at) => r.string(n, at, 256, true), maxValue: 1024, key: (n) => n });
}

/** Path match ranks: exact, then regular expression (implementation-specific), then prefix. */
const PATH_RANK = { Exact: 3, RegularExpression: 2, PathPrefix: 1 } as const;

function httpMatch(r: SpecReader, v: unknown, path: string, index: number): GatewayMatch | undefined {
  const o = r.object(v, path, ['path', 'headers', 'queryParams', 'method']);
  if (!o) return undefined;
  let pathType: keyof typeof PATH_RANK = 'PathPrefix';
  let pathValue = '/';
  if (o.path !== undefined) {
    const p = r.object(o.path, `${path}.path`, ['type', 'value']);
    if (!p) return undefined;
    const t = r.oneOf(p.type, `${path}.path.type`, ['Exact', 'PathPrefix', 'RegularExpression'] as const, 'PathPrefix');
    const value = r.string(p.value, `${path}.path.value`, MAX_PATH) ?? '/';
    if (t === undefined) return undefined;
    if (t !== 'RegularExpression' && !value.startsWith('/')) return r.fail(`${path}.path.value`, 'must be an absolute path (start with "/")');
    if (t !== 'RegularExpression' && /\/\/|\/\.\.?(\/|$)|[?#]/.test(value)) {
      return r.fail(`${path}.path.value`, 'must not contain "//", "/./", "/../", "?" or "#"');
    }
    if (t === 'RegularExpression' && r.regex(value, `${path}.path.value`) === undefined) return undefined;
    pathType = t;
    pathValue = value;
  }
  const method = o.method === undefined ? undefined : r.oneOf(o.method, `${path}.method`, METHODS, 'GET');
  if (o.method !== undefined && method === undefined) return undefined;
  const headers = headerMatches(r, o.headers, `${path}.headers`);
  const queryParams = queryMatches(r, o.queryParams, `${path}.queryParams`);
  const base = { headers, queryParams, ...(method !== undefined ? { method } : {}) };
  let blocks: GatewayMatch['blocks'];
  if (pathType === 'Exact') blocks = [{ match: { ...base, uri: { type: 'exact', value: pathValue } } }];
  else if (pathType === 'RegularExpression') blocks = [{ match: { ...base, uri: { type: 'regex', value: pathValue } } }];
  else {
    // Whole path elements: "/foo" (or "/foo/") matches "/foo" and "/foo/bar", not "/foobar".
    const trimmed = pathValue.length > 1 && pathValue.endsWith('/') ? pathValue.slice(0, -1) : pathValue;
    blocks = trimmed === '/'
      ? [{ match: { ...base, uri: { type: 'prefix', value: '/' } } }]
      : [{ match: { ...base, uri: { type: 'exact', value: trimmed } } }, { match: { ...base, uri: { type: 'prefix', value: `${trimmed}/` } } }];
  }
  const precedence = [PATH_RANK[pathType], pathType === 'PathPrefix' ? pathValue.length : 0, method !== undefined ? 1 : 0, headers.length, queryParams.length];
  return { index, blocks, precedence };
}

/** A regular expression matching exactly `text`. */
function literal(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
}

function grpcMatch(r: SpecReader, v: unknown, path: string, index: number): GatewayMatch | undefined {
  const o = r.object(v, path, ['method', 'headers']);
  if (!o) return undefined;
  const headers = headerMatches(r, o.headers, `${path}.headers`);
  let uri: RequestMatch['uri'];
  let serviceChars = 0;
  let methodChars = 0;
  if (o.method !== undefined) {
    const at = `${path}.method`;
    const m = r.object(o.method, at, ['type', 'service', 'method']);
    if (!m) return undefined;
    const type = r.oneOf(m.type, `${at}.type`, ['Exact', 'RegularExpression'] as const, 'Exact');
    const service = r.string(m.service, `${at}.service`, 1024) || undefined;
    const method = r.string(m.method, `${at}.method`, 1024) || undefined;
    if (type === undefined) return undefined;
    if (service === undefined && method === undefined) return r.fail(at, 'one or both of service and method must be set');
    if (type === 'Exact') {
      if (service !== undefined && !GRPC_SERVICE.test(service)) return r.fail(`${at}.service`, 'must be a gRPC service name like "pkg.Service"');
      if (method !== undefined && !GRPC_METHOD.test(method)) return r.fail(`${at}.method`, 'must be a gRPC method name like "Get"');
      if (service !== undefined && method !== undefined) uri = { type: 'exact', value: `/${service}/${method}` };
      else if (service !== undefined) uri = { type: 'prefix', value: `/${service}/` };
      else uri = { type: 'regex', value: `/[^/]+/${literal(method ?? '')}` };
    } else {
      if (service !== undefined && r.regex(service, `${at}.service`) === undefined) return undefined;
      if (method !== undefined && r.regex(method, `${at}.method`) === undefined) return undefined;
      const pattern = `/(?:${service ?? '[^/]+'})/(?:${method ?? '[^/]+'})`;
      if (r.regex(pattern, at) === undefined) return undefined;
      uri = { type: 'regex', value: pattern };
    }
    serviceChars = service?.length ?? 0;
    methodChars = method?.length ?? 0;
  }
  const match: RequestMatch = { headers, queryParams: [], ...(uri !== undefined ? { uri } : {}) };
  return { index, blocks: [{ match }], precedence: [serviceChars, methodChars, headers.length] };
}

// ---------------------------------------------------------------------------------------------
// Filters

const NO_HEADER_CHANGES: HeaderOperations = Object.freeze({ add: [], set: [], remove: [] });

function headerModifier(r: SpecReader, v: unknown, path: string): HeaderOperations {
  const o = r.object(v, path, ['set', 'add', 'remove']);
  if (!o) return NO_HEADER_CHANGES;
  const values = (field: 'set' | 'add'): { name: string; value: string }[] => {
    const out: { name: string; value: string }[] = [];
    (r.list(o[field], `${path}.${field}`, MAX_LIST) ?? []).forEach((h, i) => {
      const at = `${path}.${field}[${i}]`;
      const e = r.object(h, at, ['name', 'value']);
      if (!e) return;
      const name = r.headerName(e.name, `${at}.name`);
      const value = r.string(e.value, `${at}.value`, MAX_HEADER_VALUE, true);
      if (name !== undefined && value !== undefined) out.push({ name, value });
    });
    return byName(out);
  };
  const remove: string[] = [];
  (r.list(o.remove, `${path}.remove`, MAX_LIST) ?? []).forEach((h, i) => {
    const name = r.headerName(h, `${path}.remove[${i}]`);
    if (name !== undefined) remove.push(name);
  });
  return { add: values('add'), set: values('set'), remove: remove.sort() };
}

interface RuleFilters {
  requestHeaders: HeaderOperations;
  responseHeaders: HeaderOperations;
  redirect?: { uri?: string; authority?: string; responseCode: RedirectCode };
  rewrite?: { authority?: string; fullPath?: string; prefix?: string };
  mirror?: { backend: GatewayBackend; percentage: number };
}

function redirectFilter(r: SpecReader, v: unknown, path: string): RuleFilters['redirect'] {
  const o = r.object(v, path, ['hostname', 'path', 'port', 'statusCode'], ['scheme']);
  if (!o) return undefined;
  const hostname = r.string(o.hostname, `${path}.hostname`, MAX_NAME);
  if (hostname !== undefined && !HOSTNAME.test(hostname)) r.fail(`${path}.hostname`, 'must be a DNS name');
  const port = r.int(o.port, `${path}.port`, 1, 65535);
  const code = o.statusCode === undefined ? 302 : r.int(o.statusCode, `${path}.statusCode`, 300, 399);
  if (code !== undefined && !REDIRECT_CODES.includes(code)) r.fail(`${path}.statusCode`, `must be one of ${REDIRECT_CODES.join(', ')}`);
  if (port !== undefined && hostname === undefined) r.fail(`${path}.port`, 'is supported by pilotfish only together with hostname');
  let uri: string | undefined;
  if (o.path !== undefined) {
    const p = r.object(o.path, `${path}.path`, ['type', 'replaceFullPath'], ['replacePrefixMatch']);
    if (p) {
      r.oneOf(p.type, `${path}.path.type`, ['ReplaceFullPath'] as const, 'ReplaceFullPath');
      uri = r.string(p.replaceFullPath, `${path}.path.replaceFullPath`, MAX_PATH, true);
    }
  }
  return {
    responseCode: (code ?? 302) as RedirectCode,
    ...(uri !== undefined ? { uri } : {}),
    ...(hostname !== undefined ? { authority: port !== undefined ? `${hostname}:${port}` : hostname } : {}),
  };
}

function rewriteFilter(r: SpecReader, v: unknown, path: string): RuleFilters['rewrite'] {
  const o = r.object(v, path, ['hostname', 'path']);
  if (!o) return undefined;
  const hostname = r.string(o.hostname, `${path}.hostname`, MAX_NAME);
  if (hostname !== undefined && !HOSTNAME.test(hostname)) r.fail(`${path}.hostname`, 'must be a DNS name');
  const out: NonNullable<RuleFilters['rewrite']> = hostname !== undefined ? { authority: hostname } : {};
  if (o.path !== undefined) {
    const p = r.object(o.path, `${path}.path`, ['type', 'replaceFullPath', 'replacePrefixMatch']);
    if (p) {
      const type = r.oneOf(p.type, `${path}.path.type`, ['ReplaceFullPath', 'ReplacePrefixMatch'] as const, 'ReplaceFullPath');
      if (type === 'ReplaceFullPath') {
        const full = r.string(p.replaceFullPath, `${path}.path.replaceFullPath`, MAX_PATH, true);
        if (full !== undefined) out.fullPath = full;
      } else if (type === 'ReplacePrefixMatch') {
        const prefix = r.string(p.replacePrefixMatch, `${path}.path.replacePrefixMatch`, MAX_PATH, true);
        if (prefix !== undefined) out.prefix = prefix;
      }
    }
  }
  return out;
}

function mirrorFilter(r: SpecReader, v: unknown, path: string, ns: string): RuleFilters['mirror'] {
  const o = r.object(v, path, ['backendRef', 'percent', 'fraction']);
  if (!o) return undefined;
  const backend = backendRef(r, o.backendRef, `${path}.backendRef`, ns, false);
  let percentage = 100;
  if (o.percent !== undefined) percentage = r.int(o.percent, `${path}.percent`, 0, 100) ?? 100;
  if (o.fraction !== undefined) {
    const f = r.object(o.fraction, `${path}.fraction`, ['numerator', 'denominator']);
    const num = f ? r.int(f.numerator, `${path}.fraction.numerator`, 0, 1_000_000) : undefined;
    const den = f ? r.int(f.denominator ?? 100, `${path}.fraction.denominator`, 1, 1_000_000) : undefined;
    if (num !== undefined && den !== undefined) {
      if (num > den) r.fail(`${path}.fraction`, 'numerator must not be greater than denominator');
      percentage = (num / den) * 100;
    }
    if (o.percent !== undefined) r.fail(path, 'set percent or fraction, not both');
  }
  return backend ? { backend, percentage } : undefined;
}

const HTTP_FILTERS = ['RequestHeaderModifier', 'ResponseHeaderModifier', 'RequestRedirect', 'URLRewrite', 'RequestMirror'] as const;
const GRPC_FILTERS = ['RequestHeaderModifier', 'ResponseHeaderModifier', 'RequestMirror'] as const;
const FILTER_FIELD: Readonly<Record<string, string>> = {
  RequestHeaderModifier: 'requestHeaderModifier', ResponseHeaderModifier: 'responseHeaderModifier',
  RequestRedirect: 'requestRedirect', URLRewrite: 'urlRewrite', RequestMirror: 'requestMirror',
};

function filters(r: SpecReader, v: unknown, path: string, kind: GatewayRouteKind, ns: string): RuleFilters {
  const out: RuleFilters = { requestHeaders: NO_HEADER_CHANGES, responseHeaders: NO_HEADER_CHANGES };
  const seen = new Set<string>();
  (r.list(v, path, MAX_LIST) ?? []).forEach((f, i) => {
    const at = `${path}[${i}]`;
    const o = r.object(f, at, ['type', ...Object.values(FILTER_FIELD)], ['extensionRef', 'cors', 'externalAuth']);
    if (!o) return;
    const supported = kind === 'HTTPRoute' ? HTTP_FILTERS : GRPC_FILTERS;
    const type = r.oneOf(o.type, `${at}.type`, supported, supported[0]);
    if (type === undefined || o.type === undefined) {
      if (o.type === undefined) r.fail(`${at}.type`, 'is required');
      return;
    }
    if (seen.has(type)) {
      r.fail(`${at}.type`, type === 'RequestMirror' ? 'pilotfish supports one RequestMirror per rule' : `${type} may appear only once per rule`);
      return;
    }
    seen.add(type);
    const field = FILTER_FIELD[type];
    const body = o[field];
    if (body === undefined) {
      r.fail(`${at}.${field}`, `is required when type is ${type}`);
      return;
    }
    switch (type) {
      case 'RequestHeaderModifier': out.requestHeaders = headerModifier(r, body, `${at}.${field}`); break;
      case 'ResponseHeaderModifier': out.responseHeaders = headerModifier(r, body, `${at}.${field}`); break;
      case 'RequestRedirect': out.redirect = redirectFilter(r, body, `${at}.${field}`); break;
      case 'URLRewrite': out.rewrite = rewriteFilter(r, body, `${at}.${field}`); break;
      case 'RequestMirror': out.mirror = mirrorFilter(r, body, `${at}.${field}`, ns); break;
    }
  });
  if (out.redirect && out.rewrite) r.fail(path, 'RequestRedirect and URLRewrite cannot be used together (IncompatibleFilters)');
  return out;
}

// ---------------------------------------------------------------------------------------------
// Rules

/** The default match of a rule without matches: every request (PathPrefix "/"). */
function defaultMatch(kind: GatewayRouteKind): GatewayMatch {
  const match: RequestMatch = { headers: [], queryParams: [], ...(kind === 'HTTPRoute' ? { uri: { type: 'prefix', value: '/' } } : {}) };
  return { index: 0, blocks: [{ match }], precedence: kind === 'HTTPRoute' ? [PATH_RANK.PathPrefix, 1, 0, 0, 0] : [0, 0, 0] };
}

/** Applies URLRewrite's path to each block; a full-path rewrite is only expressible for exact paths. */
function withPathRewrite(r: SpecReader, m: GatewayMatch, f: RuleFilters, at: string): GatewayMatch {
  const rw = f.rewrite;
  if (rw?.prefix === undefined && rw?.fullPath === undefined) return m;
  const blocks = m.blocks.map((b) => {
    const uri = b.match.uri;
    if (rw.fullPath !== undefined) {
      if (uri?.type !== 'exact') r.fail(at, 'URLRewrite ReplaceFullPath is supported by pilotfish only for Exact path matches');
      return { ...b, rewritePrefix: rw.fullPath };
    }
    const prefix = rw.prefix ?? '/';
    if (uri === undefined || uri.type === 'regex') {
      r.fail(at, 'URLRewrite ReplacePrefixMatch requires a PathPrefix match');
      return b;
    }
    // The exact half of a PathPrefix ("/foo") becomes the replacement; the prefix half ("/foo/")
    // keeps the separator, so "/foo/x" becomes "<replacement>/x" and never "<replacement>x".
    if (uri.type === 'exact') return { ...b, rewritePrefix: prefix };
    return { ...b, rewritePrefix: prefix.endsWith('/') ? prefix : `${prefix}/` };
  });
  return { ...m, blocks };
}

function rule(r: SpecReader, v: unknown, path: string, index: number, kind: GatewayRouteKind, ns: string): GatewayRule | undefined {
  const known = kind === 'HTTPRoute' ? ['name', 'matches', 'filters', 'backendRefs', 'timeouts'] : ['name', 'matches', 'filters', 'backendRefs'];
  const o = r.object(v, path, known, ['sessionPersistence', 'retry']);
  if (!o) return undefined;
  const name = r.string(o.name, `${path}.name`, MAX_NAME);
  const f = filters(r, o.filters, `${path}.filters`, kind, ns);
  const rawMatches = r.list(o.matches, `${path}.matches`, MAX_MATCHES) ?? [];
  const parsed = rawMatches.map((m, i) => (kind === 'HTTPRoute' ? httpMatch : grpcMatch)(r, m, `${path}.matches[${i}]`, i));
  let matches = parsed.filter((m): m is GatewayMatch => m !== undefined);
  if (rawMatches.length === 0) matches = [defaultMatch(kind)];
  matches = matches.map((m) => withPathRewrite(r, m, f, `${path}.filters`));

  const backends: GatewayBackend[] = [];
  (r.list(o.backendRefs, `${path}.backendRefs`, MAX_LIST) ?? []).forEach((b, i) => {
    const backend = backendRef(r, b, `${path}.backendRefs[${i}]`, ns, true);
    if (backend) backends.push(backend);
  });
  let timeoutMs: number | undefined;
  if (o.timeouts !== undefined) {
    const t = r.object(o.timeouts, `${path}.timeouts`, ['request'], ['backendRequest']);
    if (t && t.request !== undefined) {
      const text = r.string(t.request, `${path}.timeouts.request`, 32);
      timeoutMs = text === undefined ? undefined : parseGatewayDuration(text);
      if (text !== undefined && timeoutMs === undefined) r.fail(`${path}.timeouts.request`, 'must be a duration like "10s", "500ms" or "1h30m"');
    }
  }
  let action: RuleAction;
  if (f.redirect) {
    if (backends.length > 0) r.fail(`${path}.backendRefs`, 'must be empty when the rule has a RequestRedirect filter');
    action = { type: 'redirect', redirect: f.redirect };
  } else {
    // Backends pilotfish cannot route to (another kind, another namespace) get no traffic; status says why.
    const destinations = backends.flatMap((b) => {
      const d = b.namespace === ns ? backendDestination(b) : undefined;
      return d ? [{ destination: d, weight: b.weight }] : [];
    });
    action = { type: 'route', destinations };
  }
  return {
    index, matches, action, backends,
    requestHeaders: f.requestHeaders, responseHeaders: f.responseHeaders,
    ...(name !== undefined ? { name } : {}),
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    ...(f.mirror ? { mirror: f.mirror } : {}),
    ...(f.rewrite?.authority !== undefined ? { rewriteAuthority: f.rewrite.authority } : {}),
  };
}

/** Parses an HTTPRoute or GRPCRoute (its kind says which). */
export function parseGatewayRoute(obj: CustomObject): GatewayParseResult {
  const r = new SpecReader();
  const kind: GatewayRouteKind = obj.kind === 'GRPCRoute' ? 'GRPCRoute' : 'HTTPRoute';
  const meta = parseEnvelope(obj, GATEWAY_API_VERSION, kind, r.errors);
  if (!meta) return { errors: r.errors };
  const spec = r.object(obj.spec ?? {}, 'spec', ['parentRefs', 'hostnames', 'rules']);
  if (!spec) return { errors: r.errors };
  // Hostnames do not select mesh traffic (requests are matched by the Service they are sent to).
  r.list(spec.hostnames, 'spec.hostnames', MAX_LIST);
  const parentRefs: GatewayParentRef[] = [];
  (r.list(spec.parentRefs, 'spec.parentRefs', MAX_PARENT_REFS) ?? []).forEach((p, i) => {
    const ref = parentRef(r, p, `spec.parentRefs[${i}]`, i, meta.namespace);
    if (ref) parentRefs.push(ref);
  });
  const rules: GatewayRule[] = [];
  (r.list(spec.rules, 'spec.rules', MAX_RULES) ?? []).forEach((x, i) => {
    const parsed = rule(r, x, `spec.rules[${i}]`, i, kind, meta.namespace);
    if (parsed) rules.push(parsed);
  });
  if (r.errors.length > 0) return { errors: r.errors, parentRefs };
  return { ok: { meta, parentRefs, rules } };
}
