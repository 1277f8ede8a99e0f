// Sidecar injection through the real API server: the chart's webhook configuration makes the API
// server call the local `pilotfish controller` over TLS (verifying the self-managed certificate
// against the caBundle pilotfish patched in) and store the mutated Pod. With pilotfish down, the
// API server applies the webhook's failurePolicy.
import assert from 'node:assert/strict';
import type { Cluster } from '../cluster/cluster.js';
import { KubeApiError, type KubeObject } from '../cluster/kube-rest.js';
import type { PilotfishProcess } from '../support/pilotfish-process.js';
import { createNamespace, sharedCluster, uniqueName } from './fixture.js';
import {
  installPilotfish, startController, webhookCaBundlePatched, type Installation, type MutatingWebhookConfiguration,
} from './pilotfish-install.js';

interface Container {
  name: string;
  image?: string;
  restartPolicy?: string;
}

interface Pod extends KubeObject {
  spec: { containers: Container[]; initContainers?: Container[] };
}

const INIT = 'pilotfish-init';
const PROXY = 'pilotfish-proxy';
const STATUS_ANNOTATION = 'sidecar.pilotfish.io/status';

function pod(name: string, namespace: string, labels: Record<string, string> = {}): Pod {
  return {
    apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace, labels: { app: 'shop', ...labels } },
    spec: { containers: [{ name: 'app', image: 'example.invalid/shop:1' }] },
  };
}

function containerNames(p: Pod): { init: string[]; main: string[] } {
  return { init: (p.spec.initContainers ?? []).map((c) => c.name), main: p.spec.containers.map((c) => c.name) };
}

function assertInjected(p: Pod): void {
  const { init, main } = containerNames(p);
  assert.ok(init.includes(INIT), `no ${INIT} init container: init=${init.join(',')} containers=${main.join(',')}`);
  // Native sidecar (a restartable init container) on API servers that support it, else a container.
  const proxy = [...(p.spec.initContainers ?? []), ...p.spec.containers].filter((c) => c.name === PROXY);
  assert.equal(proxy.length, 1, `expected one ${PROXY}: init=${init.join(',')} containers=${main.join(',')}`);
  if (init.includes(PROXY)) assert.equal(proxy[0]!.restartPolicy, 'Always', 'a native sidecar must be restartable');
  assert.ok(main.includes('app'), 'the application container is kept');
  assert.ok(p.metadata?.annotations?.[STATUS_ANNOTATION], `no ${STATUS_ANNOTATION} annotation`);
}

function assertNotInjected(p: Pod): void {
  const { init, main } = containerNames(p);
  assert.deepEqual({ init, main }, { init: [], main: ['app'] });
  assert.equal(p.metadata?.annotations?.[STATUS_ANNOTATION], undefined);
}

