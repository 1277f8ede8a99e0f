// RootCertPublisher against the fake API server over a real socket, fed by a real Namespace
// informer: only the leader writes; namespaces labelled for injection get the ConfigMap (also when
// labelled later); a bundle change updates every one; nothing is written when nothing changed;
// bad bundles and failed writes leave the last good state; the requests are exactly the declared
// permissions.
import assert from 'node:assert/strict';
import { NAMESPACES } from '../../src/sources/kube/kinds.js';
import { KubeSource } from '../../src/sources/kube/kube-source.js';
import { KubeRest } from '../../src/kube/rest.js';
import type { ObjectNames } from '../../src/kube/api-permission.js';
import { ROOT_CERT_CONFIGMAP_PERMISSIONS } from '../../src/leader/root-cert-permissions.js';
import {
  injectedNamespaces, KubeRootCertClient, MAX_BUNDLE_BYTES, RootCertPublisher,
} from '../../src/leader/root-cert-publisher.js';
import { silentLogger } from '../../src/logging.js';
import { startFakeKubeApi, type FakeKubeApi, type KubeObject } from '../support/fake-kube-api.js';
import { RecordingSink } from '../support/kube-helpers.js';
import { authorize, declared } from '../permissions/authorize.js';

const pem = (tag: string): string => `-----BEGIN CERTIFICATE-----\n${Buffer.from(`root ${tag}`).toString('base64')}\n-----END CERTIFICATE-----\n`;
const WRITES = { verb: ['create', 'patch'] as const, resource: 'configmaps' };
const NAMES: ObjectNames = { webhookConfig: 'pf-injector', tlsSecret: 'pf-webhook-tls', lease: 'pf-leader', caSecret: 'pf-ca' };

interface ConfigMap extends KubeObject { data?: Record<string, string> }

