// MeshProxyViews generates routes once per (kind, namespace), not once per sidecar workload
// class: the routes do not depend on the workload, and a mesh has one class per Deployment.
import assert from 'node:assert/strict';
import type { V1Service } from '@kubernetes/client-node';
import { EMPTY_OBJECTS, type ObjectSet } from '../../../src/sources/objects.js';
import { SnapshotStore } from '../../../src/store/snapshot-store.js';
import { silentLogger } from '../../../src/logging.js';
import { META_KIND, META_LABELS, META_NAMESPACE, type NodeInfo } from '../../../src/xds/node-info.js';
import { proxyIdentityFromNode } from '../../../src/xds/cache/proxy-identity.js';
import { ResourceEncoder } from '../../../src/xds/cache/encoder.js';
import { generateRoutes } from '../../../src/xds/generate/index.js';
import { MeshProxyViews } from '../../../src/xds/cache/proxy-views.js';
import { ROUTE } from '../../../src/xds/types.js';
import { ManualTimers } from '../../support/manual-timers.js';
import { StaticSource } from '../../support/static-source.js';

function service(name: string, namespace: string, port: number, app: string): V1Service {
  return {
    metadata: { name, namespace },
    spec: { clusterIP: `10.96.1.${port % 250}`, selector: { app }, ports: [{ name: 'http', port, targetPort: port }] },
  };
}

const node = (id: string, kind: 'sidecar' | 'grpc', namespace: string, labels: Record<string, string> = {}): NodeInfo =>
  ({ id, metadata: { [META_KIND]: kind, [META_NAMESPACE]: namespace, [META_LABELS]: labels } });

describe('MeshProxyViews: routes per kind and namespace', () => {
  let store: SnapshotStore;
  let source: StaticSource;
  let mesh: MeshProxyViews;
  let base: ObjectSet;

  beforeEach(async () => {
    base = { ...EMPTY_OBJECTS, services: [service('web', 'shop', 80, 'web'), service('api', 'shop', 8080, 'api'), service('db', 'data', 5432, 'db')] };
    store = new SnapshotStore({ logger: silentLogger(), timers: new ManualTimers() });
    source = new StaticSource('static', base);
    mesh = new MeshProxyViews(new ResourceEncoder(), silentLogger());
    await mesh.update(await store.start([source]));
  });

  afterEach(async () => { await store.stop(); });

  it('sidecars of different workloads in one namespace share one routes map, equal to what each would generate', () => {
    const webNode = node('web-1', 'sidecar', 'shop', { app: 'web' });
    const apiNode = node('api-1', 'sidecar', 'shop', { app: 'api' });
    const web = mesh.viewFor(webNode);
    const api = mesh.viewFor(apiNode);
    assert.equal(web.resources(ROUTE), api.resources(ROUTE), 'one map for the namespace');
    const snapshot = store.current();
    for (const n of [webNode, apiNode]) {
      const own = generateRoutes(snapshot, proxyIdentityFromNode(n));
      const names = [...web.resources(ROUTE).keys()].sort();
      assert.deepEqual(names, [...own.keys()].sort(), `routes of ${n.id}`);
      // Sidecar route configurations are put together from encoded virtual hosts (their versions
      // come from the parts): the bytes are what counts.
      const encoder = new ResourceEncoder();
      for (const [name, obj] of own) {
        const bytes = Buffer.from(web.resources(ROUTE).get(name)!.any);
        assert.ok(bytes.equals(Buffer.from(encoder.encode(ROUTE, name, obj).any)), `${name} for ${n.id}`);
      }
    }
  });

  it('another namespace and another kind get their own routes', () => {
    const shop = mesh.viewFor(node('web-1', 'sidecar', 'shop', { app: 'web' }));
    const data = mesh.viewFor(node('db-1', 'sidecar', 'data', { app: 'db' }));
    const grpc = mesh.viewFor(node('client', 'grpc', 'shop'));
    assert.notEqual(shop.resources(ROUTE), data.resources(ROUTE));
    assert.notEqual(shop.resources(ROUTE), grpc.resources(ROUTE));
  });

  it('a config change gives every class of the namespace the same new routes', async () => {
    const web = mesh.viewFor(node('web-1', 'sidecar', 'shop', { app: 'web' }));
    const api = mesh.viewFor(node('api-1', 'sidecar', 'shop', { app: 'api' }));
    const before = web.resources(ROUTE);
    const told: string[] = [];
    web.onChange(() => told.push('web'));
    api.onChange(() => told.push('api'));
    source.set({ ...base, services: [...base.services, service('cart', 'shop', 9090, 'cart')] });
    store.flush();
    await mesh.update(store.current());
    assert.notEqual(web.resources(ROUTE), before);
    assert.equal(web.resources(ROUTE), api.resources(ROUTE));
    assert.ok(web.resources(ROUTE).has('9090'), 'the new port has its route configuration');
    assert.deepEqual(told.sort(), ['api', 'web']);
  });
});
