// The PeerAuthentication CRD in crds/ is the rendering of src/api/security/v1alpha1/schema.ts, a
// structural schema the API server admits, with its CEL rules where the API promises them.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import {
  PEER_AUTHENTICATION_CRD_NAME, PEER_AUTHENTICATION_KIND, peerAuthenticationCrd,
  renderPeerAuthenticationCrdYaml, SECURITY_GROUP,
} from '../../../src/api/security/v1alpha1/crd.js';
import { MAX_LABEL_NAME_LENGTH, MAX_PORT_LEVEL_ENTRIES, MAX_SELECTOR_LABELS } from '../../../src/api/security/v1alpha1/schema.js';
import { crdSchemaJson, schemaAt, structuralProblems, type Json } from '../routing/crd-support.js';
import { PEER_AUTHENTICATION_CRD_PATH, readPeerAuthenticationCrd } from './crd-file.js';

// Regenerating is an explicit act, like golden files: PILOTFISH_UPDATE_CRDS=1.
const UPDATE = process.env.PILOTFISH_UPDATE_CRDS === '1';

describe('PeerAuthentication CRD (crds/peerauthentications.security.pilotfish.io.yaml)', () => {
  it('is the rendering of src/api/security/v1alpha1/schema.ts', () => {
    const want = renderPeerAuthenticationCrdYaml();
    if (UPDATE) writeFileSync(PEER_AUTHENTICATION_CRD_PATH, want);
    assert.equal(readFileSync(PEER_AUTHENTICATION_CRD_PATH, 'utf8'), want,
      `${PEER_AUTHENTICATION_CRD_PATH} is stale: run npm run build && PILOTFISH_UPDATE_CRDS=1 npx mocha dist/test/api/security/crd.test.js`);
    assert.deepEqual(readPeerAuthenticationCrd(), peerAuthenticationCrd(), 'the YAML must parse back to the same CRD');
  });

  it('declares a namespaced v1alpha1 kind in security.pilotfish.io with status, short name and printer columns', () => {
    const crd = readPeerAuthenticationCrd() as { metadata: { name: string }; spec: {
      group: string; scope: string; names: { kind: string; plural: string; shortNames: string[]; categories: string[] };
      versions: { name: string; served: boolean; storage: boolean; subresources: { status: Json };
        additionalPrinterColumns: { name: string; jsonPath: string }[] }[];
    } };
    assert.equal(crd.metadata.name, PEER_AUTHENTICATION_CRD_NAME);
    assert.equal(crd.spec.group, SECURITY_GROUP);
    assert.equal(crd.spec.scope, 'Namespaced');
    assert.equal(crd.spec.names.kind, PEER_AUTHENTICATION_KIND);
    assert.equal(crd.spec.names.plural, 'peerauthentications');
    assert.deepEqual(crd.spec.names.shortNames, ['pa']);
    assert.deepEqual(crd.spec.names.categories, ['pilotfish']);
    assert.equal(crd.spec.versions.length, 1);
    const v = crd.spec.versions[0];
    assert.deepEqual([v.name, v.served, v.storage], ['v1alpha1', true, true]);
    assert.deepEqual(v.subresources.status, {});
    assert.deepEqual(v.additionalPrinterColumns.map((c) => c.name), ['Mode', 'Accepted', 'Age']);
    assert.equal(v.additionalPrinterColumns[0].jsonPath, '.spec.mtls.mode');
  });

  it('has a structural schema whose CEL rules parse, name declared fields and have bounded cost', () => {
    assert.deepEqual(structuralProblems(crdSchemaJson(readPeerAuthenticationCrd())), []);
  });

  it('puts its CEL rules and bounds where the API promises them', () => {
    const s = crdSchemaJson(readPeerAuthenticationCrd());
    const messages = (at: string) => ((schemaAt(s, at)['x-kubernetes-validations'] ?? []) as { message: string }[]).map((r) => r.message);
    assert.deepEqual(messages('spec'), ['portLevelMtls requires a selector with matchLabels']);
    assert.deepEqual(messages('spec.portLevelMtls'), ['port must be between 1 and 65535']);
    assert.deepEqual(messages('spec.selector.matchLabels'), [`label names must be 1 to ${MAX_LABEL_NAME_LENGTH} characters long`]);
    assert.equal(MAX_LABEL_NAME_LENGTH, 253 + 1 + 63);
    assert.deepEqual(schemaAt(s, 'spec.mtls.mode').enum, ['PERMISSIVE', 'STRICT', 'DISABLE', 'UNSET']);
    assert.deepEqual(schemaAt(s, 'spec.portLevelMtls.{}.mode').enum, ['PERMISSIVE', 'STRICT', 'DISABLE', 'UNSET']);
    assert.equal(schemaAt(s, 'spec.portLevelMtls').maxProperties, MAX_PORT_LEVEL_ENTRIES);
    assert.equal(schemaAt(s, 'spec.selector.matchLabels').maxProperties, MAX_SELECTOR_LABELS);
    assert.equal(schemaAt(s, 'spec.selector.matchLabels.{}').maxLength, 63);
  });

  it('has status.conditions in the metav1.Condition shape, keyed by type', () => {
    const conds = schemaAt(crdSchemaJson(readPeerAuthenticationCrd()), 'status.conditions');
    assert.equal(conds['x-kubernetes-list-type'], 'map');
    assert.deepEqual(conds['x-kubernetes-list-map-keys'], ['type']);
  });
});
