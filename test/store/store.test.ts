import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import type { V1EndpointSlice, V1Pod, V1Service } from '@kubernetes/client-node';
import type { ObjectSet } from '../../src/sources/objects.js';
import type { Source, SourceSink } from '../../src/sources/source.js';
import { SnapshotStore } from '../../src/store/snapshot-store.js';
import { createLogger, silentLogger } from '../../src/logging.js';
import type { MeshSnapshot } from '../../src/model/snapshot.js';
import { ManualTimers } from '../support/manual-timers.js';
import { StaticSource } from '../support/static-source.js';

function service(name: string, port: number, synthetic = false): V1Service {
  return {
    metadata: { name, namespace: 'shop', ...(synthetic ? { annotations: { 'pilotfish.io/synthetic': 'true' } } : {}) },
    spec: { ports: [{ name: 'http', port }] },
  };
}

function slice(name: string, svc: string, addresses: string[]): V1EndpointSlice {
  return {
    addressType: 'IPv4',
    metadata: { name, namespace: 'shop', labels: { 'kubernetes.io/service-name': svc } },
    ports: [{ name: 'http', port: 8080 }],
    endpoints: addresses.map((a) => ({ addresses: [a] })),
  };
}

function pod(name: string, labels: Record<string, string>, ip = '10.0.0.1'): V1Pod {
  return { metadata: { name, namespace: 'shop', labels }, status: { podIP: ip } };
}

