// Test helpers for the routing CRDs: read crds/*.yaml back, evaluate their CEL rules with a real
// CEL engine, and check the structural-schema rules the API server enforces on CRD creation.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { parse as celParse, type ParseResult as CelProgram } from '@marcbachmann/cel-js';
import { crdFileName, type RoutingKindInfo } from '../../../src/api/routing/v1alpha1/crd.js';
import { isPlainObject, type CelRule, type RuleEvaluator, type Schema } from '../../../src/api/routing/v1alpha1/openapi.js';
import { re2SyntaxProblem } from '../../../src/api/routing/v1alpha1/re2.js';

/** Repository root (tests run from dist/test/api/routing). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');

export function crdPath(info: RoutingKindInfo): string {
  return path.join(REPO_ROOT, 'crds', crdFileName(info));
}

export function readCrdText(info: RoutingKindInfo): string {
  return readFileSync(crdPath(info), 'utf8');
}

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const parsedCrds = new Map<string, { [k: string]: Json }>();

/** The CRD file, parsed (cached by content, so a regenerated file is parsed again). */
export function readCrd(info: RoutingKindInfo): { [k: string]: Json } {
  const text = readCrdText(info);
  const cached = parsedCrds.get(text);
  if (cached) return structuredClone(cached);
  const docs = YAML.parseAllDocuments(text);
  if (docs.length !== 1) throw new Error(`${crdPath(info)}: expected one YAML document, found ${docs.length}`);
  const crd = docs[0].toJS() as { [k: string]: Json };
  parsedCrds.set(text, crd);
  return structuredClone(crd);
}

/** The openAPIV3Schema of the CRD's only version. */
export function crdSchemaJson(crd: { [k: string]: Json }): { [k: string]: Json } {
  const spec = crd.spec as { versions: { schema: { openAPIV3Schema: { [k: string]: Json } } }[] };
  return spec.versions[0].schema.openAPIV3Schema;
}

const programs = new Map<string, CelProgram>();

function program(rule: string): CelProgram {
  let p = programs.get(rule);
  if (!p) {
    p = celParse(rule);
    programs.set(rule, p);
  }
  return p;
}

/** Decides rules by running their CEL text, as the API server does, instead of the TypeScript twin. */
export const celEvaluator: RuleEvaluator = (rule: CelRule, self: unknown): boolean => {
  const result: unknown = program(rule.rule)({ self });
  if (typeof result !== 'boolean') throw new Error(`rule ${JSON.stringify(rule.rule)} returned ${String(result)}, not a boolean`);
  return result;
};

/** Rebuilds a Schema from CRD JSON. Its rules have no TypeScript twin: use celEvaluator. */
export function schemaFromJson(j: { [k: string]: Json }): Schema {
  const props = j.properties as { [k: string]: { [k: string]: Json } } | undefined;
  const rules = j['x-kubernetes-validations'] as { rule: string; message: string }[] | undefined;
  const s: { -readonly [K in keyof Schema]: Schema[K] } = { type: j.type as Schema['type'] };
  for (const k of ['minLength', 'maxLength', 'minimum', 'maximum', 'minItems', 'maxItems', 'minProperties', 'maxProperties'] as const) {
    if (typeof j[k] === 'number') s[k] = j[k] as number;
  }
  if (typeof j.pattern === 'string') s.pattern = j.pattern;
  if (typeof j.format === 'string') s.format = j.format as Schema['format'];
  if (Array.isArray(j.enum)) s.enum = j.enum as (string | number)[];
  if (Array.isArray(j.required)) s.required = j.required as string[];
  if (props) s.properties = Object.fromEntries(Object.entries(props).map(([k, v]) => [k, schemaFromJson(v)]));
  if (isPlainObject(j.additionalProperties)) s.additionalProperties = schemaFromJson(j.additionalProperties as { [k: string]: Json });
  if (isPlainObject(j.items)) s.items = schemaFromJson(j.items as { [k: string]: Json });
  if (typeof j['x-kubernetes-list-type'] === 'string') s['x-kubernetes-list-type'] = j['x-kubernetes-list-type'] as 'set' | 'map' | 'atomic';
  if (Array.isArray(j['x-kubernetes-list-map-keys'])) s['x-kubernetes-list-map-keys'] = j['x-kubernetes-list-map-keys'] as string[];
  if (rules) {
    s['x-kubernetes-validations'] = rules.map((r) => ({
      rule: r.rule, message: r.message, check: () => { throw new Error('rules read from YAML have no TypeScript twin; evaluate them with celEvaluator'); },
    }));
  }
  return s;
}

