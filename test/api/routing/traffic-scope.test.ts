// parseTrafficScope: the model it builds, the objects it refuses (at API-server paths), and proof
// that it refuses what the API server refuses — the CEL rules run in a real CEL engine on the
// schema read back from crds/, and must agree with their TypeScript twins every time.
import assert from 'node:assert/strict';
import { parseTrafficScope } from '../../../src/api/routing/v1alpha1/parse-traffic-scope.js';
import { MAX_EGRESS_HOSTS, TRAFFIC_SCOPE_SPEC } from '../../../src/api/routing/v1alpha1/schema.js';
import { ROUTING_API_VERSION, TRAFFIC_SCOPE_KIND } from '../../../src/api/routing/v1alpha1/crd.js';
import { formatFieldError, validateValue, type CelRule, type RuleEvaluator, type Schema } from '../../../src/api/routing/v1alpha1/openapi.js';
import type { ParseResult } from '../../../src/api/routing/v1alpha1/parse.js';
import type { CustomObject } from '../../../src/model/k8s-object.js';
import type { TrafficScope } from '../../../src/model/traffic-scope.js';
import { celEvaluator, crdSchemaJson, readCrd, schemaFromJson } from './crd-support.js';

function scope(spec: unknown, name = 'scope', namespace = 'shop', metadata: Record<string, unknown> = {}): CustomObject {
  return { apiVersion: ROUTING_API_VERSION, kind: 'TrafficScope', metadata: { name, namespace, ...metadata }, spec };
}

function ok(r: ParseResult<TrafficScope>): TrafficScope {
  if (r.errors) assert.fail(`expected a valid object, got:\n${r.errors.map(formatFieldError).join('\n')}`);
  return r.ok as TrafficScope;
}

/** What the API server would say about the spec: schema and CEL rules from the YAML file. */
function apiServerErrors(spec: unknown) {
  const root = schemaFromJson(crdSchemaJson(readCrd(TRAFFIC_SCOPE_KIND)));
  return validateValue(spec, root.properties?.spec as Schema, 'spec', celEvaluator);
}

const VALID: [string, unknown][] = [
  ['own namespace and pilotfish\'s', { egress: { hosts: ['./*', 'pilotfish-system/*'] } }],
  ['one service anywhere', { egress: { hosts: ['*/reviews.shop.svc.cluster.local'] } }],
  ['a suffix', { egress: { hosts: ['*/*.shop.svc.cluster.local'] } }],
  ['the whole mesh', { egress: { hosts: ['*/*'] } }],
  ['a workload', { selector: { matchLabels: { app: 'web' } }, egress: { hosts: ['./*'] } }],
  ['as many hosts as allowed', { egress: { hosts: Array.from({ length: MAX_EGRESS_HOSTS }, (_, i) => `ns-${i}/*`) } }],
];

interface Invalid { readonly name: string; readonly object: CustomObject; readonly path: string; readonly message: RegExp; readonly by: 'schema' | 'envelope' }

const INVALID: readonly Invalid[] = [
  { name: 'no spec', object: scope(undefined), path: 'spec', message: /is required/, by: 'envelope' },
  { name: 'no egress', object: scope({}), path: 'spec.egress', message: /is required/, by: 'schema' },
  { name: 'no hosts', object: scope({ egress: { hosts: [] } }), path: 'spec.egress.hosts', message: /at least 1/, by: 'schema' },
  { name: 'a host without namespace', object: scope({ egress: { hosts: ['reviews.shop.svc.cluster.local'] } }), path: 'spec.egress.hosts[0]', message: /namespace>\/<host>|must match/, by: 'schema' },
  { name: 'an upper-case host', object: scope({ egress: { hosts: ['./Reviews'] } }), path: 'spec.egress.hosts[0]', message: /namespace>\/<host>|must match/, by: 'schema' },
  { name: 'a wildcard in the middle', object: scope({ egress: { hosts: ['./a.*.b'] } }), path: 'spec.egress.hosts[0]', message: /namespace>\/<host>|must match/, by: 'schema' },
  { name: 'the same host twice', object: scope({ egress: { hosts: ['./*', './*'] } }), path: 'spec.egress.hosts[1]', message: /duplicate/, by: 'schema' },
  { name: 'too many hosts', object: scope({ egress: { hosts: Array.from({ length: MAX_EGRESS_HOSTS + 1 }, (_, i) => `ns-${i}/*`) } }), path: 'spec.egress.hosts', message: /at most 256/, by: 'schema' },
  { name: 'a selector without labels', object: scope({ selector: {}, egress: { hosts: ['./*'] } }), path: 'spec', message: /^a selector needs at least one label in matchLabels/, by: 'schema' },
  { name: 'a selector with empty matchLabels', object: scope({ selector: { matchLabels: {} }, egress: { hosts: ['./*'] } }), path: 'spec', message: /a selector needs at least one label/, by: 'schema' },
  { name: 'an empty label name', object: scope({ selector: { matchLabels: { '': 'a' } }, egress: { hosts: ['./*'] } }), path: 'spec.selector.matchLabels', message: /label names must be 1 to 317/, by: 'schema' },
  { name: 'unknown field', object: scope({ egress: { hosts: ['./*'], ports: [80] } }), path: 'spec.egress.ports', message: /unknown field/, by: 'schema' },
  { name: 'wrong kind', object: { ...scope({ egress: { hosts: ['./*'] } }), kind: 'Sidecar' }, path: 'kind', message: /must be TrafficScope/, by: 'envelope' },
];

