import assert from 'node:assert/strict';
import type { V1EndpointSlice, V1Namespace, V1Pod, V1Service } from '@kubernetes/client-node';
import { EMPTY_OBJECTS, type CustomObject, type ObjectSet } from '../../src/sources/objects.js';
import { ObjectSetMerger, mergeObjectSets } from '../../src/store/merge.js';
import { SnapshotStore } from '../../src/store/snapshot-store.js';
import { Translator, translate } from '../../src/store/translate/translate.js';
import { silentLogger } from '../../src/logging.js';
import { ManualTimers } from '../support/manual-timers.js';
import { StaticSource } from '../support/static-source.js';

function objects(parts: Partial<ObjectSet>): ObjectSet {
  return { ...EMPTY_OBJECTS, ...parts };
}

function svc(name: string, port = 80, extra: Partial<NonNullable<V1Service['metadata']>> = {}): V1Service {
  return { metadata: { name, namespace: 'shop', ...extra }, spec: { ports: [{ name: 'http', port }] } };
}

function slice(name: string, service: string, addresses: string[], pods: (string | undefined)[] = []): V1EndpointSlice {
  return {
    addressType: 'IPv4',
    metadata: { name, namespace: 'shop', labels: { 'kubernetes.io/service-name': service } },
    ports: [{ name: 'http', port: 8080 }],
    endpoints: addresses.map((a, i) => {
      const podName = pods[i];
      return { addresses: [a], ...(podName !== undefined ? { targetRef: { kind: 'Pod', name: podName, namespace: 'shop' } } : {}) };
    }),
  };
}

function pod(name: string, labels: Record<string, string>): V1Pod {
  return { metadata: { name, namespace: 'shop', labels }, status: { podIP: '10.0.0.1' } };
}

/** Translates a sequence of object sets with one Translator, checking each result against a fresh translate(). */
function counting(): { translator: Translator; calls: string[] } {
  const calls: string[] = [];
  return { translator: new Translator({ onServiceEndpoints: (key) => calls.push(key) }), calls };
}

