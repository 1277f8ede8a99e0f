// The controller's declared API permissions against the requests its modules really make, over a
// real socket to the fake API server: the informers (INFORMER_PERMISSIONS), leader election
// (LEASE_PERMISSIONS) and the status writer (ROUTING_STATUS_PERMISSIONS). Each module must use
// every grant it declares and nothing else.
import assert from 'node:assert/strict';
import { KubeSource } from '../../src/sources/kube/kube-source.js';
import { INFORMER_PERMISSIONS } from '../../src/sources/kube/kinds.js';
import { LeaderElector } from '../../src/leader/leader-election.js';
import { KubeLeaseStore, LEASE_PERMISSIONS } from '../../src/leader/lease-store.js';
import { KubeRest } from '../../src/kube/rest.js';
import { KubeStatusClient } from '../../src/leader/status-writer.js';
import { silentLogger } from '../../src/logging.js';
import { TRAFFIC_POLICY_KIND, TRAFFIC_ROUTE_KIND, TRAFFIC_SCOPE_KIND, ROUTING_API_VERSION } from '../../src/api/routing/v1alpha1/crd.js';
import { ACCESS_STATUS_PERMISSIONS, ROUTING_STATUS_PERMISSIONS } from '../../src/cli/permissions.js';
import { ACCESS_POLICY_KIND, ACCESS_POLICY_PLURAL } from '../../src/api/security/v1alpha1/access-policy-crd.js';
import { SECURITY_API_VERSION } from '../../src/api/security/v1alpha1/crd.js';
import type { ApiPermission, ObjectNames } from '../../src/kube/api-permission.js';
import { startFakeKubeApi, type FakeKubeApi, type RequestRecord } from '../support/fake-kube-api.js';
import { ROUTING_TYPES } from '../support/fake-kube-api/resources.js';
import { authorize, declared } from './authorize.js';

const NS = 'mesh-control';
const NAMES: ObjectNames = { webhookConfig: 'pf-injector', tlsSecret: 'pf-webhook-tls', lease: 'pf-leader', caSecret: 'pilotfish-ca' };

function assertExactly(records: readonly RequestRecord[], perms: readonly ApiPermission[], what: string): void {
  assert.ok(records.length > 0, `${what} made no request at all`);
  const report = authorize(records, perms, NAMES, NS);
  assert.deepEqual(report.denied, [], `${what}: requests its declaration does not allow:\n${report.denied.join('\n')}`);
  const unused = [...declared(perms, NAMES)].filter((g) => !report.used.has(g));
  assert.deepEqual(unused, [], `${what}: declared but never used:\n${unused.join('\n')}`);
}

describe('permissions: the controller modules call exactly what they declare', function () {
  this.timeout(30_000);
  let api: FakeKubeApi;

  beforeEach(async () => {
    // Istio's CRDs installed too, so the optional Istio informers list and watch like the others.
    api = await startFakeKubeApi({
      namespaces: ['default', 'kube-system', NS, 'shop'],
      customResources: [...ROUTING_TYPES, ...['virtualservices', 'destinationrules'].map((resource) => ({
        group: 'networking.istio.io', version: 'v1', resource, kind: resource === 'virtualservices' ? 'VirtualService' : 'DestinationRule',
        namespaced: true, hasStatus: true, custom: true,
      }))],
    });
  });
  afterEach(async () => api?.close());

  it('informers: list and watch of every watched kind, cluster-wide (INFORMER_PERMISSIONS)', async () => {
    const source = new KubeSource({ kubeConfig: api.kubeConfig(), logger: silentLogger() });
    let reported = 0;
    await source.start({ replace: () => { reported++; } });
    try {
      await api.waitForWatches({}, INFORMER_PERMISSIONS.length);
      assert.ok(reported > 0, 'the source reported its initial content');
    } finally {
      await source.stop();
    }
    assertExactly(api.requests(), INFORMER_PERMISSIONS, 'KubeSource');
  });

  it('leader election: get, create and renew its own Lease in its own namespace (LEASE_PERMISSIONS)', async () => {
    const elector = new LeaderElector({
      store: new KubeLeaseStore(new KubeRest(api.kubeConfig()), NS, NAMES.lease),
      identity: 'pilotfish-0', leaseDurationMs: 3000, logger: silentLogger(),
    });
    const leading = new Promise<void>((resolve) => elector.onChange((l) => { if (l) resolve(); }));
    elector.start();
    try {
      await leading;
      // The first renewal after acquiring is the update path.
      await api.waitForRequests({ verb: 'update', resource: 'leases' }, 1);
    } finally {
      await elector.stop();
    }
    assertExactly(api.requests(), LEASE_PERMISSIONS, 'LeaderElector + KubeLeaseStore');
  });

  it('status writer: patches /status of the routing kinds (ROUTING_STATUS_PERMISSIONS)', async () => {
    const client = new KubeStatusClient(new KubeRest(api.kubeConfig()));
    for (const info of [TRAFFIC_ROUTE_KIND, TRAFFIC_POLICY_KIND, TRAFFIC_SCOPE_KIND]) {
      api.create({ apiVersion: ROUTING_API_VERSION, kind: info.kind, metadata: { name: 'r', namespace: 'shop' }, spec: {} });
      await client.patchStatus({ apiVersion: ROUTING_API_VERSION, kind: info.kind, plural: info.plural, namespace: 'shop', name: 'r' },
        { conditions: [{ type: 'Accepted', status: 'True', reason: 'Accepted', message: 'ok', lastTransitionTime: '2025-01-01T00:00:00Z' }] });
    }
    assertExactly(api.requests(), ROUTING_STATUS_PERMISSIONS, 'KubeStatusClient');
  });

  it('status writer: patches /status of AccessPolicies (ACCESS_STATUS_PERMISSIONS)', async () => {
    const client = new KubeStatusClient(new KubeRest(api.kubeConfig()));
    api.create({ apiVersion: SECURITY_API_VERSION, kind: ACCESS_POLICY_KIND, metadata: { name: 'a', namespace: 'shop' }, spec: {} });
    await client.patchStatus({ apiVersion: SECURITY_API_VERSION, kind: ACCESS_POLICY_KIND, plural: ACCESS_POLICY_PLURAL, namespace: 'shop', name: 'a' },
      { conditions: [{ type: 'Accepted', status: 'True', reason: 'Accepted', message: 'ok', lastTransitionTime: '2025-01-01T00:00:00Z' }] });
    assertExactly(api.requests(), ACCESS_STATUS_PERMISSIONS, 'KubeStatusClient');
  });
});
