// MeshProxyViews under TrafficScopes and `--default-scope namespace`: each view holds exactly the
// bytes a fresh generation of its proxy gives (so the per-scope sharing in proxy-classes.ts never
// serves one scope another's maps), through service, endpoint and scope changes; and a change
// outside a sidecar's scope does not even tell its view (no CDS, LDS, RDS or EDS notice), while a
// change inside it does.
import assert from 'node:assert/strict';
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { silentLogger } from '../../../src/logging.js';
import { EMPTY_OBJECTS, type CustomObject, type ObjectSet } from '../../../src/sources/objects.js';
import { SnapshotStore } from '../../../src/store/snapshot-store.js';
import { ResourceEncoder } from '../../../src/xds/cache/encoder.js';
import { MeshProxyViews } from '../../../src/xds/cache/proxy-views.js';
import type { GenerateOptions } from '../../../src/xds/generate/index.js';
import { META_KIND, META_LABELS, META_NAMESPACE, type NodeInfo } from '../../../src/xds/node-info.js';
import type { ProxyView } from '../../../src/xds/proxy-view.js';
import { CLUSTER, shortTypeName } from '../../../src/xds/types.js';
import { ManualTimers } from '../../support/manual-timers.js';
import { StaticSource } from '../../support/static-source.js';
import { assertViewsFresh } from '../../support/fresh-views.js';

const OPTIONS: GenerateOptions = { defaultScope: 'namespace' };

const sidecar = (id: string, namespace: string, app: string): NodeInfo =>
  ({ id, metadata: { [META_KIND]: 'sidecar', [META_NAMESPACE]: namespace, [META_LABELS]: { app } } });

const NODES: readonly NodeInfo[] = [
  sidecar('a-web', 'a', 'web'),
  sidecar('a-web-2', 'a', 'web'),
  sidecar('a-reader', 'a', 'reader'),
  sidecar('b-api', 'b', 'api'),
  { id: 'grpc-a', metadata: { [META_KIND]: 'grpc', [META_NAMESPACE]: 'a' } },
];

function service(name: string, namespace: string, port: number, ip: string): V1Service {
  return { metadata: { name, namespace }, spec: { clusterIP: ip, selector: { app: name }, ports: [{ name: 'http', port }] } };
}

function slice(name: string, namespace: string, port: number, ips: string[]): V1EndpointSlice {
  return {
    metadata: { name: `${name}-1`, namespace, labels: { 'kubernetes.io/service-name': name } }, addressType: 'IPv4',
    ports: [{ name: 'http', port }], endpoints: ips.map((ip) => ({ addresses: [ip] })),
  };
}

function readerScope(hosts: string[]): CustomObject {
  return {
    apiVersion: 'routing.pilotfish.io/v1alpha1', kind: 'TrafficScope', metadata: { name: 'reader', namespace: 'a' },
    spec: { selector: { matchLabels: { app: 'reader' } }, egress: { hosts } },
  };
}

interface Mesh { bApiIps: string[]; bExtra?: boolean; aExtra?: boolean; reader?: string[] }

function objects(m: Mesh): ObjectSet {
  const services = [service('web', 'a', 80, '10.96.1.1'), service('api', 'b', 80, '10.96.2.1'), service('telemetry', 'pilotfish-system', 9090, '10.96.9.1')];
  const slices = [slice('web', 'a', 80, ['10.1.1.1']), slice('api', 'b', 80, m.bApiIps), slice('telemetry', 'pilotfish-system', 9090, ['10.1.9.1'])];
  if (m.bExtra) { services.push(service('orders', 'b', 8080, '10.96.2.2')); slices.push(slice('orders', 'b', 8080, ['10.1.2.9'])); }
  if (m.aExtra) { services.push(service('cart', 'a', 8080, '10.96.1.2')); slices.push(slice('cart', 'a', 8080, ['10.1.1.9'])); }
  return { ...EMPTY_OBJECTS, services, endpointSlices: slices, trafficScopes: m.reader ? [readerScope(m.reader)] : [] };
}

