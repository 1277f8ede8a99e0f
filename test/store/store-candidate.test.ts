// A change that has been quiet for a while has its snapshot built during its quiet period (the
// warm-up); the publish at the deadline then commits that candidate instead of building again, but
// only if nothing arrived since: a later change is what gets published.
import assert from 'node:assert/strict';
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { EMPTY_OBJECTS, type CustomObject, type ObjectSet } from '../../src/sources/objects.js';
import { SnapshotStore } from '../../src/store/snapshot-store.js';
import { silentLogger, type Logger } from '../../src/logging.js';
import type { MeshSnapshot } from '../../src/model/snapshot.js';
import { LogTap } from '../support/log-tap.js';
import { ManualTimers } from '../support/manual-timers.js';
import { StaticSource } from '../support/static-source.js';

const SERVICE: V1Service = { metadata: { name: 'reviews', namespace: 'shop' }, spec: { ports: [{ name: 'http', port: 9080 }] } };

function slice(endpoints: number): V1EndpointSlice {
  return {
    addressType: 'IPv4',
    metadata: { name: 'reviews-1', namespace: 'shop', labels: { 'kubernetes.io/service-name': 'reviews' } },
    ports: [{ name: 'http', port: 9080 }],
    endpoints: Array.from({ length: endpoints }, (_, i) => ({ addresses: [`10.0.0.${i + 1}`] })),
  };
}

function route(timeout: string, generation: number): CustomObject {
  return {
    apiVersion: 'routing.pilotfish.io/v1alpha1', kind: 'TrafficRoute',
    metadata: { name: 'r', namespace: 'shop', generation, uid: 'u1', creationTimestamp: '2025-01-01T00:00:00Z' },
    spec: { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews' } }], timeout }] },
  };
}

function objects(endpoints: number, timeout = '1s', generation = 1): ObjectSet {
  return { ...EMPTY_OBJECTS, services: [SERVICE], endpointSlices: [slice(endpoints)], trafficRoutes: [route(timeout, generation)] };
}

/** Resolves once the event loop has run I/O and timers (a setImmediate turn). */
function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** What two snapshots of the same change must share, whichever way they were built. */
function content(s: MeshSnapshot): unknown {
  return {
    version: s.version, configGeneration: s.configGeneration, endpointsGeneration: s.endpointsGeneration,
    services: [...s.services], endpoints: [...s.endpoints], changedEndpoints: [...s.changedEndpoints],
    statuses: s.routing.statuses, applied: [...s.routing.applied.routeByHost],
  };
}

describe('SnapshotStore: the snapshot built during the quiet period', () => {
  let timers: ManualTimers;
  let source: StaticSource;
  let store: SnapshotStore;
  let builds: number;

  async function started(logger: Logger = silentLogger()): Promise<void> {
    timers = new ManualTimers();
    source = new StaticSource('files', objects(1));
    builds = 0;
    store = new SnapshotStore({ logger, timers, onBuild: () => { builds++; } });
    await store.start([source]);
    builds = 0;
  }

  /** Lets the warm-up that a change's first 10 quiet milliseconds started run to its end. */
  async function warmedUp(): Promise<void> {
    timers.advance(10);
    for (let i = 0; i < 10 && builds === 0; i++) await turn();
  }

  afterEach(async () => {
    await store.stop();
  });

  it('is built once, during the quiet period, and the deadline commits it without building again', async () => {
    await started();
    const first = store.current();
    source.set(objects(3));
    await warmedUp();
    assert.equal(builds, 1, 'the warm-up built the snapshot');
    assert.equal(store.current(), first, 'the warm-up published nothing');
    timers.advance(90);
    const published = store.current();
    assert.notEqual(published, first, 'published at the deadline, in the timer\'s task');
    assert.equal(builds, 1, 'the publish committed the warm-up\'s snapshot');

    // The same snapshot as a publish that builds it there and then (no warm-up: flushed at once).
    const other = new SnapshotStore({ logger: silentLogger(), timers: new ManualTimers() });
    const otherSource = new StaticSource('files', objects(1));
    await other.start([otherSource]);
    otherSource.set(objects(3));
    other.flush();
    assert.deepEqual(content(published), content(other.current()));
    await other.stop();
  });

  it('is dropped when a change arrives after it was built: the publish has the later change', async () => {
    await started();
    const first = store.current();
    source.set(objects(3));
    await warmedUp();
    assert.equal(builds, 1);
    source.set(objects(5));
    store.flush();
    const published = store.current();
    assert.equal(published.version, first.version + 1);
    assert.equal(published.endpoints.get('reviews.shop')?.length, 5, 'the later change, not the warm-up\'s candidate');
    assert.equal(builds, 2, 'built again for the later change');
    assert.deepEqual([...published.changedEndpoints], ['reviews.shop']);
  });

  it('is dropped by a change arriving just before the deadline, whose own quiet period then runs', async () => {
    await started();
    source.set(objects(3));
    await warmedUp();
    timers.advance(85);
    source.set(objects(4));
    timers.advance(15);
    assert.equal(store.current().endpoints.get('reviews.shop')?.length, 1, 'the later change restarted the quiet period');
    timers.advance(85);
    for (let i = 0; i < 10 && store.current().endpoints.get('reviews.shop')?.length === 1; i++) await turn();
    assert.equal(store.current().endpoints.get('reviews.shop')?.length, 4);
  });

  it('logs what it found when it is committed, not while it is built', async () => {
    const tap = new LogTap();
    await started(tap.logger);
    source.set(objects(1, 'soon', 2));
    await warmedUp();
    assert.equal(builds, 1);
    tap.logger.info('deadline');
    timers.advance(90);
    assert.equal(builds, 1);
    const rejected = await tap.next((e) => e.message === 'routing object not applied');
    const deadline = tap.entries.findIndex((e) => e.message === 'deadline');
    assert.ok(tap.entries.indexOf(rejected) > deadline, 'the rejection was logged at the commit');
    assert.equal(store.current().routing.statuses[0]?.applied, 'previous');
    // Logged once: the next publish of the same rejected object logs nothing new.
    source.set(objects(2, 'soon', 2));
    store.flush();
    tap.logger.info('after');
    await tap.next((e) => e.message === 'after');
    assert.equal(tap.entries.filter((e) => e.message === 'routing object not applied').length, 1);
  });
});
