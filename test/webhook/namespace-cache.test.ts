// Namespace labels from a watched cache: once the Namespace informer has synced, admissions read
// no Namespace from the API server (the fake API counts every request); before that, and for a
// namespace the cache does not know, a GET answers. Driven through the real HTTPS webhook.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { silentLogger } from '../../src/logging.js';
import { DEFAULT_INJECTOR_CONFIG } from '../../src/webhook/inject.js';
import { InjectionMetrics } from '../../src/webhook/injection-counters.js';
import { KubeNamespaceLabels } from '../../src/webhook/kube-client.js';
import { CachedNamespaceLabels, type NamespaceCache } from '../../src/webhook/namespace-cache.js';
import { InformerNamespaceCache } from '../../src/webhook/namespace-informer.js';
import { startWebhookServer, type WebhookServer } from '../../src/webhook/server.js';
import { createCa, issueServingCert, type KeyPairPem } from '../../src/webhook/tls/certs.js';
import { FileCertificateSource } from '../../src/webhook/tls/source.js';
import { startFakeKubeApi, type FakeKubeApi } from '../support/fake-kube-api.js';
import { request, review } from '../support/https-client.js';

const GET_NAMESPACE = { verb: 'get', resource: 'namespaces' } as const;

function pod(namespace: string): V1Pod {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace }, spec: { containers: [{ name: 'app', image: 'example/app:1' }] } };
}

describe('webhook/namespace labels from an informer cache', () => {
  let api: FakeKubeApi;
  let dir: string;
  let ca: KeyPairPem;
  let cache: InformerNamespaceCache;
  let source: CachedNamespaceLabels;
  let server: WebhookServer;
  /** Resolvers waiting for the next Namespace event the informer delivers. */
  let waiting: (() => void)[] = [];
  let stopped = false;

  async function injected(namespace: string): Promise<boolean> {
    const r = await request(server.port, ca.certPem, 'POST', '/inject', review(pod(namespace), { namespace }));
    assert.equal(r.status, 200, r.body);
    const response = (r.json as { response: { allowed: boolean; patch?: string } }).response;
    assert.equal(response.allowed, true);
    return response.patch !== undefined;
  }

  before(async () => {
    api = await startFakeKubeApi({ namespaces: ['default', 'kube-system', 'shop', 'plain'] });
    api.patch({ apiVersion: 'v1', kind: 'Namespace', name: 'shop' }, { metadata: { labels: { 'pilotfish.io/inject': 'enabled' } } });
    dir = mkdtempSync(path.join(tmpdir(), 'pf-ns-cache-'));
    ca = createCa({ commonName: 'ns-cache-ca', now: new Date(), validityDays: 1 });
    const serving = issueServingCert({ ca, hosts: ['localhost', '127.0.0.1'], now: new Date(), validityDays: 1 });
    writeFileSync(path.join(dir, 'tls.crt'), serving.certPem);
    writeFileSync(path.join(dir, 'tls.key'), serving.keyPem);
    const logger = silentLogger();
    const kc = api.kubeConfig();
    cache = new InformerNamespaceCache(kc, logger, undefined, () => {
      const w = waiting;
      waiting = [];
      for (const resolve of w) resolve();
    });
    source = new CachedNamespaceLabels(cache, new KubeNamespaceLabels(kc), async () => {
      stopped = true;
      await cache.stop();
    });
    server = await startWebhookServer({
      host: '127.0.0.1', port: 0, logger,
      certificates: new FileCertificateSource(path.join(dir, 'tls.crt'), path.join(dir, 'tls.key'), logger),
      review: {
        injector: DEFAULT_INJECTOR_CONFIG, policy: { controlPlaneNamespace: 'pilotfish-system' },
        namespaces: source, onError: 'allow', logger, metrics: new InjectionMetrics(),
      },
    });
  });

  after(async () => {
    await server?.close();
    await api?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads the namespace with a GET until the cache has synced', async () => {
    assert.equal(cache.synced(), false, 'not started yet');
    api.resetRequests();
    assert.equal(await injected('shop'), true);
    assert.equal(api.count(GET_NAMESPACE), 1);
    assert.equal(source.stats.notSynced, 1);
  });

  it('once synced, admits Pods without reading any Namespace from the API server', async () => {
    cache.start();
    await cache.whenSynced;
    assert.equal(cache.synced(), true);
    api.resetRequests();
    for (let i = 0; i < 20; i++) {
      assert.equal(await injected('shop'), true);
      assert.equal(await injected('plain'), false);
    }
    assert.equal(api.count(GET_NAMESPACE), 0, 'no GET per admission');
    assert.equal(source.stats.cached, 40);
  });

  it('follows label changes through the watch', async () => {
    const seen = new Promise<void>((resolve) => waiting.push(resolve));
    api.patch({ apiVersion: 'v1', kind: 'Namespace', name: 'plain' }, { metadata: { labels: { 'pilotfish.io/inject': 'enabled' } } });
    await seen;
    api.resetRequests();
    assert.equal(await injected('plain'), true);
    assert.equal(api.count(GET_NAMESPACE), 0);
  });

  it('asks the API server about a namespace the cache does not know (yet)', async () => {
    api.resetRequests();
    const before = source.stats.missed;
    assert.equal(await injected('not-there'), false);
    assert.equal(api.count(GET_NAMESPACE), 1);
    assert.equal(source.stats.missed, before + 1);
  });

  it('falls back, never answers from a cache that has not synced', async () => {
    const unsynced: NamespaceCache = { synced: () => false, labels: () => { throw new Error('must not be read before sync'); } };
    const fallback = new CachedNamespaceLabels(unsynced, { labels: async (ns) => ({ asked: ns }) });
    assert.deepEqual(await fallback.labels('x'), { asked: 'x' });
  });

  it('stops its watch when the webhook server closes', async () => {
    await api.waitForWatches({ resource: 'namespaces' }, 1);
    await server.close();
    assert.equal(stopped, true, 'server.close() closed the namespace source');
  });
});