describe('MeshProxyViews: scoped sidecars', () => {
  let store: SnapshotStore;
  let source: StaticSource;
  let mesh: MeshProxyViews;
  let views: ProxyView[];
  let notices: string[][];

  async function apply(m: Mesh): Promise<void> {
    for (const n of notices) n.length = 0;
    source.set(objects(m));
    store.flush();
    await mesh.update(store.current());
  }

  function assertFresh(step: string): void {
    assertViewsFresh(store.current(), NODES, views, step, OPTIONS);
  }

  const clusters = (i: number): string[] => [...views[i].resources(CLUSTER).keys()].filter((c) => c.startsWith('outbound|')).sort();

  beforeEach(async () => {
    store = new SnapshotStore({ logger: silentLogger(), timers: new ManualTimers() });
    source = new StaticSource('static', objects({ bApiIps: ['10.1.2.1'] }));
    mesh = new MeshProxyViews(new ResourceEncoder(), silentLogger(), { scope: { defaultScope: 'namespace' } });
    await mesh.update(await store.start([source]));
    views = NODES.map((n) => mesh.viewFor(n));
    notices = views.map(() => []);
    views.forEach((v, i) => v.onChange((types) => notices[i].push(...[...types].map(shortTypeName))));
  });

  afterEach(async () => { await store.stop(); });

  it('serves each sidecar its scope, byte for byte what generation gives, through changes in and out of it', async () => {
    assertFresh('initial');
    assert.deepEqual(clusters(0), ['outbound|80||web.a.svc.cluster.local', 'outbound|9090||telemetry.pilotfish-system.svc.cluster.local']);
    assert.deepEqual(clusters(3), ['outbound|80||api.b.svc.cluster.local', 'outbound|9090||telemetry.pilotfish-system.svc.cluster.local']);
    assert.equal(views[4].resources(CLUSTER).size, 3, 'a proxyless client is not scoped (its CDS holds every service)');

    await apply({ bApiIps: ['10.1.2.1', '10.1.2.2'], bExtra: true });
    assertFresh('a new service and an endpoint in b');
    assert.deepEqual(notices.slice(0, 3), [[], [], []], 'a\'s sidecars are not told anything');
    assert.deepEqual([...new Set(notices[3])].sort(), ['CDS', 'EDS', 'LDS', 'RDS'], 'b\'s sidecar is');

    await apply({ bApiIps: ['10.1.2.1', '10.1.2.2'], bExtra: true, aExtra: true });
    assertFresh('a new service in a');
    assert.ok(notices[0].includes('CDS') && notices[2].includes('CDS'), 'a\'s sidecars are told');
    assert.deepEqual(notices[3], [], 'b\'s sidecar is not');

    await apply({ bApiIps: ['10.1.2.1', '10.1.2.2'], bExtra: true, aExtra: true, reader: ['./*', 'b/api.b.svc.cluster.local'] });
    assertFresh('a TrafficScope for a\'s reader');
    assert.deepEqual(clusters(2), ['outbound|80||api.b.svc.cluster.local', 'outbound|80||web.a.svc.cluster.local', 'outbound|8080||cart.a.svc.cluster.local'].sort());
    assert.deepEqual(notices[0], [], 'a\'s web keeps the default scope and is not told');

    await apply({ bApiIps: ['10.1.2.1'], bExtra: true, aExtra: true, reader: ['./*', 'b/api.b.svc.cluster.local'] });
    assertFresh('an endpoint of b\'s api, which only the reader sees from a');
    assert.deepEqual([notices[0], notices[1], notices[2]], [[], [], ['EDS']]);
  });

  it('tells the sidecars a change in their scope is for before any class connected earlier', async () => {
    const fresh = new MeshProxyViews(new ResourceEncoder(), silentLogger(), { scope: { defaultScope: 'namespace' } });
    await fresh.update(store.current());
    const told: string[] = [];
    // The proxyless client's class is the oldest: a push in class order would tell it first.
    for (const node of [NODES[4], NODES[0], NODES[3]]) fresh.viewFor(node).onChange(() => told.push(node.id));
    source.set(objects({ bApiIps: ['10.1.2.1'], bExtra: true }));
    store.flush();
    await fresh.update(store.current());
    assert.deepEqual(told, ['b-api', 'grpc-a'], 'b\'s sidecar first; the proxyless client (every service in its CDS) after; a\'s sidecar not at all');
  });

  it('tells the sidecars whose scope holds a service of its new endpoints before any class connected earlier', async () => {
    const fresh = new MeshProxyViews(new ResourceEncoder(), silentLogger(), { scope: { defaultScope: 'namespace' } });
    await fresh.update(store.current());
    const told: string[] = [];
    // The proxyless client's class is the oldest: a push in class order would tell it first.
    for (const node of [NODES[4], NODES[0], NODES[3]]) fresh.viewFor(node).onChange(() => told.push(node.id));
    // Only b's api endpoints move: no config change.
    source.set(objects({ bApiIps: ['10.1.2.1', '10.1.2.2'] }));
    store.flush();
    await fresh.update(store.current());
    assert.deepEqual(told, ['b-api', 'grpc-a'], 'b\'s sidecar first; the proxyless client (which looks at its own subscriptions) after; a\'s sidecar not at all');
  });
});