describe('cluster: sidecar injection through the real API server', function () {
  this.timeout(300_000);
  let cluster: Cluster;
  let inst: Installation;
  let pf: PilotfishProcess | undefined;
  let injected: string;
  let plain: string;

  before(async () => {
    cluster = await sharedCluster();
    inst = await installPilotfish(cluster);
    injected = uniqueName('injected');
    plain = uniqueName('plain');
    await createNamespace(cluster, injected, { 'pilotfish.io/inject': 'enabled' });
    await createNamespace(cluster, plain);
    pf = await startController(cluster, inst);
    await webhookCaBundlePatched(cluster, inst.webhookConfigName);
  });

  after(async () => {
    await pf?.stop();
  });

  it('the chart\'s webhook configuration now calls pilotfish by URL with pilotfish\'s CA', async () => {
    const config = await cluster.admin.get<MutatingWebhookConfiguration>(
      `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${inst.webhookConfigName}`);
    for (const w of config.webhooks) {
      assert.equal(w.clientConfig.url, `https://127.0.0.1:${inst.webhookPort}/inject`);
      const ca = Buffer.from(w.clientConfig.caBundle ?? '', 'base64').toString('utf8');
      assert.match(ca, /-----BEGIN CERTIFICATE-----/);
    }
  });

  it('a Pod created in a labelled namespace is stored with the init container and the sidecar', async () => {
    const stored = await cluster.admin.create(pod('web-1', injected));
    assertInjected(stored);
    // What a later reader (kubelet, controllers) sees is the stored, mutated Pod.
    assertInjected(await cluster.admin.get<Pod>(`/api/v1/namespaces/${injected}/pods/web-1`));
  });

  it('a Pod labelled sidecar.pilotfish.io/inject=false in a labelled namespace is left alone', async () => {
    assertNotInjected(await cluster.admin.create(pod('opted-out', injected, { 'sidecar.pilotfish.io/inject': 'false' })));
  });

  it('a Pod created in an unlabelled namespace is stored unchanged', async () => {
    assertNotInjected(await cluster.admin.create(pod('web-1', plain)));
  });

  it('a Pod labelled sidecar.pilotfish.io/inject=true in an unlabelled namespace is injected', async () => {
    assertInjected(await cluster.admin.create(pod('opted-in', plain, { 'sidecar.pilotfish.io/inject': 'true' })));
  });

  describe('with pilotfish stopped', () => {
    before(async () => {
      const code = await pf?.stop('SIGTERM');
      pf = undefined;
      assert.equal(code, 0, 'pilotfish should exit cleanly on SIGTERM');
    });

    async function setFailurePolicy(policy: 'Fail' | 'Ignore'): Promise<void> {
      const path = `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${inst.webhookConfigName}`;
      const config = await cluster.admin.get<MutatingWebhookConfiguration>(path);
      await cluster.admin.patch(path, config.webhooks.map((_, i) => ({ op: 'replace', path: `/webhooks/${i}/failurePolicy`, value: policy })), 'json');
      // The API server reads webhook configurations from its own informer cache, which offers no
      // event to wait for: probe with dry-run creates (webhooks with sideEffects None are called for
      // those too) until it acts on the new policy, within a bound.
      const probe = pod('policy-probe', injected);
      const collection = `/api/v1/namespaces/${injected}/pods?dryRun=All`;
      const deadline = Date.now() + 30_000;
      for (let attempt = 0; ; attempt++) {
        const { code } = await cluster.admin.raw('POST', collection, probe);
        if ((policy === 'Ignore') === (code === 201)) return;
        if (Date.now() > deadline) {
          assert.fail(`the API server still applies the old failurePolicy 30 s after it was set to ${policy} (last dry-run: HTTP ${code}, ${attempt + 1} probes)`);
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }

    async function expectPolicy(policy: 'Fail' | 'Ignore', name: string): Promise<void> {
      if (policy === 'Ignore') {
        // The API server could not call the webhook and admitted the Pod as it was.
        assertNotInjected(await cluster.admin.create(pod(name, injected)));
        return;
      }
      try {
        await cluster.admin.create(pod(name, injected));
      } catch (err) {
        assert.ok(err instanceof KubeApiError, String(err));
        assert.equal(err.code, 500, err.message);
        assert.match(err.status.message ?? '', /failed calling webhook "[^"]*sidecar\.pilotfish\.io"/);
        assert.match(err.status.message ?? '', /connection refused/);
        assert.equal(await cluster.admin.tryGet(`/api/v1/namespaces/${injected}/pods/${name}`), undefined, 'the Pod must not be stored');
        return;
      }
      assert.fail('failurePolicy Fail: the API server stored a Pod although the webhook was down');
    }

    it('the chart\'s failurePolicy is what happens to a Pod in a labelled namespace', async () => {
      await expectPolicy(inst.failurePolicy, 'while-down');
    });

    it('and the other policy does the other thing', async () => {
      const other = inst.failurePolicy === 'Fail' ? 'Ignore' : 'Fail';
      await setFailurePolicy(other);
      try {
        await expectPolicy(other, 'while-down-other-policy');
      } finally {
        await setFailurePolicy(inst.failurePolicy);
      }
    });

    it('Pods in unlabelled namespaces are never affected', async () => {
      assertNotInjected(await cluster.admin.create(pod('while-down', plain)));
    });
  });
});
