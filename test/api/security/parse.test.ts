// parsePeerAuthentication: the model it builds, the objects it refuses (at API-server paths), and
// proof that it refuses what the API server refuses — the CEL rules run in a real CEL engine on
// the schema read back from crds/, and must agree with their TypeScript twins every time.
import assert from 'node:assert/strict';
import { parsePeerAuthentication } from '../../../src/api/security/v1alpha1/parse.js';
import { PEER_AUTHENTICATION_SPEC } from '../../../src/api/security/v1alpha1/schema.js';
import { SECURITY_API_VERSION } from '../../../src/api/security/v1alpha1/crd.js';
import { formatFieldError, validateValue, type CelRule, type RuleEvaluator, type Schema } from '../../../src/api/routing/v1alpha1/openapi.js';
import type { ParseResult } from '../../../src/api/routing/v1alpha1/parse.js';
import type { CustomObject } from '../../../src/model/k8s-object.js';
import type { PeerAuthentication } from '../../../src/model/peer-authentication.js';
import { celEvaluator, crdSchemaJson, schemaFromJson } from '../routing/crd-support.js';
import { readPeerAuthenticationCrd } from './crd-file.js';

function pa(spec: unknown, name = 'policy', namespace = 'shop', metadata: Record<string, unknown> = {}): CustomObject {
  return { apiVersion: SECURITY_API_VERSION, kind: 'PeerAuthentication', metadata: { name, namespace, ...metadata }, spec };
}

function ok(r: ParseResult<PeerAuthentication>): PeerAuthentication {
  if (r.errors) assert.fail(`expected a valid object, got:\n${r.errors.map(formatFieldError).join('\n')}`);
  return r.ok as PeerAuthentication;
}

function yamlSpecSchema(): Schema {
  return schemaFromJson(crdSchemaJson(readPeerAuthenticationCrd())).properties?.spec as Schema;
}

/** What the API server would say about the spec: schema and CEL rules from the YAML file. */
function apiServerErrors(spec: unknown) {
  return validateValue(spec ?? {}, yamlSpecSchema(), 'spec', celEvaluator);
}

const VALID: [string, unknown][] = [
  ['empty spec', {}],
  ['absent spec', undefined],
  ['namespace-wide STRICT', { mtls: { mode: 'STRICT' } }],
  ['workload with ports', {
    selector: { matchLabels: { app: 'reviews', version: 'v2' } },
    mtls: { mode: 'PERMISSIVE' },
    portLevelMtls: { 8080: { mode: 'DISABLE' }, 9090: { mode: 'STRICT' }, 15: {} },
  }],
  ['selector without mode', { selector: { matchLabels: { app: 'a' } } }],
  ['empty selector', { selector: {}, mtls: { mode: 'DISABLE' } }],
  ['UNSET everywhere', { selector: { matchLabels: { app: 'a' } }, mtls: { mode: 'UNSET' }, portLevelMtls: { 1: { mode: 'UNSET' }, 65535: { mode: 'UNSET' } } }],
];

interface Invalid { readonly name: string; readonly object: CustomObject; readonly path: string; readonly message: RegExp; readonly by: 'schema' | 'parser' | 'envelope' }

