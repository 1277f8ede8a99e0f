// Checks protoc-gen-validate (PGV) annotations on decoded Envoy messages, the way Envoy does when
// it loads configuration: every generated resource must satisfy the `(validate.rules)` of the
// real protos, or Envoy NACKs it.
//
// The rules are read by protobufjs reflection from the protos that @grpc/grpc-js-xds ships
// (src/xds/protos.ts): `field.parsedOptions` holds entries like
// `{"(validate.rules)": {"string": {"min_len": 1}}}` (one entry per option statement, so they are
// merged), oneofs carry `{"(validate.required)": true}`, messages `{"(validate.disabled)": true}`.
// google.protobuf.Any values are decoded by their type_url and checked too.
import net from 'node:net';
import protobuf from 'protobufjs';
import { envoyRoot } from '../../src/xds/protos.js';

export interface Violation {
  /** Field path from the checked message, e.g. `filter_chains[0].filters[0].typed_config<...HttpConnectionManager>.stat_prefix`. */
  readonly path: string;
  /** The rule broken, e.g. `string.min_len`, `oneof.required`, `any.type_url`. */
  readonly rule: string;
  readonly message: string;
}

export interface CheckOptions {
  /** Where Any type URLs are looked up; defaults to envoyRoot(). */
  readonly root?: protobuf.Root;
  /** Report Any values whose type the root does not know (Envoy would fail to load them). Default true. */
  readonly unknownAnyIsViolation?: boolean;
}

type Rules = { [k: string]: unknown };

/** Decodes `bytes` as `typeName` and checks it. */
export function checkEncoded(typeName: string, bytes: Uint8Array, opts: CheckOptions = {}): Violation[] {
  const root = opts.root ?? envoyRoot();
  const type = root.lookupType(typeName);
  return checkMessage(type, type.decode(bytes), opts);
}

/** Encodes a plain object (as generators build them) with the real protos, decodes it again and checks it. */
export function checkObject(typeName: string, object: { [k: string]: unknown }, opts: CheckOptions = {}): Violation[] {
  const root = opts.root ?? envoyRoot();
  const type = root.lookupType(typeName);
  const bytes = type.encode(type.fromObject(object)).finish();
  return checkEncoded(typeName, bytes, opts);
}

/** Checks a message decoded by protobufjs (its unset scalars read as proto3 defaults). */
export function checkMessage(type: protobuf.Type, message: protobuf.Message | { [k: string]: unknown }, opts: CheckOptions = {}): Violation[] {
  const ctx: Ctx = { root: opts.root ?? envoyRoot(), unknownAny: opts.unknownAnyIsViolation ?? true, out: [] };
  walkMessage(ctx, type, message as Record<string, unknown>, '');
  return ctx.out;
}

export function formatViolations(vs: readonly Violation[]): string {
  return vs.map((v) => `${v.path || '<root>'}: ${v.message} [${v.rule}]`).join('\n');
}

// ---------------------------------------------------------------------------------------------

interface Ctx {
  readonly root: protobuf.Root;
  readonly unknownAny: boolean;
  readonly out: Violation[];
}