describe('leader/RootCertPublisher', function () {
  this.timeout(20_000);
  let api: FakeKubeApi;
  let source: KubeSource;
  let publisher: RootCertPublisher;
  let leader: boolean;
  let bundle: () => Promise<string>;
  /** The CA's current bundle, as the default `bundle` reads it. */
  let current: string;
  const setBundle = (text: string): void => { current = text; };

  function rootCert(namespace: string): string | undefined {
    const cm = api.tryGet({ apiVersion: 'v1', kind: 'ConfigMap', name: 'pilotfish-ca-root-cert', namespace }) as ConfigMap | undefined;
    return cm?.data?.['root-cert.pem'];
  }

  function label(namespace: string): void {
    api.patch({ apiVersion: 'v1', kind: 'Namespace', name: namespace }, { metadata: { labels: { 'pilotfish.io/inject': 'enabled' } } });
  }

  /** Feeds the publisher from the informer, as the controller does from the store. */
  function feed(): void {
    const namespaces = source.objects().namespaces as unknown as Array<{ metadata: { name: string; labels?: Record<string, string> } }>;
    publisher.setNamespaces(injectedNamespaces(namespaces.map((n) => ({ name: n.metadata.name, labels: n.metadata.labels ?? {} }))));
  }

  beforeEach(async () => {
    api = await startFakeKubeApi({ namespaces: ['default', 'kube-system', 'pilotfish-system', 'shop', 'bank', 'plain'] });
    label('shop');
    label('bank');
    source = new KubeSource({ kubeConfig: api.kubeConfig(), logger: silentLogger(), kinds: [NAMESPACES] });
    await source.start(new RecordingSink());
    leader = false;
    current = pem('one');
    bundle = async () => current;
    publisher = new RootCertPublisher({
      client: new KubeRootCertClient(new KubeRest(api.kubeConfig())),
      bundle: () => bundle(),
      isLeader: () => leader,
      logger: silentLogger(),
      checkIntervalMs: 0,
      resyncIntervalMs: 0,
      backoff: { initialMs: 10, maxMs: 50 },
    });
    source.onChange(feed);
    feed();
  });

  afterEach(async () => {
    await publisher.stop();
    await source.stop();
    await api.close();
  });

  it('only the leader writes; then every labelled namespace gets the bundle and the others nothing', async () => {
    publisher.kick();
    await publisher.idle();
    assert.equal(api.count(WRITES), 0, 'a replica that does not hold the Lease writes nothing');
    assert.equal(api.count({ resource: 'configmaps' }), 0, 'and does not even read');

    leader = true;
    publisher.kick();
    await publisher.idle();
    assert.equal(rootCert('shop'), pem('one'));
    assert.equal(rootCert('bank'), pem('one'));
    for (const ns of ['default', 'kube-system', 'pilotfish-system', 'plain']) assert.equal(rootCert(ns), undefined, ns);
    assert.equal(api.count({ verb: 'create', resource: 'configmaps' }), 2);
    const cm = api.get({ apiVersion: 'v1', kind: 'ConfigMap', name: 'pilotfish-ca-root-cert', namespace: 'shop' });
    assert.equal(cm.metadata.labels?.['app.kubernetes.io/managed-by'], 'pilotfish');
  });

  it('a namespace labelled later gets it as soon as the informer sees the label', async () => {
    leader = true;
    publisher.kick();
    await publisher.idle();
    label('plain');
    await api.waitForRequests({ verb: 'create', resource: 'configmaps', namespace: 'plain' });
    await publisher.idle();
    assert.equal(rootCert('plain'), pem('one'));
  });

  it('a bundle change updates every ConfigMap once; nothing is written while nothing changed', async () => {
    leader = true;
    publisher.kick();
    await publisher.idle();
    const afterFirst = api.count(WRITES);
    assert.equal(afterFirst, 2);

    api.resetRequests();
    publisher.kick();
    await publisher.idle();
    assert.equal(api.count({ resource: 'configmaps' }), 0, 'unchanged: not even a read');
    publisher.resync();
    await publisher.idle();
    assert.equal(api.count({ verb: 'get', resource: 'configmaps' }), 2, 'a resync reads every ConfigMap back');
    assert.equal(api.count(WRITES), 0, 'and writes none that already holds the bundle');

    // A rotation: old and new roots together, then the new alone.
    for (const next of [pem('one') + pem('two'), pem('two')]) {
      api.resetRequests();
      setBundle(next);
      publisher.kick();
      await publisher.idle();
      assert.equal(rootCert('shop'), next);
      assert.equal(rootCert('bank'), next);
      assert.equal(api.count({ verb: 'patch', resource: 'configmaps' }), 2);
      assert.equal(api.count({ verb: 'create', resource: 'configmaps' }), 0);
    }
  });

  it('a resync repairs a ConfigMap someone edited or deleted, keeping keys that are not ours', async () => {
    leader = true;
    publisher.kick();
    await publisher.idle();
    api.patch({ apiVersion: 'v1', kind: 'ConfigMap', name: 'pilotfish-ca-root-cert', namespace: 'shop' },
      { data: { 'root-cert.pem': 'tampered', 'note.txt': 'kept' } });
    api.delete({ apiVersion: 'v1', kind: 'ConfigMap', name: 'pilotfish-ca-root-cert', namespace: 'bank' });
    publisher.resync();
    await publisher.idle();
    assert.equal(rootCert('shop'), pem('one'));
    assert.equal((api.get({ apiVersion: 'v1', kind: 'ConfigMap', name: 'pilotfish-ca-root-cert', namespace: 'shop' }) as ConfigMap).data?.['note.txt'], 'kept');
    assert.equal(rootCert('bank'), pem('one'));
  });

  it('refuses a bundle that is not PEM, too large, or unavailable: nothing is written and the published one stays', async () => {
    leader = true;
    publisher.kick();
    await publisher.idle();
    api.resetRequests();
    for (const bad of [
      async () => 'not a certificate',
      async () => pem('x').repeat(Math.ceil(MAX_BUNDLE_BYTES / pem('x').length) + 1),
      async () => { throw new Error('CA Secret unreadable'); },
    ]) {
      bundle = bad;
      publisher.resync();
      await publisher.idle();
    }
    assert.equal(api.count({ resource: 'configmaps' }), 0);
    assert.equal(publisher.stats.refusedBundles, 3);
    assert.equal(rootCert('shop'), pem('one'));
  });

  it('a failed write is retried with backoff until it lands', async () => {
    api.failNext({ verb: 'create', resource: 'configmaps', namespace: 'bank' }, { status: 500 });
    leader = true;
    publisher.kick();
    await api.waitForRequests({ verb: 'create', resource: 'configmaps', namespace: 'bank', status: 201 });
    await publisher.idle();
    assert.equal(rootCert('bank'), pem('one'));
    assert.equal(publisher.stats.failures, 1);
  });

  it('losing the Lease stops writing at once', async () => {
    leader = true;
    publisher.kick();
    await publisher.idle();
    leader = false;
    setBundle(pem('two'));
    publisher.kick();
    await publisher.idle();
    assert.equal(rootCert('shop'), pem('one'), 'no write after the Lease was lost');
  });

  it('makes exactly the requests ROOT_CERT_CONFIGMAP_PERMISSIONS declares', async () => {
    leader = true;
    publisher.kick();
    await publisher.idle();
    setBundle(pem('two'));
    publisher.kick();
    await publisher.idle();
    const records = api.requests({ resource: 'configmaps' });
    const report = authorize(records, ROOT_CERT_CONFIGMAP_PERMISSIONS, NAMES, 'pilotfish-system');
    assert.deepEqual(report.denied, []);
    assert.deepEqual([...declared(ROOT_CERT_CONFIGMAP_PERMISSIONS, NAMES)].filter((g) => !report.used.has(g)), []);
  });
});
