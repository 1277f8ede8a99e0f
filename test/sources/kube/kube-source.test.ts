// KubeSource against the fake API server over real HTTP: the initial list, then every way a watch
// goes wrong (410 Gone, a dropped connection, a reset, a silent stall, failing requests), each
// recovered without losing an update.
import assert from 'node:assert/strict';
import { KubeSource } from '../../../src/sources/kube/kube-source.js';
import type { InformerTuning } from '../../../src/sources/kube/informer.js';
import type { ObjectSet } from '../../../src/sources/objects.js';
import { silentLogger } from '../../../src/logging.js';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import { startFakeKubeApi, type FakeKubeApi, type KubeObject } from '../../support/fake-kube-api.js';
import { REPO_ROOT } from '../../support/pilotfish-process.js';
import { SnapshotStore } from '../../../src/store/snapshot-store.js';
import { endpointSlice, hasService, names, namespace, pod, RecordingSink, service } from '../../support/kube-helpers.js';

const FAST: Partial<InformerTuning> = {
  requestTimeoutMs: 2_000,
  stallTimeoutMs: 60_000,
  minWatchMs: 1_000,
  backoff: { initialMs: 20, maxMs: 200, jitter: 0.2 },
};

describe('controller/kube KubeSource', function () {
  this.timeout(30_000);
  let api: FakeKubeApi;
  let source: KubeSource | undefined;

  beforeEach(async () => {
    api = await startFakeKubeApi();
  });

  afterEach(async () => {
    await source?.stop();
    source = undefined;
    await api.close();
  });

  async function startSource(tuning: Partial<InformerTuning> = {}, watches = 6): Promise<RecordingSink> {
    source = new KubeSource({ kubeConfig: api.kubeConfig(), logger: silentLogger(), tuning: { ...FAST, ...tuning } });
    const sink = new RecordingSink();
    await source.start(sink);
    // Every informer is watching before the test starts injecting faults.
    await api.waitForWatches({}, watches);
    return sink;
  }

  it('lists every kind before start() resolves, and reports raw objects with apiVersion and kind', async () => {
    api.create(service('web'));
    api.create(endpointSlice('web-1', 'web', 'default', 8080, [{ ip: '10.0.0.1', pod: 'web-0' }]));
    api.create(pod('web-0', 'default', '10.0.0.1', { app: 'web' }));
    api.create({ apiVersion: 'routing.pilotfish.io/v1alpha1', kind: 'TrafficRoute', metadata: { name: 'r', namespace: 'default' },
      spec: { hosts: ['web'] } });
    const sink = await startSource();
    assert.equal(sink.reports.length, 1, 'the initial content is reported once');
    const set = sink.last!;
    assert.ok(hasService('web')(set));
    assert.deepEqual(names(set.endpointSlices), ['default/web-1']);
    assert.deepEqual(names(set.trafficRoutes), ['default/r']);
    assert.ok(names(set.namespaces).includes('/kube-system'));
    const svc = set.services.find((s) => s.metadata?.name === 'web')!;
    assert.equal(svc.apiVersion, 'v1');
    assert.equal(svc.kind, 'Service');
    assert.equal(typeof svc.metadata?.creationTimestamp, 'string', 'raw JSON, not client-node model classes');
    const p = set.pods[0];
    assert.deepEqual(p.metadata?.labels, { app: 'web' });
    assert.equal(p.spec?.serviceAccountName, 'default');
    assert.equal(p.status?.podIP, '10.0.0.1');
    assert.equal(p.spec?.containers, undefined, 'pods are pruned to what the model reads');
    const route = set.trafficRoutes[0];
    assert.equal(route.status, undefined, 'routing objects reach the model without status');
    assert.equal(route.metadata.resourceVersion, undefined, 'nor resourceVersion');
    assert.equal(route.metadata.generation, 1);
  });

  it('does not finish the initial sync while a list fails or hangs; retries with backoff until it works', async () => {
    api.create(service('web'));
    api.failNext({ verb: 'list', resource: 'services' }, { status: 500, count: 2 });
    api.hangNext({ verb: 'list', resource: 'endpointslices' });
    source = new KubeSource({ kubeConfig: api.kubeConfig(), logger: silentLogger(), tuning: { ...FAST, requestTimeoutMs: 300 } });
    const sink = new RecordingSink();
    let resolved = false;
    const started = source.start(sink).then(() => { resolved = true; });
    await api.waitForRequests({ verb: 'list', resource: 'services', status: 500 }, 2);
    assert.equal(resolved, false, 'not synced while the services list fails');
    await started;
    assert.ok(hasService('web')(sink.last!));
    assert.equal(api.count({ verb: 'list', resource: 'services', status: 200 }), 1);
    assert.equal(api.count({ verb: 'list', resource: 'endpointslices', status: 200 }), 1, 'the hung list was abandoned and retried');
    const stats = source.stats();
    assert.equal(stats.Service.errors, 2);
    assert.equal(stats.EndpointSlice.errors, 1);
  });

  it('endpoints reach the model with ready, serving and terminating, zone as locality and pod labels (also without a selector)', async () => {
    api.create(namespace('shop'));
    api.create(pod('web-0', 'shop', '10.0.0.1', { app: 'web', version: 'v1' }));
    api.create(service('web', 'shop', { selector: { app: 'web' } }));
    api.create(endpointSlice('web-1', 'web', 'shop', 8080, [
      { ip: '10.0.0.1', pod: 'web-0', zone: 'zone-a' },
      { ip: '10.0.0.2', ready: false, serving: true, terminating: true, zone: 'zone-b' },
      { ip: '10.0.0.3', ready: false, serving: false, terminating: false },
    ]));
    api.create(service('external', 'shop'));
    api.create(endpointSlice('external-manual', 'external', 'shop', 9000, [{ ip: '192.0.2.10' }]));
    source = new KubeSource({ kubeConfig: api.kubeConfig(), logger: silentLogger(), tuning: FAST });
    const store = new SnapshotStore({ logger: silentLogger() });
    try {
      const snapshot = await store.start([source]);
      const web = snapshot.endpoints.get('web.shop')!;
      assert.deepEqual(web.map((e) => [e.address, e.ready, e.serving, e.terminating, e.locality.zone]), [
        ['10.0.0.1', true, true, false, 'zone-a'],
        ['10.0.0.2', false, true, true, 'zone-b'],
        ['10.0.0.3', false, false, false, ''],
      ]);
      assert.deepEqual(web[0].labels, { app: 'web', version: 'v1' }, 'pod labels, for subsets');
      assert.equal(web[0].podName, 'web-0');
      assert.equal(snapshot.services.get('external.shop')?.selector, undefined);
      assert.deepEqual(snapshot.endpoints.get('external.shop')?.map((e) => [e.address, e.ports]), [['192.0.2.10', { grpc: 9000 }]]);
      assert.deepEqual(snapshot.pods.get('shop/web-0'), { name: 'web-0', namespace: 'shop', labels: { app: 'web', version: 'v1' }, ip: '10.0.0.1', serviceAccount: 'default' });
    } finally {
      await store.stop();
    }
  });

  it('reports creates, updates and deletes as they happen', async () => {
    const sink = await startSource();
    api.create(service('a'));
    await sink.waitFor(hasService('a'), 'service a');
    api.patch({ apiVersion: 'v1', kind: 'Service', name: 'a', namespace: 'default' }, { metadata: { labels: { v: '2' } } });
    await sink.waitFor((s) => s.services.some((x) => x.metadata?.name === 'a' && x.metadata?.labels?.v === '2'), 'the update');
    api.delete({ apiVersion: 'v1', kind: 'Service', name: 'a', namespace: 'default' });
    await sink.waitFor((s) => !hasService('a')(s), 'the delete');
  });

  /** Changes made while the services watch cannot deliver them: only a recovery can bring them in. */
  function changeWhileStalled(): void {
    api.create(service('added'));
    api.patch({ apiVersion: 'v1', kind: 'Service', name: 'changed', namespace: 'default' }, { metadata: { labels: { v: '2' } } });
    api.delete({ apiVersion: 'v1', kind: 'Service', name: 'removed', namespace: 'default' });
  }

  function allChangesSeen(s: ObjectSet): boolean {
    return hasService('added')(s) && !hasService('removed')(s)
      && s.services.some((x) => x.metadata?.name === 'changed' && x.metadata?.labels?.v === '2');
  }

  async function withheldOnServicesWatch(): Promise<void> {
    assert.equal(api.stallWatches({ resource: 'services' }), 1);
    changeWhileStalled();
    const [w] = api.openWatches({ resource: 'services' });
    assert.equal(w.withheld, 3, 'the informer cannot have seen the changes over its watch');
  }

  it('410 Gone: re-lists, and the re-list brings every change made meanwhile (add, update, delete)', async () => {
    api.create(service('changed'));
    api.create(service('removed'));
    const sink = await startSource();
    await withheldOnServicesWatch();
    api.expireHistory();
    // The watch ends cleanly; resuming from its resourceVersion now gets 410 Gone.
    api.dropWatches({ resource: 'services' }, 'end');
    await sink.waitFor(allChangesSeen, 'the changes, through a re-list');
    const stats = source!.stats().Service;
    assert.ok(stats.expired >= 1, 'the 410 was seen');
    assert.equal(stats.lists, 2, 'exactly one re-list');
    assert.equal(stats.errors, 0, '410 is not an error');
    assert.equal(api.count({ verb: 'list', resource: 'services' }), 2);
  });

  it('a dropped watch (clean end) resumes from its resourceVersion without a re-list', async () => {
    api.create(service('changed'));
    api.create(service('removed'));
    const sink = await startSource();
    await withheldOnServicesWatch();
    api.dropWatches({ resource: 'services' }, 'end');
    await sink.waitFor(allChangesSeen, 'the changes, replayed on the new watch');
    assert.equal(source!.stats().Service.lists, 1, 'no re-list');
    const resumed = api.openWatches({ resource: 'services' });
    assert.equal(resumed.length, 1);
    assert.notEqual(resumed[0].resourceVersion, '', 'resumed from a resourceVersion');
    assert.equal(resumed[0].allowBookmarks, true, 'watches ask for bookmarks');
  });

  it('a reset connection (which stops the client-node informer for good) is restarted after a backoff', async () => {
    api.create(service('changed'));
    api.create(service('removed'));
    const sink = await startSource();
    await withheldOnServicesWatch();
    api.dropWatches({ resource: 'services' }, 'reset');
    await sink.waitFor(allChangesSeen, 'the changes after the restart');
    const stats = source!.stats().Service;
    assert.equal(stats.errors, 1, 'the reset stopped the informer once');
    assert.equal(stats.lists, 1, 'resumed from the resourceVersion, no re-list');
  });

  it('a failing watch is retried with backoff until the server answers again', async () => {
    const sink = await startSource();
    api.failNext({ verb: 'watch', resource: 'services' }, { status: 500, count: 3 });
    api.failNext({ verb: 'watch', resource: 'services' }, { status: 429, retryAfterSeconds: 0, count: 1 });
    api.dropWatches({ resource: 'services' }, 'reset');
    api.create(service('later'));
    await sink.waitFor(hasService('later'), 'the service created while watches failed');
    assert.equal(api.count({ verb: 'watch', resource: 'services', status: 500 }), 3);
    assert.equal(api.count({ verb: 'watch', resource: 'services', status: 429 }), 1);
    assert.equal(source!.stats().Service.errors, 5, 'the reset and four failed watches');
  });

  it('a stalled watch (open, silent) is detected by its idle deadline and resumed; healthy watches are left alone', async () => {
    await api.close();
    // Bookmarks keep the healthy watches busy; the stalled one gets nothing at all.
    api = await startFakeKubeApi({ bookmarkIntervalMs: 50 });
    api.create(service('changed'));
    api.create(service('removed'));
    const sink = await startSource({ stallTimeoutMs: 500 });
    await withheldOnServicesWatch();
    await sink.waitFor(allChangesSeen, 'the changes after the stall was detected');
    const stats = source!.stats();
    assert.equal(stats.Service.stalls, 1);
    assert.equal(stats.Service.lists, 1, 'resumed from the resourceVersion, no re-list');
    for (const kind of ['Namespace', 'EndpointSlice', 'Pod', 'TrafficRoute', 'TrafficPolicy']) {
      assert.equal(stats[kind].stalls, 0, `${kind}: bookmarks count as life`);
    }
  });

  it('a stalled watch that can only resume into 410 still ends with every change (stall, then re-list)', async () => {
    await api.close();
    api = await startFakeKubeApi({ bookmarkIntervalMs: 50 });
    api.create(service('changed'));
    api.create(service('removed'));
    const sink = await startSource({ stallTimeoutMs: 500 });
    await withheldOnServicesWatch();
    api.expireHistory();
    await sink.waitFor(allChangesSeen, 'the changes after stall + re-list');
    const stats = source!.stats().Service;
    assert.equal(stats.stalls, 1);
    assert.equal(stats.lists, 2);
  });

  it('treats routing CRDs that are not installed as empty, and picks them up once they are', async () => {
    await api.close();
    api = await startFakeKubeApi({ customResources: [] });
    const sink = await startSource({}, 4);
    assert.deepEqual(sink.last!.trafficRoutes, []);
    assert.ok(source!.stats().TrafficRoute.errors >= 1);
    for (const file of ['trafficroutes', 'trafficpolicies']) {
      api.create(parse(await readFile(path.join(REPO_ROOT, `crds/${file}.routing.pilotfish.io.yaml`), 'utf8')) as KubeObject);
    }
    api.create({ apiVersion: 'routing.pilotfish.io/v1alpha1', kind: 'TrafficRoute', metadata: { name: 'late', namespace: 'default' },
      spec: { hosts: ['web'] } });
    await sink.waitFor((s) => names(s.trafficRoutes).includes('default/late'), 'the TrafficRoute once its CRD exists');
  });
});
