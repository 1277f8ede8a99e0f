// The store validates routing objects on every publish and keeps the last good generation applied.
import assert from 'node:assert/strict';
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { EMPTY_OBJECTS, type CustomObject, type ObjectSet } from '../../src/sources/objects.js';
import { SnapshotStore } from '../../src/store/snapshot-store.js';
import { silentLogger } from '../../src/logging.js';
import { ManualTimers } from '../support/manual-timers.js';
import { StaticSource } from '../support/static-source.js';

const svc: V1Service = { metadata: { name: 'reviews', namespace: 'shop' }, spec: { ports: [{ name: 'http', port: 9080 }] } };

function slice(ips: string[]): V1EndpointSlice {
  return {
    addressType: 'IPv4',
    metadata: { name: 'reviews-1', namespace: 'shop', labels: { 'kubernetes.io/service-name': 'reviews' } },
    ports: [{ name: 'http', port: 9080 }],
    endpoints: ips.map((ip) => ({ addresses: [ip] })),
  };
}

function route(timeout: string, generation: number): CustomObject {
  return {
    apiVersion: 'routing.pilotfish.io/v1alpha1', kind: 'TrafficRoute',
    metadata: { name: 'r', namespace: 'shop', generation, uid: 'u1', creationTimestamp: '2025-01-01T00:00:00Z' },
    spec: { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews' } }], timeout }] },
  };
}

describe('SnapshotStore: routing', () => {
  let store: SnapshotStore;
  let source: StaticSource;
  const base: ObjectSet = { ...EMPTY_OBJECTS, services: [svc], endpointSlices: [slice(['10.0.0.1'])] };

  beforeEach(async () => {
    store = new SnapshotStore({ logger: silentLogger(), timers: new ManualTimers() });
    source = new StaticSource('s', { ...base, trafficRoutes: [route('1s', 1)] });
    await store.start([source]);
  });
  afterEach(async () => { await store.stop(); });

  function set(parts: Partial<ObjectSet>): void {
    source.set({ ...base, ...parts });
    store.flush();
  }

  it('publishes the applied routing and one status per object', () => {
    const s = store.current();
    assert.equal(s.routing.applied.routeByHost.get('reviews.shop')?.http[0].timeoutMs, 1000);
    assert.deepEqual(s.routing.statuses.map((x) => [x.kind, x.name, x.applied, x.generation]), [['TrafficRoute', 'r', 'current', 1]]);
  });

  it('an invalid edit keeps the last good generation applied, without a config change', () => {
    const s1 = store.current();
    set({ trafficRoutes: [route('soon', 2)] });
    const s2 = store.current();
    assert.equal(s2.routing.applied, s1.routing.applied, 'applied routing keeps its identity');
    const status = s2.routing.statuses[0];
    assert.equal(status.applied, 'previous');
    assert.equal(status.conditions[0].reason, 'Invalid');
    assert.match(status.conditions[0].message, /spec\.http\[0\]\.timeout: must be a duration.*The previously accepted generation 1 stays applied\./);
  });

  it('a valid edit changes applied routing and bumps configGeneration', () => {
    const s1 = store.current();
    set({ trafficRoutes: [route('2s', 2)] });
    const s2 = store.current();
    assert.notEqual(s2.routing.applied, s1.routing.applied);
    assert.equal(s2.routing.applied.routeByHost.get('reviews.shop')?.http[0].timeoutMs, 2000);
    assert.equal(s2.configGeneration, s1.configGeneration + 1);
  });

  it('endpoint churn without TrafficPolicies leaves routing untouched (same object)', () => {
    const s1 = store.current();
    set({ endpointSlices: [slice(['10.0.0.1', '10.0.0.2'])], trafficRoutes: [route('1s', 1)] });
    const s2 = store.current();
    assert.equal(s2.version, s1.version + 1);
    assert.equal(s2.configGeneration, s1.configGeneration);
    assert.equal(s2.routing, s1.routing);
  });

  it('a Service going away keeps the route applied as last accepted, and its coming back re-accepts it', () => {
    set({ services: [], endpointSlices: [], trafficRoutes: [route('1s', 1)] });
    const gone = store.current().routing.statuses[0];
    assert.equal(gone.applied, 'previous');
    assert.equal(gone.conditions[1].reason, 'ServiceNotFound');
    set({ trafficRoutes: [route('1s', 1)] });
    assert.equal(store.current().routing.statuses[0].applied, 'current');
  });
});
