// Proves a generated Envoy resource survives the wire: a schema-aware round trip through the Envoy
// protos, because protobufjs's fromObject silently drops fields a proto does not have.
import protobuf from 'protobufjs';
import { envoyRoot, lookupType } from '../../src/xds/protos.js';

type Obj = { [k: string]: unknown };

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function isDefault(field: protobuf.Field, v: unknown): boolean {
  if (field.resolvedType instanceof protobuf.Enum) {
    return v === 0 || (typeof v === 'string' && field.resolvedType.values[v] === 0);
  }
  return v === 0 || v === '' || v === false;
}

function sameScalar(field: protobuf.Field, generated: unknown, decoded: unknown): boolean {
  if (field.resolvedType instanceof protobuf.Enum) {
    const e = field.resolvedType;
    const name = (v: unknown): unknown => (typeof v === 'number' ? e.valuesById[v] : v);
    return name(generated) === name(decoded);
  }
  if (typeof generated === 'number' || typeof decoded === 'number') return Number(generated) === Number(decoded);
  return generated === decoded;
}

const ANY = '.google.protobuf.Any';

function compareValue(field: protobuf.Field, generated: unknown, decoded: unknown, at: string, out: string[]): void {
  const t = field.resolvedType;
  if (t instanceof protobuf.Type) {
    if (decoded === undefined || decoded === null) {
      out.push(`${at}: set in the generated object but absent after decoding`);
      return;
    }
    if (t.fullName === ANY) compareAny(generated, decoded, at, out);
    else compareMessage(t, generated, decoded as Obj, at, out);
    return;
  }
  if (decoded === undefined || decoded === null) {
    // proto3 does not encode default scalars, except in a oneof, where presence is the point.
    if (!isDefault(field, generated) || field.partOf) out.push(`${at}: ${JSON.stringify(generated)} was lost in encoding`);
    return;
  }
  if (!sameScalar(field, generated, decoded)) out.push(`${at}: generated ${JSON.stringify(generated)}, decoded ${JSON.stringify(decoded)}`);
}

function compareAny(generated: unknown, decoded: unknown, at: string, out: string[]): void {
  if (!isObj(generated) || typeof generated['@type'] !== 'string') {
    out.push(`${at}: an Any must be written as { '@type': ..., ...fields }`);
    return;
  }
  const url = generated['@type'];
  const name = url.slice(url.lastIndexOf('/') + 1);
  let type: protobuf.Type;
  try {
    type = envoyRoot().lookupType(name);
  } catch {
    out.push(`${at}: names type ${name}, which the Envoy protos do not define`);
    return;
  }
  const any = decoded as { type_url?: string; value?: Uint8Array };
  if (any.type_url !== url) out.push(`${at}: type_url ${String(any.type_url)} instead of ${url}`);
  const inner = type.toObject(type.decode(any.value ?? new Uint8Array()), { longs: Number, enums: String });
  const body: Obj = { ...generated };
  delete body['@type'];
  compareMessage(type, body, inner, `${at}<${name}>`, out);
}

function compareMessage(type: protobuf.Type, generated: unknown, decoded: Obj, at: string, out: string[]): void {
  if (!isObj(generated)) {
    out.push(`${at}: expected an object for ${type.fullName.replace(/^\./, "")}, got ${JSON.stringify(generated)}`);
    return;
  }
  for (const [key, value] of Object.entries(generated)) {
    const where = at === '' ? key : `${at}.${key}`;
    const field = type.fields[key];
    if (!field) {
      out.push(`${where}: ${type.fullName.replace(/^\./, "")} has no field "${key}" (encoding would drop it)`);
      continue;
    }
    const d = decoded[key];
    if (field.map) {
      if (!isObj(value)) { out.push(`${where}: a map must be an object`); continue; }
      for (const [k, v] of Object.entries(value)) compareValue(field, v, isObj(d) ? d[k] : undefined, `${where}[${k}]`, out);
    } else if (field.repeated) {
      if (!Array.isArray(value)) { out.push(`${where}: a repeated field must be an array`); continue; }
      const list = Array.isArray(d) ? d : [];
      if (list.length !== value.length) out.push(`${where}: ${value.length} items generated, ${list.length} decoded`);
      value.forEach((v, i) => compareValue(field, v, list[i], `${where}[${i}]`, out));
    } else {
      compareValue(field, value, d, where, out);
    }
  }
}

/**
 * Encodes a generated object as `typeName` with the Envoy protos, decodes it and checks that every
 * field survived with its value, that no field is unknown to the proto (protobufjs would silently
 * drop it) and that every Any names a type the protos define. Also checks that re-encoding the
 * decoded message gives the same bytes. Returns the problems (empty when all is well).
 */
export function roundTripProblems(typeName: string, generated: Obj): string[] {
  const type = lookupType(typeName);
  const out: string[] = [];
  let bytes: Uint8Array;
  try {
    bytes = type.encode(type.fromObject(generated)).finish();
  } catch (err) {
    return [`does not encode: ${(err as Error).message}`];
  }
  const message = type.decode(bytes);
  compareMessage(type, generated, type.toObject(message, { longs: Number, enums: String }), '', out);
  const again = type.encode(message).finish();
  if (Buffer.compare(Buffer.from(again), Buffer.from(bytes)) !== 0) out.push('re-encoding the decoded message gives different bytes');
  return out;
}
