// The routing CRDs' schemas are written once, as data (routing-crd-schema.ts). The same data is
// rendered into crds/*.yaml for the API server and walked here for objects that never pass an API
// server (config directories, tests), so both reject the same objects at the same paths.
//
// Only the subset of OpenAPI v3 that structural CRD schemas allow is modelled. Every CEL rule
// carries a TypeScript twin (`check`); the test suite evaluates the CEL text with a CEL engine on
// the same objects and proves that both agree.

import { pathKey } from './field-path.js';

type SchemaType = 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';

export interface CelRule {
  /** CEL expression over `self`, exactly as the API server compiles it. */
  readonly rule: string;
  /** Shown to the user on violation, by the API server and by parse errors alike. */
  readonly message: string;
  /** TypeScript twin of `rule`: true when `self` is valid. Never rendered into the CRD. */
  readonly check: (self: unknown) => boolean;
}

export interface Schema {
  readonly type: SchemaType;
  readonly description?: string;
  readonly properties?: Readonly<Record<string, Schema>>;
  readonly required?: readonly string[];
  /** Value schema of a map (an object whose keys are data). Never together with `properties`. */
  readonly additionalProperties?: Schema;
  readonly items?: Schema;
  readonly enum?: readonly (string | number)[];
  readonly format?: 'int32' | 'int64' | 'date-time';
  readonly pattern?: string;
  /** What the pattern means, for humans; rendered into the description, not as a keyword. */
  readonly patternMessage?: string;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly minItems?: number;
  readonly maxItems?: number;
  readonly minProperties?: number;
  readonly maxProperties?: number;
  readonly 'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  readonly 'x-kubernetes-list-map-keys'?: readonly string[];
  readonly 'x-kubernetes-validations'?: readonly CelRule[];
}

/** One problem with an object, at an API-server style path ("spec.http[1].route[0].weight"). */
export interface FieldError {
  readonly path: string;
  readonly message: string;
}

export function formatFieldError(e: FieldError): string {
  return e.path === '' ? e.message : `${e.path}: ${e.message}`;
}

/** Decides a CEL rule for one value; the default uses the TypeScript twin. */
export type RuleEvaluator = (rule: CelRule, self: unknown) => boolean;

export const evaluateWithTwin: RuleEvaluator = (rule, self) => rule.check(self);

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function childPath(base: string, key: string): string {
  return base === '' ? key : `${base}.${key}`;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return `the string ${JSON.stringify(v)}`;
  return `${typeof v} ${String(v)}`;
}

function typeName(t: SchemaType): string {
  switch (t) {
    case 'object': return 'an object';
    case 'array': return 'a list';
    case 'string': return 'a string';
    case 'integer': return 'an integer';
    case 'number': return 'a number';
    case 'boolean': return 'a boolean (true or false)';
  }
}

function hasType(v: unknown, t: SchemaType): boolean {
  switch (t) {
    case 'object': return isPlainObject(v);
    case 'array': return Array.isArray(v);
    case 'string': return typeof v === 'string';
    case 'integer': return typeof v === 'number' && Number.isInteger(v);
    case 'number': return typeof v === 'number' && Number.isFinite(v);
    case 'boolean': return typeof v === 'boolean';
  }
}

const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** Structural equality of JSON values, for list-type set/map uniqueness. */
function jsonEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Validates `value` against `schema` the way the API server does for a CRD with strict field
 * validation: unknown fields are errors, `null` counts as absent, and CEL rules of a node run
 * only when the node itself is structurally valid (so one mistake yields one message).
 * Returns the errors in document order; an empty list means valid.
 */
export function validateValue(value: unknown, schema: Schema, path: string,
  evaluate: RuleEvaluator = evaluateWithTwin): FieldError[] {
  const errors: FieldError[] = [];
  walk(value, schema, path, evaluate, errors);
  return errors;
}

function walk(v: unknown, s: Schema, path: string, evaluate: RuleEvaluator, out: FieldError[]): void {
  if (!hasType(v, s.type)) {
    out.push({ path, message: `must be ${typeName(s.type)}, not ${describe(v)}` });
    return;
  }
  const before = out.length;
  switch (s.type) {
    case 'object': walkObject(v as Record<string, unknown>, s, path, evaluate, out); break;
    case 'array': walkArray(v as unknown[], s, path, evaluate, out); break;
    case 'string': checkString(v as string, s, path, out); break;
    case 'integer':
    case 'number': checkNumber(v as number, s, path, out); break;
    case 'boolean': break;
  }
  if (s.enum && !s.enum.includes(v as string | number)) {
    out.push({ path, message: `must be one of: ${s.enum.join(', ')} (got ${JSON.stringify(v)})` });
  }
  if (out.length !== before) return;
  for (const rule of s['x-kubernetes-validations'] ?? []) {
    let ok: boolean;
    try {
      ok = evaluate(rule, v);
    } catch (e) {
      ok = false;
      out.push({ path, message: `${rule.message} (rule could not be evaluated: ${(e as Error).message})` });
      continue;
    }
    if (!ok) out.push({ path, message: rule.message });
  }
}

