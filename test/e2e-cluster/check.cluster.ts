// `pilotfish check` against the real API server. --pre: on the bare cluster, as its admin, every
// pre-install check passes; as a ServiceAccount with no rights, the permission checks fail with a
// line each and a hint, and the command exits 1. After the chart is applied and two replicas run
// (as local processes: no kubelet here, so replicas are given with --server): every post-install
// check passes; a wrong caBundle and a stopped replica each fail with a clear line.
import assert from 'node:assert/strict';
import type { Cluster } from '../cluster/cluster.js';
import type { KubeObject } from '../cluster/kube-rest.js';
import { runPilotfish, type PilotfishProcess } from '../support/pilotfish-process.js';
import { createNamespace, sharedCluster, uniqueName } from './fixture.js';
import { CONTROL_PLANE_NAMESPACE, installPilotfish, startController, webhookCaBundlePatched, type Installation, type MutatingWebhookConfiguration } from './pilotfish-install.js';

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
    for (const crd of ['trafficroutes.routing.pilotfish.io', 'trafficpolicies.routing.pilotfish.io', 'trafficscopes.routing.pilotfish.io', 'peerauthentications.security.pilotfish.io']) {
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

});

describe('cluster: pilotfish check (post-install)', function () {
  this.timeout(300_000);
  let cluster: Cluster;
  let inst: Installation;
  const replicas: PilotfishProcess[] = [];
  const servers: string[] = [];
  let injected: string;

  /** Whether the API server injects a dry-run Pod now (it calls the webhook with the caBundle it has cached). */
  async function injects(): Promise<boolean> {
    try {
      const p = await cluster.admin.call<KubeObject & { spec?: { containers?: unknown[]; initContainers?: unknown[] } }>('POST', `/api/v1/namespaces/${injected}/pods?dryRun=All`,
        { apiVersion: 'v1', kind: 'Pod', metadata: { generateName: 'probe-', namespace: injected }, spec: { containers: [{ name: 'c', image: 'probe' }] } });
      return (p.spec?.containers?.length ?? 0) + (p.spec?.initContainers?.length ?? 0) > 1;
    } catch {
      return false;
    }
  }

  /**
   * The API server reads webhook configurations from its informer cache, which offers no event
   * to wait for: probe with dry-run creates until it acts on the change, within a bound.
   */
  async function untilInjects(want: boolean): Promise<void> {
    const deadline = Date.now() + 30_000;
    while ((await injects()) !== want) {
      if (Date.now() > deadline) assert.fail(`the API server did not ${want ? 'resume injecting' : 'stop injecting'} within 30 s of the caBundle change`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  before(async () => {
    cluster = await sharedCluster();
    inst = await installPilotfish(cluster);
    replicas.push(await startController(cluster, inst, 'chart'), await startController(cluster, inst, 'minimal'));
    for (const r of replicas) servers.push(`http://${(await r.serving()).httpAddress}`);
    await webhookCaBundlePatched(cluster, inst.webhookConfigName);
    injected = uniqueName('check-injected');
    await createNamespace(cluster, injected, { 'pilotfish.io/inject': 'enabled' });
  });

  after(async () => {
    await Promise.all(replicas.map((r) => r.stop()));
  });

  const check = (): Promise<{ code: number | null; stdout: string; stderr: string }> => runPilotfish(['check', '--kubeconfig', cluster.kubeconfig,
    '--namespace', CONTROL_PLANE_NAMESPACE, '--webhook-config-name', inst.webhookConfigName, '--server', servers.join(',')]);

  it('passes once the chart is applied and pilotfish runs: CRDs, Lease, replicas, caBundle, a webhook call, injected namespaces', async () => {
    const r = await check();
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /^✔ trafficroutes\.routing\.pilotfish\.io is established$/m);
    assert.match(r.stdout, /^✔ a replica holds the leader Lease pilotfish-system\/\S+ \(.+, renewed \d+s ago\)$/m);
    for (const s of servers) assert.match(r.stdout, new RegExp(`^✔ replica ${s.replace(/[.]/g, '\\.')} serves xDS$`, 'm'));
    assert.match(r.stdout, /^✔ webhook \S+ has a valid caBundle$/m);
    assert.match(r.stdout, /^✔ the API server can call the webhook \(dry-run Pod injected\) in check-injected-/m);
    assert.match(r.stdout, /^✔ injection is on in \d+ namespace\(s\): .*check-injected-/m);
    assert.match(r.stdout, /^Status check results are ✔$/m);
  });

  it('fails with a clear line when the webhook\'s caBundle is not the CA of its certificate', async () => {
    const path = `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${inst.webhookConfigName}`;
    const config = await cluster.admin.call<MutatingWebhookConfiguration & KubeObject>('GET', path);
    const good = config.webhooks.map((w) => w.clientConfig.caBundle ?? '');
    // A real CA, just not the one that signed the webhook's certificate: the API server's.
    const wrong = Buffer.from(cluster.caPem).toString('base64');
    const setBundles = (bundles: readonly string[]): Promise<unknown> => cluster.admin.patch(path,
      bundles.map((b, i) => ({ op: 'replace', path: `/webhooks/${i}/clientConfig/caBundle`, value: b })), 'json');
    await setBundles(good.map(() => wrong));
    try {
      await untilInjects(false);
      const r = await check();
      assert.equal(r.code, 1, r.stdout);
      assert.match(r.stdout, /^✔ webhook \S+ has a valid caBundle$/m, 'the bundle itself is a valid certificate');
      assert.match(r.stdout, /^✘ the API server can call the webhook \(dry-run Pod injected\) in check-injected-\S+\n {4}hint: .+$/m);
      assert.match(r.stdout, /^Status check results are ✘$/m);
    } finally {
      await setBundles(good);
      await untilInjects(true);
    }
  });

  it('fails with a clear line when a replica is down', async () => {
    await replicas[1]!.stop();
    const r = await check();
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stdout, new RegExp(`^✘ replica ${servers[1]!.replace(/[.]/g, '\\.')} serves xDS\n {4}hint: cannot reach it: .+$`, 'm'));
    assert.match(r.stdout, new RegExp(`^✔ replica ${servers[0]!.replace(/[.]/g, '\\.')} serves xDS$`, 'm'));
  });
});
