// Strict proto3-JSON <-> protobufjs conversion for validating Envoy configuration written in the
// form Envoy itself parses (snake_case names, "@type" Anys, plain Struct/wrapper/Duration values).
// Unknown fields, wrong scalar types, bad enum names and unresolvable Any types throw with a path;
// the reverse direction lets a test compare a decode round-trip with the input.
import protobuf from 'protobufjs';

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

const WRAPPERS = new Set([
  'google.protobuf.DoubleValue', 'google.protobuf.FloatValue', 'google.protobuf.Int64Value',
  'google.protobuf.UInt64Value', 'google.protobuf.Int32Value', 'google.protobuf.UInt32Value',
  'google.protobuf.BoolValue', 'google.protobuf.StringValue', 'google.protobuf.BytesValue',
]);

function fullName(t: protobuf.Type): string {
  return t.fullName.replace(/^\./, '');
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function scalarIn(field: protobuf.Field, v: unknown, path: string): unknown {
  switch (field.type) {
    case 'string':
      if (typeof v !== 'string') throw new Error(`${path}: expected string, got ${JSON.stringify(v)}`);
      return v;
    case 'bool':
      if (typeof v !== 'boolean') throw new Error(`${path}: expected bool, got ${JSON.stringify(v)}`);
      return v;
    case 'bytes':
      if (typeof v !== 'string') throw new Error(`${path}: expected base64 string`);
      return Buffer.from(v, 'base64');
    case 'double': case 'float':
      if (typeof v !== 'number') throw new Error(`${path}: expected number`);
      return v;
    default: {
      // integer types; proto3 JSON allows strings for 64-bit values
      const n = typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v;
      if (typeof n !== 'number' || !Number.isInteger(n)) throw new Error(`${path}: expected integer, got ${JSON.stringify(v)}`);
      if (field.type.startsWith('uint') || field.type.startsWith('fixed')) {
        if (n < 0) throw new Error(`${path}: negative value for ${field.type}`);
      }
      if ((field.type === 'uint32' || field.type === 'fixed32') && n > 0xffffffff) throw new Error(`${path}: out of range`);
      return n;
    }
  }
}

// protobufjs ships its own google/protobuf/struct.proto with camelCase names, whatever keepCase
// says, so Value's fields are looked up rather than assumed.
const VALUE_KEYS = ['null_value', 'number_value', 'string_value', 'bool_value', 'struct_value', 'list_value'] as const;
type ValueKey = (typeof VALUE_KEYS)[number];
let valueKeyMap: Record<ValueKey, string> | undefined;

function valueKeys(root: protobuf.Root): Record<ValueKey, string> {
  if (valueKeyMap) return valueKeyMap;
  const t = root.lookupType('google.protobuf.Value');
  const map = {} as Record<ValueKey, string>;
  for (const k of VALUE_KEYS) {
    const camel = k.replace(/_(.)/g, (_m, c: string) => c.toUpperCase());
    map[k] = t.fields[k] ? k : camel;
  }
  valueKeyMap = map;
  return map;
}

function structValueIn(root: protobuf.Root, v: unknown, path: string): Record<string, unknown> {
  const k = valueKeys(root);
  if (v === null) return { [k.null_value]: 0 };
  if (typeof v === 'number') return { [k.number_value]: v };
  if (typeof v === 'string') return { [k.string_value]: v };
  if (typeof v === 'boolean') return { [k.bool_value]: v };
  if (Array.isArray(v)) return { [k.list_value]: { values: v.map((x, i) => structValueIn(root, x, `${path}[${i}]`)) } };
  if (isPlainObject(v)) return { [k.struct_value]: structIn(root, v, path) };
  throw new Error(`${path}: not a JSON value`);
}

function structIn(root: protobuf.Root, v: Record<string, unknown>, path: string): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const [key, x] of Object.entries(v)) fields[key] = structValueIn(root, x, `${path}.${key}`);
  return { fields };
}

function messageIn(type: protobuf.Type, v: unknown, path: string): Record<string, unknown> {
  const name = fullName(type);
  if (name === 'google.protobuf.Struct') {
    if (!isPlainObject(v)) throw new Error(`${path}: Struct must be an object`);
    return structIn(type.root, v, path);
  }
  if (name === 'google.protobuf.Value') return structValueIn(type.root, v, path);
  if (name === 'google.protobuf.Duration') {
    const m = typeof v === 'string' ? /^(-?\d+)(?:\.(\d{1,9}))?s$/.exec(v) : null;
    if (!m) throw new Error(`${path}: Duration must be a string like "1.5s", got ${JSON.stringify(v)}`);
    return { seconds: Number(m[1]), nanos: m[2] ? Number(m[2].padEnd(9, '0')) : 0 };
  }
  if (WRAPPERS.has(name)) return { value: scalarIn(type.fields.value, v, path) };
  if (name === 'google.protobuf.Any') {
    if (!isPlainObject(v) || typeof v['@type'] !== 'string') throw new Error(`${path}: Any needs "@type"`);
    const url = v['@type'];
    const inner = type.root.lookupType(url.slice(url.lastIndexOf('/') + 1));
    const rest = { ...v };
    delete rest['@type'];
    const obj = messageIn(inner, rest, `${path}<${fullName(inner)}>`);
    return { type_url: url, value: inner.encode(inner.fromObject(obj)).finish() };
  }
  if (!isPlainObject(v)) throw new Error(`${path}: ${name} must be an object, got ${JSON.stringify(v)}`);
  const out: Record<string, unknown> = {};
  const oneofsSeen = new Map<string, string>();
  for (const [key, value] of Object.entries(v)) {
    const field = type.fields[key];
    if (!field) throw new Error(`${path}.${key}: unknown field of ${name}`);
    if (field.partOf) {
      const other = oneofsSeen.get(field.partOf.name);
      if (other) throw new Error(`${path}: ${key} and ${other} are both set in oneof ${field.partOf.name}`);
      oneofsSeen.set(field.partOf.name, key);
    }
    out[key] = fieldIn(field, value, `${path}.${key}`);
  }
  return out;
}

