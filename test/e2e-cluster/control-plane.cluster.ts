// The control plane the rest of the suite relies on behaves like a real cluster's: RBAC is
// enforced, and kube-controller-manager turns Services and ready Pods into EndpointSlices.
import assert from 'node:assert/strict';
import type { Cluster } from '../cluster/cluster.js';
import { pinnedKubernetesVersion } from '../cluster/binaries.js';
import { KubeApiError, KubeRest, type KubeObject } from '../cluster/kube-rest.js';
import { createNamespace, sharedCluster, uniqueName } from './fixture.js';

interface EndpointSlice extends KubeObject {
  addressType: string;
  endpoints?: Array<{ addresses: string[]; conditions?: { ready?: boolean }; targetRef?: { name?: string } }>;
  ports?: Array<{ name?: string; port?: number; protocol?: string }>;
}

async function rejection(work: Promise<unknown>): Promise<KubeApiError> {
  try {
    await work;
  } catch (err) {
    if (err instanceof KubeApiError) return err;
    throw err;
  }
  assert.fail('the API server accepted the request');
}

describe('cluster: the real control plane', function () {
  this.timeout(300_000);
  let cluster: Cluster;
  let ns: string;

  before(async () => {
    cluster = await sharedCluster();
    ns = uniqueName('control-plane');
    await createNamespace(cluster, ns);
  });

  it('runs the pinned Kubernetes release and authenticates every caller', async () => {
    assert.equal(cluster.version, pinnedKubernetesVersion());
    const { code } = await new KubeRest({ ...cluster.admin.target, token: 'not-a-token' }).raw('GET', '/api/v1/namespaces');
    assert.equal(code, 401);
  });

  it('enforces RBAC: a ServiceAccount without bindings may not list Pods', async () => {
    await cluster.admin.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'nobody', namespace: ns } });
    const nobody = await cluster.serviceAccountClient(ns, 'nobody');
    const err = await rejection(nobody.list(`/api/v1/namespaces/${ns}/pods`));
    assert.equal(err.code, 403);
    assert.match(err.status.message ?? '', new RegExp(`system:serviceaccount:${ns}:nobody" cannot list resource "pods"`));
  });

  it('kube-controller-manager derives an EndpointSlice from a Service and its ready Pods', async () => {
    // No kubelet runs Pods here, so the test plays the kubelet: a Node to schedule on, and a Pod
    // status with an IP and Ready=True, which is all the EndpointSlice controller reads.
    const node = uniqueName('node');
    await cluster.admin.create({ apiVersion: 'v1', kind: 'Node', metadata: { name: node, labels: { 'topology.kubernetes.io/zone': 'zone-a' } } });
    await cluster.admin.create({
      apiVersion: 'v1', kind: 'Service', metadata: { name: 'echo', namespace: ns },
      spec: { selector: { app: 'echo' }, ports: [{ name: 'grpc', port: 50051, targetPort: 8080, appProtocol: 'grpc' }] },
    });
    await cluster.admin.create({
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'echo-1', namespace: ns, labels: { app: 'echo' } },
      spec: { nodeName: node, containers: [{ name: 'echo', image: 'example.invalid/echo:1', ports: [{ containerPort: 8080 }] }] },
    });
    const now = new Date().toISOString();
    await cluster.admin.patch(`/api/v1/namespaces/${ns}/pods/echo-1/status`, {
      status: {
        phase: 'Running', podIP: '10.1.0.7', podIPs: [{ ip: '10.1.0.7' }],
        conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: now }],
      },
    }, 'merge');

    const slice = await cluster.admin.waitFor<EndpointSlice>(
      `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3Decho`,
      (s) => (s.endpoints ?? []).some((e) => e.addresses.includes('10.1.0.7') && e.conditions?.ready === true),
      'an EndpointSlice with the ready Pod');
    assert.equal(slice.addressType, 'IPv4');
    assert.deepEqual(slice.ports, [{ name: 'grpc', port: 8080, protocol: 'TCP', appProtocol: 'grpc' }]);
    assert.equal(slice.metadata?.labels?.['endpointslice.kubernetes.io/managed-by'], 'endpointslice-controller.k8s.io');
    assert.equal(slice.endpoints?.[0]?.targetRef?.name, 'echo-1');
  });

  it('stores a hand-written EndpointSlice for a Service without a selector', async () => {
    await cluster.admin.create({
      apiVersion: 'v1', kind: 'Service', metadata: { name: 'external', namespace: ns },
      spec: { ports: [{ name: 'http', port: 80 }] },
    });
    const created = await cluster.admin.create<EndpointSlice>({
      apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
      metadata: { name: 'external-1', namespace: ns, labels: { 'kubernetes.io/service-name': 'external', 'endpointslice.kubernetes.io/managed-by': 'pilotfish-e2e' } },
      addressType: 'IPv4',
      ports: [{ name: 'http', port: 8080 }],
      endpoints: [{ addresses: ['10.1.0.9'], conditions: { ready: true } }],
    });
    const stored = await cluster.admin.get<EndpointSlice>(`/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices/external-1`);
    assert.equal(stored.metadata?.uid, created.metadata?.uid);
    assert.deepEqual(stored.endpoints?.map((e) => e.addresses), [['10.1.0.9']]);
  });
});
