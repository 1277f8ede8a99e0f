import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import {
  crdName, renderCrdYaml, routingCrd, ROUTING_GROUP, TRAFFIC_POLICY_KIND, TRAFFIC_ROUTE_KIND, TRAFFIC_SCOPE_KIND, type RoutingKindInfo,
} from '../../../src/api/routing/v1alpha1/crd.js';
import {
  crdPath, crdSchemaJson, readCrd, readCrdText, schemaAt, structuralProblems, type Json,
} from './crd-support.js';

// Regenerating is an explicit act, like golden files: PILOTFISH_UPDATE_CRDS=1.
const UPDATE = process.env.PILOTFISH_UPDATE_CRDS === '1';

const KINDS: readonly RoutingKindInfo[] = [TRAFFIC_ROUTE_KIND, TRAFFIC_POLICY_KIND, TRAFFIC_SCOPE_KIND];

describe('routing CRDs (crds/*.yaml)', () => {
  for (const info of KINDS) {
    describe(info.kind, () => {
      it('is the rendering of src/api/routing/v1alpha1/schema.ts', () => {
        const want = renderCrdYaml(info);
        if (UPDATE) writeFileSync(crdPath(info), want);
        assert.equal(readCrdText(info), want,
          `${crdPath(info)} is stale: run npm run build && PILOTFISH_UPDATE_CRDS=1 npx mocha dist/test/api/routing/crds.test.js`);
        assert.deepEqual(readCrd(info), routingCrd(info), 'the YAML must parse back to the same CRD');
      });

      it('declares a namespaced v1alpha1 kind with status subresource, short name and printer columns', () => {
        const crd = readCrd(info) as { [k: string]: Json } & {
          spec: {
            group: string; scope: string;
            names: { kind: string; plural: string; singular: string; listKind: string; shortNames: string[] };
            versions: { name: string; served: boolean; storage: boolean; subresources: { status: Json };
              additionalPrinterColumns: { name: string; type: string; jsonPath: string }[] }[];
          };
        };
        assert.equal(crd.apiVersion, 'apiextensions.k8s.io/v1');
        assert.equal(crd.kind, 'CustomResourceDefinition');
        assert.equal((crd.metadata as { name: string }).name, `${crd.spec.names.plural}.${crd.spec.group}`);
        assert.equal((crd.metadata as { name: string }).name, crdName(info));
        assert.equal(crd.spec.group, ROUTING_GROUP);
        assert.equal(crd.spec.scope, 'Namespaced');
        assert.deepEqual(crd.spec.names.shortNames, [info.shortName]);
        assert.equal(crd.spec.names.kind, info.kind);
        assert.equal(crd.spec.names.listKind, `${info.kind}List`);
        assert.equal(crd.spec.versions.length, 1);
        const v = crd.spec.versions[0];
        assert.equal(v.name, 'v1alpha1');
        assert.equal(v.served, true);
        assert.equal(v.storage, true);
        assert.deepEqual(v.subresources, { status: {} });
        assert.deepEqual(v.additionalPrinterColumns.map((c) => c.name), [info.hostColumn.name, 'Accepted', 'Age']);
        assert.equal(v.additionalPrinterColumns[1].jsonPath, '.status.conditions[?(@.type=="Accepted")].status');
        assert.equal(v.additionalPrinterColumns[2].type, 'date');
        for (const c of v.additionalPrinterColumns) assert.match(c.jsonPath, /^\./);
      });

      it('has a structural schema whose CEL rules parse, name declared fields and have bounded cost', () => {
        assert.deepEqual(structuralProblems(crdSchemaJson(readCrd(info))), []);
      });

      it('has status.conditions in the metav1.Condition shape, keyed by type', () => {
        const conds = schemaAt(crdSchemaJson(readCrd(info)), 'status.conditions');
        assert.equal(conds['x-kubernetes-list-type'], 'map');
        assert.deepEqual(conds['x-kubernetes-list-map-keys'], ['type']);
        const item = conds.items as { required: string[]; properties: { [k: string]: { [k: string]: Json } } };
        assert.deepEqual([...item.required].sort(), ['lastTransitionTime', 'message', 'reason', 'status', 'type']);
        assert.deepEqual(item.properties.status.enum, ['True', 'False', 'Unknown']);
        assert.equal(item.properties.lastTransitionTime.format, 'date-time');
        assert.equal(schemaAt(crdSchemaJson(readCrd(info)), 'status.observedGeneration').type, 'integer');
      });
    });
  }

  describe('the structural checker itself', () => {
    it('reports the mistakes the API server would refuse', () => {
      const broken: { [k: string]: Json } = {
        type: 'object',
        properties: {
          spec: {
            type: 'object',
            properties: {
              untyped: { description: 'no type' },
              both: { type: 'object', properties: { a: { type: 'string', maxLength: 3 } }, additionalProperties: { type: 'string', maxLength: 3 } },
              unbounded: { type: 'array', items: { type: 'string', maxLength: 3 } },
              longText: { type: 'string' },
              ref: { type: 'object', $ref: '#/x' },
              iterated: {
                type: 'array', maxItems: 2, items: { type: 'object', properties: { a: { type: 'string', maxLength: 3 } } },
                'x-kubernetes-validations': [{ rule: 'self.all(d, has(d.nope))', message: 'nope' }],
              },
              checked: {
                type: 'object', properties: { a: { type: 'string', maxLength: 3 } },
                'x-kubernetes-validations': [{ rule: 'has(self.b)', message: 'needs b' }, { rule: 'self.a ==', message: 'broken' }],
              },
            },
            required: ['missing'],
          },
        },
      };
      const problems = structuralProblems(broken).join('\n');
      assert.match(problems, /untyped: every node needs a type/);
      assert.match(problems, /both: properties and additionalProperties are mutually exclusive/);
      assert.match(problems, /unbounded: arrays need maxItems/);
      assert.match(problems, /longText: strings need maxLength/);
      assert.match(problems, /ref: keyword \$ref is not allowed/);
      assert.match(problems, /refers to self\.b, which the schema does not declare/);
      assert.match(problems, /rule "self\.a ==" does not parse/);
      assert.match(problems, /refers to d\.nope, which the schema does not declare/);
      assert.match(problems, /required field missing is not declared/);
    });
  });

  describe('CEL rules and bounds are where the API promises them', () => {
    const routeSchema = () => crdSchemaJson(readCrd(TRAFFIC_ROUTE_KIND));
    const policySchema = () => crdSchemaJson(readCrd(TRAFFIC_POLICY_KIND));
    const messagesAt = (schema: { [k: string]: Json }, at: string): string[] =>
      ((schemaAt(schema, at)['x-kubernetes-validations'] ?? []) as { message: string }[]).map((r) => r.message);

    const claims: [string, () => { [k: string]: Json }, string, string][] = [
      ['route and redirect are mutually exclusive', routeSchema, 'spec.http.[]', 'route and redirect are mutually exclusive'],
      ['a rule needs route or redirect', routeSchema, 'spec.http.[]', 'one of route or redirect is required'],
      ['redirect excludes forwarding options', routeSchema, 'spec.http.[]', 'rewrite, mirror, retries and timeout apply to forwarded requests and cannot be combined with redirect'],
      ['mirrorPercentage needs mirror', routeSchema, 'spec.http.[]', 'mirrorPercentage requires mirror'],
      ['rule names are unique', routeSchema, 'spec.http', 'rule names must be unique'],
      ['weights are required when splitting', routeSchema, 'spec.http.[].route', 'weight is required on every destination when there is more than one'],
      ['uri match has exactly one kind', routeSchema, 'spec.http.[].match.[].uri', 'exactly one of exact, prefix or regex must be set'],
      ['header match has exactly one kind', routeSchema, 'spec.http.[].match.[].headers.{}', 'exactly one of exact, prefix, regex or present must be set'],
      ['query match has exactly one kind', routeSchema, 'spec.http.[].match.[].queryParams.{}', 'exactly one of exact, regex or present must be set'],
      ['fault has delay or abort', routeSchema, 'spec.http.[].fault', 'at least one of delay or abort must be set'],
      ['abort has one status', routeSchema, 'spec.http.[].fault.abort', 'exactly one of httpStatus or grpcStatus must be set'],
      ['per-try timeout is positive', routeSchema, 'spec.http.[].retries.perTryTimeout', 'must be greater than 0s'],
      ['pseudo headers and host in any case cannot be set', routeSchema, 'spec.http.[].headers.request.set', 'header names must not be empty, start with ":" or be "host" in any letter case (use rewrite.authority to change the host)'],
      ['header names to add are bounded', routeSchema, 'spec.http.[].headers.response.add', 'header names must be at most 256 characters long'],
      ['header names to match are bounded', routeSchema, 'spec.http.[].match.[].headers', 'header names must be at most 256 characters long'],
      ['load balancer has one kind', policySchema, 'spec.trafficPolicy.loadBalancer', 'exactly one of simple or consistentHash must be set'],
      ['hash has one key', policySchema, 'spec.trafficPolicy.loadBalancer.consistentHash', 'exactly one of httpHeaderName, httpCookie or useSourceIp: true must be set'],
      ['health check has one kind', policySchema, 'spec.trafficPolicy.healthCheck', 'exactly one of http or tcp must be set'],
      ['subset settings have the same rules', policySchema, 'spec.subsets.[].trafficPolicy.portLevelSettings.[].loadBalancer', 'exactly one of simple or consistentHash must be set'],
      ['rate limit fill interval has Envoy\'s minimum', policySchema, 'spec.trafficPolicy.localRateLimit.fillInterval', 'must be at least 50ms'],
    ];
    for (const [what, schema, at, message] of claims) {
      it(what, () => assert.ok(messagesAt(schema(), at).includes(message), `${at} lacks rule "${message}": has ${JSON.stringify(messagesAt(schema(), at))}`));
    }

    it('percentages are 0..100 and weights >= 0', () => {
      const s = routeSchema();
      for (const at of ['spec.http.[].fault.delay.percentage', 'spec.http.[].fault.abort.percentage', 'spec.http.[].mirrorPercentage']) {
        assert.equal(schemaAt(s, at).minimum, 0, at);
        assert.equal(schemaAt(s, at).maximum, 100, at);
      }
      assert.equal(schemaAt(s, 'spec.http.[].route.[].weight').minimum, 0);
      assert.equal(schemaAt(s, 'spec.http.[].route.[].weight').type, 'integer');
    });

    it('subsets and port settings are unique by key', () => {
      const s = policySchema();
      assert.deepEqual(schemaAt(s, 'spec.subsets')['x-kubernetes-list-map-keys'], ['name']);
      assert.deepEqual(schemaAt(s, 'spec.trafficPolicy.portLevelSettings')['x-kubernetes-list-map-keys'], ['port']);
      assert.equal(schemaAt(routeSchema(), 'spec.hosts')['x-kubernetes-list-type'], 'set');
    });
  });
});
