// Proves that parsing refuses what the API server refuses: the CEL rules are evaluated by a real
// CEL engine (not their TypeScript twins), and the schema is read back from crds/*.yaml.
import assert from 'node:assert/strict';
import { TRAFFIC_POLICY_SPEC, TRAFFIC_ROUTE_SPEC } from '../../../src/api/routing/v1alpha1/schema.js';
import { TRAFFIC_POLICY_KIND, TRAFFIC_ROUTE_KIND, type RoutingKindInfo } from '../../../src/api/routing/v1alpha1/crd.js';
import { formatFieldError, validateValue, type CelRule, type FieldError, type RuleEvaluator, type Schema } from '../../../src/api/routing/v1alpha1/openapi.js';
import { parseRoutingObject } from '../../../src/api/routing/v1alpha1/parse.js';
import { celEvaluator, crdSchemaJson, readCrd, schemaFromJson } from './crd-support.js';
import {
  INVALID_POLICIES, INVALID_ROUTES, trafficPolicy, trafficRoute, validPolicySpec, validRouteSpec, type InvalidCase,
} from '../../support/routing-fixtures.js';
import type { CustomObject } from '../../../src/model/k8s-object.js';

function yamlSpecSchema(info: RoutingKindInfo): Schema {
  const root = schemaFromJson(crdSchemaJson(readCrd(info)));
  return root.properties?.spec as Schema;
}

function infoOf(obj: CustomObject): RoutingKindInfo {
  return obj.kind === 'TrafficPolicy' ? TRAFFIC_POLICY_KIND : TRAFFIC_ROUTE_KIND;
}

/** What the API server would say about the object's spec (schema and CEL from the YAML file). */
function apiServerErrors(obj: CustomObject) {
  return validateValue(obj.spec, yamlSpecSchema(infoOf(obj)), 'spec', celEvaluator);
}

const VALID: [string, CustomObject][] = [
  ['full TrafficRoute', trafficRoute(validRouteSpec())],
  ['full TrafficPolicy', trafficPolicy(validPolicySpec())],
  ['minimal TrafficRoute', trafficRoute({ hosts: ['a'], http: [{ route: [{ destination: { host: 'a' } }] }] })],
  ['minimal TrafficPolicy', trafficPolicy({ host: 'a' })],
];

describe('routing CRDs and parsing agree', () => {
  describe('valid objects pass both', () => {
    for (const [name, obj] of VALID) {
      it(name, () => {
        assert.deepEqual(apiServerErrors(obj).map(formatFieldError), []);
        const twin = parseRoutingObject(obj);
        const cel = parseRoutingObject(obj, celEvaluator);
        assert.equal(twin.errors, undefined);
        assert.deepEqual(cel, twin);
      });
    }
  });

  describe('invalid objects fail both, at the same path', () => {
    for (const c of [...INVALID_ROUTES, ...INVALID_POLICIES].filter((x) => x.by === 'schema')) {
      it(`${c.object.kind}: ${c.name}`, () => {
        const twin = parseRoutingObject(c.object).errors ?? [];
        const cel = parseRoutingObject(c.object, celEvaluator).errors ?? [];
        assert.deepEqual(cel, twin, 'CEL rules and their TypeScript twins disagree');
        const api = apiServerErrors(c.object);
        assert.ok(api.some((e) => e.path === c.path), `the CRD does not refuse it at ${c.path}: ${api.map(formatFieldError).join('; ')}`);
        assert.deepEqual(api.map((e) => e.path), twin.map((e) => e.path));
        // CEL messages come from the YAML, so they must be word for word what parsing says.
        const celMessages = (errs: readonly FieldError[]) => errs.filter((e) => !/^must |^is required|^unknown field|^duplicate/.test(e.message)).map(formatFieldError);
        assert.deepEqual(celMessages(api), celMessages(twin));
      });
    }
  });

  describe('checks only parsing can make (the API server admits these; status then says why they are not applied)', () => {
    for (const c of [...INVALID_ROUTES, ...INVALID_POLICIES].filter((x: InvalidCase) => x.by === 'parser')) {
      it(`${c.object.kind}: ${c.name}`, () => {
        assert.deepEqual(apiServerErrors(c.object), []);
        assert.ok(parseRoutingObject(c.object).errors?.some((e) => e.path === c.path));
      });
    }
  });

  it('every CEL rule is exercised both passing and failing, and the engine agrees with its twin each time', () => {
    const seen = new Map<string, { pass: number; fail: number }>();
    const comparing: RuleEvaluator = (rule: CelRule, self: unknown) => {
      const cel = celEvaluator(rule, self);
      const twin = rule.check(self);
      assert.equal(twin, cel, `rule ${rule.rule} on ${JSON.stringify(self)}: CEL says ${cel}, twin says ${twin}`);
      const key = `${rule.rule} | ${rule.message}`;
      const s = seen.get(key) ?? { pass: 0, fail: 0 };
      if (cel) s.pass++; else s.fail++;
      seen.set(key, s);
      return cel;
    };
    for (const [, obj] of VALID) parseRoutingObject(obj, comparing);
    for (const c of [...INVALID_ROUTES, ...INVALID_POLICIES]) parseRoutingObject(c.object, comparing);

    const all = new Set<string>();
    const collect = (s: Schema): void => {
      for (const r of s['x-kubernetes-validations'] ?? []) all.add(`${r.rule} | ${r.message}`);
      for (const sub of Object.values(s.properties ?? {})) collect(sub);
      if (s.items) collect(s.items);
      if (s.additionalProperties) collect(s.additionalProperties);
    };
    collect(TRAFFIC_ROUTE_SPEC);
    collect(TRAFFIC_POLICY_SPEC);
    const missing = [...all].filter((k) => !seen.get(k)?.pass || !seen.get(k)?.fail);
    assert.deepEqual(missing, [], 'rules without a passing and a failing fixture');
  });

  it('duration rules agree with CEL duration() on edge values', () => {
    const rule = (TRAFFIC_ROUTE_SPEC.properties?.http.items?.properties?.retries.properties?.perTryTimeout['x-kubernetes-validations'] ?? [])[0];
    for (const d of ['0s', '0ms', '1ms', '0.001s', '1m30s', '1h', '2h3m4.5s', '1s500ms']) {
      assert.equal(rule.check(d), celEvaluator(rule, d), d);
    }
  });
});
