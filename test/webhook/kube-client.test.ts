// The client-node implementations of the injector's Kubernetes interfaces, against the HTTP fake
// API server (test/support/fake-kube-api.ts) over a real socket.
import assert from 'node:assert/strict';
import { silentLogger } from '../../src/logging.js';
import {
  KubeCaBundleTarget, KubeNamespaceLabels, KubeSecretStore, KubeServerVersion,
} from '../../src/webhook/kube-client.js';
import { parseServerVersion, supportsNativeSidecars } from '../../src/webhook/kube.js';
import { isIssuedBy } from '../../src/webhook/tls/certs.js';
import { ManagedCertificates } from '../../src/webhook/tls/managed.js';
import { startFakeKubeApi, type FakeKubeApi, type KubeObject } from '../support/fake-kube-api.js';
import { MWC, webhookConfiguration } from './fixtures.js';

type Mwc = KubeObject & { webhooks: Array<{ clientConfig: { caBundle?: string } }> };
type SecretObj = KubeObject & { data: Record<string, string> };

describe('webhook/kube-client against the fake API server', () => {
  let api: FakeKubeApi;

  before(async () => {
    api = await startFakeKubeApi({ gitVersion: 'v1.28.9', namespaces: ['default', 'kube-system', 'pilotfish-system', 'shop'] });
    api.patch({ apiVersion: 'v1', kind: 'Namespace', name: 'shop' }, { metadata: { labels: { 'pilotfish.io/inject': 'enabled' } } });
    api.create(webhookConfiguration());
  });
  after(async () => api?.close());

  it('reads namespace labels; a missing namespace is undefined, not an error', async () => {
    const ns = new KubeNamespaceLabels(api.kubeConfig());
    assert.equal((await ns.labels('shop'))?.['pilotfish.io/inject'], 'enabled');
    assert.equal(await ns.labels('nope'), undefined);
  });

  it('reads the API server version (1.28: no native sidecars)', async () => {
    const v = await new KubeServerVersion(api.kubeConfig()).version();
    assert.deepEqual(v, { major: 1, minor: 28, gitVersion: 'v1.28.9' });
    assert.equal(supportsNativeSidecars(v), false);
    assert.equal(supportsNativeSidecars(parseServerVersion('1', '29+', 'v1.29.1-eks')), true);
  });

  it('creates, reads and replaces a Secret with optimistic concurrency', async () => {
    const store = new KubeSecretStore(api.kubeConfig());
    assert.equal(await store.read('pilotfish-system', 's1'), undefined);
    assert.equal(await store.create('pilotfish-system', 's1', { 'a.txt': 'hello\n' }), 'ok');
    assert.equal(await store.create('pilotfish-system', 's1', { 'a.txt': 'again' }), 'conflict');
    const got = await store.read('pilotfish-system', 's1');
    assert.deepEqual(got?.data, { 'a.txt': 'hello\n' });
    assert.equal(await store.replace('pilotfish-system', 's1', { 'a.txt': 'v2' }, got!.resourceVersion), 'ok');
    assert.equal(await store.replace('pilotfish-system', 's1', { 'a.txt': 'v3' }, got!.resourceVersion), 'conflict');
    assert.deepEqual((await store.read('pilotfish-system', 's1'))?.data, { 'a.txt': 'v2' });
  });

  it('patches caBundle into every webhook of the configuration, and only when it differs', async () => {
    const target = new KubeCaBundleTarget(api.kubeConfig());
    await target.setCaBundle(MWC, 'PEM-1');
    const mwc = api.get<Mwc>({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', name: MWC });
    assert.deepEqual(mwc.webhooks.map((w) => w.clientConfig.caBundle), [Buffer.from('PEM-1').toString('base64'), Buffer.from('PEM-1').toString('base64')]);
    api.resetRequests();
    await target.setCaBundle(MWC, 'PEM-1');
    assert.equal(api.count({ verb: 'patch' }), 0);
  });

  it('ManagedCertificates through the real client: Secret created, caBundle set to the CA that signed the serving cert', async () => {
    const kc = api.kubeConfig();
    const m = new ManagedCertificates({
      secrets: new KubeSecretStore(kc), caBundleTarget: new KubeCaBundleTarget(kc),
      namespace: 'pilotfish-system', secretName: 'pilotfish-webhook-tls', webhookConfigName: MWC,
      hosts: ['pilotfish.pilotfish-system.svc'], logger: silentLogger(),
    });
    const state = await m.ensure();
    const mwc = api.get<Mwc>({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', name: MWC });
    const bundle = Buffer.from(mwc.webhooks[0].clientConfig.caBundle!, 'base64').toString('utf8');
    assert.ok(isIssuedBy(state.serving.certPem, bundle));
    const secret = api.get<SecretObj>({ apiVersion: 'v1', kind: 'Secret', name: 'pilotfish-webhook-tls', namespace: 'pilotfish-system' });
    assert.deepEqual(Object.keys(secret.data).sort(), ['ca-bundle.crt', 'ca.crt', 'ca.key', 'tls.crt', 'tls.key']);
    api.resetRequests();
    await m.ensure();
    assert.equal(api.count({ verb: 'update' }) + api.count({ verb: 'create' }) + api.count({ verb: 'patch' }), 0, 'nothing is written when all is current');
  });
});
