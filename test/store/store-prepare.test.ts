// A debounced publish of thousands of new endpoints (a registration burst into one service)
// translates them a few slices at a time, giving the event loop back in between, and then
// publishes once: one snapshot, with every change made until it was published, equal to what
// publishing it in one go gives. Small changes, and flush(), publish in the same task as before.
import assert from 'node:assert/strict';
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { EMPTY_OBJECTS, type ObjectSet } from '../../src/sources/objects.js';
import { SnapshotStore } from '../../src/store/snapshot-store.js';
import { translate } from '../../src/store/translate/translate.js';
import { silentLogger } from '../../src/logging.js';
import { ManualTimers } from '../support/manual-timers.js';
import { StaticSource } from '../support/static-source.js';

const SERVICE: V1Service = { metadata: { name: 'burst', namespace: 'default' }, spec: { ports: [{ name: 'grpc', port: 80 }] } };

function slices(count: number, from = 0): V1EndpointSlice[] {
  return Array.from({ length: count }, (_, i) => ({
    addressType: 'IPv4',
    metadata: { name: `burst-${from + i}`, namespace: 'default', labels: { 'kubernetes.io/service-name': 'burst' } },
    ports: [{ name: 'grpc', port: 8080 }],
    endpoints: Array.from({ length: 100 }, (_, e) => ({ addresses: [`10.${from + i}.0.${e}`] })),
  }));
}

function objects(endpointSlices: V1EndpointSlice[]): ObjectSet {
  return { ...EMPTY_OBJECTS, services: [SERVICE], endpointSlices };
}

/** Resolves once the event loop has run I/O and timers (a setImmediate turn). */
function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

describe('SnapshotStore: a large change prepared in steps', () => {
  let store: SnapshotStore;
  let source: StaticSource;
  let timers: ManualTimers;

  beforeEach(async () => {
    timers = new ManualTimers();
    source = new StaticSource('registry', objects([]));
    // No time slice: every step that translated enough endpoints gives the event loop back.
    store = new SnapshotStore({ logger: silentLogger(), timers, prepareSliceMs: 0 });
    await store.start([source]);
  });

  afterEach(async () => {
    await store.stop();
  });

  it('gives the event loop back while it translates 5,000 new endpoints, then publishes them in one snapshot', async () => {
    const first = store.current();
    source.set(objects(slices(50)));
    timers.advance(100);
    assert.equal(store.current(), first, 'the debounced publish did not happen in the timer\'s task');

    // Meanwhile the event loop runs: timers, I/O, and more changes, which the same publish covers.
    await turn();
    assert.equal(store.current(), first, 'still preparing after one turn of the event loop');
    const more = objects(slices(51));
    source.set(more);
    const published = await store.next();
    assert.equal(published.version, first.version + 1, 'one snapshot');
    assert.deepEqual(published.endpoints.get('burst.default'), translate(more).endpoints.get('burst.default'));
    assert.equal(published.endpoints.get('burst.default')?.length, 5_100);

    // The change that arrived during the preparation is published: nothing is left for the debounce.
    timers.advance(10_000);
    await turn();
    await turn();
    assert.equal(store.current(), published, 'nothing left to publish');
  });

  it('translates a change quiet for 10 ms while its quiet period runs, so the publish at the deadline needs no steps', async () => {
    const first = store.current();
    const input = objects(slices(50));
    source.set(input);
    timers.advance(10);
    // The warm-up gives the loop back after every slice (prepareSliceMs 0): 50 slices, 50 turns.
    for (let i = 0; i < 100; i++) await turn();
    assert.equal(store.current(), first, 'the warm-up publishes nothing');
    timers.advance(90);
    const published = store.current();
    assert.notEqual(published, first, 'the deadline\'s publish ran in the timer\'s task: everything was prepared');
    assert.deepEqual(published.endpoints.get('burst.default'), translate(input).endpoints.get('burst.default'));
  });

  it('a change arriving during the warm-up stops it; the publish still has every change', async () => {
    const first = store.current();
    source.set(objects(slices(50)));
    timers.advance(10);
    await turn();
    const more = objects(slices(60));
    source.set(more);
    timers.advance(100);
    for (let i = 0; i < 200 && store.current() === first; i++) await turn();
    assert.deepEqual(store.current().endpoints.get('burst.default'), translate(more).endpoints.get('burst.default'));
    assert.equal(store.current().endpoints.get('burst.default')?.length, 6_000);
  });

  it('flush() while a preparation runs publishes at once, and the preparation then publishes nothing more', async () => {
    const first = store.current();
    const input = objects(slices(30));
    source.set(input);
    timers.advance(100);
    assert.equal(store.current(), first);
    store.flush();
    const flushed = store.current();
    assert.equal(flushed.version, first.version + 1);
    assert.deepEqual(flushed.endpoints.get('burst.default'), translate(input).endpoints.get('burst.default'));
    for (let i = 0; i < 10; i++) await turn();
    assert.equal(store.current(), flushed, 'the preparation found nothing new to publish');
  });

  it('a change of a few hundred endpoints publishes in the timer\'s task, as before', () => {
    const first = store.current();
    source.set(objects(slices(4)));
    timers.advance(100);
    assert.equal(store.current().version, first.version + 1);
    assert.equal(store.current().endpoints.get('burst.default')?.length, 400);
  });

  it('stop() during a preparation publishes nothing after it', async () => {
    const first = store.current();
    let published = 0;
    store.subscribe(() => { published++; });
    source.set(objects(slices(30)));
    timers.advance(100);
    await store.stop();
    for (let i = 0; i < 10; i++) await turn();
    assert.equal(published, 0);
    assert.equal(store.current(), first);
  });
});
