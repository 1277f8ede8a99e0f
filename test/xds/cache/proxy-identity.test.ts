// Proxy identity: matching a connecting proxy to its Pod (xds/cache/proxy-resolve.ts), and
// MeshProxyViews re-classing a proxy that connected before its Pod was known.
import assert from 'node:assert/strict';
import type { V1Pod, V1Service } from '@kubernetes/client-node';
import { EMPTY_OBJECTS, type ObjectSet } from '../../../src/sources/objects.js';
import { SnapshotStore } from '../../../src/store/snapshot-store.js';
import { silentLogger } from '../../../src/logging.js';
import { META_INSTANCE_IP, META_KIND, META_LABELS, META_NAMESPACE, META_POD_NAME, META_SERVICE_ACCOUNT, type NodeInfo } from '../../../src/xds/node-info.js';
import { resolveProxyIdentity } from '../../../src/xds/cache/proxy-resolve.js';
import type { PodInfo } from '../../../src/model/snapshot.js';
import { ResourceEncoder } from '../../../src/xds/cache/encoder.js';
import { MeshProxyViews } from '../../../src/xds/cache/proxy-views.js';
import { CLUSTER, LISTENER, shortTypeName } from '../../../src/xds/types.js';
import { ManualTimers } from '../../support/manual-timers.js';
import { StaticSource } from '../../support/static-source.js';

function pods(...list: PodInfo[]): Map<string, PodInfo> {
  return new Map(list.map((p) => [`${p.namespace}/${p.name}`, p]));
}

const WEB_POD: PodInfo = { name: 'web-0', namespace: 'shop', ip: '10.0.1.1', labels: { app: 'web', version: 'v2' }, serviceAccount: 'web-sa' };