describe('incremental translation', () => {
  const services = ['a', 'b', 'c'].map((n) => svc(n));
  const slices = [slice('a-1', 'a', ['10.0.1.1']), slice('b-1', 'b', ['10.0.2.1', '10.0.2.2'], ['b-pod', undefined]), slice('c-1', 'c', ['10.0.3.1'])];
  const pods = [pod('b-pod', { version: 'v1' })];

  it('translates again only the service whose EndpointSlice changed; the others keep their objects', () => {
    const { translator, calls } = counting();
    const first = translator.translate(objects({ services, endpointSlices: slices, pods }));
    assert.deepEqual(calls.sort(), ['a.shop', 'b.shop', 'c.shop']);

    calls.length = 0;
    const changed = [slices[0] as V1EndpointSlice, slices[1] as V1EndpointSlice, slice('c-1', 'c', ['10.0.3.1', '10.0.3.2'])];
    const input = objects({ services: [...services], endpointSlices: changed, pods: [...pods] });
    const second = translator.translate(input);
    assert.deepEqual(calls, ['c.shop']);
    assert.deepEqual(second, translate(input));
    for (const key of ['a.shop', 'b.shop']) {
      assert.equal(second.endpoints.get(key), first.endpoints.get(key), `${key}: endpoint array kept`);
      assert.equal(second.services.get(key), first.services.get(key), `${key}: Service kept`);
    }
    assert.notEqual(second.endpoints.get('c.shop'), first.endpoints.get('c.shop'));
    assert.equal(second.pods, first.pods, 'unchanged Pods keep their map');
  });

  it('the same input again translates nothing', () => {
    const { translator, calls } = counting();
    const input = objects({ services, endpointSlices: slices, pods });
    const first = translator.translate(input);
    calls.length = 0;
    const again = translator.translate(objects({ services: [...services], endpointSlices: [...slices], pods: [...pods] }));
    assert.deepEqual(calls, []);
    assert.equal(again.services, first.services);
    for (const key of first.endpoints.keys()) assert.equal(again.endpoints.get(key), first.endpoints.get(key));
  });

  it('a relabelled Pod re-translates only the service whose endpoints refer to it', () => {
    const { translator, calls } = counting();
    translator.translate(objects({ services, endpointSlices: slices, pods }));
    calls.length = 0;
    const input = objects({ services, endpointSlices: slices, pods: [pod('b-pod', { version: 'v2' })] });
    const t = translator.translate(input);
    assert.deepEqual(calls, ['b.shop']);
    assert.deepEqual(t.endpoints.get('b.shop')?.find((e) => e.podName === 'b-pod')?.labels, { version: 'v2' });
    assert.deepEqual(t, translate(input));
  });

  it('a Pod appearing after its endpoint is picked up', () => {
    const { translator, calls } = counting();
    translator.translate(objects({ services, endpointSlices: slices }));
    calls.length = 0;
    const t = translator.translate(objects({ services, endpointSlices: slices, pods }));
    assert.deepEqual(calls, ['b.shop']);
    assert.deepEqual(t.endpoints.get('b.shop')?.find((e) => e.podName === 'b-pod')?.labels, { version: 'v1' });
  });

  it('a changed Service re-translates its endpoints (ports move); an equal copy of a Service keeps its model object', () => {
    const { translator, calls } = counting();
    const first = translator.translate(objects({ services, endpointSlices: slices }));
    calls.length = 0;
    const renamedPort: V1Service = { metadata: { name: 'a', namespace: 'shop' }, spec: { ports: [{ name: 'web', port: 80 }] } };
    const input = objects({ services: [renamedPort, svc('b'), services[2] as V1Service], endpointSlices: slices });
    const t = translator.translate(input);
    assert.deepEqual(calls, ['a.shop']);
    assert.equal(t.services.get('b.shop'), first.services.get('b.shop'), 'an equal copy keeps the model object');
    assert.deepEqual(t.endpoints.get('a.shop'), []);
    assert.deepEqual(t, translate(input));
  });

  it('a sequence of changes (add, remove, reorder, namespaces, routing) always equals a fresh translation', () => {
    const translator = new Translator();
    const ns: V1Namespace = { metadata: { name: 'shop', annotations: { 'pilotfish.io/outbound-traffic-policy': 'bogus' } } };
    const orphan = slice('z-1', 'gone', ['10.9.9.9']);
    const steps: ObjectSet[] = [
      objects({ services, endpointSlices: slices, pods }),
      objects({ services, endpointSlices: [...slices, orphan], pods, namespaces: [ns] }),
      objects({ services: services.slice(1), endpointSlices: [...slices].reverse(), pods }),
      objects({ services, endpointSlices: [slice('a-2', 'a', ['10.0.1.1', '10.0.1.9']), ...slices], pods: [] }),
      objects({ services, endpointSlices: slices, pods, trafficRoutes: [{ apiVersion: 'x/v1', kind: 'TrafficRoute', metadata: { name: 'r', namespace: 'shop' } }] }),
      objects({}),
      objects({ services, endpointSlices: slices, pods }),
    ];
    for (const [i, step] of steps.entries()) assert.deepEqual(translator.translate(step), translate(step), `step ${i}`);
  });
});

describe('ObjectSetMerger', () => {
  it('keeps the merged list of a kind whose inputs did not change, and equals the stateless merge', () => {
    const merger = new ObjectSetMerger();
    const files = objects({ services: [svc('a'), svc('b')], endpointSlices: [slice('a-1', 'a', ['10.0.0.1'])] });
    const first = merger.merge([{ source: 'files', objects: files }, { source: 'registry', objects: objects({ services: [svc('b')] }) }]);
    const registry = objects({ services: [svc('c', 80, { annotations: { 'pilotfish.io/synthetic': 'true' } })], endpointSlices: [slice('c-1', 'c', ['10.0.0.3'])] });
    const inputs = [{ source: 'files', objects: files }, { source: 'registry', objects: registry }];
    const second = merger.merge(inputs);
    assert.deepEqual(second, mergeObjectSets(inputs));
    assert.equal(second.objects.pods, first.objects.pods);
    assert.notEqual(second.objects.services, first.objects.services);
    assert.deepEqual(first.conflicts, ['Service shop/b from source registry ignored: already defined by source files']);
    assert.deepEqual(second.conflicts, []);
    // Same elements in new arrays: the merged lists stay the same arrays.
    const third = merger.merge([{ source: 'files', objects: { ...files } }, { source: 'registry', objects: { ...registry, services: [...registry.services] } }]);
    assert.equal(third.objects.services, second.objects.services);
    assert.equal(third.objects.endpointSlices, second.objects.endpointSlices);
  });
});

