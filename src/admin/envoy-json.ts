// Proto3 JSON as Envoy's config_dump writes it: protobufjs renders well-known types as plain
// messages (`{seconds: "2"}`, `{value: 50}`), while the canonical JSON mapping — what Envoy and
// istioctl show — writes a Duration as "2s", a Timestamp as RFC 3339 and a wrapper as its value.
// Walks a decoded message with its type, so only real Duration/wrapper fields change.
import protobuf from 'protobufjs';
import { lookupType } from '../xds/protos.js';

type Obj = Record<string, unknown>;

/** Wrapper type -> the value proto3 JSON gives an unset (zero) wrapper, whose object is `{}`. */
const WRAPPER_ZERO: Readonly<Record<string, unknown>> = {
  'google.protobuf.DoubleValue': 0,
  'google.protobuf.FloatValue': 0,
  'google.protobuf.Int64Value': '0',
  'google.protobuf.UInt64Value': '0',
  'google.protobuf.Int32Value': 0,
  'google.protobuf.UInt32Value': 0,
  'google.protobuf.BoolValue': false,
  'google.protobuf.StringValue': '',
  'google.protobuf.BytesValue': '',
};

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** `2s`, `0.500s`, `1.000001s`, `-1.5s`: seconds with 0, 3, 6 or 9 fraction digits (canonical proto3 JSON). */
export function durationText(seconds: number, nanos: number): string {
  const negative = seconds < 0 || nanos < 0;
  const s = Math.abs(seconds);
  const n = Math.abs(nanos);
  let fraction = '';
  if (n !== 0) {
    const digits = String(n).padStart(9, '0');
    fraction = `.${n % 1_000_000 === 0 ? digits.slice(0, 3) : n % 1000 === 0 ? digits.slice(0, 6) : digits}`;
  }
  return `${negative ? '-' : ''}${s}${fraction}s`;
}

function num(v: unknown): number {
  const n = typeof v === 'string' ? Number(v) : typeof v === 'number' ? v : 0;
  return Number.isFinite(n) ? n : 0;
}

function convert(type: protobuf.Type, v: unknown): unknown {
  if (!isObj(v)) return v;
  const name = type.fullName.slice(1);
  if (name === 'google.protobuf.Duration') return durationText(num(v.seconds), num(v.nanos));
  if (name === 'google.protobuf.Timestamp') return new Date(num(v.seconds) * 1000 + Math.trunc(num(v.nanos) / 1e6)).toISOString();
  if (name in WRAPPER_ZERO) return v.value ?? WRAPPER_ZERO[name];
  if (name === 'google.protobuf.Any') return anyToEnvoyJson(v);
  const out: Obj = { ...v };
  for (const field of type.fieldsArray) {
    const fv = out[field.name];
    if (fv === undefined) continue;
    field.resolve();
    const sub = field.resolvedType;
    if (!(sub instanceof protobuf.Type)) continue;
    if (field.map && isObj(fv)) out[field.name] = Object.fromEntries(Object.entries(fv).map(([k, x]) => [k, convert(sub, x)]));
    else if (Array.isArray(fv)) out[field.name] = fv.map((x) => convert(sub, x));
    else out[field.name] = convert(sub, fv);
  }
  return out;
}

/** A decoded Any (`{"@type": url, ...fields}`) in canonical JSON; a type this build does not know stays as it is. */
export function anyToEnvoyJson(v: Obj): Obj {
  const url = v['@type'];
  if (typeof url !== 'string') return v;
  let inner: protobuf.Type;
  try {
    inner = lookupType(url.slice(url.lastIndexOf('/') + 1));
  } catch {
    return v;
  }
  const { '@type': _, ...fields } = v;
  const converted = convert(inner, fields);
  // A wrapper or Duration inside an Any keeps its value under "value", as proto3 JSON says.
  return isObj(converted) ? { '@type': url, ...converted } : { '@type': url, value: converted };
}
