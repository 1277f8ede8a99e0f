// The cache follows AccessPolicies: an edit reaches the selected sidecar's virtualInbound and the
// proxyless server's Listener (and tells those proxies), leaves other workloads' classes alone,
// and every step leaves each proxy with exactly the bytes a fresh generation gives.
import assert from 'node:assert/strict';
import type { V1EndpointSlice, V1Pod, V1Service } from '@kubernetes/client-node';
import { silentLogger } from '../../../src/logging.js';
import { PROXY_KIND_GRPC_SERVER, PROXY_KIND_LABEL, TLS_MODE_LABEL, TLS_MODE_SIDECAR } from '../../../src/model/server-kind.js';
import { EMPTY_OBJECTS, type CustomObject, type ObjectSet } from '../../../src/sources/objects.js';
import { SnapshotStore } from '../../../src/store/snapshot-store.js';
import { ResourceEncoder } from '../../../src/xds/cache/encoder.js';
import { MeshProxyViews } from '../../../src/xds/cache/proxy-views.js';
import { grpcServerListenerName } from '../../../src/xds/generate/tls.js';
import { META_KIND, META_LABELS, META_NAMESPACE, type NodeInfo } from '../../../src/xds/node-info.js';
import type { ProxyView } from '../../../src/xds/proxy-view.js';
import { LISTENER, shortTypeName } from '../../../src/xds/types.js';
import { ManualTimers } from '../../support/manual-timers.js';
import { StaticSource } from '../../support/static-source.js';
import { assertViewsFresh } from '../../support/fresh-views.js';

const NODES: readonly NodeInfo[] = [
  { id: 'backend', metadata: { [META_KIND]: 'sidecar', [META_NAMESPACE]: 'demo', [META_LABELS]: { app: 'backend', [TLS_MODE_LABEL]: TLS_MODE_SIDECAR } } },
  { id: 'other', metadata: { [META_KIND]: 'sidecar', [META_NAMESPACE]: 'demo', [META_LABELS]: { app: 'other', [TLS_MODE_LABEL]: TLS_MODE_SIDECAR } } },
  { id: 'grpc-server', metadata: { [META_KIND]: 'grpc', [META_NAMESPACE]: 'demo' } },
];

function service(name: string): V1Service {
  return { metadata: { name, namespace: 'demo' }, spec: { selector: { app: name }, ports: [{ name: 'http', port: 8080 }] } };
}

const GRPC_SERVICE: V1Service = {
  metadata: { name: 'api', namespace: 'demo' },
  spec: { selector: { app: 'api' }, ports: [{ name: 'grpc', port: 9090, appProtocol: 'grpc' }] },
};

const API_POD: V1Pod = {
  metadata: { name: 'api-1', namespace: 'demo', labels: { app: 'api', [PROXY_KIND_LABEL]: PROXY_KIND_GRPC_SERVER } },
  spec: { serviceAccountName: 'api', containers: [] }, status: { podIP: '10.1.0.9' },
};

const API_SLICE: V1EndpointSlice = {
  addressType: 'IPv4', metadata: { name: 'api-1', namespace: 'demo', labels: { 'kubernetes.io/service-name': 'api' } },
  ports: [{ name: 'grpc', port: 9090 }], endpoints: [{ addresses: ['10.1.0.9'], targetRef: { kind: 'Pod', namespace: 'demo', name: 'api-1' } }],
};

function allow(app: string, account: string): CustomObject {
  return {
    apiVersion: 'security.pilotfish.io/v1alpha1', kind: 'AccessPolicy', metadata: { name: `${app}-callers`, namespace: 'demo' },
    spec: { selector: { matchLabels: { app } }, rules: [{ from: [{ source: { principals: [`cluster.local/ns/demo/sa/${account}`] } }] }] },
  };
}

describe('MeshProxyViews: AccessPolicy edits', () => {
  let store: SnapshotStore;
  let source: StaticSource;
  let mesh: MeshProxyViews;
  let views: ProxyView[];
  let told: string[][][];

  function objects(policies: readonly CustomObject[]): ObjectSet {
    return {
      ...EMPTY_OBJECTS, services: [service('backend'), service('other'), GRPC_SERVICE], pods: [API_POD], endpointSlices: [API_SLICE],
      accessPolicies: policies,
    };
  }

  async function apply(policies: readonly CustomObject[]): Promise<void> {
    told.forEach((t) => { t.length = 0; });
    source.set(objects(policies));
    store.flush();
    await mesh.update(store.current());
  }

  function assertFresh(step: string): void {
    assertViewsFresh(store.current(), NODES, views, step);
  }

  const inbound = (i: number): string => JSON.stringify(views[i]!.resources(LISTENER).get('virtualInbound')?.version);
  const serverListener = (): string => Buffer.from(views[2]!.resources(LISTENER).get(grpcServerListenerName('10.1.0.9', 9090))!.any).toString('latin1');

  beforeEach(async () => {
    store = new SnapshotStore({ logger: silentLogger(), timers: new ManualTimers() });
    source = new StaticSource('static', objects([]));
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

  it('a policy for one workload changes its virtualInbound only, and an edit of it again', async () => {
    const before = [inbound(0), inbound(1)];
    await apply([allow('backend', 'web')]);
    assert.notEqual(inbound(0), before[0], 'the selected sidecar gets RBAC');
    assert.equal(inbound(1), before[1], 'another workload keeps its listener');
    assert.ok(told[0]!.some((types) => types.includes('LDS')), 'the selected sidecar was told');
    assert.ok(!told[1]!.some((types) => types.includes('LDS')), 'the other was not told about listeners');
    assertFresh('added');
    const added = inbound(0);
    await apply([allow('backend', 'checkout')]);
    assert.notEqual(inbound(0), added, 'the edit reaches the sidecar');
    assertFresh('edited');
    await apply([]);
    assert.equal(inbound(0), before[0], 'removing it gives back the listener without RBAC');
    assertFresh('removed');
  });

  it('a policy for a proxyless server reaches its A36 Listener', async () => {
    assert.doesNotMatch(serverListener(), /rbac/);
    await apply([allow('api', 'web')]);
    assert.match(serverListener(), /envoy\.filters\.http\.rbac\.allow/);
    assert.match(serverListener(), /spiffe:\/\/cluster\.local\/ns\/demo\/sa\/web/);
    assert.ok(told[2]!.some((types) => types.includes('LDS')), 'the gRPC proxy was told');
    assertFresh('proxyless');
  });

  it('an invalid edit keeps serving the last accepted version', async () => {
    await apply([allow('api', 'web')]);
    const good = serverListener();
    const broken = allow('api', 'web');
    broken.spec = { selector: { matchLabels: { app: 'api' } }, action: 'PERMIT' };
    await apply([broken]);
    assert.equal(serverListener(), good);
    assert.equal(store.current().access.statuses[0]!.applied, 'previous');
    assertFresh('invalid edit');
  });
});