describe('TrafficScope: parsing', () => {
  it('keeps identity and selector, resolves "." to its namespace and drops what repeats after that', () => {
    const s = ok(parseTrafficScope(scope({
      selector: { matchLabels: { app: 'web' } },
      egress: { hosts: ['./*', 'shop/*', '*/reviews.other.svc.cluster.local', 'pilotfish-system/*'] },
    }, 'web', 'shop', { generation: 2, uid: 'u-1', creationTimestamp: '2026-01-01T00:00:00Z' })));
    assert.deepEqual(s, {
      meta: { kind: 'TrafficScope', namespace: 'shop', name: 'web', generation: 2, uid: 'u-1', creationTimestamp: '2026-01-01T00:00:00Z' },
      selector: { app: 'web' },
      egressHosts: [
        { namespace: 'shop', host: '*' },
        { namespace: '*', host: 'reviews.other.svc.cluster.local' },
        { namespace: 'pilotfish-system', host: '*' },
      ],
    });
  });

  it('has no selector without one (the whole namespace)', () => {
    assert.equal(ok(parseTrafficScope(scope({ egress: { hosts: ['./*'] } }))).selector, undefined);
  });

  describe('refuses, at the path the API server would name', () => {
    for (const c of INVALID) {
      it(`${c.name} (${c.by})`, () => {
        const errors = parseTrafficScope(c.object).errors ?? [];
        assert.ok(errors.some((e) => e.path === c.path && c.message.test(e.message)),
          `no error at ${c.path} matching ${c.message}: ${errors.map(formatFieldError).join('; ')}`);
      });
    }
  });
});

describe('TrafficScope: the CRD and parsing agree', () => {
  for (const [name, spec] of VALID) {
    it(`admits ${name} in both, and the CEL engine parses it to the same model`, () => {
      assert.deepEqual(apiServerErrors(spec).map(formatFieldError), []);
      const twin = parseTrafficScope(scope(spec));
      assert.equal(twin.errors, undefined);
      assert.deepEqual(parseTrafficScope(scope(spec), celEvaluator), twin);
    });
  }

  for (const c of INVALID.filter((x) => x.by === 'schema')) {
    it(`refuses ${c.name} in both, at the same paths`, () => {
      const api = apiServerErrors(c.object.spec);
      const twin = parseTrafficScope(c.object).errors ?? [];
      assert.deepEqual(api.map((e) => e.path), twin.map((e) => e.path));
      assert.ok(api.some((e) => e.path === c.path && c.message.test(e.message)), api.map(formatFieldError).join('; '));
    });
  }

  it('every CEL rule is exercised passing and failing, and the engine agrees with its twin each time', () => {
    const seen = new Map<string, { pass: number; fail: number }>();
    const comparing: RuleEvaluator = (rule: CelRule, self: unknown) => {
      const cel = celEvaluator(rule, self);
      assert.equal(rule.check(self), cel, `rule ${rule.rule} on ${JSON.stringify(self)}`);
      const key = `${rule.rule} | ${rule.message}`;
      const s = seen.get(key) ?? { pass: 0, fail: 0 };
      if (cel) s.pass++; else s.fail++;
      seen.set(key, s);
      return cel;
    };
    for (const [, spec] of VALID) parseTrafficScope(scope(spec), comparing);
    for (const c of INVALID) parseTrafficScope(c.object, comparing);
    const all = new Set<string>();
    const collect = (s: Schema): void => {
      for (const r of s['x-kubernetes-validations'] ?? []) all.add(`${r.rule} | ${r.message}`);
      for (const sub of Object.values(s.properties ?? {})) collect(sub);
      if (s.additionalProperties) collect(s.additionalProperties);
    };
    collect(TRAFFIC_SCOPE_SPEC);
    assert.equal(all.size, 2);
    assert.deepEqual([...all].filter((k) => !seen.get(k)?.pass || !seen.get(k)?.fail), [], 'rules without a passing and a failing fixture');
  });
});
