// `pilotfish check --pre` against the real API server: on the bare cluster, as its admin, every
// pre-install check passes; as a ServiceAccount with no rights, the permission checks fail with a
// line each and a hint, and the command exits 1. (Post-install checks are not built yet.)
import assert from 'node:assert/strict';
import type { Cluster } from '../cluster/cluster.js';
import { runPilotfish } from '../support/pilotfish-process.js';
import { createNamespace, sharedCluster, uniqueName } from './fixture.js';

describe('cluster: pilotfish check --pre', function () {
  this.timeout(300_000);
  let cluster: Cluster;

  before(async () => {
    cluster = await sharedCluster();
  });

  it('passes on the bare cluster as its admin: API version, permission to create what the chart creates, CRDs', async () => {
    const r = await runPilotfish(['check', '--pre', '--kubeconfig', cluster.kubeconfig]);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, new RegExp(`^✔ can reach the Kubernetes API at ${cluster.url.replace(/[.]/g, '\\.')}$`, 'm'));
    assert.match(r.stdout, new RegExp(`^✔ Kubernetes ${cluster.version.replace(/[.]/g, '\\.')} is at least v1\\.27$`, 'm'));
    for (const what of ['customresourcedefinitions', 'clusterroles', 'clusterrolebindings', 'mutatingwebhookconfigurations', 'deployments in pilotfish-system']) {
      assert.match(r.stdout, new RegExp(`^✔ can create ${what}$`, 'm'), r.stdout);
    }
    for (const crd of ['trafficroutes.routing.pilotfish.io', 'trafficpolicies.routing.pilotfish.io', 'peerauthentications.security.pilotfish.io']) {
      assert.match(r.stdout, new RegExp(`^✔ ${crd.replace(/[.]/g, '\\.')} is (not )?installed`, 'm'), r.stdout);
    }
    assert.doesNotMatch(r.stdout, /✘/);
    assert.match(r.stdout, /^Status check results are ✔$/m);
  });

  it('fails, a line and a hint per missing permission, for a user who may not install', async () => {
    const ns = uniqueName('check');
    await createNamespace(cluster, ns);
    await cluster.admin.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'nobody', namespace: ns } });
    const kubeconfig = await cluster.serviceAccountKubeconfig(ns, 'nobody');
    const r = await runPilotfish(['check', '--pre', '--kubeconfig', kubeconfig]);
    assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /^✘ can create customresourcedefinitions\n {4}hint: the kubeconfig's user may not create customresourcedefinitions.*install as a cluster admin$/m);
    assert.match(r.stdout, /^✘ can create deployments in pilotfish-system$/m);
    assert.match(r.stdout, /^Status check results are ✘$/m);
  });

  it('without --pre says the post-install checks are not built (usage, exit 2)', async () => {
    const r = await runPilotfish(['check', '--kubeconfig', cluster.kubeconfig]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /only the pre-install checks are built/);
  });
});
