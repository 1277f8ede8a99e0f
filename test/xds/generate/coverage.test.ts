// The golden input must use every field of both CRDs in objects that are actually applied, so the
// goldens show what each field turns into (and a new schema field fails here until it is covered).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { TRAFFIC_POLICY_SPEC, TRAFFIC_ROUTE_SPEC } from '../../../src/api/routing/v1alpha1/schema.js';
import type { Schema } from '../../../src/api/routing/v1alpha1/openapi.js';
import { REPO_ROOT } from '../../webhook/golden.js';
import { snapshotFromDir } from './support.js';

const INPUT = path.join(REPO_ROOT, 'test/golden/xds/full/input');

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

describe('xDS goldens cover every CRD field', () => {
  it('every TrafficRoute and TrafficPolicy field appears in an applied object of the golden input', async () => {
    const snapshot = await snapshotFromDir(INPUT);
    const applied = new Set(snapshot.routing.statuses.filter((s) => s.applied === 'current').map((s) => `${s.kind}/${s.name}`));
    const docs = YAML.parseAllDocuments(readFileSync(path.join(INPUT, 'mesh.yaml'), 'utf8')).map((d) => d.toJS() as {
      kind: string; metadata: { name: string }; spec: unknown;
    });
    for (const [kind, schema] of [['TrafficRoute', TRAFFIC_ROUTE_SPEC], ['TrafficPolicy', TRAFFIC_POLICY_SPEC]] as const) {
      const used = new Set<string>();
      const objects = docs.filter((d) => d.kind === kind && applied.has(`${kind}/${d.metadata.name}`));
      assert.ok(objects.length > 0, `an applied ${kind} exists`);
      for (const d of objects) usedPaths(d.spec, schema, '', used);
      const usedAnyLevel = new Set([...used].map(anyLevel));
      const missing = [...new Set([...schemaPaths(schema)].map(anyLevel))].filter((p) => !usedAnyLevel.has(p));
      assert.deepEqual(missing, [], `${kind} fields not used by an applied object in ${path.relative(REPO_ROOT, INPUT)}`);
    }
  });
});