describe('SnapshotStore', () => {
  let timers: ManualTimers;
  let store: SnapshotStore;
  let published: MeshSnapshot[];

  async function startStore(...sources: Source[]): Promise<MeshSnapshot> {
    timers = new ManualTimers();
    store = new SnapshotStore({ logger: silentLogger(), timers });
    published = [];
    store.subscribe((s) => published.push(s));
    return store.start(sources);
  }

  afterEach(async () => { await store?.stop(); });

  it('publishes the first snapshot once every source has started, then resolves ready', async () => {
    let release!: () => void;
    const slow: Source = {
      name: 'slow',
      start: (sink: SourceSink) => new Promise<void>((resolve) => {
        sink.replace('slow', { ...emptySet(), services: [service('late', 1)] });
        release = resolve;
      }),
      stop: async () => undefined,
    };
    const fast = new StaticSource('fast', { ...emptySet(), services: [service('web', 80)], endpointSlices: [slice('web-1', 'web', ['10.0.0.1'])] });
    timers = new ManualTimers();
    store = new SnapshotStore({ logger: silentLogger(), timers });
    let readyResolved = false;
    void store.ready.then(() => { readyResolved = true; });
    const starting = store.start([fast, slow]);
    await new Promise((r) => setImmediate(r));
    timers.advance(60_000);
    assert.equal(store.current().version, 0, 'nothing is published while a source is still starting');
    assert.equal(readyResolved, false);
    release();
    const first = await starting;
    assert.equal(await store.ready, first);
    assert.equal(first.version, 1);
    assert.equal(first.configGeneration, 1);
    assert.equal(first.endpointsGeneration, 1);
    assert.deepEqual([...first.services.keys()], ['late.shop', 'web.shop']);
    assert.deepEqual([...first.changedEndpoints], ['late.shop', 'web.shop']);
  });

  it('rejects ready with the error of a source that fails to start', async () => {
    const broken: Source = { name: 'broken', start: async () => { throw new Error('cannot list pods'); }, stop: async () => undefined };
    timers = new ManualTimers();
    store = new SnapshotStore({ logger: silentLogger(), timers });
    await assert.rejects(store.start([new StaticSource('ok'), broken]), /cannot list pods/);
    await assert.rejects(store.ready, /cannot list pods/);
  });

  it('debounces: 100 ms after the last change, at most 10 s after the first', async () => {
    const src = new StaticSource('src');
    await startStore(src);
    src.set({ services: [service('a', 1)] });
    timers.advance(99);
    assert.equal(published.length, 1);
    src.set({ services: [service('a', 2)] });
    timers.advance(99);
    assert.equal(published.length, 1);
    timers.advance(1);
    assert.equal(published.length, 2);
    assert.equal(published[1]?.services.get('a.shop')?.ports[0]?.port, 2, 'one snapshot with the latest content');

    for (let i = 0; i < 250; i++) {
      src.set({ services: [service('a', 100 + i)] });
      timers.advance(50);
    }
    assert.equal(published.length, 3, 'a steady trickle of changes is published after 10 s');
    assert.equal(published[2]?.services.get('a.shop')?.ports[0]?.port, 100 + 199);
  });

  it('keeps unchanged endpoint arrays and services identical; generations say what changed', async () => {
    const src = new StaticSource('src', {
      ...emptySet(),
      services: [service('a', 1), service('b', 2)],
      endpointSlices: [slice('a-1', 'a', ['10.0.0.1']), slice('b-1', 'b', ['10.0.1.1'])],
    });
    const s1 = await startStore(src);

    // Endpoint change of b only.
    src.set({ services: [service('a', 1), service('b', 2)], endpointSlices: [slice('a-1', 'a', ['10.0.0.1']), slice('b-1', 'b', ['10.0.1.1', '10.0.1.2'])] });
    store.flush();
    const s2 = store.current();
    assert.equal(s2.version, 2);
    assert.equal(s2.configGeneration, s1.configGeneration, 'endpoint churn leaves configGeneration alone');
    assert.equal(s2.endpointsGeneration, s1.endpointsGeneration + 1);
    assert.deepEqual([...s2.changedEndpoints], ['b.shop']);
    assert.equal(s2.endpoints.get('a.shop'), s1.endpoints.get('a.shop'), 'unchanged endpoints: same array');
    assert.notEqual(s2.endpoints.get('b.shop'), s1.endpoints.get('b.shop'));
    assert.equal(s2.services.get('a.shop'), s1.services.get('a.shop'), 'unchanged service: same object');

    // Service change of a only (new objects with equal content elsewhere).
    src.set({ services: [service('a', 10), service('b', 2)], endpointSlices: [slice('a-1', 'a', ['10.0.0.1']), slice('b-1', 'b', ['10.0.1.1', '10.0.1.2'])] });
    store.flush();
    const s3 = store.current();
    assert.equal(s3.configGeneration, s2.configGeneration + 1);
    assert.equal(s3.endpointsGeneration, s2.endpointsGeneration);
    assert.deepEqual([...s3.changedEndpoints], []);
    assert.equal(s3.endpoints.get('b.shop'), s2.endpoints.get('b.shop'));
    assert.equal(s3.services.get('b.shop'), s2.services.get('b.shop'));

    // Same content again: nothing is published.
    src.set({ services: [service('a', 10), service('b', 2)], endpointSlices: [slice('a-1', 'a', ['10.0.0.1']), slice('b-1', 'b', ['10.0.1.1', '10.0.1.2'])] });
    store.flush();
    assert.equal(store.current(), s3);

    // A removed service shows up in changedEndpoints and bumps both generations.
    src.set({ services: [service('a', 10)], endpointSlices: [slice('a-1', 'a', ['10.0.0.1'])] });
    store.flush();
    const s4 = store.current();
    assert.deepEqual([...s4.changedEndpoints], ['b.shop']);
    assert.equal(s4.configGeneration, s3.configGeneration + 1);
    assert.equal(s4.endpointsGeneration, s3.endpointsGeneration + 1);
    assert.equal(s4.endpoints.has('b.shop'), false);
  });

  it('bumps configGeneration for pod relabelling, namespaces and routing objects, not for pods coming and going', async () => {
    const base = { ...emptySet(), services: [service('a', 1)] };
    const src = new StaticSource('src', { ...base, pods: [pod('p1', { version: 'v1' })] });
    const s1 = await startStore(src);

    src.set({ ...base, pods: [pod('p1', { version: 'v1' }), pod('p2', { version: 'v1' }, '10.0.0.2')] });
    store.flush();
    const s2 = store.current();
    assert.equal(s2.version, 2, 'the new pod is published');
    assert.equal(s2.pods.size, 2);
    assert.equal(s2.configGeneration, s1.configGeneration);
    assert.equal(s2.endpointsGeneration, s1.endpointsGeneration);

    src.set({ ...base, pods: [pod('p1', { version: 'v2' }), pod('p2', { version: 'v1' }, '10.0.0.2')] });
    store.flush();
    const s3 = store.current();
    assert.equal(s3.configGeneration, s2.configGeneration + 1);
    assert.equal(s3.pods.get('shop/p2'), s2.pods.get('shop/p2'));

    src.set({ ...base, pods: [pod('p1', { version: 'v2' }), pod('p2', { version: 'v1' }, '10.0.0.2')], namespaces: [{ metadata: { name: 'shop' } }] });
    store.flush();
    const s4 = store.current();
    assert.equal(s4.configGeneration, s3.configGeneration + 1);

    const route = { apiVersion: 'routing.pilotfish.io/v1alpha1', kind: 'TrafficRoute', metadata: { name: 'r', namespace: 'shop' }, spec: { hosts: ['a'] } };
    src.set({ ...base, pods: [pod('p1', { version: 'v2' }), pod('p2', { version: 'v1' }, '10.0.0.2')], namespaces: [{ metadata: { name: 'shop' } }], trafficRoutes: [route] });
    store.flush();
    const s5 = store.current();
    assert.equal(s5.configGeneration, s4.configGeneration + 1);
    assert.deepEqual(s5.routingObjects.trafficRoutes, [route]);
    assert.deepEqual(s5.routingObjects.trafficPolicies, []);

    src.set({ ...base, pods: [pod('p1', { version: 'v2' }), pod('p2', { version: 'v1' }, '10.0.0.2')], namespaces: [{ metadata: { name: 'shop' } }], trafficRoutes: [{ ...route, spec: { hosts: ['a'] } }] });
    store.flush();
    assert.equal(store.current(), s5, 'an equal routing object is no change');
  });

  it('merges sources: first source wins a duplicate (logged once), a real Service beats a synthetic one', async () => {
    const stream = new PassThrough();
    const logged: string[] = [];
    stream.on('data', (c: Buffer) => logged.push(...c.toString().split('\n').filter((l) => l !== '')));
    const first = new StaticSource('first', { ...emptySet(), services: [service('dup', 1)] });
    const second = new StaticSource('second', { ...emptySet(), services: [service('dup', 2), service('web', 3, true)], pods: [pod('p', {})] });
    const third = new StaticSource('third', { ...emptySet(), services: [service('web', 4)] });
    timers = new ManualTimers();
    store = new SnapshotStore({ logger: createLogger('warn', stream), timers });
    const s = await store.start([first, second, third]);
    assert.equal(s.services.get('dup.shop')?.ports[0]?.port, 1);
    assert.equal(s.services.get('web.shop')?.ports[0]?.port, 4, 'the real Service of a later source wins');
    assert.equal(s.services.get('web.shop')?.synthetic, undefined);
    assert.deepEqual(store.merged().services.map((x) => x.metadata?.name), ['dup', 'web']);

    second.set({ services: [service('dup', 5), service('web', 3, true)], pods: [pod('p', {}), pod('q', {})] });
    store.flush();
    await new Promise((r) => setImmediate(r));
    const dupLines = logged.map((l) => JSON.parse(l) as { message: string; reason: string }).filter((l) => l.message === 'duplicate object across sources');
    assert.deepEqual(dupLines.map((l) => l.reason), ['Service shop/dup from source second ignored: already defined by source first']);
  });

  it('a failing subscriber does not stop publication or other subscribers', async () => {
    const src = new StaticSource('src');
    await startStore(src);
    store.subscribe(() => { throw new Error('boom'); });
    const seen: number[] = [];
    store.subscribe((s) => seen.push(s.version));
    src.set({ services: [service('a', 1)] });
    store.flush();
    assert.deepEqual(seen, [2]);
  });

  it('next() resolves with the first later snapshot matching the predicate', async () => {
    const src = new StaticSource('src');
    await startStore(src);
    const waiting = store.next((s) => s.services.has('b.shop'));
    src.set({ services: [service('a', 1)] });
    timers.advance(100);
    src.set({ services: [service('a', 1), service('b', 1)] });
    timers.advance(100);
    const s = await waiting;
    assert.equal(s.version, 3);
  });
});

function emptySet(): ObjectSet {
  return {
    namespaces: [], services: [], endpointSlices: [], pods: [], trafficRoutes: [], trafficPolicies: [], peerAuthentications: [], accessPolicies: [],
    virtualServices: [], destinationRules: [], trafficScopes: [], httpRoutes: [], grpcRoutes: [],
  };
}