function singleIn(field: protobuf.Field, v: unknown, path: string): unknown {
  const rt = field.resolve().resolvedType;
  if (rt instanceof protobuf.Enum) {
    if (typeof v === 'string') {
      if (!(v in rt.values)) throw new Error(`${path}: ${v} is not a value of ${rt.fullName}`);
      return rt.values[v];
    }
    if (typeof v === 'number' && Object.values(rt.values).includes(v)) return v;
    throw new Error(`${path}: bad enum value ${JSON.stringify(v)}`);
  }
  if (rt instanceof protobuf.Type) return messageIn(rt, v, path);
  return scalarIn(field, v, path);
}

function fieldIn(field: protobuf.Field, v: unknown, path: string): unknown {
  if (field instanceof protobuf.MapField) {
    if (!isPlainObject(v)) throw new Error(`${path}: map must be an object`);
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = singleIn(field, x, `${path}["${k}"]`);
    return out;
  }
  if (field.repeated) {
    if (!Array.isArray(v)) throw new Error(`${path}: repeated field must be an array`);
    return v.map((x, i) => singleIn(field, x, `${path}[${i}]`));
  }
  return singleIn(field, v, path);
}

/** proto3 JSON -> protobufjs plain object (strict). */
export function protoJsonToObject(type: protobuf.Type, json: Json): Record<string, unknown> {
  return messageIn(type, json, fullName(type));
}

// ---- reverse direction: decoded message -> proto3 JSON ----

function structValueOut(root: protobuf.Root, v: Record<string, unknown>): Json {
  const k = valueKeys(root);
  if (k.null_value in v) return null;
  if (k.number_value in v) return v[k.number_value] as number;
  if (k.string_value in v) return v[k.string_value] as string;
  if (k.bool_value in v) return v[k.bool_value] as boolean;
  if (k.list_value in v) {
    const lv = v[k.list_value] as { values?: Record<string, unknown>[] };
    return (lv.values ?? []).map((x) => structValueOut(root, x));
  }
  if (k.struct_value in v) return structOut(root, v[k.struct_value] as Record<string, unknown>);
  throw new Error(`empty google.protobuf.Value: ${JSON.stringify(v)}`);
}

function structOut(root: protobuf.Root, v: Record<string, unknown>): Json {
  const out: { [k: string]: Json } = {};
  for (const [key, x] of Object.entries((v.fields ?? {}) as Record<string, Record<string, unknown>>)) {
    out[key] = structValueOut(root, x);
  }
  return out;
}

function messageOut(type: protobuf.Type, message: protobuf.Message): Json {
  const name = fullName(type);
  const obj = type.toObject(message, { enums: String, longs: Number, bytes: String, defaults: false, arrays: false });
  return plainOut(type, obj, name);
}

function plainOut(type: protobuf.Type, obj: Record<string, unknown>, name = fullName(type)): Json {
  if (name === 'google.protobuf.Struct') return structOut(type.root, obj);
  if (name === 'google.protobuf.Value') return structValueOut(type.root, obj);
  if (name === 'google.protobuf.Duration') {
    const seconds = Number(obj.seconds ?? 0);
    const nanos = Number(obj.nanos ?? 0);
    return nanos ? `${seconds}.${String(nanos).padStart(9, '0').replace(/0+$/, '')}s` : `${seconds}s`;
  }
  if (WRAPPERS.has(name)) return (obj.value ?? 0) as Json;
  if (name === 'google.protobuf.Any') {
    const url = obj.type_url as string;
    const inner = type.root.lookupType(url.slice(url.lastIndexOf('/') + 1));
    const bytes = typeof obj.value === 'string' ? Buffer.from(obj.value, 'base64') : (obj.value as Uint8Array);
    const decoded = messageOut(inner, inner.decode(bytes));
    return { '@type': url, ...(decoded as { [k: string]: Json }) };
  }
  const out: { [k: string]: Json } = {};
  for (const [key, value] of Object.entries(obj)) {
    const field = type.fields[key];
    const rt = field.resolve().resolvedType;
    const one = (x: unknown): Json => (rt instanceof protobuf.Type ? plainOut(rt, x as Record<string, unknown>) : x as Json);
    if (field instanceof protobuf.MapField) {
      const m: { [k: string]: Json } = {};
      for (const [k, x] of Object.entries(value as Record<string, unknown>)) m[k] = one(x);
      out[key] = m;
    } else if (field.repeated) {
      out[key] = (value as unknown[]).map(one);
    } else {
      out[key] = one(value);
    }
  }
  return out;
}

/** Encodes proto3 JSON with the real message type, decodes it again and returns the JSON form. */
export function protoJsonRoundTrip(type: protobuf.Type, json: Json): { bytes: Uint8Array; back: Json } {
  const obj = protoJsonToObject(type, json);
  const err = type.verify(obj);
  if (err) throw new Error(`${fullName(type)}: ${err}`);
  const bytes = type.encode(type.fromObject(obj)).finish();
  return { bytes, back: messageOut(type, type.decode(bytes)) };
}
