// The golden inputs must use every field of the routing CRDs (TrafficRoute, TrafficPolicy, TrafficScope) and of AccessPolicy in objects that are actually applied, so the
// goldens show what each field turns into (and a new schema field fails here until it is covered).
// The feature cases alone must cover the API too: each field then has a small golden of its own,
// not only a line in the whole-mesh cases.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import { TRAFFIC_POLICY_SPEC, TRAFFIC_ROUTE_SPEC, TRAFFIC_SCOPE_SPEC } from '../../../src/api/routing/v1alpha1/schema.js';
import { ACCESS_POLICY_SPEC } from '../../../src/api/security/v1alpha1/access-policy-schema.js';
import type { Schema } from '../../../src/api/routing/v1alpha1/openapi.js';
import { snapshotFromDir } from '../../support/mesh-snapshot.js';
import { inputFiles, xdsGoldenCases, type XdsGoldenCase } from '../../support/xds-golden-cases.js';

const KINDS = [
  ['TrafficRoute', TRAFFIC_ROUTE_SPEC], ['TrafficPolicy', TRAFFIC_POLICY_SPEC], ['TrafficScope', TRAFFIC_SCOPE_SPEC], ['AccessPolicy', ACCESS_POLICY_SPEC],
] as const;
type Kind = typeof KINDS[number][0];

/** Every field path of a schema: `a.b`, `a[].b` for list items, `a{}.b` for map values. */
function schemaPaths(s: Schema, prefix = '', out = new Set<string>()): Set<string> {
  for (const [k, v] of Object.entries(s.properties ?? {})) {
    const p = prefix === '' ? k : `${prefix}.${k}`;
    out.add(p);
    schemaPaths(v, p, out);
  }
  if (s.items) schemaPaths(s.items, `${prefix}[]`, out);
  if (s.additionalProperties) schemaPaths(s.additionalProperties, `${prefix}{}`, out);
  return out;
}

function usedPaths(value: unknown, s: Schema, prefix = '', out = new Set<string>()): Set<string> {
  const isObj = typeof value === 'object' && value !== null && !Array.isArray(value);
  if (s.properties && isObj) {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      const sub = s.properties[k];
      if (!sub) continue;
      const p = prefix === '' ? k : `${prefix}.${k}`;
      out.add(p);
      usedPaths(v, sub, p, out);
    }
  }
  if (s.items && Array.isArray(value)) for (const v of value) usedPaths(v, s.items, `${prefix}[]`, out);
  if (s.additionalProperties && isObj) {
    for (const v of Object.values(value as Record<string, unknown>)) usedPaths(v, s.additionalProperties, `${prefix}{}`, out);
  }
  return out;
}

/**
 * TrafficPolicy settings repeat at four levels (top, per port, per subset, per subset and port);
 * a field counts as covered when it is used at any of them.
 */
function anyLevel(p: string): string {
  return p.replace(/^subsets\[\]\.trafficPolicy/, 'trafficPolicy').replace(/\.portLevelSettings\[\]/, '');
}

interface CaseUse {
  readonly id: string;
  readonly feature: boolean;
  /** Field paths (anyLevel) used by applied objects, by kind. */
  readonly used: ReadonlyMap<Kind, ReadonlySet<string>>;
  /** Routing objects of the input that serve no traffic, with the reason their status gives. */
  readonly notApplied: readonly string[];
}

interface Doc { readonly kind?: unknown; readonly metadata?: { readonly name?: unknown; readonly namespace?: unknown }; readonly spec?: unknown }

async function caseUse(c: XdsGoldenCase): Promise<CaseUse> {
  const snapshot = await snapshotFromDir(c.input);
  const applied = new Set([
    ...snapshot.routing.statuses.filter((s) => s.applied === 'current').map((s) => `${s.kind}/${s.namespace}/${s.name}`),
    ...snapshot.access.statuses.filter((s) => s.applied === 'current').map((s) => `AccessPolicy/${s.namespace}/${s.name}`),
  ]);
  // A TrafficScope applies as written unless it is rejected (then its last accepted version, if any, does).
  for (const s of snapshot.scopes.scopes) if (!snapshot.scopes.rejections.has(`${s.meta.namespace}/${s.meta.name}`)) applied.add(`TrafficScope/${s.meta.namespace}/${s.meta.name}`);
  const docs = inputFiles(c).flatMap((f) => YAML.parseAllDocuments(readFileSync(f, 'utf8')).map((d) => d.toJS() as Doc | null));
  const used = new Map<Kind, Set<string>>();
  for (const [kind, schema] of KINDS) {
    const paths = new Set<string>();
    for (const d of docs) {
      if (d?.kind !== kind) continue;
      const key = `${kind}/${String(d.metadata?.namespace ?? 'default')}/${String(d.metadata?.name)}`;
      if (applied.has(key)) usedPaths(d.spec, schema, '', paths);
    }
    used.set(kind, new Set([...paths].map(anyLevel)));
  }
  const notApplied = [
    ...snapshot.routing.statuses.filter((s) => s.applied !== 'current')
      .map((s) => `${s.kind} ${s.namespace}/${s.name}: ${s.conditions.map((k) => k.reason).join(', ')}`),
    ...snapshot.access.statuses.filter((s) => s.applied !== 'current')
      .map((s) => `AccessPolicy ${s.namespace}/${s.name}: ${s.conditions.map((k) => k.reason).join(', ')}`),
    ...[...snapshot.scopes.rejections.values()].map((r) => `${r.object}: ${r.reason}`),
  ];
  return { id: c.id, feature: c.feature, used, notApplied };
}

/** Fields of `kind` no case of `uses` covers. */
function missing(kind: Kind, schema: Schema, uses: readonly CaseUse[]): string[] {
  const covered = new Set(uses.flatMap((u) => [...(u.used.get(kind) ?? [])]));
  return [...new Set([...schemaPaths(schema)].map(anyLevel))].filter((p) => !covered.has(p));
}

describe('xDS goldens cover every CRD field', () => {
  let uses: CaseUse[];
  before(async () => { uses = await Promise.all(xdsGoldenCases().map(caseUse)); });

  it('every TrafficRoute, TrafficPolicy, TrafficScope and AccessPolicy field appears in an applied object of some golden case', () => {
    for (const [kind, schema] of KINDS) {
      assert.ok(uses.some((u) => (u.used.get(kind)?.size ?? 0) > 0), `an applied ${kind} exists`);
      assert.deepEqual(missing(kind, schema, uses), [], `${kind} fields not used by an applied object of any case under test/golden/xds`);
    }
  });

  it('every TrafficRoute, TrafficPolicy, TrafficScope and AccessPolicy field appears in an applied object of some feature case', () => {
    const features = uses.filter((u) => u.feature);
    assert.ok(features.length > 0, 'feature cases exist under test/golden/xds/features');
    for (const [kind, schema] of KINDS) {
      assert.deepEqual(missing(kind, schema, features), [], `${kind} fields not used by an applied object of any case under test/golden/xds/features`);
    }
  });

  it('every feature case applies each routing object it contains', () => {
    // A feature case whose object is rejected would show nothing of its feature.
    const notApplied = uses.filter((u) => u.feature).flatMap((u) => u.notApplied.map((k) => `${u.id}: ${k}`));
    assert.deepEqual(notApplied, []);
  });
});
