// The chart ships the routing CRDs in its crds/ directory (Helm installs those before the
// templates and never deletes them). They must be byte-identical copies of the repository's
// crds/*.yaml, which test/api/routing/crds.test.ts keeps equal to src/api/routing/v1alpha1/schema.ts.
import assert from 'node:assert/strict';
import { copyFileSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { crdFileName, crdName, TRAFFIC_POLICY_KIND, TRAFFIC_ROUTE_KIND, TRAFFIC_SCOPE_KIND } from '../../src/api/routing/v1alpha1/crd.js';
import { PEER_AUTHENTICATION_CRD_FILE, PEER_AUTHENTICATION_CRD_NAME } from '../../src/api/security/v1alpha1/crd.js';
import { ACCESS_POLICY_CRD_FILE, ACCESS_POLICY_CRD_NAME } from '../../src/api/security/v1alpha1/access-policy-crd.js';
import { REPO_ROOT } from '../support/pilotfish-process.js';
import { CHART_DIR, render } from './chart.js';

const REPO_CRDS = path.join(REPO_ROOT, 'crds');
const CHART_CRDS = path.join(CHART_DIR, 'crds');
// Regenerating is an explicit act, as for crds/ itself: PILOTFISH_UPDATE_CRDS=1.
const UPDATE = process.env.PILOTFISH_UPDATE_CRDS === '1';
const FIX = `run \`cp crds/*.yaml deploy/helm/pilotfish/crds/\` (or PILOTFISH_UPDATE_CRDS=1 npx mocha dist/test/helm/crds.test.js)`;

const yamlFiles = (dir: string): string[] => readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort();

describe('helm chart: CRDs', () => {
  it('holds byte-identical copies of crds/*.yaml, no more, no fewer', () => {
    if (UPDATE) for (const f of yamlFiles(REPO_CRDS)) copyFileSync(path.join(REPO_CRDS, f), path.join(CHART_CRDS, f));
    assert.deepEqual(yamlFiles(CHART_CRDS), yamlFiles(REPO_CRDS), `the chart's crds/ lists other files than crds/: ${FIX}`);
    for (const f of yamlFiles(REPO_CRDS)) {
      assert.ok(readFileSync(path.join(CHART_CRDS, f)).equals(readFileSync(path.join(REPO_CRDS, f))),
        `deploy/helm/pilotfish/crds/${f} differs from crds/${f}: ${FIX}`);
    }
  });

  it('installs the CRDs of the routing kinds, PeerAuthentication and AccessPolicy, under the names the controller watches', async () => {
    const objects = await render();
    const crds = objects.filter((o) => o.kind === 'CustomResourceDefinition').map((o) => o.metadata.name).sort();
    const kinds = [TRAFFIC_ROUTE_KIND, TRAFFIC_POLICY_KIND, TRAFFIC_SCOPE_KIND];
    assert.deepEqual(crds, [...kinds.map(crdName), PEER_AUTHENTICATION_CRD_NAME, ACCESS_POLICY_CRD_NAME].sort());
    assert.deepEqual(yamlFiles(REPO_CRDS), [...kinds.map(crdFileName), PEER_AUTHENTICATION_CRD_FILE, ACCESS_POLICY_CRD_FILE].sort());
  });
});