function isObject(v: unknown): v is Rules {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

/** Merges option entries: nested objects merge, repeated scalar assignments become lists. */
function merge(a: unknown, b: unknown): unknown {
  if (a === undefined) return b;
  if (isObject(a) && isObject(b)) {
    const out: Rules = { ...a };
    for (const [k, v] of Object.entries(b)) out[k] = merge(out[k], v);
    return out;
  }
  return [...(Array.isArray(a) ? a : [a]), ...(Array.isArray(b) ? b : [b])];
}

function optionOf(obj: protobuf.ReflectionObject, name: string): unknown {
  let acc: unknown;
  for (const entry of (obj.parsedOptions ?? []) as Rules[]) {
    if (name in entry) acc = merge(acc, entry[name]);
  }
  return acc;
}

const rulesCache = new WeakMap<protobuf.Field, Rules | null>();

function fieldRules(field: protobuf.Field): Rules | undefined {
  let r = rulesCache.get(field);
  if (r === undefined) {
    const opt = optionOf(field, '(validate.rules)');
    r = isObject(opt) ? opt : null;
    rulesCache.set(field, r);
  }
  return r ?? undefined;
}

function join(path: string, name: string): string {
  return path === '' ? name : `${path}.${name}`;
}

function push(ctx: Ctx, path: string, rule: string, message: string): void {
  ctx.out.push({ path, rule, message });
}

const WRAPPERS: Record<string, string> = {
  '.google.protobuf.DoubleValue': 'double', '.google.protobuf.FloatValue': 'float',
  '.google.protobuf.Int64Value': 'int64', '.google.protobuf.UInt64Value': 'uint64',
  '.google.protobuf.Int32Value': 'int32', '.google.protobuf.UInt32Value': 'uint32',
  '.google.protobuf.BoolValue': 'bool', '.google.protobuf.StringValue': 'string', '.google.protobuf.BytesValue': 'bytes',
};

function has(msg: Record<string, unknown>, name: string): boolean {
  return Object.prototype.hasOwnProperty.call(msg, name) && msg[name] !== null && msg[name] !== undefined;
}

function walkMessage(ctx: Ctx, type: protobuf.Type, msg: Record<string, unknown>, path: string): void {
  if (optionOf(type, '(validate.disabled)') === true) return;
  if (type.fullName === '.google.protobuf.Any') {
    walkAny(ctx, msg, path);
    return;
  }
  for (const oneof of type.oneofsArray) {
    if (optionOf(oneof, '(validate.required)') === true && !oneof.fieldsArray.some((f) => has(msg, f.name))) {
      push(ctx, join(path, oneof.name), 'oneof.required', `exactly one of ${oneof.oneof.join(', ')} must be set`);
    }
  }
  for (const field of type.fieldsArray) {
    field.resolve();
    // Rules on a oneof member (or a proto3 optional) apply only when it is the one set.
    if (field.partOf && !has(msg, field.name)) continue;
    checkField(ctx, field, msg[field.name], join(path, field.name));
  }
}

function walkAny(ctx: Ctx, any: Record<string, unknown>, path: string): void {
  const url = typeof any.type_url === 'string' ? any.type_url : '';
  if (url === '') {
    push(ctx, join(path, 'type_url'), 'any.type_url', 'an Any without type_url cannot be decoded');
    return;
  }
  const name = url.slice(url.lastIndexOf('/') + 1);
  let inner: protobuf.Type;
  try {
    inner = ctx.root.lookupType(name);
  } catch {
    if (ctx.unknownAny) push(ctx, join(path, 'type_url'), 'any.type_url', `unknown type ${url}`);
    return;
  }
  const value = any.value instanceof Uint8Array ? any.value : new Uint8Array();
  let decoded: protobuf.Message;
  try {
    decoded = inner.decode(value);
  } catch (e) {
    push(ctx, path, 'any.value', `cannot decode as ${name}: ${(e as Error).message}`);
    return;
  }
  walkMessage(ctx, inner, decoded as unknown as Record<string, unknown>, `${path}<${name}>`);
}

function checkField(ctx: Ctx, field: protobuf.Field, value: unknown, path: string): void {
  const rules = fieldRules(field);
  if (field.map) {
    const entries = Object.entries(isObject(value) ? value : {});
    if (rules) checkMap(ctx, field, rules, entries, path);
    if (field.resolvedType instanceof protobuf.Type) {
      for (const [k, v] of entries) if (v !== null && v !== undefined) walkMessage(ctx, field.resolvedType, v as Record<string, unknown>, `${path}[${k}]`);
    }
    return;
  }
  if (field.repeated) {
    const items = Array.isArray(value) ? value : [];
    const rep = rules && isObject(rules.repeated) ? rules.repeated : undefined;
    if (rep?.ignore_empty === true && items.length === 0) return;
    if (rep) checkRepeated(ctx, rep, items, path);
    items.forEach((item, i) => checkSingle(ctx, field, rep && isObject(rep.items) ? rep.items : undefined, item, `${path}[${i}]`));
    return;
  }
  checkSingle(ctx, field, rules, value, path);
}

/** One value of a field (the field itself, or an element of a repeated field). */
function checkSingle(ctx: Ctx, field: protobuf.Field, rules: Rules | undefined, value: unknown, path: string): void {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Type) {
    const present = value !== null && value !== undefined;
    const msgRules = rules && isObject(rules.message) ? rules.message : undefined;
    if (msgRules?.required === true && !present) push(ctx, path, 'message.required', 'is required');
    if (!present) {
      if (rules && isObject(rules.duration) && rules.duration.required === true) push(ctx, path, 'duration.required', 'is required');
      if (rules && isObject(rules.timestamp) && rules.timestamp.required === true) push(ctx, path, 'timestamp.required', 'is required');
      if (rules && isObject(rules.any) && rules.any.required === true) push(ctx, path, 'any.required', 'is required');
      return;
    }
    const v = value as Record<string, unknown>;
    const wrapped = WRAPPERS[resolved.fullName];
    if (rules && wrapped && isObject(rules[wrapped])) checkScalar(ctx, wrapped, rules[wrapped] as Rules, v.value, path);
    if (rules && isObject(rules.duration)) checkTime(ctx, 'duration', rules.duration, v, path);
    if (rules && isObject(rules.timestamp)) checkTime(ctx, 'timestamp', rules.timestamp, v, path);
    if (rules && isObject(rules.any)) checkAnyRules(ctx, rules.any, v, path);
    if (msgRules?.skip === true) return;
    walkMessage(ctx, resolved, v, path);
    return;
  }
  if (!rules) return;
  if (resolved instanceof protobuf.Enum) {
    if (isObject(rules.enum) && !(rules.enum.ignore_empty === true && isEmpty(value))) checkEnum(ctx, resolved, rules.enum, value, path);
    return;
  }
  for (const kind of Object.keys(rules)) {
    if (kind !== 'message' && isObject(rules[kind])) checkScalar(ctx, kind, rules[kind] as Rules, value, path);
  }
}

