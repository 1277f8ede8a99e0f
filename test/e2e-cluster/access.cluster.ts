// AccessPolicy against the real API server, installed from the chart: the CRD's schema and CEL
// rules refuse what pilotfish's parser refuses, and the controller — running as the chart's
// service account, so with the chart's RBAC — writes the Accepted condition back, with what
// proxyless gRPC servers ignore.
import assert from 'node:assert/strict';
import type { Cluster } from '../cluster/cluster.js';
import { KubeApiError, type KubeObject } from '../cluster/kube-rest.js';
import type { PilotfishProcess } from '../support/pilotfish-process.js';
import { conditionsOf, createNamespace, sharedCluster, uniqueName } from './fixture.js';
import { installPilotfish, startController } from './pilotfish-install.js';

const SECURITY = 'security.pilotfish.io/v1alpha1';

async function refusal(work: Promise<unknown>, what: string): Promise<KubeApiError> {
  try {
    await work;
  } catch (err) {
    if (err instanceof KubeApiError) return err;
    throw err;
  }
  assert.fail(`the API server stored ${what}`);
}

describe('cluster: AccessPolicy with the real API server', function () {
  this.timeout(300_000);
  let cluster: Cluster;
  let pf: PilotfishProcess;
  let ns: string;

  const policy = (name: string, spec: unknown): KubeObject => ({ apiVersion: SECURITY, kind: 'AccessPolicy', metadata: { name, namespace: ns }, spec });

  before(async () => {
    cluster = await sharedCluster();
    const inst = await installPilotfish(cluster);
    ns = uniqueName('access');
    await createNamespace(cluster, ns);
    pf = await startController(cluster, inst, 'chart');
  });

  after(async () => {
    const code = pf ? await pf.stop('SIGTERM') : 0;
    assert.equal(code, 0, 'SIGTERM should end pilotfish cleanly with exit code 0');
  });

  it('refuses an empty source (CEL) and a port out of range (pattern) at the field pilotfish names', async () => {
    const empty = await refusal(cluster.admin.create(policy('empty-source', { rules: [{ from: [{ source: {} }] }] })), 'an empty source');
    assert.match(empty.message, /spec\.rules\[0\]\.from\[0\]\.source: Invalid value: .*a source must name principals or namespaces/s);
    const port = await refusal(cluster.admin.create(policy('bad-port', { rules: [{ to: [{ operation: { ports: ['65536'] } }] }] })), 'port 65536');
    assert.match(port.message, /spec\.rules\[0\]\.to\[0\]\.operation\.ports\[0\]/);
  });

  it('pilotfish marks an AccessPolicy Accepted, noting what proxyless gRPC ignores', async () => {
    const created = await cluster.admin.create<KubeObject>(policy('audit', { action: 'AUDIT', rules: [{ to: [{ operation: { methods: ['DELETE'] } }] }] }));
    const accepted = await cluster.admin.waitFor(`/apis/${SECURITY}/namespaces/${ns}/accesspolicies?fieldSelector=metadata.name%3Daudit`, (o) =>
      conditionsOf(o).some((c) => c.type === 'Accepted' && c.status === 'True' && c.observedGeneration === created.metadata?.generation),
    'pilotfish to mark AccessPolicy audit Accepted');
    const condition = conditionsOf(accepted).find((c) => c.type === 'Accepted')!;
    assert.match(condition.message ?? '', /^Applied\. Ignored for proxyless gRPC: spec\.action \(gRPC servers cannot audit/);
  });
});
