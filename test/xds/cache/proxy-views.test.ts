// MeshProxyViews: generation per class and kind, encode once, and push only what changed.
import assert from 'node:assert/strict';
import type { V1EndpointSlice, V1Pod, V1Service } from '@kubernetes/client-node';
import { EMPTY_OBJECTS, type CustomObject, type ObjectSet } from '../../../src/sources/objects.js';
import { SnapshotStore } from '../../../src/store/snapshot-store.js';
import { silentLogger } from '../../../src/logging.js';
import { META_KIND, META_LABELS, META_NAMESPACE, type NodeInfo } from '../../../src/xds/node-info.js';
import { ResourceEncoder } from '../../../src/xds/cache/encoder.js';
import { MeshProxyViews } from '../../../src/xds/cache/proxy-views.js';
import type { ProxyView } from '../../../src/xds/proxy-view.js';
import { CLUSTER, ENDPOINT, LISTENER, ROUTE, shortTypeName } from '../../../src/xds/types.js';
import { ManualTimers } from '../../support/manual-timers.js';
import { StaticSource } from '../../support/static-source.js';

const API = 'routing.pilotfish.io/v1alpha1';

function service(name: string, ports: { name: string; port: number; targetPort?: number | string }[], selector?: Record<string, string>): V1Service {
  return { metadata: { name, namespace: 'shop' }, spec: { clusterIP: `10.96.0.${name.length}`, ports, ...(selector ? { selector } : {}) } };
}

function slice(svc: string, portName: string, port: number, endpoints: { ip: string; pod?: string }[]): V1EndpointSlice {
  return {
    addressType: 'IPv4',
    metadata: { name: `${svc}-1`, namespace: 'shop', labels: { 'kubernetes.io/service-name': svc } },
    ports: [{ name: portName, port }],
    endpoints: endpoints.map((e) => ({
      addresses: [e.ip], ...(e.pod ? { targetRef: { kind: 'Pod', namespace: 'shop', name: e.pod } } : {}),
    })),
  };
}

function pod(name: string, labels: Record<string, string>, ip: string): V1Pod {
  return { metadata: { name, namespace: 'shop', labels }, status: { podIP: ip } };
}

function route(weights: [number, number]): CustomObject {
  return {
    apiVersion: API, kind: 'TrafficRoute', metadata: { name: 'reviews', namespace: 'shop' },
    spec: {
      hosts: ['reviews'],
      http: [{ route: [
        { destination: { host: 'reviews', subset: 'v1' }, weight: weights[0] },
        { destination: { host: 'reviews', subset: 'v2' }, weight: weights[1] },
      ] }],
    },
  };
}

function policy(subsets: string[]): CustomObject {
  return {
    apiVersion: API, kind: 'TrafficPolicy', metadata: { name: 'reviews', namespace: 'shop' },
    spec: { host: 'reviews', subsets: subsets.map((s) => ({ name: s, labels: { version: s } })) },
  };
}

const GRPC: NodeInfo = { id: 'client', metadata: { [META_KIND]: 'grpc', [META_NAMESPACE]: 'shop' } };
const sidecar = (id: string, labels: Record<string, string>): NodeInfo =>
  ({ id, metadata: { [META_KIND]: 'sidecar', [META_NAMESPACE]: 'shop', [META_LABELS]: labels } });