const ALLOWED_KEYWORDS = new Set([
  'type', 'description', 'properties', 'required', 'additionalProperties', 'items', 'enum', 'format', 'pattern',
  'minLength', 'maxLength', 'minimum', 'maximum', 'minItems', 'maxItems', 'minProperties', 'maxProperties',
  'x-kubernetes-list-type', 'x-kubernetes-list-map-keys', 'x-kubernetes-validations',
]);
const TYPES = new Set(['object', 'array', 'string', 'integer', 'number', 'boolean']);
const SCALARS = new Set(['string', 'integer', 'number', 'boolean']);

/** Variables bound by CEL comprehension macros over `self` or over another variable's field. */
function macroVariables(rule: string): { variable: string; source: string }[] {
  const out: { variable: string; source: string }[] = [];
  const re = /\b(self(?:\.[A-Za-z_]\w*)*)\.(?:all|exists|exists_one|filter|map)\(\s*([A-Za-z_]\w*)\s*,/g;
  for (let m = re.exec(rule); m; m = re.exec(rule)) out.push({ source: m[1], variable: m[2] });
  return out;
}

function resolveField(node: { [k: string]: Json }, fields: string[]): { [k: string]: Json } | undefined {
  let cur: { [k: string]: Json } | undefined = node;
  for (const f of fields) {
    const props = cur?.properties as { [k: string]: { [k: string]: Json } } | undefined;
    cur = props?.[f];
    if (!cur) return undefined;
  }
  return cur;
}

/**
 * Every field a rule names must exist in the schema where the rule sits: the API server type-checks
 * rules against the schema and refuses the CRD otherwise.
 */
function ruleReferenceProblems(node: { [k: string]: Json }, rule: string, where: string): string[] {
  const problems: string[] = [];
  const stripped = rule.replace(/'[^']*'|"[^"]*"/g, "''");
  const bound = new Map<string, { [k: string]: Json } | undefined>();
  for (const { variable, source } of macroVariables(stripped)) {
    const coll = resolveField(node, source.split('.').slice(1));
    if (!coll) {
      problems.push(`${where}: rule ${JSON.stringify(rule)} iterates over unknown ${source}`);
      continue;
    }
    // Lists bind their items; maps bind their (string) keys.
    bound.set(variable, coll.type === 'array' ? (coll.items as { [k: string]: Json }) : { type: 'string' });
  }
  const refs = /\b([A-Za-z_]\w*)((?:\.[A-Za-z_]\w*)+)/g;
  for (let m = refs.exec(stripped); m; m = refs.exec(stripped)) {
    const root = m[1];
    const chain = m[2].split('.').slice(1);
    let base: { [k: string]: Json } | undefined;
    if (root === 'self') base = node;
    else if (bound.has(root)) base = bound.get(root);
    else continue;
    // A trailing method call (k.startsWith, h.lowerAscii) is not a field.
    const after = stripped.slice(m.index + m[0].length);
    const fields = after.startsWith('(') ? chain.slice(0, -1) : chain;
    if (base && fields.length && !resolveField(base, fields)) {
      problems.push(`${where}: rule ${JSON.stringify(rule)} refers to ${root}.${fields.join('.')}, which the schema does not declare`);
    }
  }
  return problems;
}

/** Problems that would make the API server refuse the CRD, or its CEL rules too costly to admit. */
export function structuralProblems(schema: { [k: string]: Json }, where = 'openAPIV3Schema', level: 'root' | 'envelope' | 'nested' = 'root'): string[] {
  const isRoot = level === 'root';
  const problems: string[] = [];
  for (const key of Object.keys(schema)) {
    if (!ALLOWED_KEYWORDS.has(key)) problems.push(`${where}: keyword ${key} is not allowed in a structural schema here`);
  }
  const type = schema.type;
  if (typeof type !== 'string' || !TYPES.has(type)) {
    problems.push(`${where}: every node needs a type (got ${JSON.stringify(type)})`);
    return problems;
  }
  const props = schema.properties as { [k: string]: { [k: string]: Json } } | undefined;
  const addl = schema.additionalProperties;
  if (props && addl !== undefined) problems.push(`${where}: properties and additionalProperties are mutually exclusive`);
  if (addl === false) problems.push(`${where}: additionalProperties: false is not allowed`);
  if ((props || addl !== undefined) && type !== 'object') problems.push(`${where}: properties on a ${type}`);
  for (const req of (schema.required as string[] | undefined) ?? []) {
    if (!props || !(req in props)) problems.push(`${where}: required field ${req} is not declared`);
  }
  if (type === 'array') {
    if (!isPlainObject(schema.items)) problems.push(`${where}: arrays need items`);
    if (typeof schema.maxItems !== 'number') problems.push(`${where}: arrays need maxItems (bounds CEL cost)`);
  } else if (schema.items !== undefined) {
    problems.push(`${where}: items on a ${type}`);
  }
  // apiVersion and kind carry no rules, so their length does not matter.
  if (type === 'string' && level === 'nested' && typeof schema.maxLength !== 'number' && !schema.enum && schema.format !== 'date-time') {
    problems.push(`${where}: strings need maxLength, enum or a format (bounds CEL cost)`);
  }
  if (type === 'object' && addl !== undefined && typeof schema.maxProperties !== 'number') {
    problems.push(`${where}: maps need maxProperties (bounds CEL cost)`);
  }
  if (Array.isArray(schema.enum)) {
    for (const v of schema.enum) {
      const ok = type === 'string' ? typeof v === 'string' : type === 'integer' ? Number.isInteger(v) : typeof v === 'number';
      if (!ok) problems.push(`${where}: enum value ${JSON.stringify(v)} is not a ${type}`);
    }
  }
  if (typeof schema.pattern === 'string') {
    const p = re2SyntaxProblem(schema.pattern);
    if (p) problems.push(`${where}: pattern ${schema.pattern} is not RE2: ${p}`);
  }
  const listType = schema['x-kubernetes-list-type'];
  if (listType !== undefined) {
    const items = schema.items as { [k: string]: Json } | undefined;
    if (type !== 'array') problems.push(`${where}: x-kubernetes-list-type on a ${type}`);
    if (listType === 'set' && items && !SCALARS.has(items.type as string)) problems.push(`${where}: list-type set needs scalar items`);
    if (listType === 'map') {
      const keys = schema['x-kubernetes-list-map-keys'] as string[] | undefined;
      if (!keys?.length) problems.push(`${where}: list-type map needs x-kubernetes-list-map-keys`);
      const itemProps = items?.properties as { [k: string]: { [k: string]: Json } } | undefined;
      for (const k of keys ?? []) {
        if (!itemProps?.[k] || !SCALARS.has(itemProps[k].type as string)) problems.push(`${where}: map key ${k} must be a scalar property of the items`);
        if (!((items?.required as string[] | undefined) ?? []).includes(k)) problems.push(`${where}: map key ${k} must be required`);
      }
    }
  }
  const rules = schema['x-kubernetes-validations'];
  if (rules !== undefined) {
    if (!Array.isArray(rules)) problems.push(`${where}: x-kubernetes-validations must be a list`);
    for (const r of (Array.isArray(rules) ? rules : []) as { [k: string]: Json }[]) {
      if (typeof r.rule !== 'string' || r.rule === '') problems.push(`${where}: a validation without rule`);
      if (typeof r.message !== 'string' || r.message === '') problems.push(`${where}: rule ${JSON.stringify(r.rule)} has no message`);
      if (typeof r.rule !== 'string') continue;
      try {
        program(r.rule);
      } catch (e) {
        problems.push(`${where}: rule ${JSON.stringify(r.rule)} does not parse: ${(e as Error).message}`);
        continue;
      }
      problems.push(...ruleReferenceProblems(schema, r.rule, where));
    }
  }
  if (isRoot) {
    const md = props?.metadata;
    if (md && Object.keys(md).some((k) => k !== 'type')) problems.push(`${where}.metadata: only type: object is allowed`);
  }
  for (const [k, v] of Object.entries(props ?? {})) {
    if (isRoot && k === 'metadata') continue;
    problems.push(...structuralProblems(v, `${where}.properties.${k}`, isRoot && (k === 'apiVersion' || k === 'kind') ? 'envelope' : 'nested'));
  }
  if (isPlainObject(addl)) problems.push(...structuralProblems(addl as { [k: string]: Json }, `${where}.additionalProperties`, 'nested'));
  if (isPlainObject(schema.items)) problems.push(...structuralProblems(schema.items as { [k: string]: Json }, `${where}.items`, 'nested'));
  return problems;
}

/** The schema node at a dotted path of property names; `[]` steps into items, `{}` into map values. */
export function schemaAt(schema: { [k: string]: Json }, dotted: string): { [k: string]: Json } {
  let cur = schema;
  for (const step of dotted.split('.')) {
    let next: Json | undefined;
    if (step === '[]') next = cur.items;
    else if (step === '{}') next = cur.additionalProperties;
    else next = (cur.properties as { [k: string]: Json } | undefined)?.[step];
    if (!isPlainObject(next)) throw new Error(`no schema at ${dotted} (stuck at ${step})`);
    cur = next as { [k: string]: Json };
  }
  return cur;
}
