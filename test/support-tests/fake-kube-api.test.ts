// The fake API server, exercised with the unmodified @kubernetes/client-node over real sockets.
// Besides checking the fake, these tests pin down how client-node 1.3's informer reacts to 410,
// dropped and stalled watches: the controller's resilience code is written against that behaviour.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AdmissionregistrationV1Api, ApiException, CoordinationV1Api, CoreV1Api, CustomObjectsApi, type Informer,
  KubeConfig, type KubernetesListObject, type KubernetesObject, KubernetesObjectApi, ListWatch, makeInformer,
  PatchStrategy, setHeaderOptions, type V1Lease, V1MicroTime, type V1Service, VersionApi, Watch,
} from '@kubernetes/client-node';
import { type FakeKubeApi, startFakeKubeApi, type StoredObject } from '../support/fake-kube-api.js';

const GROUP = 'routing.pilotfish.io';
const VERSION = 'v1alpha1';
const ROUTE_API = `${GROUP}/${VERSION}`;

type Verb = 'add' | 'update' | 'delete' | 'error' | 'connect';

interface Seen {
  verb: Verb;
  name?: string;
  resourceVersion?: string;
  err?: unknown;
}

/** Records informer callbacks and lets a test await the next one it cares about. */
class Probe<T extends KubernetesObject> {
  readonly seen: Seen[] = [];
  private waiters: { match: (s: Seen) => boolean; resolve: (s: Seen) => void; from: number }[] = [];

  constructor(informer: Informer<T>) {
    for (const verb of ['add', 'update', 'delete'] as const) {
      informer.on(verb, (obj: T) => this.push({ verb, name: obj.metadata?.name, resourceVersion: obj.metadata?.resourceVersion }));
    }
    informer.on('error', ((err: unknown) => this.push({ verb: 'error', err })) as never);
    informer.on('connect', (() => this.push({ verb: 'connect' })) as never);
  }

  private push(s: Seen): void {
    this.seen.push(s);
    const index = this.seen.length - 1;
    this.waiters = this.waiters.filter((w) => {
      if (index >= w.from && w.match(s)) {
        w.resolve(s);
        return false;
      }
      return true;
    });
  }

  /** Index to pass as `from` so only later callbacks count. */
  mark(): number {
    return this.seen.length;
  }

  next(verb: Verb, name?: string, from = 0): Promise<Seen> {
    const match = (s: Seen): boolean => s.verb === verb && (name === undefined || s.name === name);
    const earlier = this.seen.slice(from).find(match);
    if (earlier) return Promise.resolve(earlier);
    return new Promise((resolve) => this.waiters.push({ match, resolve, from }));
  }

  count(verb: Verb, from = 0): number {
    return this.seen.slice(from).filter((s) => s.verb === verb).length;
  }
}

function svc(name: string, labels: Record<string, string> = {}): V1Service {
  return { metadata: { name, labels }, spec: { ports: [{ name: 'http', port: 80 }] } };
}

async function rejection(promise: Promise<unknown>): Promise<ApiException<string>> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof ApiException, `expected an ApiException, got ${String(err)}`);
    return err as ApiException<string>;
  }
  assert.fail('expected the call to fail');
}

function statusOf(err: ApiException<string>): { reason: string; code: number; message: string } {
  return JSON.parse(err.body) as { reason: string; code: number; message: string };
}

