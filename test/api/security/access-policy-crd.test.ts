// The AccessPolicy CRD in crds/ is the rendering of src/api/security/v1alpha1/access-policy-schema.ts,
// a structural schema the API server admits, with its CEL rules where the API promises them.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import {
  ACCESS_POLICY_CRD_FILE, ACCESS_POLICY_CRD_NAME, ACCESS_POLICY_KIND, accessPolicyCrd, renderAccessPolicyCrdYaml,
} from '../../../src/api/security/v1alpha1/access-policy-crd.js';
import { SECURITY_GROUP } from '../../../src/api/security/v1alpha1/crd.js';
import { MAX_ACCESS_RULES, MAX_MATCH_VALUES, MAX_RULE_CLAUSES } from '../../../src/api/security/v1alpha1/access-policy-schema.js';
import { crdSchemaJson, REPO_ROOT, schemaAt, structuralProblems, type Json } from '../routing/crd-support.js';

const CRD_PATH = path.join(REPO_ROOT, 'crds', ACCESS_POLICY_CRD_FILE);
// Regenerating is an explicit act, like golden files: PILOTFISH_UPDATE_CRDS=1.
const UPDATE = process.env.PILOTFISH_UPDATE_CRDS === '1';

function readCrd(): { [k: string]: Json } {
  return YAML.parse(readFileSync(CRD_PATH, 'utf8')) as { [k: string]: Json };
}

describe('AccessPolicy CRD (crds/accesspolicies.security.pilotfish.io.yaml)', () => {
  it('is the rendering of src/api/security/v1alpha1/access-policy-schema.ts', () => {
    const want = renderAccessPolicyCrdYaml();
    if (UPDATE) writeFileSync(CRD_PATH, want);
    assert.equal(readFileSync(CRD_PATH, 'utf8'), want,
      `${CRD_PATH} is stale: run npm run build && PILOTFISH_UPDATE_CRDS=1 npx mocha dist/test/api/security/access-policy-crd.test.js`);
    assert.deepEqual(readCrd(), accessPolicyCrd(), 'the YAML must parse back to the same CRD');
  });

  it('declares a namespaced v1alpha1 kind in security.pilotfish.io with status, short name and printer columns', () => {
    const crd = readCrd() as { metadata: { name: string }; spec: {
      group: string; scope: string; names: { kind: string; plural: string; shortNames: string[] };
      versions: { name: string; subresources: { status: Json }; additionalPrinterColumns: { name: string; jsonPath: string }[] }[];
    } };
    assert.equal(crd.metadata.name, ACCESS_POLICY_CRD_NAME);
    assert.equal(crd.spec.group, SECURITY_GROUP);
    assert.equal(crd.spec.scope, 'Namespaced');
    assert.equal(crd.spec.names.kind, ACCESS_POLICY_KIND);
    assert.equal(crd.spec.names.plural, 'accesspolicies');
    assert.deepEqual(crd.spec.names.shortNames, ['ap']);
    const v = crd.spec.versions[0]!;
    assert.equal(v.name, 'v1alpha1');
    assert.deepEqual(v.subresources.status, {});
    assert.deepEqual(v.additionalPrinterColumns.map((c) => c.name), ['Action', 'Accepted', 'Age']);
  });

  it('has a structural schema whose CEL rules parse, name declared fields and have bounded cost', () => {
    assert.deepEqual(structuralProblems(crdSchemaJson(readCrd())), []);
  });

  it('puts its CEL rules and bounds where the API promises them', () => {
    const s = crdSchemaJson(readCrd());
    const messages = (at: string) => ((schemaAt(s, at)['x-kubernetes-validations'] ?? []) as { message: string }[]).map((r) => r.message);
    assert.deepEqual(messages('spec.rules.[].from.[].source'), ['a source must name principals or namespaces']);
    assert.deepEqual(messages('spec.rules.[].to.[].operation'), ['an operation must name ports, methods or paths']);
    assert.deepEqual(schemaAt(s, 'spec.action').enum, ['ALLOW', 'DENY', 'AUDIT']);
    assert.equal(schemaAt(s, 'spec.rules').maxItems, MAX_ACCESS_RULES);
    assert.equal(schemaAt(s, 'spec.rules.[].from').maxItems, MAX_RULE_CLAUSES);
    assert.equal(schemaAt(s, 'spec.rules.[].when').maxItems, MAX_RULE_CLAUSES);
    assert.equal(schemaAt(s, 'spec.rules.[].from.[].source.principals').maxItems, MAX_MATCH_VALUES);
    assert.equal(schemaAt(s, 'spec.rules.[].to.[].operation.paths.[]').maxLength, 1024);
  });
});
