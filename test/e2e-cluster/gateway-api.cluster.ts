// Gateway API for the mesh against the real API server: the chart's optional HTTPRoute/GRPCRoute
// CRDs (rendered with the real helm, as an install would, and left alone once someone else owns
// them), a controller that starts before they exist and begins watching when they appear, and
// status.parents[] written by the Lease holder only: Accepted/ResolvedRefs (ResolvedRefs=False,
// BackendNotFound for a missing backend), next to another controller's entry, which is kept.
import assert from 'node:assert/strict';
import type { Cluster } from '../cluster/cluster.js';
import type { KubeObject } from '../cluster/kube-rest.js';
import { helm } from '../support/k8s-tools.js';
import type { LogLine, PilotfishProcess } from '../support/pilotfish-process.js';
import { bounded, createNamespace, installCrds, parseManifests, sharedCluster, uniqueName } from './fixture.js';
import { CHART_DIR, installPilotfish, startController, type Installation } from './pilotfish-install.js';

const GATEWAY = 'gateway.networking.k8s.io/v1';
const CRD_NAMES = ['httproutes.gateway.networking.k8s.io', 'grpcroutes.gateway.networking.k8s.io'];
const CRD_PATH = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';
const CONTROLLER_NAME = 'pilotfish.io/mesh';

interface Condition { type: string; status: string; reason: string; message: string; observedGeneration?: number }
interface ParentStatus { parentRef: Record<string, unknown>; controllerName: string; conditions: Condition[] }
type Route = KubeObject & { status?: { parents?: ParentStatus[] } };

/**
 * What `helm install` of release `release` into `namespace` with gatewayAPI.installCRDs=true would
 * create, as the API server sees it (`--dry-run=server`: `lookup` reads the cluster). A release
 * of its own, so nothing it renders collides with the suite's installation.
 */
async function renderGatewayCrds(kubeconfig: string, release: string, namespace: string): Promise<KubeObject[]> {
  const args = ['template', release, CHART_DIR, '--namespace', namespace, '--set', 'gatewayAPI.installCRDs=true',
    '--dry-run=server', '--kubeconfig', kubeconfig];
  const out = await helm(args);
  assert.equal(out.code, 0, `helm ${args.join(' ')} failed:\n${out.stderr}`);
  return parseManifests(out.stdout, 'helm template').filter((o) => o.kind === 'CustomResourceDefinition' && CRD_NAMES.includes(o.metadata?.name ?? ''));
}

function service(ns: string, name: string): KubeObject {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns }, spec: { ports: [{ name: 'http', port: 8080 }] } };
}

function httpRoute(ns: string, name: string, backend: string): KubeObject {
  return {
    apiVersion: GATEWAY, kind: 'HTTPRoute', metadata: { name, namespace: ns },
    spec: { parentRefs: [{ group: '', kind: 'Service', name: 'web' }], rules: [{ backendRefs: [{ name: backend, port: 8080 }] }] },
  };
}

function ours(route: Route): ParentStatus | undefined {
  return route.status?.parents?.find((p) => p.controllerName === CONTROLLER_NAME);
}

function condition(p: ParentStatus | undefined, type: string): Condition | undefined {
  return p?.conditions.find((c) => c.type === type);
}