const INVALID: readonly Invalid[] = [
  { name: 'unknown mode', object: pa({ mtls: { mode: 'ON' } }), path: 'spec.mtls.mode', message: /must be one of: PERMISSIVE, STRICT, DISABLE, UNSET/, by: 'schema' },
  { name: 'lower-case mode', object: pa({ mtls: { mode: 'strict' } }), path: 'spec.mtls.mode', message: /must be one of/, by: 'schema' },
  { name: 'unknown field', object: pa({ mtls: { mode: 'STRICT', extra: 1 } }), path: 'spec.mtls.extra', message: /unknown field/, by: 'schema' },
  { name: 'unknown spec field', object: pa({ targetRefs: [] }), path: 'spec.targetRefs', message: /unknown field/, by: 'schema' },
  { name: 'port-level without selector', object: pa({ portLevelMtls: { 80: { mode: 'STRICT' } } }), path: 'spec', message: /^portLevelMtls requires a selector with matchLabels$/, by: 'schema' },
  { name: 'port-level with an empty selector', object: pa({ selector: { matchLabels: {} }, portLevelMtls: { 80: { mode: 'STRICT' } } }), path: 'spec', message: /portLevelMtls requires a selector/, by: 'schema' },
  { name: 'port 0', object: pa({ selector: { matchLabels: { app: 'a' } }, portLevelMtls: { 0: { mode: 'STRICT' } } }), path: 'spec.portLevelMtls', message: /port must be between 1 and 65535/, by: 'schema' },
  { name: 'port 65536', object: pa({ selector: { matchLabels: { app: 'a' } }, portLevelMtls: { 65536: { mode: 'STRICT' } } }), path: 'spec.portLevelMtls', message: /port must be between 1 and 65535/, by: 'schema' },
  { name: 'port not a number', object: pa({ selector: { matchLabels: { app: 'a' } }, portLevelMtls: { http: { mode: 'STRICT' } } }), path: 'spec.portLevelMtls', message: /port must be between 1 and 65535/, by: 'schema' },
  { name: 'port-level mode unknown', object: pa({ selector: { matchLabels: { app: 'a' } }, portLevelMtls: { 80: { mode: 'ON' } } }), path: 'spec.portLevelMtls[80].mode', message: /must be one of/, by: 'schema' },
  { name: 'label value with a space', object: pa({ selector: { matchLabels: { app: 'a b' } } }), path: 'spec.selector.matchLabels[app]', message: /must be a label value|must match/, by: 'schema' },
  { name: 'empty label name', object: pa({ selector: { matchLabels: { '': 'a' } } }), path: 'spec.selector.matchLabels', message: /label names must be 1 to 317 characters long/, by: 'schema' },
  { name: 'label name too long', object: pa({ selector: { matchLabels: { ['k'.repeat(318)]: 'a' } } }), path: 'spec.selector.matchLabels', message: /label names must be 1 to 317/, by: 'schema' },
  { name: 'too many ports', object: pa({ selector: { matchLabels: { app: 'a' } }, portLevelMtls: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [String(i + 1), {}])) }), path: 'spec.portLevelMtls', message: /at most 64 entries/, by: 'schema' },
  { name: 'selector as a list', object: pa({ selector: [] }), path: 'spec.selector', message: /must be an object/, by: 'schema' },
  { name: 'the same port twice', object: pa({ selector: { matchLabels: { app: 'a' } }, portLevelMtls: { 80: { mode: 'STRICT' }, '080': { mode: 'DISABLE' } } }), path: 'spec.portLevelMtls[080]', message: /port 80 is given more than once/, by: 'parser' },
  { name: 'wrong apiVersion', object: { ...pa({}), apiVersion: 'security.istio.io/v1' }, path: 'apiVersion', message: /must be security.pilotfish.io\/v1alpha1/, by: 'envelope' },
  { name: 'wrong kind', object: { ...pa({}), kind: 'AuthorizationPolicy' }, path: 'kind', message: /must be PeerAuthentication/, by: 'envelope' },
  { name: 'a huge kind is quoted cut short', object: { ...pa({}), kind: 'K'.repeat(10_000) }, path: 'kind', message: /^must be PeerAuthentication \(got "K{99}…\)$/, by: 'envelope' },
  { name: 'no name', object: { ...pa({}), metadata: { name: '' } }, path: 'metadata.name', message: /is required/, by: 'envelope' },
  { name: 'upper-case name', object: pa({}, 'Strict'), path: 'metadata.name', message: /must be a DNS subdomain/, by: 'envelope' },
];

describe('PeerAuthentication: parsing', () => {
  it('keeps identity, selector, mode and port modes (sorted by port)', () => {
    const p = ok(parsePeerAuthentication(pa({
      selector: { matchLabels: { app: 'reviews' } }, mtls: { mode: 'STRICT' },
      portLevelMtls: { 9090: { mode: 'DISABLE' }, 8080: {} },
    }, 'reviews-strict', 'shop', { generation: 3, uid: 'u-1', resourceVersion: '7', creationTimestamp: '2026-01-01T00:00:00Z' })));
    assert.deepEqual(p, {
      meta: {
        kind: 'PeerAuthentication', namespace: 'shop', name: 'reviews-strict', generation: 3, uid: 'u-1', resourceVersion: '7',
        creationTimestamp: '2026-01-01T00:00:00Z',
      },
      selector: { app: 'reviews' },
      mode: 'STRICT',
      portLevelMtls: [{ port: 8080, mode: 'UNSET' }, { port: 9090, mode: 'DISABLE' }],
    });
  });

  it('reads an empty or absent spec as UNSET everywhere, and an empty selector as none', () => {
    for (const spec of [undefined, {}, { selector: {} }, { selector: { matchLabels: {} } }]) {
      const p = ok(parsePeerAuthentication(pa(spec)));
      assert.equal(p.mode, 'UNSET');
      assert.equal(p.selector, undefined);
      assert.deepEqual(p.portLevelMtls, []);
    }
  });

  it('takes a Date creationTimestamp (as informers hand it over) and defaults the namespace', () => {
    const obj = pa({});
    obj.metadata = { name: 'p', creationTimestamp: new Date('2026-02-03T04:05:06Z') as unknown as string };
    const p = ok(parsePeerAuthentication(obj));
    assert.equal(p.meta.creationTimestamp, '2026-02-03T04:05:06.000Z');
    assert.equal(p.meta.namespace, 'default');
  });

  describe('refuses, at the path the API server would name', () => {
    for (const c of INVALID) {
      it(`${c.name} (${c.by})`, () => {
        const errors = parsePeerAuthentication(c.object).errors ?? [];
        const at = errors.filter((e) => e.path === c.path);
        assert.ok(at.some((e) => c.message.test(e.message)), `no error at ${c.path} matching ${c.message}: ${errors.map(formatFieldError).join('; ')}`);
      });
    }
    it('a value that is not an object at all', () => {
      assert.deepEqual(parsePeerAuthentication(null as unknown as CustomObject).errors, [{ path: '', message: 'a PeerAuthentication must be an object' }]);
    });
  });
});

describe('PeerAuthentication: the CRD and parsing agree', () => {
  for (const [name, spec] of VALID) {
    it(`admits ${name} in both, and the CEL engine parses it to the same model`, () => {
      assert.deepEqual(apiServerErrors(spec).map(formatFieldError), []);
      const twin = parsePeerAuthentication(pa(spec));
      assert.equal(twin.errors, undefined);
      assert.deepEqual(parsePeerAuthentication(pa(spec), celEvaluator), twin);
    });
  }

  for (const c of INVALID.filter((x) => x.by === 'schema')) {
    it(`refuses ${c.name} in both, at the same paths`, () => {
      const api = apiServerErrors(c.object.spec);
      const twin = parsePeerAuthentication(c.object).errors ?? [];
      assert.deepEqual(api.map((e) => e.path), twin.map((e) => e.path));
      assert.ok(api.some((e) => e.path === c.path && c.message.test(e.message)), api.map(formatFieldError).join('; '));
    });
  }

  for (const c of INVALID.filter((x) => x.by === 'parser')) {
    it(`admits ${c.name} (only parsing can see it)`, () => {
      assert.deepEqual(apiServerErrors(c.object.spec), []);
    });
  }

  it('every CEL rule is exercised passing and failing, and the engine agrees with its twin each time', () => {
    const seen = new Map<string, { pass: number; fail: number }>();
    const comparing: RuleEvaluator = (rule: CelRule, self: unknown) => {
      let cel: boolean | Error;
      let twin: boolean | Error;
      try { cel = celEvaluator(rule, self); } catch (e) { cel = e as Error; }
      try { twin = rule.check(self); } catch (e) { twin = e as Error; }
      // Both throw on a value CEL cannot convert (int("http")); the API server refuses those too.
      assert.equal(typeof twin, typeof cel, `rule ${rule.rule} on ${JSON.stringify(self)}: CEL says ${String(cel)}, twin says ${String(twin)}`);
      if (typeof cel === 'boolean') assert.equal(twin, cel, `rule ${rule.rule} on ${JSON.stringify(self)}`);
      const key = `${rule.rule} | ${rule.message}`;
      const s = seen.get(key) ?? { pass: 0, fail: 0 };
      if (cel === true) s.pass++; else s.fail++;
      seen.set(key, s);
      if (cel instanceof Error) throw cel;
      return cel;
    };
    for (const [, spec] of VALID) parsePeerAuthentication(pa(spec), comparing);
    for (const c of INVALID) parsePeerAuthentication(c.object, comparing);
    const all = new Set<string>();
    const collect = (s: Schema): void => {
      for (const r of s['x-kubernetes-validations'] ?? []) all.add(`${r.rule} | ${r.message}`);
      for (const sub of Object.values(s.properties ?? {})) collect(sub);
      if (s.additionalProperties) collect(s.additionalProperties);
    };
    collect(PEER_AUTHENTICATION_SPEC);
    assert.ok(all.size >= 3);
    assert.deepEqual([...all].filter((k) => !seen.get(k)?.pass || !seen.get(k)?.fail), [], 'rules without a passing and a failing fixture');
  });
});
