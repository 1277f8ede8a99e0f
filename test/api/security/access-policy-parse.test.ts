// parseAccessPolicy: the model it builds, the objects it refuses (at API-server paths), and proof
// that it refuses what the API server refuses — patterns and CEL rules run on the schema read back
// from crds/ (CEL in a real engine), and the CEL rules agree with their TypeScript twins.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { parseAccessPolicy } from '../../../src/api/security/v1alpha1/access-policy-parse.js';
import { ACCESS_POLICY_CRD_FILE } from '../../../src/api/security/v1alpha1/access-policy-crd.js';
import { ACCESS_POLICY_SPEC } from '../../../src/api/security/v1alpha1/access-policy-schema.js';
import { SECURITY_API_VERSION } from '../../../src/api/security/v1alpha1/crd.js';
import { formatFieldError, validateValue, type CelRule, type RuleEvaluator, type Schema } from '../../../src/api/routing/v1alpha1/openapi.js';
import type { AccessPolicy } from '../../../src/model/access-policy.js';
import type { CustomObject } from '../../../src/model/k8s-object.js';
import { celEvaluator, crdSchemaJson, REPO_ROOT, schemaFromJson, type Json } from '../routing/crd-support.js';

function ap(spec: unknown, name = 'policy', namespace = 'shop'): CustomObject {
  return { apiVersion: SECURITY_API_VERSION, kind: 'AccessPolicy', metadata: { name, namespace }, spec };
}

function ok(spec: unknown): AccessPolicy {
  const r = parseAccessPolicy(ap(spec));
  if (r.errors) assert.fail(`expected a valid object, got:\n${r.errors.map(formatFieldError).join('\n')}`);
  return r.ok as AccessPolicy;
}

function yamlSpecSchema(): Schema {
  const crd = YAML.parse(readFileSync(path.join(REPO_ROOT, 'crds', ACCESS_POLICY_CRD_FILE), 'utf8')) as { [k: string]: Json };
  return schemaFromJson(crdSchemaJson(crd)).properties?.spec as Schema;
}

function apiServerErrors(spec: unknown) {
  return validateValue(spec ?? {}, yamlSpecSchema(), 'spec', celEvaluator);
}

const from = (source: unknown) => ({ rules: [{ from: [{ source }] }] });
const to = (operation: unknown) => ({ rules: [{ to: [{ operation }] }] });

const VALID: [string, unknown][] = [
  ['absent spec (ALLOW nothing)', undefined],
  ['allow all', { rules: [{}] }],
  ['every field', {
    selector: { matchLabels: { app: 'payments' } }, action: 'DENY',
    rules: [{
      from: [{ source: { principals: ['cluster.local/ns/shop/sa/checkout', '*/sa/admin', 'spiffe://td/ns/ops/*', '*'], namespaces: ['shop', 'team-*', '*-prod', '*'] } }],
      to: [{ operation: { ports: ['1', '65535'], methods: ['POST'], paths: ['/charge', '/api/*', '*.json', '*'] } }],
      when: [{ key: 'request.headers[x-user]', values: ['alice', 'b*', '*c', '*'] }],
    }],
  }],
  ['AUDIT', { action: 'AUDIT', rules: [{ to: [{ operation: { methods: ['DELETE'] } }] }] }],
];

interface Invalid { readonly name: string; readonly spec: unknown; readonly path: string; readonly message: RegExp }

const INVALID: readonly Invalid[] = [
  { name: 'an empty label name', spec: { selector: { matchLabels: { '': 'a' } } }, path: 'spec.selector.matchLabels', message: /label names must be 1 to 317/ },
  { name: 'unknown action', spec: { action: 'CUSTOM' }, path: 'spec.action', message: /must be one of: ALLOW, DENY, AUDIT/ },
  { name: 'empty source', spec: from({}), path: 'spec.rules[0].from[0].source', message: /^a source must name principals or namespaces$/ },
  { name: 'empty operation', spec: to({}), path: 'spec.rules[0].to[0].operation', message: /^an operation must name ports, methods or paths$/ },
  { name: 'a star inside a principal', spec: from({ principals: ['spiffe://td/*/sa/x'] }), path: 'spec.rules[0].from[0].source.principals[0]', message: /must be a SPIFFE ID/ },
  { name: 'stars at both ends', spec: from({ principals: ['*sa*'] }), path: 'spec.rules[0].from[0].source.principals[0]', message: /must be a SPIFFE ID/ },
  { name: 'a namespace with capitals', spec: from({ namespaces: ['Shop'] }), path: 'spec.rules[0].from[0].source.namespaces[0]', message: /must be a namespace name/ },
  { name: 'port 0', spec: to({ ports: ['0'] }), path: 'spec.rules[0].to[0].operation.ports[0]', message: /port number from 1 to 65535/ },
  { name: 'port 65536', spec: to({ ports: ['65536'] }), path: 'spec.rules[0].to[0].operation.ports[0]', message: /port number from 1 to 65535/ },
  { name: 'port as a number', spec: to({ ports: [80] }), path: 'spec.rules[0].to[0].operation.ports[0]', message: /must be a string/ },
  { name: 'a path with a query', spec: to({ paths: ['/a?b=c'] }), path: 'spec.rules[0].to[0].operation.paths[0]', message: /no query string/ },
  { name: 'a relative path', spec: to({ paths: ['api/*'] }), path: 'spec.rules[0].to[0].operation.paths[0]', message: /starting with "\/"/ },
  { name: 'a method with a space', spec: to({ methods: ['GET POST'] }), path: 'spec.rules[0].to[0].operation.methods[0]', message: /HTTP method/ },
  { name: 'a condition other than a header', spec: { rules: [{ when: [{ key: 'source.ip', values: ['1.2.3.4'] }] }] }, path: 'spec.rules[0].when[0].key', message: /request.headers\[<name>\]/ },
  { name: 'a header value with a newline', spec: { rules: [{ when: [{ key: 'request.headers[x]', values: ['a\nb'] }] }] }, path: 'spec.rules[0].when[0].values[0]', message: /without NUL, CR or LF/ },
  { name: 'a condition without values', spec: { rules: [{ when: [{ key: 'request.headers[x]', values: [] }] }] }, path: 'spec.rules[0].when[0].values', message: /at least 1 item/ },
  { name: 'too many rules', spec: { rules: Array.from({ length: 65 }, () => ({})) }, path: 'spec.rules', message: /at most 64 items/ },
  { name: 'too many principals', spec: from({ principals: Array.from({ length: 65 }, (_, i) => `td/ns/a/sa/${i}`) }), path: 'spec.rules[0].from[0].source.principals', message: /at most 64 items/ },
  { name: 'a principal too long', spec: from({ principals: [`td/${'a'.repeat(600)}`] }), path: 'spec.rules[0].from[0].source.principals[0]', message: /at most 512 characters/ },
  { name: 'an unknown field (Istio notPrincipals)', spec: from({ principals: ['a'], notPrincipals: ['b'] }), path: 'spec.rules[0].from[0].source.notPrincipals', message: /unknown field/ },
];