describe('cluster: Gateway API (GAMMA) routes', function () {
  this.timeout(300_000);
  let cluster: Cluster;
  let inst: Installation;
  let ns: string;
  const controllers: PilotfishProcess[] = [];

  /** Controllers of the chart's ServiceAccount, electing a leader with the chart's Lease (RBAC pins its name). */
  async function controller(identity: string): Promise<PilotfishProcess> {
    const pf = await startController(cluster, inst, 'minimal', { identity });
    controllers.push(pf);
    return pf;
  }

  async function routeStatus(name: string, what: string, until: (r: Route) => boolean): Promise<Route> {
    return cluster.admin.waitFor<Route>(`/apis/${GATEWAY}/namespaces/${ns}/httproutes?fieldSelector=metadata.name%3D${name}`, until, what);
  }

  before(async () => {
    cluster = await sharedCluster();
    inst = await installPilotfish(cluster);
    ns = uniqueName('gamma');
    await createNamespace(cluster, ns);
  });

  after(async () => {
    for (const pf of controllers) await pf.stop('SIGTERM');
  });

  let leader: PilotfishProcess;
  let follower: PilotfishProcess;

  it('without the Gateway API CRDs the controller runs, and says it does not read those routes', async () => {
    for (const name of CRD_NAMES) assert.equal(await cluster.admin.tryGet(`${CRD_PATH}/${name}`), undefined, `${name} must not exist before this test installs it`);
    leader = await controller('pf-gamma-a');
    await bounded(leader.waitForLog((l) => l.message === 'started leading', 'pf-gamma-a to lead'), 60_000, 'pf-gamma-a to lead', leader);
    const line = await bounded(leader.waitForLog((l) => typeof l.message === 'string' && l.message.startsWith('the HTTPRoute API is not served'),
      'the missing HTTPRoute API to be logged'), 60_000, 'the missing HTTPRoute API to be logged', leader);
    assert.match(String(line.message), /gatewayAPI\.installCRDs=true/);
    follower = await controller('pf-gamma-b');
  });

  it('the chart installs the pinned CRDs when they are missing, and leaves them alone once they are not its own or are newer', async () => {
    const release = 'gamma-check';
    const render = () => renderGatewayCrds(cluster.kubeconfig, release, ns);
    const missing = await render();
    assert.deepEqual(missing.map((c) => c.metadata?.name).sort(), [...CRD_NAMES].sort(), 'with the CRDs missing, the chart renders both');
    for (const crd of missing) assert.equal(crd.metadata?.annotations?.['gateway.networking.k8s.io/bundle-version'], 'v1.6.3');
    await installCrds(cluster, missing);

    // Installed by someone else (no Helm ownership): never rendered, whatever the version.
    assert.deepEqual(await render(), [], 'CRDs another owner installed are left alone');
    // Owned by this release: upgraded while ours is not older, left alone once the cluster's is newer.
    const own = (version: string) => ({
      metadata: { labels: { 'app.kubernetes.io/managed-by': 'Helm' }, annotations: { 'meta.helm.sh/release-name': release, 'meta.helm.sh/release-namespace': ns, 'gateway.networking.k8s.io/bundle-version': version } },
    });
    const httproutes = `${CRD_PATH}/${CRD_NAMES[0]}`;
    await cluster.admin.patch(httproutes, own('v1.6.0'), 'merge');
    assert.deepEqual((await render()).map((c) => c.metadata?.name), [CRD_NAMES[0]], 'an older own CRD is upgraded');
    await cluster.admin.patch(httproutes, own('v1.7.0'), 'merge');
    assert.deepEqual(await render(), [], 'a newer CRD is never downgraded');
    await cluster.admin.patch(httproutes, { metadata: { labels: { 'app.kubernetes.io/managed-by': null }, annotations: { 'meta.helm.sh/release-name': null, 'meta.helm.sh/release-namespace': null, 'gateway.networking.k8s.io/bundle-version': 'v1.6.3' } } }, 'merge');
  });

  it('once the CRDs exist the controllers watch HTTPRoutes, and the Lease holder alone writes status.parents: Accepted, ResolvedRefs', async () => {
    for (const pf of [leader, follower]) {
      await bounded(pf.waitForLog((l) => l.message === 'the HTTPRoute API is served now; watching it', 'the HTTPRoute informer to start'),
        120_000, 'the HTTPRoute informer to start', pf);
    }
    await cluster.admin.create(service(ns, 'web'));
    await cluster.admin.create(service(ns, 'web-v2'));
    const created = await cluster.admin.create(httpRoute(ns, 'ok', 'web-v2'));
    const route = await routeStatus('ok', 'HTTPRoute ok to be Accepted with ResolvedRefs',
      (r) => condition(ours(r), 'Accepted')?.status === 'True' && condition(ours(r), 'ResolvedRefs')?.status === 'True');
    const mine = ours(route)!;
    assert.deepEqual(mine.parentRef, { group: '', kind: 'Service', name: 'web' });
    assert.deepEqual(mine.conditions.map((c) => [c.type, c.reason, c.observedGeneration]),
      [['Accepted', 'Accepted', created.metadata?.generation], ['ResolvedRefs', 'ResolvedRefs', created.metadata?.generation]]);
    // The status is in the API server before the writer's log line reaches us: wait for the line.
    const written = (l: LogLine) => l.message === 'status written' && l.object === `HTTPRoute/${ns}/ok`;
    await bounded(leader.waitForLog(written, 'the leader to log its write'), 30_000, 'the leader to log its write', leader);
    assert.deepEqual(follower.logs.filter(written), [], 'the follower wrote nothing');
  });

  it('a missing backend: ResolvedRefs=False, reason BackendNotFound; another controller\'s entry is kept', async () => {
    await cluster.admin.create(httpRoute(ns, 'missing', 'nope'));
    await routeStatus('missing', 'HTTPRoute missing to get ResolvedRefs=False', (r) => condition(ours(r), 'ResolvedRefs')?.status === 'False');
    const foreign: ParentStatus = {
      parentRef: { group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'ingress' },
      controllerName: 'example.com/gateway',
      conditions: [{ type: 'Accepted', status: 'True', reason: 'Accepted', message: 'theirs', lastTransitionTime: '2026-01-01T00:00:00Z' } as Condition],
    };
    const current = await cluster.admin.get<Route>(`/apis/${GATEWAY}/namespaces/${ns}/httproutes/missing`);
    // Another controller adds its entry (a merge patch replaces the list: it sends ours along).
    await cluster.admin.patch(`/apis/${GATEWAY}/namespaces/${ns}/httproutes/missing/status`,
      { status: { parents: [...(current.status?.parents ?? []), foreign] } }, 'merge');
    // Then the route changes: pilotfish rewrites its entry for the new generation and keeps theirs.
    await cluster.admin.patch(`/apis/${GATEWAY}/namespaces/${ns}/httproutes/missing`,
      { spec: { rules: [{ backendRefs: [{ name: 'still-nope', port: 8080 }] }] } }, 'merge');
    const after = await routeStatus('missing', 'pilotfish to write generation 2 next to the foreign entry',
      (r) => condition(ours(r), 'ResolvedRefs')?.observedGeneration === 2);
    const refs = condition(ours(after), 'ResolvedRefs')!;
    assert.deepEqual([refs.status, refs.reason], ['False', 'BackendNotFound']);
    assert.match(refs.message, /still-nope not found/);
    assert.equal(condition(ours(after), 'Accepted')?.status, 'True');
    const theirs = after.status?.parents?.find((p) => p.controllerName === 'example.com/gateway');
    assert.deepEqual(theirs, foreign, "the other controller's entry is kept as it was");
  });

  it('when the leader stops, the new Lease holder writes status', async () => {
    await leader.stop('SIGTERM');
    await bounded(follower.waitForLog((l) => l.message === 'started leading', 'pf-gamma-b to lead'), 60_000, 'pf-gamma-b to lead', follower);
    await cluster.admin.patch(`/apis/${GATEWAY}/namespaces/${ns}/httproutes/ok`, { spec: { rules: [{ backendRefs: [{ name: 'web', port: 8080 }] }] } }, 'merge');
    await routeStatus('ok', 'pf-gamma-b to write generation 2', (r) => condition(ours(r), 'Accepted')?.observedGeneration === 2);
    await bounded(follower.waitForLog((l) => l.message === 'status written' && l.object === `HTTPRoute/${ns}/ok`, 'the new leader to log its write'),
      30_000, 'the new leader to log its write', follower);
  });
});