describe('SnapshotStore: endpoint change work', () => {
  it('an endpoint change of one service translates that service only; the others keep their arrays in the snapshot', async () => {
    const calls: string[] = [];
    const timers = new ManualTimers();
    const store = new SnapshotStore({ logger: silentLogger(), timers, translatorHooks: { onServiceEndpoints: (k) => calls.push(k) } });
    const names = Array.from({ length: 50 }, (_, i) => `s${i}`);
    const files = new StaticSource('files', objects({ services: names.map((n) => svc(n)), endpointSlices: names.map((n, i) => slice(`${n}-1`, n, [`10.1.${i}.1`])) }));
    const registry = new StaticSource('registry');
    try {
      const first = await store.start([files, registry]);
      assert.equal(calls.length, 50);
      calls.length = 0;
      const next = store.next();
      registry.set({ services: [svc('s7', 80, { annotations: { 'pilotfish.io/synthetic': 'true' } })], endpointSlices: [slice('reg-s7', 's7', ['10.2.0.1'])] });
      store.flush();
      const snap = await next;
      assert.deepEqual(calls, ['s7.shop']);
      assert.deepEqual([...snap.changedEndpoints], ['s7.shop']);
      assert.equal(snap.configGeneration, first.configGeneration);
      assert.equal(snap.endpoints.get('s7.shop')?.length, 2);
      for (const n of names.filter((x) => x !== 's7')) {
        assert.equal(snap.endpoints.get(`${n}.shop`), first.endpoints.get(`${n}.shop`), `${n}: endpoint array kept`);
        assert.equal(snap.services.get(`${n}.shop`), first.services.get(`${n}.shop`), `${n}: Service kept`);
      }
      assert.equal(snap.pods, first.pods);
      assert.equal(snap.namespaces, first.namespaces);
    } finally {
      await store.stop();
    }
  });
});

describe('SnapshotStore: routing validation on endpoint changes', () => {
  it('an endpoint change of a policy host updates its subset note; a change elsewhere leaves routing as it is', async () => {
    const policy: CustomObject = {
      apiVersion: 'routing.pilotfish.io/v1alpha1', kind: 'TrafficPolicy', metadata: { name: 'reviews', namespace: 'shop', generation: 1 },
      spec: { host: 'reviews', subsets: [{ name: 'v1', labels: { version: 'v1' } }] },
    };
    const base = { services: [svc('reviews'), svc('other')], trafficPolicies: [policy] };
    const source = new StaticSource('s', objects({ ...base, endpointSlices: [slice('reviews-1', 'reviews', ['10.0.0.1']), slice('other-1', 'other', ['10.0.1.1'])] }));
    const store = new SnapshotStore({ logger: silentLogger(), timers: new ManualTimers() });
    const note = (): string | undefined => store.current().routing.statuses[0]?.conditions.find((c) => c.type === 'ResolvedRefs')?.message;
    try {
      await store.start([source]);
      assert.match(note() ?? '', /subset v1 selects no endpoints of reviews\.shop/);
      const before = store.current();

      source.set({ ...base, endpointSlices: [slice('reviews-1', 'reviews', ['10.0.0.1']), slice('other-1', 'other', ['10.0.1.1', '10.0.1.2'])] });
      store.flush();
      assert.ok(store.current().version > before.version, 'the endpoint change was published');
      assert.equal(store.current().routing, before.routing);

      const v1 = pod('reviews-v1', { version: 'v1' });
      source.set({
        ...base, pods: [v1],
        endpointSlices: [slice('reviews-1', 'reviews', ['10.0.0.1', '10.0.0.2'], [undefined, 'reviews-v1']), slice('other-1', 'other', ['10.0.1.1', '10.0.1.2'])],
      });
      store.flush();
      assert.equal(note(), 'All references resolved.');
    } finally {
      await store.stop();
    }
  });
});