describe('controller/kube proxy identity', () => {
  describe('resolveProxyIdentity', () => {
    it('a sidecar naming its Pod gets labels and service account from the Pod, not from its own metadata', () => {
      const node: NodeInfo = {
        id: 'sidecar~10.0.1.1~web-0.shop~shop.svc.cluster.local',
        metadata: { [META_KIND]: 'sidecar', [META_LABELS]: { app: 'web', version: 'v1' }, [META_SERVICE_ACCOUNT]: 'stale' },
      };
      const r = resolveProxyIdentity(node, pods(WEB_POD));
      assert.equal(r.provisional, false);
      assert.equal(r.pod, 'shop/web-0');
      assert.deepEqual(r.identity.labels, { app: 'web', version: 'v2' }, 'the Pod was relabelled after injection');
      assert.equal(r.identity.serviceAccount, 'web-sa');
      assert.equal(r.identity.namespace, 'shop');
      assert.equal(r.identity.kind, 'sidecar');
    });

    it('a proxy whose Pod is not known yet is provisional, with its own metadata', () => {
      const node: NodeInfo = { id: 'x', metadata: { [META_KIND]: 'sidecar', [META_NAMESPACE]: 'shop', [META_POD_NAME]: 'web-1', [META_LABELS]: { app: 'web' } } };
      const r = resolveProxyIdentity(node, pods(WEB_POD));
      assert.equal(r.provisional, true);
      assert.equal(r.pod, undefined);
      assert.deepEqual(r.identity.labels, { app: 'web' });
      assert.equal(r.identity.podName, 'web-1');
    });

    it('matches by IP when the proxy names no Pod, in its namespace if it gives one, and only when one Pod has the IP', () => {
      const byIp: NodeInfo = { id: 'by-ip', metadata: { [META_KIND]: 'grpc', [META_INSTANCE_IP]: '10.0.1.1' } };
      const r = resolveProxyIdentity(byIp, pods(WEB_POD));
      assert.equal(r.pod, 'shop/web-0');
      assert.equal(r.identity.namespace, 'shop', 'the namespace comes from the Pod');

      const elsewhere: NodeInfo = { id: 'ns', metadata: { [META_KIND]: 'grpc', [META_NAMESPACE]: 'other', [META_INSTANCE_IP]: '10.0.1.1' } };
      assert.equal(resolveProxyIdentity(elsewhere, pods(WEB_POD)).pod, undefined, 'a Pod in another namespace is not it');

      const hostNetwork: PodInfo = { name: 'node-agent', namespace: 'kube-system', ip: '10.0.1.1', labels: {} };
      const shared = resolveProxyIdentity(byIp, pods(WEB_POD, hostNetwork));
      assert.equal(shared.pod, undefined, 'two Pods share the IP: no guess');
      assert.equal(shared.provisional, true);
    });

    it('a proxyless client that claims no Pod is simply what it says, not provisional', () => {
      const node: NodeInfo = { id: 'client', metadata: { [META_KIND]: 'grpc', [META_NAMESPACE]: 'shop' } };
      const r = resolveProxyIdentity(node, pods(WEB_POD));
      assert.equal(r.provisional, false);
      assert.equal(r.pod, undefined);
      assert.equal(r.identity.namespace, 'shop');
    });
  });

  describe('MeshProxyViews with Pods arriving later', () => {
    let store: SnapshotStore;
    let source: StaticSource;
    let mesh: MeshProxyViews;
    let base: ObjectSet;

    const svc: V1Service = {
      metadata: { name: 'web', namespace: 'shop' },
      spec: { clusterIP: '10.96.0.3', selector: { app: 'web' }, ports: [{ name: 'grpc', port: 50051, targetPort: 8080 }] },
    };
    const webPod: V1Pod = {
      metadata: { name: 'web-0', namespace: 'shop', labels: { app: 'web' } },
      spec: { serviceAccountName: 'web-sa', containers: [] },
      status: { podIP: '10.0.1.1' },
    };

    async function apply(parts: Partial<ObjectSet>): Promise<void> {
      source.set({ ...base, ...parts });
      store.flush();
      await mesh.update(store.current());
    }

    beforeEach(async () => {
      base = { ...EMPTY_OBJECTS, services: [svc] };
      store = new SnapshotStore({ logger: silentLogger(), timers: new ManualTimers() });
      source = new StaticSource('static', base);
      mesh = new MeshProxyViews(new ResourceEncoder(), silentLogger());
      await mesh.update(await store.start([source]));
    });

    afterEach(async () => { await store.stop(); });

    it('a gRPC client known only by its IP moves into its Pod\'s namespace once the Pod appears (short names appear)', async () => {
      const view = mesh.viewFor({ id: 'early', metadata: { [META_KIND]: 'grpc', [META_INSTANCE_IP]: '10.0.1.1' } });
      const seen: string[][] = [];
      view.onChange((types) => seen.push([...types].map(shortTypeName).sort()));
      assert.ok(!view.resources(LISTENER).has('web:50051'), 'short names only resolve inside the namespace');
      assert.ok(view.resources(LISTENER).has('web.shop.svc.cluster.local:50051'));

      await apply({ pods: [webPod] });
      assert.ok(view.resources(LISTENER).has('web:50051'), 'now in namespace shop');
      assert.ok(seen.some((t) => t.includes('LDS')), `LDS re-sent: ${JSON.stringify(seen)}`);
    });

    it('a sidecar that connects before its Pod gets its workload\'s inbound config once the Pod is known', async () => {
      const view = mesh.viewFor({ id: 'sidecar~10.0.1.1~web-0.shop~shop.svc.cluster.local', metadata: { [META_KIND]: 'sidecar' } });
      const seen: string[][] = [];
      view.onChange((types) => seen.push([...types].map(shortTypeName).sort()));
      assert.ok(!view.resources(CLUSTER).has('inbound|8080||'), 'no workload known yet');

      await apply({ pods: [webPod] });
      assert.ok(view.resources(CLUSTER).has('inbound|8080||'), `inbound cluster for the Pod's port: ${[...view.resources(CLUSTER).keys()].join(', ')}`);
      assert.ok(seen.some((t) => t.includes('CDS')), `CDS re-sent: ${JSON.stringify(seen)}`);
    });

    it('sidecars of one workload share a class once their Pods are known, whatever labels they sent', async () => {
      const second: V1Pod = { ...webPod, metadata: { ...webPod.metadata, name: 'web-1' }, status: { podIP: '10.0.1.2' } };
      await apply({ pods: [webPod, second] });
      const a = mesh.viewFor({ id: 'sidecar~10.0.1.1~web-0.shop~shop.svc.cluster.local', metadata: { [META_KIND]: 'sidecar', [META_LABELS]: { app: 'old' } } });
      const b = mesh.viewFor({ id: 'sidecar~10.0.1.2~web-1.shop~shop.svc.cluster.local', metadata: { [META_KIND]: 'sidecar' } });
      assert.equal(a.resources(LISTENER), b.resources(LISTENER), 'one class: the very same resources');
      assert.ok(a.resources(CLUSTER).has('inbound|8080||'), 'built from the Pod\'s labels, not the stale metadata');
    });
  });
});