describe('AccessPolicy: parsing', () => {
  it('reads an absent spec as an ALLOW policy without rules (denies everything it covers), and an empty selector as none', () => {
    for (const spec of [undefined, {}, { selector: {} }, { selector: { matchLabels: {} } }]) {
      const p = ok(spec);
      assert.equal(p.action, 'ALLOW');
      assert.deepEqual(p.rules, []);
      assert.equal(p.selector, undefined);
    }
  });

  it('turns Istio wildcards into patterns and adds spiffe:// to principals written without it', () => {
    const p = ok(VALID[2]![1]);
    const r = p.rules[0]!;
    assert.deepEqual(r.from[0]!.principals, [
      { match: 'exact', value: 'spiffe://cluster.local/ns/shop/sa/checkout' }, { match: 'suffix', value: '/sa/admin' },
      { match: 'prefix', value: 'spiffe://td/ns/ops/' }, { match: 'any', value: '' },
    ]);
    assert.deepEqual(r.from[0]!.namespaces.map((n) => n.match), ['exact', 'prefix', 'suffix', 'any']);
    assert.deepEqual(r.to[0]!.ports, [1, 65535]);
    assert.deepEqual(r.when[0]!.header, 'x-user');
    assert.deepEqual(p.selector, { app: 'payments' });
    assert.equal(p.action, 'DENY');
  });

  for (const c of INVALID) {
    it(`refuses ${c.name} at ${c.path}, as the API server does`, () => {
      const errors = parseAccessPolicy(ap(c.spec)).errors ?? [];
      assert.ok(errors.some((e) => e.path === c.path && c.message.test(e.message)), `no error at ${c.path} matching ${c.message}: ${errors.map(formatFieldError).join('; ')}`);
      const api = apiServerErrors(c.spec);
      assert.deepEqual(api.map((e) => e.path), errors.map((e) => e.path), 'the CRD read back from crds/ refuses it at the same paths');
    });
  }

  for (const [name, spec] of VALID) {
    it(`admits ${name} in both, and the CEL engine parses it to the same model`, () => {
      assert.deepEqual(apiServerErrors(spec).map(formatFieldError), []);
      const twin = parseAccessPolicy(ap(spec));
      assert.equal(twin.errors, undefined);
      assert.deepEqual(parseAccessPolicy(ap(spec), celEvaluator), twin);
    });
  }

  it('every CEL rule is exercised passing and failing, and the engine agrees with its twin each time', () => {
    const seen = new Map<string, { pass: number; fail: number }>();
    const comparing: RuleEvaluator = (rule: CelRule, self: unknown) => {
      const cel = celEvaluator(rule, self);
      assert.equal(rule.check(self), cel, `rule ${rule.rule} on ${JSON.stringify(self)}`);
      const s = seen.get(rule.rule) ?? { pass: 0, fail: 0 };
      if (cel) s.pass++; else s.fail++;
      seen.set(rule.rule, s);
      return cel;
    };
    for (const [, spec] of VALID) parseAccessPolicy(ap(spec), comparing);
    for (const c of INVALID) parseAccessPolicy(ap(c.spec), comparing);
    const all = new Set<string>();
    const collect = (s: Schema): void => {
      for (const r of s['x-kubernetes-validations'] ?? []) all.add(r.rule);
      for (const sub of Object.values(s.properties ?? {})) collect(sub);
      if (s.items) collect(s.items);
      if (s.additionalProperties) collect(s.additionalProperties);
    };
    collect(ACCESS_POLICY_SPEC);
    assert.ok(all.size >= 3);
    assert.deepEqual([...all].filter((k) => !seen.get(k)?.pass || !seen.get(k)?.fail), [], 'rules without a passing and a failing fixture');
  });
});
