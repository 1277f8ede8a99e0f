// The cache follows what mTLS in generated xDS depends on beyond config: endpoints alone can bring
// a new service account (SAN checks), change what a proxyless client must send, or bring a
// proxyless server Pod (its A36 Listener). Every step must leave each proxy with exactly the bytes
// a fresh generation gives, and proxies must be told about what changed.
import assert from 'node:assert/strict';
import type { V1EndpointSlice, V1Pod, V1Service } from '@kubernetes/client-node';
import { silentLogger } from '../../../src/logging.js';
import { PROXY_KIND_GRPC_SERVER, PROXY_KIND_LABEL, TLS_MODE_LABEL, TLS_MODE_SIDECAR } from '../../../src/model/server-kind.js';
import { EMPTY_OBJECTS, type CustomObject, type ObjectSet } from '../../../src/sources/objects.js';
import { SnapshotStore } from '../../../src/store/snapshot-store.js';
import { ResourceEncoder } from '../../../src/xds/cache/encoder.js';
import { proxyIdentityFromNode } from '../../../src/xds/cache/proxy-identity.js';
import { MeshProxyViews } from '../../../src/xds/cache/proxy-views.js';
import { generateAll } from '../../../src/xds/generate/index.js';
import { grpcServerListenerName } from '../../../src/xds/generate/tls.js';
import { META_KIND, META_LABELS, META_NAMESPACE, type NodeInfo } from '../../../src/xds/node-info.js';
import type { ProxyView } from '../../../src/xds/proxy-view.js';
import { CLUSTER, ENDPOINT, LISTENER, shortTypeName } from '../../../src/xds/types.js';
import { ManualTimers } from '../../support/manual-timers.js';
import { StaticSource } from '../../support/static-source.js';
import { assertViewsFresh } from '../../support/fresh-views.js';

const CLUSTER_NAME = 'outbound|8080||backend.demo.svc.cluster.local';
const NODES: readonly NodeInfo[] = [
  { id: 'client', metadata: { [META_KIND]: 'sidecar', [META_NAMESPACE]: 'demo', [META_LABELS]: { app: 'client' } } },
  { id: 'grpc-client', metadata: { [META_KIND]: 'grpc', [META_NAMESPACE]: 'demo' } },
];

const SERVICE: V1Service = {
  metadata: { name: 'backend', namespace: 'demo' },
  spec: { clusterIP: '10.96.0.10', selector: { app: 'backend' }, ports: [{ name: 'grpc', port: 8080, appProtocol: 'grpc' }] },
};

function pod(name: string, ip: string, account: string, labels: Record<string, string>): V1Pod {
  return { metadata: { name, namespace: 'demo', labels: { app: 'backend', ...labels } }, spec: { serviceAccountName: account, containers: [] }, status: { podIP: ip } };
}

function slice(pods: readonly V1Pod[]): V1EndpointSlice {
  return {
    addressType: 'IPv4',
    metadata: { name: 'backend-1', namespace: 'demo', labels: { 'kubernetes.io/service-name': 'backend' } },
    ports: [{ name: 'grpc', port: 8080 }],
    endpoints: pods.map((p) => ({ addresses: [p.status!.podIP!], targetRef: { kind: 'Pod', namespace: 'demo', name: p.metadata!.name! } })),
  };
}

const STRICT: CustomObject = {
  apiVersion: 'security.pilotfish.io/v1alpha1', kind: 'PeerAuthentication', metadata: { name: 'default', namespace: 'demo' },
  spec: { mtls: { mode: 'STRICT' } },
};