describe('fake-kube-api with @kubernetes/client-node', () => {
  let api: FakeKubeApi;
  let kc: KubeConfig;
  let core: CoreV1Api;
  const informers: Informer<KubernetesObject>[] = [];

  beforeEach(async () => {
    api = await startFakeKubeApi();
    kc = api.kubeConfig();
    core = kc.makeApiClient(CoreV1Api);
  });

  afterEach(async () => {
    for (const informer of informers.splice(0)) await informer.stop();
    await api.close();
  });

  // makeInformer is typed as the bare Informer interface but returns a ListWatch (which has a cache).
  function serviceInformer(namespace = 'default'): { informer: ListWatch<V1Service>; probe: Probe<V1Service> } {
    const informer = makeInformer(kc, `/api/v1/namespaces/${namespace}/services`,
      () => core.listNamespacedService({ namespace })) as ListWatch<V1Service>;
    informers.push(informer as unknown as Informer<KubernetesObject>);
    return { informer, probe: new Probe(informer) };
  }

  describe('core CRUD', () => {
    it('creates, reads, lists, patches, replaces and deletes Services with server defaults', async () => {
      const created = await core.createNamespacedService({ namespace: 'default', body: svc('web', { app: 'web' }) });
      assert.equal(created.metadata?.namespace, 'default');
      assert.ok(created.metadata?.uid);
      assert.match(created.metadata?.resourceVersion ?? '', /^\d+$/);
      assert.match(created.spec?.clusterIP ?? '', /^10\.96\.\d+\.\d+$/);
      assert.equal(created.spec?.type, 'ClusterIP');
      assert.equal(created.spec?.ports?.[0].protocol, 'TCP');
      assert.equal(created.spec?.ports?.[0].targetPort, 80);

      await core.createNamespacedService({ namespace: 'default', body: svc('db', { app: 'db' }) });
      const all = await core.listNamespacedService({ namespace: 'default' });
      assert.deepEqual(all.items.map((s) => s.metadata?.name), ['db', 'web']);
      assert.equal(all.metadata?.resourceVersion, api.resourceVersion());
      const byLabel = await core.listNamespacedService({ namespace: 'default', labelSelector: 'app in (web,other)' });
      assert.deepEqual(byLabel.items.map((s) => s.metadata?.name), ['web']);
      const byField = await core.listServiceForAllNamespaces({ fieldSelector: 'metadata.name=db' });
      assert.deepEqual(byField.items.map((s) => s.metadata?.name), ['db']);

      // client-node 1.x sends application/json-patch+json unless told otherwise.
      const jsonPatched = await core.patchNamespacedService({ name: 'web', namespace: 'default',
        body: [{ op: 'add', path: '/metadata/labels/tier', value: 'front' }] });
      assert.equal(jsonPatched.metadata?.labels?.tier, 'front');
      const merged = await core.patchNamespacedService({ name: 'web', namespace: 'default',
        body: { metadata: { labels: { tier: null, team: 'a' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
      assert.deepEqual(merged.metadata?.labels, { app: 'web', team: 'a' });
      // Strategic merge merges Service ports by port number; a merge patch would have replaced the list.
      const strategic = await core.patchNamespacedService({ name: 'web', namespace: 'default',
        body: { spec: { ports: [{ name: 'grpc', port: 9090 }] } } },
      setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch));
      assert.deepEqual(strategic.spec?.ports?.map((p) => p.port), [80, 9090]);

      const read = await core.readNamespacedService({ name: 'web', namespace: 'default' });
      assert.equal(read.metadata?.resourceVersion, strategic.metadata?.resourceVersion);
      const replaced = await core.replaceNamespacedService({ name: 'web', namespace: 'default',
        body: { ...read, spec: { ...read.spec, clusterIP: undefined, clusterIPs: undefined, ports: [{ port: 8080 }] } } });
      assert.equal(replaced.spec?.clusterIP, created.spec?.clusterIP, 'the cluster IP survives a replace that omits it');

      await core.deleteNamespacedService({ name: 'web', namespace: 'default' });
      const gone = await rejection(core.readNamespacedService({ name: 'web', namespace: 'default' }));
      assert.equal(gone.code, 404);
      assert.deepEqual(statusOf(gone), { ...statusOf(gone), reason: 'NotFound', message: 'services "web" not found' });
    });

    it('answers conflicts and missing namespaces with Status objects', async () => {
      await core.createNamespacedService({ namespace: 'default', body: svc('a') });
      const dup = await rejection(core.createNamespacedService({ namespace: 'default', body: svc('a') }));
      assert.equal(dup.code, 409);
      assert.equal(statusOf(dup).reason, 'AlreadyExists');

      const stale = await core.readNamespacedService({ name: 'a', namespace: 'default' });
      await core.patchNamespacedService({ name: 'a', namespace: 'default',
        body: [{ op: 'add', path: '/metadata/annotations', value: { x: '1' } }] });
      const conflict = await rejection(core.replaceNamespacedService({ name: 'a', namespace: 'default', body: stale }));
      assert.equal(conflict.code, 409);
      assert.equal(statusOf(conflict).reason, 'Conflict');

      const noNs = await rejection(core.createNamespacedService({ namespace: 'nowhere', body: svc('a') }));
      assert.equal(noNs.code, 404);
      assert.equal(statusOf(noNs).message, 'namespaces "nowhere" not found');

      const badSelector = await rejection(core.listNamespacedPod({ namespace: 'default', fieldSelector: 'spec.bogus=1' }));
      assert.equal(badSelector.code, 400);
    });

    it('labels namespaces, turns stringData into data, and deleting a namespace deletes its content', async () => {
      const ns = await core.createNamespace({ body: { metadata: { name: 'shop' } } });
      assert.equal(ns.metadata?.labels?.['kubernetes.io/metadata.name'], 'shop');
      assert.equal(ns.status?.phase, 'Active');
      const secret = await core.createNamespacedSecret({ namespace: 'shop',
        body: { metadata: { name: 'tls' }, stringData: { 'ca.crt': 'PEM' } } });
      assert.equal(secret.type, 'Opaque');
      assert.equal(secret.data?.['ca.crt'], Buffer.from('PEM').toString('base64'));
      await core.createNamespacedService({ namespace: 'shop', body: svc('cart') });
      await core.deleteNamespace({ name: 'shop' });
      assert.equal((await core.listServiceForAllNamespaces()).items.length, 0);
      assert.equal((await rejection(core.readNamespacedSecret({ name: 'tls', namespace: 'shop' }))).code, 404);
    });

    it('holds a deleted object with finalizers until they are removed; dry runs store nothing', async () => {
      await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'dry' } }, dryRun: 'All' });
      assert.equal((await rejection(core.readNamespacedConfigMap({ name: 'dry', namespace: 'default' }))).code, 404);

      await core.createNamespacedConfigMap({ namespace: 'default',
        body: { metadata: { name: 'held', finalizers: ['pilotfish.io/cleanup'] } } });
      await core.deleteNamespacedConfigMap({ name: 'held', namespace: 'default' });
      const marked = await core.readNamespacedConfigMap({ name: 'held', namespace: 'default' });
      assert.ok(marked.metadata?.deletionTimestamp, 'deletion is pending');
      await core.patchNamespacedConfigMap({ name: 'held', namespace: 'default',
        body: [{ op: 'remove', path: '/metadata/finalizers' }] });
      assert.equal((await rejection(core.readNamespacedConfigMap({ name: 'held', namespace: 'default' }))).code, 404);
    });

    it('pages lists with limit/continue, and an expired continue token is 410', async () => {
      for (const name of ['a', 'b', 'c']) await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name } } });
      const first = await core.listNamespacedConfigMap({ namespace: 'default', limit: 2 });
      assert.deepEqual(first.items.map((c) => c.metadata?.name), ['a', 'b']);
      assert.equal(first.metadata?.remainingItemCount, 1);
      const rest = await core.listNamespacedConfigMap({ namespace: 'default', limit: 2, _continue: first.metadata?._continue });
      assert.deepEqual(rest.items.map((c) => c.metadata?.name), ['c']);
      assert.equal(rest.metadata?._continue, undefined);
      api.expireHistory();
      const tooOld = await rejection(core.listNamespacedConfigMap({ namespace: 'default', _continue: first.metadata?._continue }));
      assert.equal(tooOld.code, 410);
      assert.equal(statusOf(tooOld).reason, 'Expired');
    });

    it('serves /version, health, discovery (KubernetesObjectApi) and a kubeconfig file', async () => {
      const version = await kc.makeApiClient(VersionApi).getCode();
      assert.equal(version.gitVersion, 'v1.33.0');
      assert.equal(version.minor, '33');
      const health = await fetch(`${api.url}/readyz`);
      assert.equal(await health.text(), 'ok');

      const dir = await mkdtemp(join(tmpdir(), 'fake-kube-api-test-'));
      try {
        const file = await api.writeKubeconfig(dir);
        const fromFile = new KubeConfig();
        fromFile.loadFromFile(file);
        const generic = KubernetesObjectApi.makeApiClient(fromFile);
        await generic.create({ apiVersion: ROUTE_API, kind: 'TrafficRoute', metadata: { name: 'r', namespace: 'default' } });
        await generic.create({ apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
          metadata: { name: 'web-abc', namespace: 'default', labels: { 'kubernetes.io/service-name': 'web' } },
          addressType: 'IPv4', endpoints: [{ addresses: ['10.0.0.1'] }], ports: [{ port: 8080 }] } as KubernetesObject);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
      const slice = api.get<StoredObject & { ports: { protocol: string }[] }>(
        { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', name: 'web-abc', namespace: 'default' });
      assert.equal(slice.ports[0].protocol, 'TCP');
      assert.ok(api.tryGet({ apiVersion: ROUTE_API, kind: 'TrafficRoute', name: 'r', namespace: 'default' }));
      assert.ok(api.count({ path: '/apis/discovery.k8s.io/v1' }) >= 1, 'KubernetesObjectApi used discovery');
    });

    it('works over HTTPS with the CA in the kubeconfig', async () => {
      const secure = await startFakeKubeApi({ https: true });
      try {
        assert.match(secure.url, /^https:\/\/127\.0\.0\.1:\d+$/);
        const client = secure.kubeConfig().makeApiClient(CoreV1Api);
        const list = await client.listNamespace();
        assert.deepEqual(list.items.map((n) => n.metadata?.name), ['default', 'kube-node-lease', 'kube-public', 'kube-system']);
      } finally {
        await secure.close();
      }
    });
  });

  describe('status subresource and generation', () => {
    it('keeps status out of spec writes and spec out of status writes (Service)', async () => {
      const created = await core.createNamespacedService({ namespace: 'default',
        body: { ...svc('lb'), status: { loadBalancer: { ingress: [{ ip: '1.2.3.4' }] } } } });
      assert.equal(created.status?.loadBalancer?.ingress, undefined, 'create ignores the status it was given');
      const withStatus = await core.replaceNamespacedServiceStatus({ name: 'lb', namespace: 'default',
        body: { ...created, spec: { ...created.spec, ports: [{ port: 1 }] }, status: { loadBalancer: { ingress: [{ ip: '1.2.3.4' }] } } } });
      assert.equal(withStatus.status?.loadBalancer?.ingress?.[0].ip, '1.2.3.4');
      assert.equal(withStatus.spec?.ports?.[0].port, 80, 'a status write ignores spec');
      const specWrite = await core.patchNamespacedService({ name: 'lb', namespace: 'default',
        body: { spec: { sessionAffinity: 'ClientIP' }, status: { loadBalancer: {} } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
      assert.equal(specWrite.spec?.sessionAffinity, 'ClientIP');
      assert.equal(specWrite.status?.loadBalancer?.ingress?.[0].ip, '1.2.3.4', 'a spec write ignores status');
    });

    it('bumps generation only on spec changes and skips no-op writes (TrafficRoute via CustomObjectsApi)', async () => {
      const co = kc.makeApiClient(CustomObjectsApi);
      const base = { group: GROUP, version: VERSION, namespace: 'default', plural: 'trafficroutes' };
      const created = await co.createNamespacedCustomObject({ ...base,
        body: { apiVersion: ROUTE_API, kind: 'TrafficRoute', metadata: { name: 'r1' }, spec: { hosts: ['web'] } } }) as StoredObject;
      assert.equal(created.metadata.generation, 1);

      const statusBody = { status: { observedGeneration: 1, conditions: [{ type: 'Accepted', status: 'True' }] } };
      const withStatus = await co.patchNamespacedCustomObjectStatus({ ...base, name: 'r1', body: statusBody },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch)) as StoredObject;
      assert.deepEqual(withStatus.status, statusBody.status);
      assert.equal(withStatus.metadata.generation, 1, 'status writes do not bump generation');
      assert.notEqual(withStatus.metadata.resourceVersion, created.metadata.resourceVersion);

      const again = await co.patchNamespacedCustomObjectStatus({ ...base, name: 'r1', body: statusBody },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch)) as StoredObject;
      assert.equal(again.metadata.resourceVersion, withStatus.metadata.resourceVersion, 'a no-op write changes nothing');

      const jsonPatched = await co.patchNamespacedCustomObjectStatus({ ...base, name: 'r1',
        body: [{ op: 'replace', path: '/status/observedGeneration', value: 7 }, { op: 'replace', path: '/spec/hosts', value: [] }] }) as StoredObject;
      assert.deepEqual((jsonPatched.status as { observedGeneration: number }).observedGeneration, 7);
      assert.deepEqual(jsonPatched.spec, { hosts: ['web'] }, 'the status subresource ignores spec');

      const specChanged = await co.patchNamespacedCustomObject({ ...base, name: 'r1',
        body: [{ op: 'replace', path: '/spec/hosts', value: ['web', 'api'] }] }) as StoredObject;
      assert.equal(specChanged.metadata.generation, 2);
      assert.equal((specChanged.status as { observedGeneration: number }).observedGeneration, 7);

      const strategic = await rejection(co.patchNamespacedCustomObject({ ...base, name: 'r1', body: { spec: {} } },
        setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch)));
      assert.equal(strategic.code, 415, 'custom resources do not take strategic merge patches');

      const noRv = await rejection(co.replaceNamespacedCustomObject({ ...base, name: 'r1',
        body: { apiVersion: ROUTE_API, kind: 'TrafficRoute', metadata: { name: 'r1' }, spec: {} } }));
      assert.equal(noRv.code, 422, 'replacing a custom resource needs a resourceVersion');

      const list = await co.listNamespacedCustomObject({ ...base }) as { items: StoredObject[] };
      assert.equal(list.items[0].kind, 'TrafficRoute', 'custom resource list items keep their kind');
      assert.equal(api.count({ resource: 'trafficroutes', subresource: 'status', verb: 'patch' }), 3);
      assert.equal(api.count({ resource: 'trafficroutes', subresource: null, verb: 'patch' }), 2);
    });

    it('patches a MutatingWebhookConfiguration caBundle', async () => {
      api.create({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration',
        metadata: { name: 'pilotfish' }, webhooks: [{ name: 'inject.pilotfish.io', sideEffects: 'None',
          admissionReviewVersions: ['v1'], clientConfig: { service: { name: 'pilotfish', namespace: 'pilotfish-system' } } }] });
      const admission = kc.makeApiClient(AdmissionregistrationV1Api);
      const patched = await admission.patchMutatingWebhookConfiguration({ name: 'pilotfish',
        body: [{ op: 'add', path: '/webhooks/0/clientConfig/caBundle', value: 'Q0E=' }] });
      assert.equal(patched.webhooks?.[0].clientConfig.caBundle, 'Q0E=');
      assert.equal(patched.webhooks?.[0].clientConfig.service?.port, 443);
      assert.equal(patched.metadata?.generation, 2);
    });
  });

  describe('leases', () => {
    it('lets exactly one of two writers win a renewal race', async () => {
      const leases = kc.makeApiClient(CoordinationV1Api);
      const body: V1Lease = { metadata: { name: 'pilotfish-leader', namespace: 'kube-system' },
        spec: { holderIdentity: 'a', leaseDurationSeconds: 15, acquireTime: new V1MicroTime(), renewTime: new V1MicroTime() } };
      const created = await leases.createNamespacedLease({ namespace: 'kube-system', body });
      const again = await rejection(leases.createNamespacedLease({ namespace: 'kube-system', body }));
      assert.equal(again.code, 409);

      const renewA = { ...created, spec: { ...created.spec, renewTime: new V1MicroTime() } };
      const takeB = { ...created, spec: { ...created.spec, holderIdentity: 'b' } };
      const results = await Promise.allSettled([
        leases.replaceNamespacedLease({ name: 'pilotfish-leader', namespace: 'kube-system', body: renewA }),
        leases.replaceNamespacedLease({ name: 'pilotfish-leader', namespace: 'kube-system', body: takeB }),
      ]);
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      assert.equal(won.length, 1);
      assert.equal((lost[0].reason as ApiException<string>).code, 409);
      const stored = await leases.readNamespacedLease({ name: 'pilotfish-leader', namespace: 'kube-system' });
      assert.equal(stored.metadata?.resourceVersion, (won[0] as PromiseFulfilledResult<V1Lease>).value.metadata?.resourceVersion);
      // client-node does not turn MicroTime back into a Date: it arrives as the wire string.
      assert.match(String(stored.spec?.renewTime), /\.\d{6}Z$/);
    });

    it('refuses lease times with millisecond precision, as the real server does', async () => {
      const leases = kc.makeApiClient(CoordinationV1Api);
      const refused = await rejection(leases.createNamespacedLease({ namespace: 'kube-system',
        body: { metadata: { name: 'l' }, spec: { holderIdentity: 'a', renewTime: new Date() } } }));
      assert.equal(refused.code, 400);
      assert.match(statusOf(refused).message, /six fractional digits/);
    });
  });

  describe('informers', () => {
    it('delivers add, update and delete, and filters by label the way the server does', async () => {
      await core.createNamespacedService({ namespace: 'default', body: svc('before') });
      const { informer, probe } = serviceInformer();
      await informer.start();
      await probe.next('add', 'before');
      await api.waitForWatches({ resource: 'services' });

      await core.createNamespacedService({ namespace: 'default', body: svc('web') });
      await probe.next('add', 'web');
      await core.patchNamespacedService({ name: 'web', namespace: 'default',
        body: [{ op: 'add', path: '/metadata/annotations', value: { v: '2' } }] });
      await probe.next('update', 'web');
      await core.deleteNamespacedService({ name: 'web', namespace: 'default' });
      await probe.next('delete', 'web');
      assert.equal(informer.get('web', 'default'), undefined);
      assert.equal(api.count({ verb: 'list', resource: 'services' }), 1);

      // A label-selected watch sees an object leave its selection as DELETED.
      const selected = new ListWatch<V1Service>('/api/v1/namespaces/default/services', new Watch(kc),
        () => core.listNamespacedService({ namespace: 'default', labelSelector: 'mesh=on' }), false, 'mesh=on');
      informers.push(selected as unknown as Informer<KubernetesObject>);
      const selectedProbe = new Probe(selected);
      await selected.start();
      api.create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'm', namespace: 'default', labels: { mesh: 'on' } } });
      await selectedProbe.next('add', 'm');
      api.patch({ apiVersion: 'v1', kind: 'Service', name: 'm', namespace: 'default' }, { metadata: { labels: { mesh: 'off' } } });
      await selectedProbe.next('delete', 'm');
      assert.equal(selectedProbe.count('update'), 0);
    });

    it('on a watch from an expired resourceVersion (410 ERROR event) re-lists by itself, without an error callback', async () => {
      api.create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'kept', namespace: 'default' } });
      api.create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'doomed', namespace: 'default' } });
      const { informer, probe } = serviceInformer();
      await informer.start();
      await api.waitForWatches({ resource: 'services' });
      await probe.next('add', 'doomed');

      // The informer misses changes (its watch is stuck), history is compacted, then the watch drops:
      // it resumes from its last resourceVersion, which is now too old.
      assert.equal(api.stallWatches({ resource: 'services' }), 1);
      api.create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'new', namespace: 'default' } });
      api.delete({ apiVersion: 'v1', kind: 'Service', name: 'doomed', namespace: 'default' });
      api.expireHistory();
      const mark = probe.mark();
      api.dropWatches({ resource: 'services' });

      await probe.next('add', 'new', mark);
      await probe.next('delete', 'doomed', mark);
      await api.waitForWatches({ resource: 'services' });
      const watches = api.requests({ verb: 'watch', resource: 'services' });
      assert.equal(watches.length, 3);
      assert.equal(watches[1].status, 200, 'the expired watch is answered 200 + ERROR event, like the real server');
      assert.equal(api.count({ verb: 'list', resource: 'services' }), 2, 're-listed once');
      assert.equal(probe.count('error'), 0);
      assert.equal(probe.count('connect', mark), 2, 'connect fires for the failed resume and for the re-list');
      assert.equal(informer.get('kept', 'default')?.metadata?.name, 'kept');
    });

    it('on an HTTP 410 to its watch also re-lists silently; a failing list stops it with an error callback', async () => {
      const { informer, probe } = serviceInformer();
      await informer.start();
      await api.waitForWatches({ resource: 'services' });

      api.failNext({ verb: 'watch', resource: 'services' }, { status: 410 });
      api.dropWatches({ resource: 'services' });
      await api.waitForRequests({ verb: 'list', resource: 'services' }, 2);
      await api.waitForWatches({ resource: 'services' });
      assert.equal(probe.count('error'), 0);

      api.failNext({ verb: 'watch', resource: 'services' }, { status: 410 });
      api.failNext({ verb: 'list', resource: 'services' }, { status: 500 });
      api.dropWatches({ resource: 'services' });
      const failed = await probe.next('error');
      assert.equal((failed.err as ApiException<string>).code, 500);
      assert.equal(api.openWatches({ resource: 'services' }).length, 0, 'after an error callback the informer is stopped');

      // start() again re-lists (its resourceVersion was cleared by the 410) and watches.
      api.create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'late', namespace: 'default' } });
      await informer.start();
      await probe.next('add', 'late');
      await api.waitForWatches({ resource: 'services' });
    });

    it('after a clean end of its watch resumes at once from its last resourceVersion, without re-listing', async () => {
      const { informer, probe } = serviceInformer();
      await informer.start();
      await api.waitForWatches({ resource: 'services' });
      const before = api.resourceVersion();
      const mark = probe.mark();
      assert.equal(api.dropWatches({ resource: 'services' }, 'end'), 1);
      await probe.next('connect', undefined, mark);
      await api.waitForWatches({ resource: 'services' });
      const resumed = api.openWatches({ resource: 'services' })[0];
      assert.equal(resumed.resourceVersion, before);
      assert.equal(api.count({ verb: 'list', resource: 'services' }), 1);
      api.create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'after', namespace: 'default' } });
      await probe.next('add', 'after');
    });

    it('after a reset connection fires the error callback and stays stopped until start()', async () => {
      const { informer, probe } = serviceInformer();
      await informer.start();
      await api.waitForWatches({ resource: 'services' });
      assert.equal(api.dropWatches({ resource: 'services' }, 'reset'), 1);
      const seen = await probe.next('error');
      assert.equal((seen.err as NodeJS.ErrnoException).code, 'ERR_STREAM_PREMATURE_CLOSE');
      assert.equal(api.openWatches({ resource: 'services' }).length, 0);
      assert.equal(api.count({ verb: 'watch', resource: 'services' }), 1, 'no retry was made');

      api.create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'missed', namespace: 'default' } });
      await informer.start();
      await probe.next('add', 'missed');
      assert.equal(api.count({ verb: 'list', resource: 'services' }), 1, 'start() resumed the watch from the old resourceVersion');
    });

    it('does not notice a stalled watch; only closing the connection brings the missed events', async () => {
      const { informer, probe } = serviceInformer();
      await informer.start();
      await api.waitForWatches({ resource: 'services' });
      assert.equal(api.stallWatches({ resource: 'services' }), 1);
      api.create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'unseen', namespace: 'default' } });
      const [stalled] = api.openWatches({ resource: 'services' });
      assert.equal(stalled.withheld, 1, 'the server never sent the event');
      assert.equal(informer.get('unseen', 'default'), undefined);
      assert.equal(probe.count('error') + probe.count('add'), 0);

      api.dropWatches({ resource: 'services' });
      await probe.next('add', 'unseen');
      assert.equal(api.count({ verb: 'list', resource: 'services' }), 1, 'caught up from history, not by re-listing');
    });

    it('fires the error callback with an AbortError when stopped', async () => {
      const { informer, probe } = serviceInformer();
      await informer.start();
      await api.waitForWatches({ resource: 'services' });
      await informer.stop();
      const seen = await probe.next('error');
      assert.equal((seen.err as Error).name, 'AbortError');
    });

    it('watches custom resources through CustomObjectsApi lists', async () => {
      const co = kc.makeApiClient(CustomObjectsApi);
      const informer = makeInformer<KubernetesObject>(kc, `/apis/${GROUP}/${VERSION}/trafficpolicies`,
        () => co.listCustomObjectForAllNamespaces({ group: GROUP, version: VERSION, plural: 'trafficpolicies' }) as
          Promise<KubernetesListObject<KubernetesObject>>);
      informers.push(informer);
      const probe = new Probe(informer);
      await informer.start();
      await api.waitForWatches({ resource: 'trafficpolicies' });
      api.create({ apiVersion: ROUTE_API, kind: 'TrafficPolicy', metadata: { name: 'p', namespace: 'kube-system' },
        spec: { host: 'web' } });
      await probe.next('add', 'p');
      api.patch({ apiVersion: ROUTE_API, kind: 'TrafficPolicy', name: 'p', namespace: 'kube-system' },
        { status: { conditions: [] } });
      await probe.next('update', 'p');
    });
  });

  describe('raw watches and faults', () => {
    function rawWatch(path: string, query: Record<string, string | number | boolean | undefined>):
      { events: { type: string; object: StoredObject }[]; done: Promise<unknown> } {
      const events: { type: string; object: StoredObject }[] = [];
      const done = new Promise((resolve) => {
        void new Watch(kc).watch(path, query, (type, object) => events.push({ type, object: object as StoredObject }),
          (err) => resolve(err));
      });
      return { events, done };
    }

    it('sends a 410 Expired ERROR event to a watch from a compacted resourceVersion, then ends it', async () => {
      const old = api.resourceVersion();
      api.expireHistory();
      const { events, done } = rawWatch('/api/v1/services', { resourceVersion: old });
      assert.equal(await done, null);
      assert.equal(events.length, 1);
      assert.equal(events[0].type, 'ERROR');
      assert.equal((events[0].object as unknown as { code: number }).code, 410);
      assert.equal((events[0].object as unknown as { reason: string }).reason, 'Expired');
    });

    it('sends bookmarks when asked, and ends the watch after timeoutSeconds', async () => {
      const { events, done } = rawWatch('/api/v1/namespaces/default/services',
        { allowWatchBookmarks: true, timeoutSeconds: 1, resourceVersion: api.resourceVersion() });
      await api.waitForWatches({ resource: 'services' });
      api.create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 's', namespace: 'default' } });
      api.sendBookmarks();
      assert.equal(await done, null);
      assert.deepEqual(events.map((e) => e.type), ['ADDED', 'BOOKMARK']);
      assert.equal(events[1].object.metadata.resourceVersion, api.resourceVersion());
      assert.equal(events[1].object.kind, 'Service');
    });

    it('starts a watch without resourceVersion with the current objects', async () => {
      api.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default', labels: { app: 'x' } } });
      const { events, done } = rawWatch('/api/v1/pods', { labelSelector: 'app=x', timeoutSeconds: 1 });
      assert.equal(await done, null);
      assert.deepEqual(events.map((e) => `${e.type} ${e.object.metadata.name} ${String((e.object as { status?: { phase?: string } }).status?.phase)}`),
        ['ADDED p Pending']);
    });

    it('fails the next requests with injected codes and counts requests', async () => {
      api.failNext({ verb: 'list', resource: 'services' }, { status: 500, count: 2 });
      api.failNext({ verb: 'get', resource: 'pods' }, { status: 429, retryAfterSeconds: 3 });
      assert.equal((await rejection(core.listNamespacedService({ namespace: 'default' }))).code, 500);
      assert.equal((await rejection(core.listNamespacedService({ namespace: 'default' }))).code, 500);
      await core.listNamespacedService({ namespace: 'default' });
      const limited = await rejection(core.readNamespacedPod({ name: 'x', namespace: 'default' }));
      assert.equal(limited.code, 429);
      assert.equal(limited.headers['retry-after'], '3');
      assert.equal(api.count({ verb: 'list', resource: 'services', status: 500 }), 2);
      assert.equal(api.requests({ resource: 'services' }).filter((r) => r.faulted).length, 2);

      const hung = api.hangNext({ path: '/version' });
      const aborted = new Promise<void>((resolve) => {
        const req = httpRequest(`${api.url}/version`);
        req.on('error', () => resolve());
        req.end();
        void api.waitForRequests({ path: '/version' }).then(() => req.destroy());
      });
      await aborted;
      assert.equal(hung.fired, 1);
      assert.equal(api.requests({ path: '/version' })[0].status, 0);
    });

    it('makes a watch fail with an ERROR event carrying any code', async () => {
      api.failNext({ verb: 'watch' }, { status: 500, asWatchEvent: true, message: 'etcd is sad' });
      const { events, done } = rawWatch('/api/v1/services', {});
      assert.equal(await done, null);
      assert.deepEqual(events.map((e) => [e.type, (e.object as unknown as { message: string }).message]),
        [['ERROR', 'etcd is sad']]);
    });
  });
});