function walkObject(o: Record<string, unknown>, s: Schema, path: string, evaluate: RuleEvaluator,
  out: FieldError[]): void {
  const present = Object.keys(o).filter((k) => o[k] !== null && o[k] !== undefined);
  if (s.properties) {
    for (const key of present) {
      if (!(key in s.properties)) out.push({ path: childPath(path, key), message: 'unknown field' });
    }
    for (const req of s.required ?? []) {
      if (!present.includes(req)) out.push({ path: childPath(path, req), message: 'is required' });
    }
    for (const [key, sub] of Object.entries(s.properties)) {
      if (present.includes(key)) walk(o[key], sub, childPath(path, key), evaluate, out);
    }
  } else if (s.additionalProperties) {
    for (const key of present) walk(o[key], s.additionalProperties, `${path}[${pathKey(key)}]`, evaluate, out);
  } else {
    // An object schema with neither properties nor a value schema accepts only `{}`.
    for (const key of present) out.push({ path: childPath(path, key), message: 'unknown field' });
  }
  if (s.minProperties !== undefined && present.length < s.minProperties) {
    out.push({ path, message: `must have at least ${s.minProperties} entr${s.minProperties === 1 ? 'y' : 'ies'}` });
  }
  if (s.maxProperties !== undefined && present.length > s.maxProperties) {
    out.push({ path, message: `must have at most ${s.maxProperties} entries (has ${present.length})` });
  }
}

function walkArray(a: unknown[], s: Schema, path: string, evaluate: RuleEvaluator, out: FieldError[]): void {
  if (s.minItems !== undefined && a.length < s.minItems) {
    out.push({ path, message: `must have at least ${s.minItems} item${s.minItems === 1 ? '' : 's'}` });
  }
  if (s.maxItems !== undefined && a.length > s.maxItems) {
    out.push({ path, message: `must have at most ${s.maxItems} items (has ${a.length})` });
  }
  if (s.items) a.forEach((item, i) => walk(item, s.items as Schema, `${path}[${i}]`, evaluate, out));
  const listType = s['x-kubernetes-list-type'];
  if (listType === 'set') {
    a.forEach((item, i) => {
      if (a.findIndex((other) => jsonEqual(other, item)) < i) {
        out.push({ path: `${path}[${i}]`, message: `duplicate value ${JSON.stringify(item)}` });
      }
    });
  } else if (listType === 'map') {
    const keys = s['x-kubernetes-list-map-keys'] ?? [];
    const keyOf = (item: unknown): string => JSON.stringify(keys.map((k) => (isPlainObject(item) ? item[k] : undefined)));
    a.forEach((item, i) => {
      if (a.findIndex((other) => keyOf(other) === keyOf(item)) < i) {
        const shown = keys.map((k) => `${k}=${JSON.stringify(isPlainObject(item) ? item[k] : undefined)}`).join(', ');
        out.push({ path: `${path}[${i}]`, message: `duplicate entry with ${shown}` });
      }
    });
  }
}

function checkString(v: string, s: Schema, path: string, out: FieldError[]): void {
  if (s.minLength !== undefined && v.length < s.minLength) {
    out.push({ path, message: s.minLength === 1 ? 'must not be empty' : `must be at least ${s.minLength} characters long` });
  }
  if (s.maxLength !== undefined && v.length > s.maxLength) {
    out.push({ path, message: `must be at most ${s.maxLength} characters long (is ${v.length})` });
  }
  if (s.pattern !== undefined && !new RegExp(s.pattern, 'u').test(v)) {
    out.push({ path, message: `${s.patternMessage ?? `must match ${s.pattern}`} (got ${JSON.stringify(v)})` });
  }
  if (s.format === 'date-time' && !DATE_TIME.test(v)) {
    out.push({ path, message: `must be an RFC 3339 date-time (got ${JSON.stringify(v)})` });
  }
}

function checkNumber(v: number, s: Schema, path: string, out: FieldError[]): void {
  if (s.minimum !== undefined && v < s.minimum) out.push({ path, message: `must be >= ${s.minimum} (got ${v})` });
  if (s.maximum !== undefined && v > s.maximum) out.push({ path, message: `must be <= ${s.maximum} (got ${v})` });
  if (s.format === 'int32' && (v < -2147483648 || v > 2147483647)) {
    out.push({ path, message: `must fit in 32 bits (got ${v})` });
  }
}