describe('MeshProxyViews: mTLS inputs that change with endpoints', () => {
  let store: SnapshotStore;
  let source: StaticSource;
  let mesh: MeshProxyViews;
  let views: ProxyView[];
  let told: string[][][];

  function objects(pods: readonly V1Pod[], policies: readonly CustomObject[] = []): ObjectSet {
    return { ...EMPTY_OBJECTS, services: [SERVICE], pods, endpointSlices: [slice(pods)], peerAuthentications: policies };
  }

  async function apply(o: ObjectSet): Promise<void> {
    told.forEach((t) => { t.length = 0; });
    source.set(o);
    store.flush();
    await mesh.update(store.current());
  }

  function assertFresh(step: string): void {
    assertViewsFresh(store.current(), NODES, views, step);
  }

  function clusterText(i: number): string {
    return JSON.stringify(generateAll(store.current(), proxyIdentityFromNode(NODES[i])).get(CLUSTER)!.get(CLUSTER_NAME));
  }

  beforeEach(async () => {
    store = new SnapshotStore({ logger: silentLogger(), timers: new ManualTimers() });
    source = new StaticSource('static', objects([pod('old', '10.1.0.1', 'legacy', {})]));
    mesh = new MeshProxyViews(new ResourceEncoder(), silentLogger());
    await mesh.update(await store.start([source]));
    views = NODES.map((n) => mesh.viewFor(n));
    told = views.map((v) => {
      const seen: string[][] = [];
      v.onChange((types) => seen.push([...types].map(shortTypeName).sort()));
      return seen;
    });
  });

  afterEach(async () => { await store.stop(); });

  it('a Pod with a new service account arriving with its endpoint updates the SAN checks', async () => {
    assert.match(clusterText(0), /sa\/legacy/);
    const generation = store.current().configGeneration;
    await apply(objects([pod('old', '10.1.0.1', 'legacy', {}), pod('new', '10.1.0.2', 'backend', { [TLS_MODE_LABEL]: TLS_MODE_SIDECAR })]));
    assert.equal(store.current().configGeneration, generation, 'only endpoints changed: the test is about that path');
    assert.match(clusterText(0), /sa\/backend/, 'the step changes the sidecar cluster');
    assertFresh('new account');
    assert.ok(told[0]!.some((types) => types.includes('CDS')), 'the sidecar was told about its clusters');
  });

  it('a STRICT proxyless server arriving by endpoints alone: the gRPC client switches to mTLS and gets its Listener', async () => {
    await apply(objects([pod('old', '10.1.0.1', 'legacy', {})], [STRICT]));
    assert.doesNotMatch(clusterText(1), /transport_socket/, 'an endpoint without mTLS: plaintext');
    const generation = store.current().configGeneration;
    // The old Pod goes, a proxyless server comes: pods and endpoints only.
    await apply(objects([pod('server', '10.1.0.3', 'backend', { [PROXY_KIND_LABEL]: PROXY_KIND_GRPC_SERVER })], [STRICT]));
    assert.equal(store.current().configGeneration, generation);
    assert.match(clusterText(1), /transport_socket/, 'every endpoint requires mTLS now');
    assert.ok(views[1]!.resources(LISTENER).has(grpcServerListenerName('10.1.0.3', 8080)), 'the server\'s Listener is offered');
    assertFresh('proxyless server');
    assert.ok(told[1]!.some((types) => types.includes('CDS') && types.includes('LDS')), 'the gRPC client was told');
  });

  it('a PeerAuthentication change reaches EDS metadata and the sidecar inbound side', async () => {
    await apply(objects([pod('new', '10.1.0.2', 'backend', { [TLS_MODE_LABEL]: TLS_MODE_SIDECAR })]));
    const marked = JSON.stringify(generateAll(store.current(), proxyIdentityFromNode(NODES[0])).get(ENDPOINT)!.get(CLUSTER_NAME));
    assert.match(marked, /tlsMode/, 'PERMISSIVE by default: the meshed endpoint is marked');
    const disable: CustomObject = { ...STRICT, spec: { mtls: { mode: 'DISABLE' } } };
    await apply(objects([pod('new', '10.1.0.2', 'backend', { [TLS_MODE_LABEL]: TLS_MODE_SIDECAR })], [disable]));
    const eds = JSON.stringify(generateAll(store.current(), proxyIdentityFromNode(NODES[0])).get(ENDPOINT)!.get(CLUSTER_NAME));
    assert.doesNotMatch(eds, /tlsMode/, 'DISABLE: no endpoint is marked for mTLS');
    assertFresh('DISABLE');
    assert.ok(told[0]!.some((types) => types.includes('EDS')));
  });
});