describe('MeshProxyViews', () => {
  let timers: ManualTimers;
  let store: SnapshotStore;
  let source: StaticSource;
  let encoder: ResourceEncoder;
  let mesh: MeshProxyViews;
  let base: ObjectSet;

  /** Sets the objects, publishes at once and waits until every view was told. */
  async function apply(parts: Partial<ObjectSet>): Promise<void> {
    source.set({ ...base, ...parts });
    store.flush();
    await mesh.update(store.current());
  }

  function watch(view: ProxyView): string[][] {
    const seen: string[][] = [];
    view.onChange((types) => seen.push([...types].map(shortTypeName).sort()));
    return seen;
  }

  beforeEach(async () => {
    base = {
      ...EMPTY_OBJECTS,
      services: [
        service('reviews', [{ name: 'http', port: 9080 }], { app: 'reviews' }),
        service('ratings', [{ name: 'http', port: 9080 }]),
        service('web', [{ name: 'http', port: 80, targetPort: 'web-http' }, { name: 'grpc', port: 50051 }], { app: 'web' }),
      ],
      pods: [pod('r1', { app: 'reviews', version: 'v1' }, '10.0.0.1'), pod('r2', { app: 'reviews', version: 'v2' }, '10.0.0.2'),
        pod('w1', { app: 'web' }, '10.0.1.1')],
      endpointSlices: [
        slice('reviews', 'http', 9080, [{ ip: '10.0.0.1', pod: 'r1' }, { ip: '10.0.0.2', pod: 'r2' }]),
        slice('ratings', 'http', 9080, [{ ip: '10.0.0.9' }]),
        slice('web', 'http', 8080, [{ ip: '10.0.1.1', pod: 'w1' }]),
      ],
      trafficPolicies: [policy(['v1', 'v2'])],
      trafficRoutes: [route([100, 0])],
    };
    timers = new ManualTimers();
    store = new SnapshotStore({ logger: silentLogger(), timers });
    source = new StaticSource('static', base);
    encoder = new ResourceEncoder();
    mesh = new MeshProxyViews(encoder, silentLogger());
    await mesh.update(await store.start([source]));
  });

  afterEach(async () => { await store.stop(); });

  it('an endpoint-only change re-encodes only the changed ClusterLoadAssignments and pushes only EDS', async () => {
    const grpc = mesh.viewFor(GRPC);
    const side = mesh.viewFor(sidecar('s1', { app: 'web' }));
    const seenGrpc = watch(grpc);
    const seenSide = watch(side);
    const before = { ...encoder.stats };
    const edsBefore = grpc.resources(ENDPOINT);
    const others = { cds: grpc.resources(CLUSTER), lds: side.resources(LISTENER), rds: side.resources(ROUTE) };

    // ratings gets a second endpoint: its one CLA changes; reviews' three (all, v1, v2) do not.
    await apply({ endpointSlices: [base.endpointSlices[0], slice('ratings', 'http', 9080, [{ ip: '10.0.0.9' }, { ip: '10.0.0.10' }]), base.endpointSlices[2]] });

    assert.equal(encoder.stats.encoded - before.encoded, 1, 'exactly one resource encoded');
    const changed = [...grpc.resources(ENDPOINT)].filter(([name, r]) => edsBefore.get(name) !== r).map(([name]) => name);
    assert.deepEqual(changed, ['outbound|9080||ratings.shop.svc.cluster.local']);
    assert.deepEqual(seenGrpc, [['EDS']]);
    assert.deepEqual(seenSide, [['EDS']]);
    assert.equal(grpc.resources(CLUSTER), others.cds, 'CDS untouched');
    assert.equal(side.resources(LISTENER), others.lds, 'LDS untouched');
    assert.equal(side.resources(ROUTE), others.rds, 'RDS untouched');
  });

  it('a pod changing subset re-encodes the two subset assignments it moves between, nothing else', async () => {
    const grpc = mesh.viewFor(GRPC);
    const edsBefore = grpc.resources(ENDPOINT);
    const before = { ...encoder.stats };
    await apply({ pods: [pod('r1', { app: 'reviews', version: 'v2' }, '10.0.0.1'), base.pods[1], base.pods[2]] });
    const changed = [...grpc.resources(ENDPOINT)].filter(([name, r]) => edsBefore.get(name) !== r).map(([name]) => name);
    assert.deepEqual(changed, ['outbound|9080|v1|reviews.shop.svc.cluster.local', 'outbound|9080|v2|reviews.shop.svc.cluster.local']);
    assert.equal(encoder.stats.encoded - before.encoded, 2);
  });

  it('shifting route weights pushes RDS alone, to both kinds', async () => {
    const grpc = mesh.viewFor(GRPC);
    const side = mesh.viewFor(sidecar('s1', { app: 'web' }));
    const seenGrpc = watch(grpc);
    const seenSide = watch(side);
    await apply({ trafficRoutes: [route([0, 100])] });
    assert.deepEqual(seenGrpc, [['RDS']]);
    assert.deepEqual(seenSide, [['RDS']]);
  });

  it('a new subset adds its clusters (CDS) and assignments (EDS), nothing else', async () => {
    const grpc = mesh.viewFor(GRPC);
    const seen = watch(grpc);
    await apply({ trafficPolicies: [policy(['v1', 'v2', 'v3'])] });
    assert.deepEqual(seen, [['CDS', 'EDS']]);
    assert.ok(grpc.resources(CLUSTER).has('outbound|9080|v3|reviews.shop.svc.cluster.local'));
    assert.ok(grpc.resources(ENDPOINT).has('outbound|9080|v3|reviews.shop.svc.cluster.local'));
  });

  it('sidecars with the same labels share one class; gRPC clients and sidecars get different clusters', () => {
    const a = mesh.viewFor(sidecar('a', { app: 'web' }));
    const b = mesh.viewFor(sidecar('b', { app: 'web' }));
    const other = mesh.viewFor(sidecar('c', { app: 'reviews', version: 'v1' }));
    const grpc = mesh.viewFor(GRPC);
    for (const t of [CLUSTER, LISTENER, ROUTE]) assert.equal(a.resources(t), b.resources(t), `${shortTypeName(t)} shared`);
    assert.notEqual(a.resources(LISTENER), other.resources(LISTENER));
    // The web workload: target port "web-http" resolved from its endpoint, plus 50051.
    assert.deepEqual([...a.resources(CLUSTER).keys()].filter((n) => n.startsWith('inbound|')), ['inbound|8080||', 'inbound|50051||']);
    assert.deepEqual([...other.resources(CLUSTER).keys()].filter((n) => n.startsWith('inbound|')), ['inbound|9080||']);
    assert.ok(a.resources(CLUSTER).has('PassthroughCluster'));
    assert.ok(!grpc.resources(CLUSTER).has('PassthroughCluster'));
    // Outbound clusters are encoded once per kind and shared by every class of that kind.
    const name = 'outbound|9080||reviews.shop.svc.cluster.local';
    assert.equal(a.resources(CLUSTER).get(name), other.resources(CLUSTER).get(name));
  });

  it('a push observer that throws changes nothing: proxies are told, the summary is kept, later observers run', async () => {
    const grpc = mesh.viewFor(GRPC);
    const seen = watch(grpc);
    const summaries: string[][] = [];
    mesh.onPush(() => { throw new Error('observer bug'); });
    mesh.onPush((s) => summaries.push([...s.changedTypes].map(shortTypeName).sort()));
    await apply({ trafficRoutes: [route([0, 100])] });
    assert.deepEqual(seen, [['RDS']]);
    assert.deepEqual(summaries, [['RDS']]);
    assert.equal(mesh.lastPushSummary()?.trigger, 'config');
    assert.equal(mesh.lastPushSummary()?.snapshotVersion, store.current().version);
    // The same snapshot again changes nothing: it is the last summary, but nobody is told.
    await mesh.update(store.current());
    assert.equal(mesh.lastPushSummary()?.trigger, 'none');
    assert.equal(summaries.length, 1);
  });

  it('a named target port that resolves only later regenerates the sidecar when those endpoints change', async () => {
    await apply({ endpointSlices: [base.endpointSlices[0], base.endpointSlices[1]] });
    const side = mesh.viewFor(sidecar('s1', { app: 'web' }));
    assert.deepEqual([...side.resources(CLUSTER).keys()].filter((n) => n.startsWith('inbound|')), ['inbound|50051||']);
    const seen = watch(side);
    await apply({});
    assert.deepEqual([...side.resources(CLUSTER).keys()].filter((n) => n.startsWith('inbound|')), ['inbound|8080||', 'inbound|50051||']);
    assert.deepEqual(seen, [['CDS', 'EDS', 'LDS']]);
  });
});