// ---------------------------------------------------------------------------------------------
// Collections

function checkRepeated(ctx: Ctx, rules: Rules, items: unknown[], path: string): void {
  const min = num(rules.min_items);
  const max = num(rules.max_items);
  if (min !== undefined && items.length < min) push(ctx, path, 'repeated.min_items', `must have at least ${min} item(s), has ${items.length}`);
  if (max !== undefined && items.length > max) push(ctx, path, 'repeated.max_items', `must have at most ${max} item(s), has ${items.length}`);
  if (rules.unique === true) {
    const seen = new Set<string>();
    items.forEach((it, i) => {
      const key = JSON.stringify(it, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
      if (seen.has(key)) push(ctx, `${path}[${i}]`, 'repeated.unique', 'repeats an earlier item');
      seen.add(key);
    });
  }
}

function checkMap(ctx: Ctx, field: protobuf.Field, rules: Rules, entries: [string, unknown][], path: string): void {
  const m = isObject(rules.map) ? rules.map : undefined;
  if (!m || (m.ignore_empty === true && entries.length === 0)) return;
  const min = num(m.min_pairs);
  const max = num(m.max_pairs);
  if (min !== undefined && entries.length < min) push(ctx, path, 'map.min_pairs', `must have at least ${min} pair(s), has ${entries.length}`);
  if (max !== undefined && entries.length > max) push(ctx, path, 'map.max_pairs', `must have at most ${max} pair(s), has ${entries.length}`);
  for (const [k, v] of entries) {
    if (isObject(m.keys)) {
      for (const kind of Object.keys(m.keys)) {
        if (isObject(m.keys[kind])) checkScalar(ctx, kind, m.keys[kind] as Rules, k, `${path}[${k}]<key>`);
      }
    }
    if (m.no_sparse === true && (v === null || v === undefined)) push(ctx, `${path}[${k}]`, 'map.no_sparse', 'has no value');
    if (isObject(m.values) && !(field.resolvedType instanceof protobuf.Type)) {
      for (const kind of Object.keys(m.values)) {
        if (isObject(m.values[kind])) checkScalar(ctx, kind, m.values[kind] as Rules, v, `${path}[${k}]`);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Scalars

function num(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v !== '' && !Number.isNaN(Number(v))) return Number(v);
  if (isObject(v) && typeof (v as { toNumber?: unknown }).toNumber === 'function') return (v as unknown as { toNumber(): number }).toNumber();
  return undefined;
}

const INTEGER_KINDS = new Set(['int32', 'int64', 'uint32', 'uint64', 'sint32', 'sint64', 'fixed32', 'fixed64', 'sfixed32', 'sfixed64']);

/** Integers compare as BigInt (64-bit values exceed doubles); floats as numbers. */
function numeric(kind: string, v: unknown): bigint | number | undefined {
  if (INTEGER_KINDS.has(kind)) {
    if (typeof v === 'bigint') return v;
    if (typeof v === 'number' && Number.isFinite(v)) return BigInt(Math.trunc(v));
    if (typeof v === 'string' && /^-?\d+$/.test(v)) return BigInt(v);
    if (isObject(v) && typeof (v as { toString?: unknown }).toString === 'function' && 'low' in v) return BigInt(String(v));
    return undefined;
  }
  return num(v);
}

function list(v: unknown): unknown[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/** gt/gte/lt/lte with PGV's semantics: when the upper bound is below the lower one, the value must lie outside. */
function checkRange<T extends number | bigint>(ctx: Ctx, kind: string, r: { gt?: T; gte?: T; lt?: T; lte?: T },
  v: T, path: string, show: (x: T) => string): void {
  const low = r.gt !== undefined ? { ok: v > r.gt, text: `> ${show(r.gt)}`, bound: r.gt }
    : r.gte !== undefined ? { ok: v >= r.gte, text: `>= ${show(r.gte)}`, bound: r.gte } : undefined;
  const high = r.lt !== undefined ? { ok: v < r.lt, text: `< ${show(r.lt)}`, bound: r.lt }
    : r.lte !== undefined ? { ok: v <= r.lte, text: `<= ${show(r.lte)}`, bound: r.lte } : undefined;
  if (low && high && high.bound < low.bound) {
    if (!low.ok && !high.ok) push(ctx, path, `${kind}.range`, `must be ${low.text} or ${high.text}, got ${show(v)}`);
    return;
  }
  if (low && !low.ok) push(ctx, path, `${kind}.${r.gt !== undefined ? 'gt' : 'gte'}`, `must be ${low.text}, got ${show(v)}`);
  if (high && !high.ok) push(ctx, path, `${kind}.${r.lt !== undefined ? 'lt' : 'lte'}`, `must be ${high.text}, got ${show(v)}`);
}

function isEmpty(value: unknown): boolean {
  if (value === undefined || value === null || value === '' || value === 0 || value === false) return true;
  if (value instanceof Uint8Array) return value.length === 0;
  return typeof value === 'object' && 'low' in value && String(value) === '0';
}

function checkScalar(ctx: Ctx, kind: string, rules: Rules, value: unknown, path: string): void {
  // ignore_empty: the rules apply only to a non-default value.
  if (rules.ignore_empty === true && isEmpty(value)) return;
  if (kind === 'string') return checkString(ctx, rules, typeof value === 'string' ? value : '', path);
  if (kind === 'bytes') return checkBytes(ctx, rules, value instanceof Uint8Array ? value : new Uint8Array(), path);
  if (kind === 'bool') {
    if (rules.const !== undefined && Boolean(value) !== rules.const) push(ctx, path, 'bool.const', `must be ${String(rules.const)}`);
    return;
  }
  const v = numeric(kind, value ?? 0);
  if (v === undefined) return;
  const conv = (x: unknown) => numeric(kind, x);
  const r: { gt?: number | bigint; gte?: number | bigint; lt?: number | bigint; lte?: number | bigint } = {};
  for (const k of ['gt', 'gte', 'lt', 'lte'] as const) if (rules[k] !== undefined) r[k] = conv(rules[k]);
  checkRange(ctx, kind, r as { gt?: typeof v; gte?: typeof v; lt?: typeof v; lte?: typeof v }, v, path, String);
  if (rules.const !== undefined && conv(rules.const) !== v) push(ctx, path, `${kind}.const`, `must equal ${String(rules.const)}, got ${String(v)}`);
  const inList = list(rules.in).map(conv);
  if (inList.length && !inList.includes(v)) push(ctx, path, `${kind}.in`, `must be one of ${inList.join(', ')}, got ${String(v)}`);
  if (list(rules.not_in).map(conv).includes(v)) push(ctx, path, `${kind}.not_in`, `must not be ${String(v)}`);
}

const HEADER_NAME_STRICT = /^:?[0-9a-zA-Z!#$%&'*+\-.^_|~`]+$/;
const HEADER_VALUE_STRICT = /^[^\u0000-\u0008\u000A-\u001F\u007F]*$/;
const HEADER_LOOSE = /^[^\u0000\u000A\u000D]*$/;

function isHostname(s: string): boolean {
  if (s.length === 0 || s.length > 253) return false;
  const host = s.endsWith('.') ? s.slice(0, -1) : s;
  return host.split('.').every((l) => /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(l));
}

function checkString(ctx: Ctx, r: Rules, s: string, path: string): void {
  const chars = [...s].length;
  const bytes = Buffer.byteLength(s, 'utf8');
  const n = (k: string) => num(r[k]);
  const fail = (rule: string, msg: string) => push(ctx, path, `string.${rule}`, `${msg}, got ${JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}...` : s)}`);
  if (r.const !== undefined && s !== r.const) fail('const', `must equal ${JSON.stringify(r.const)}`);
  if (n('len') !== undefined && chars !== n('len')) fail('len', `must be ${n('len')} characters long`);
  if (n('min_len') !== undefined && chars < (n('min_len') as number)) fail('min_len', `must be at least ${n('min_len')} character(s) long`);
  if (n('max_len') !== undefined && chars > (n('max_len') as number)) fail('max_len', `must be at most ${n('max_len')} characters long`);
  if (n('len_bytes') !== undefined && bytes !== n('len_bytes')) fail('len_bytes', `must be ${n('len_bytes')} bytes long`);
  if (n('min_bytes') !== undefined && bytes < (n('min_bytes') as number)) fail('min_bytes', `must be at least ${n('min_bytes')} bytes long`);
  if (n('max_bytes') !== undefined && bytes > (n('max_bytes') as number)) fail('max_bytes', `must be at most ${n('max_bytes')} bytes long`);
  if (typeof r.pattern === 'string' && !new RegExp(r.pattern, 'u').test(s)) fail('pattern', `must match ${r.pattern}`);
  if (typeof r.prefix === 'string' && !s.startsWith(r.prefix)) fail('prefix', `must start with ${JSON.stringify(r.prefix)}`);
  if (typeof r.suffix === 'string' && !s.endsWith(r.suffix)) fail('suffix', `must end with ${JSON.stringify(r.suffix)}`);
  if (typeof r.contains === 'string' && !s.includes(r.contains)) fail('contains', `must contain ${JSON.stringify(r.contains)}`);
  if (typeof r.not_contains === 'string' && s.includes(r.not_contains)) fail('not_contains', `must not contain ${JSON.stringify(r.not_contains)}`);
  const inList = list(r.in);
  if (inList.length && !inList.includes(s)) fail('in', `must be one of ${inList.map((x) => JSON.stringify(x)).join(', ')}`);
  if (list(r.not_in).includes(s)) fail('not_in', 'is a forbidden value');
  if (r.hostname === true && !isHostname(s)) fail('hostname', 'must be a hostname');
  if (r.ip === true && net.isIP(s) === 0) fail('ip', 'must be an IP address');
  if (r.ipv4 === true && !net.isIPv4(s)) fail('ipv4', 'must be an IPv4 address');
  if (r.ipv6 === true && !net.isIPv6(s)) fail('ipv6', 'must be an IPv6 address');
  if (r.address === true && net.isIP(s) === 0 && !isHostname(s)) fail('address', 'must be an IP address or hostname');
  if (r.uuid === true && !/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(s)) fail('uuid', 'must be a UUID');
  if (r.email === true && !/^[^@\s]+@[^@\s]+$/.test(s)) fail('email', 'must be an email address');
  if (r.uri === true && !/^[A-Za-z][A-Za-z0-9+.-]*:/.test(s)) fail('uri', 'must be an absolute URI');
  if (r.well_known_regex !== undefined) {
    // PGV's `strict` defaults to true; Envoy's protos mostly set it to false.
    const strict = r.strict !== false;
    const which = r.well_known_regex === 1 || r.well_known_regex === 'HTTP_HEADER_NAME' ? 'HTTP_HEADER_NAME'
      : r.well_known_regex === 2 || r.well_known_regex === 'HTTP_HEADER_VALUE' ? 'HTTP_HEADER_VALUE' : undefined;
    const re = !strict ? HEADER_LOOSE : which === 'HTTP_HEADER_NAME' ? HEADER_NAME_STRICT : HEADER_VALUE_STRICT;
    if (which && !re.test(s)) fail('well_known_regex', `must be a valid ${which}${strict ? '' : ' (no NUL, CR or LF)'}`);
  }
}

function checkBytes(ctx: Ctx, r: Rules, b: Uint8Array, path: string): void {
  const n = (k: string) => num(r[k]);
  if (n('len') !== undefined && b.length !== n('len')) push(ctx, path, 'bytes.len', `must be ${n('len')} bytes long, is ${b.length}`);
  if (n('min_len') !== undefined && b.length < (n('min_len') as number)) push(ctx, path, 'bytes.min_len', `must be at least ${n('min_len')} bytes long, is ${b.length}`);
  if (n('max_len') !== undefined && b.length > (n('max_len') as number)) push(ctx, path, 'bytes.max_len', `must be at most ${n('max_len')} bytes long, is ${b.length}`);
  if (r.ipv4 === true && b.length !== 4) push(ctx, path, 'bytes.ipv4', 'must be 4 bytes');
  if (r.ipv6 === true && b.length !== 16) push(ctx, path, 'bytes.ipv6', 'must be 16 bytes');
  if (r.ip === true && b.length !== 4 && b.length !== 16) push(ctx, path, 'bytes.ip', 'must be 4 or 16 bytes');
}

function checkEnum(ctx: Ctx, e: protobuf.Enum, r: Rules, value: unknown, path: string): void {
  const v = typeof value === 'number' ? value : typeof value === 'string' ? e.values[value] : 0;
  if (r.defined_only === true && !Object.values(e.values).includes(v as number)) {
    push(ctx, path, 'enum.defined_only', `${String(value)} is not a value of ${e.fullName.slice(1)}`);
  }
  if (r.const !== undefined && num(r.const) !== v) push(ctx, path, 'enum.const', `must be ${String(r.const)}, got ${String(v)}`);
  const inList = list(r.in).map(num);
  if (inList.length && !inList.includes(v)) push(ctx, path, 'enum.in', `must be one of ${inList.join(', ')}, got ${String(v)}`);
  if (list(r.not_in).map(num).includes(v)) push(ctx, path, 'enum.not_in', `must not be ${String(v)}`);
}

// ---------------------------------------------------------------------------------------------
// Well-known messages

/** Duration or Timestamp as nanoseconds. Rule bounds are plain objects; values are decoded messages. */
function nanos(v: unknown): bigint {
  if (!isObject(v)) return 0n;
  const s = numeric('int64', v.seconds ?? 0) as bigint | undefined;
  const n = numeric('int32', v.nanos ?? 0) as bigint | undefined;
  return (s ?? 0n) * 1_000_000_000n + (n ?? 0n);
}

function showNanos(n: bigint): string {
  const abs = n < 0n ? -n : n;
  const s = abs / 1_000_000_000n;
  const frac = abs % 1_000_000_000n;
  return `${n < 0n ? '-' : ''}${s}${frac ? `.${frac.toString().padStart(9, '0').replace(/0+$/, '')}` : ''}s`;
}

function checkTime(ctx: Ctx, kind: 'duration' | 'timestamp', r: Rules, v: Record<string, unknown>, path: string): void {
  const value = nanos(v);
  const bounds: { gt?: bigint; gte?: bigint; lt?: bigint; lte?: bigint } = {};
  for (const k of ['gt', 'gte', 'lt', 'lte'] as const) if (r[k] !== undefined) bounds[k] = nanos(r[k]);
  checkRange(ctx, kind, bounds, value, path, showNanos);
  if (r.const !== undefined && nanos(r.const) !== value) push(ctx, path, `${kind}.const`, `must be ${showNanos(nanos(r.const))}, got ${showNanos(value)}`);
  const inList = list(r.in).map(nanos);
  if (inList.length && !inList.includes(value)) push(ctx, path, `${kind}.in`, `must be one of ${inList.map(showNanos).join(', ')}`);
  if (list(r.not_in).map(nanos).includes(value)) push(ctx, path, `${kind}.not_in`, `must not be ${showNanos(value)}`);
  if (kind === 'duration') {
    const nn = numeric('int32', v.nanos ?? 0) as bigint;
    if (nn <= -1_000_000_000n || nn >= 1_000_000_000n) push(ctx, path, 'duration.nanos', 'nanos must be within one second');
  }
}

function checkAnyRules(ctx: Ctx, r: Rules, v: Record<string, unknown>, path: string): void {
  const url = typeof v.type_url === 'string' ? v.type_url : '';
  const inList = list(r.in);
  if (inList.length && !inList.includes(url)) push(ctx, path, 'any.in', `type ${url} is not one of ${inList.join(', ')}`);
  if (list(r.not_in).includes(url)) push(ctx, path, 'any.not_in', `type ${url} is not allowed`);
}
