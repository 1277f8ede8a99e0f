// End to end, as in a cluster: the built `pilotfish controller --kubeconfig K` against the fake
// Kubernetes API, real gRPC backends on 127.0.0.1, and a real @grpc/grpc-js-xds client. Objects are
// created, changed and deleted through the API; routing, status and leadership follow.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as grpcXds from '@grpc/grpc-js-xds';
import { CLUSTER, ROUTE } from '../../src/xds/types.js';
import { AdsClient } from '../support/ads-client.js';
import { callMany, EchoClient, startEchoBackend, type EchoBackend } from '../support/echo-service.js';
import { startFakeKubeApi, type FakeKubeApi, type KubeObject } from '../support/fake-kube-api.js';
import { PilotfishProcess, runPilotfish, type LogLine } from '../support/pilotfish-process.js';
import { endpointSlice, namespace, pod, service } from '../support/kube-helpers.js';

grpcXds.register();

const BOOTSTRAP_OPTION = 'grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config';
const ROUTING = 'routing.pilotfish.io/v1alpha1';
const NS = 'e2e';
const SYSTEM_NS = 'pilotfish-system';
const LEASE_SECONDS = 2;
const TARGET = 'xds:///echo.e2e.svc.cluster.local:50051';
const ALL = 'outbound|50051||echo.e2e.svc.cluster.local';
const V1 = 'outbound|50051|v1|echo.e2e.svc.cluster.local';
const V2 = 'outbound|50051|v2|echo.e2e.svc.cluster.local';

interface Condition { type: string; status: string; reason: string; message: string; observedGeneration?: number }

function trafficRoute(name: string, spec: unknown): KubeObject {
  return { apiVersion: ROUTING, kind: 'TrafficRoute', metadata: { name, namespace: NS }, spec };
}

function controllerArgs(kubeconfig: string, identity: string): string[] {
  return ['controller', '--kubeconfig', kubeconfig, '--xds-address', '127.0.0.1:0', '--xds-tls-address', '127.0.0.1:0', '--http-address', '127.0.0.1:0',
    '--identity', identity, '--namespace', SYSTEM_NS, '--lease-duration', `${LEASE_SECONDS}s`, '--log-level', 'debug', '--no-webhook'];
}

describe('e2e: pilotfish controller against the Kubernetes API', function () {
  this.timeout(120_000);
  let api: FakeKubeApi;
  let dir: string;
  let kubeconfig: string;
  let pf: PilotfishProcess;
  let second: PilotfishProcess | undefined;
  let a: EchoBackend;
  let b: EchoBackend;
  let bootstrap: string;
  const clients: EchoClient[] = [];
  const ads: AdsClient[] = [];

  function client(nodeId: string): EchoClient {
    const c = new EchoClient(TARGET, { [BOOTSTRAP_OPTION]: bootstrap.replace('"e2e-client"', JSON.stringify(nodeId)) });
    clients.push(c);
    return c;
  }

  /** The version of `type` the server last sent `nodeId` (its own state, not the lagging log). */
  async function sentVersion(p: PilotfishProcess, nodeId: string, type: 'RDS' | 'EDS'): Promise<string | undefined> {
    const { httpAddress } = await p.serving();
    const res = await fetch(`http://${httpAddress}/debug/syncz?proxy=${encodeURIComponent(nodeId)}`);
    const [proxy] = await res.json() as { types?: Record<string, { sentVersion?: string }> }[];
    return proxy?.types?.[type]?.sentVersion;
  }

  /**
   * Waits until `nodeId` was sent a version of `type` other than `before` (read with sentVersion
   * before the change) and ACKed it. Log lines about `before` may still be on their way, so the
   * search starts after the first of them.
   */
  async function pushedAndAcked(p: PilotfishProcess, nodeId: string, type: 'RDS' | 'EDS', before: string | undefined): Promise<void> {
    const isSent = (l: LogLine): boolean => l.message === 'sent' && l.type === type && l.proxy === nodeId;
    let from = 0;
    if (before !== undefined) {
      const old = await p.waitForLog((l) => isSent(l) && l.version === before, `the log of ${type} version ${before} to ${nodeId}`);
      from = p.logs.indexOf(old) + 1;
    }
    const sent = await p.waitForLogAfter(from, (l) => isSent(l) && l.version !== before, `a new ${type} push to ${nodeId}`);
    await p.waitForLogAfter(from, (l: LogLine) => l.message === 'ack' && l.type === type && l.proxy === nodeId && l.version === sent.version,
      `${nodeId} to ACK ${type} version ${String(sent.version)}`);
  }

  interface DumpType { state?: string; resources?: { name: string; resource: Record<string, unknown> }[] }

  /** The clusters the routes of the RouteConfiguration last sent to nodeId point at. */
  function routeClusters(rds: DumpType | undefined): string[] {
    const out = new Set<string>();
    for (const r of rds?.resources ?? []) {
      const hosts = (r.resource.virtual_hosts ?? []) as { routes?: { route?: { cluster?: string } }[] }[];
      for (const vh of hosts) for (const route of vh.routes ?? []) if (route.route?.cluster) out.add(route.route.cluster);
    }
    return [...out].sort();
  }

  /**
   * Waits until nodeId has ACKed a RouteConfiguration whose routes point at exactly `clusters`,
   * and the Clusters and endpoints of all of them: only then does a gRPC client switch to the new
   * routes. Checked against the server's record of what it sent and what was ACKed, again after
   * every ACK the proxy sends.
   */
  async function routedTo(nodeId: string, clusters: string[]): Promise<void> {
    const { httpAddress } = await pf.serving();
    const want = [...clusters].sort();
    let seen = '';
    for (;;) {
      const mark = pf.logs.length;
      const dump = await (await fetch(`http://${httpAddress}/debug/config_dump?proxy=${nodeId}`)).json() as { types: Record<string, DumpType> };
      const synced = (t: string): DumpType | undefined => (dump.types[t]?.state === 'SYNCED' ? dump.types[t] : undefined);
      const has = (t: string): boolean => want.every((c) => synced(t)?.resources?.some((r) => r.name === c) ?? false);
      seen = JSON.stringify(routeClusters(dump.types.RDS));
      if (JSON.stringify(routeClusters(synced('RDS'))) === JSON.stringify(want) && has('CDS') && has('EDS')) return;
      await pf.waitForLogAfter(mark, (l) => l.message === 'ack' && l.proxy === nodeId, `an ACK from ${nodeId} (routes point at ${seen}, want ${JSON.stringify(want)})`);
    }
  }

  function conditions(kind: 'TrafficRoute' | 'TrafficPolicy', name: string): Condition[] {
    const obj = api.tryGet<KubeObject & { status?: { conditions?: Condition[] } }>({ apiVersion: ROUTING, kind, name, namespace: NS });
    return obj?.status?.conditions ?? [];
  }

  /** Waits, write by write, until the object's conditions satisfy pred. */
  async function waitForConditions(kind: 'TrafficRoute' | 'TrafficPolicy', name: string, pred: (c: Condition[]) => boolean, what: string): Promise<Condition[]> {
    const resource = kind === 'TrafficRoute' ? 'trafficroutes' : 'trafficpolicies';
    for (;;) {
      const now = conditions(kind, name);
      if (pred(now)) return now;
      const matcher = { verb: 'patch' as const, resource, subresource: 'status', name };
      try {
        await api.waitForRequests(matcher, api.count(matcher) + 1);
      } catch (err) {
        throw new Error(`${what}: ${(err as Error).message}; conditions now: ${JSON.stringify(conditions(kind, name))}`);
      }
    }
  }

  function condition(list: Condition[], type: string): Condition | undefined {
    return list.find((c) => c.type === type);
  }

  const statusWrites = (p: PilotfishProcess): number => p.count((l) => l.message === 'status written');

  before(async () => {
    a = await startEchoBackend('backend-a');
    b = await startEchoBackend('backend-b');
    api = await startFakeKubeApi({ namespaces: ['default', 'kube-system', SYSTEM_NS] });
    api.create(namespace(NS));
    dir = await mkdtemp(path.join(tmpdir(), 'pilotfish-controller-e2e-'));
    kubeconfig = await api.writeKubeconfig(dir);
    // The Services list fails until the first test lets it through: readiness must wait for it.
    api.failNext({ verb: 'list', resource: 'services' }, { status: 500, count: 1_000_000 });
    pf = PilotfishProcess.start(controllerArgs(kubeconfig, 'pf-a'));
  });

  after(async () => {
    for (const c of clients) c.close();
    for (const c of ads) c.close();
    const code = pf ? await pf.stop('SIGTERM') : 0;
    if (second) await second.stop('SIGTERM');
    await Promise.all([a?.close(), b?.close()]);
    await api?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
    assert.notEqual(code, 1, 'pilotfish must not fail');
  });

  it('is not ready until every kind has been listed, and serves once it is', async () => {
    const admin = await pf.waitForLog((l) => l.message === 'admin listening', 'the admin server');
    const httpBase = `http://${String(admin.httpAddress)}`;
    await api.waitForRequests({ verb: 'list', resource: 'services', status: 500 }, 2);
    const before = await fetch(`${httpBase}/readyz`);
    assert.equal(before.status, 503, 'not ready while the Services list fails');
    assert.equal((await fetch(`${httpBase}/healthz`)).status, 200, 'alive all the same');
    assert.equal(pf.count((l) => l.message === 'serving'), 0, 'no xDS before the initial sync');
    api.clearFaults();
    const addrs = await pf.serving();
    assert.equal((await fetch(`${httpBase}/readyz`)).status, 200);
    const out = await runPilotfish(['bootstrap', '--node-id', 'e2e-client', '--xds-address', addrs.xdsAddress, '--namespace', NS]);
    assert.equal(out.code, 0, out.stderr);
    bootstrap = JSON.stringify(JSON.parse(out.stdout));
    await pf.waitForLog((l) => l.message === 'started leading', 'leadership (a single replica)');
    const metrics = await (await fetch(`${httpBase}/metrics`)).text();
    assert.match(metrics, /pilotfish_informer_relists_total\{kind="Service"\} 1\b/, 'one full list of Services, after the failures');
  });

  it('routes a real gRPC xDS client by Service and EndpointSlices, and follows their updates', async () => {
    const since = pf.logs.length;
    api.create(pod('echo-a', NS, '127.0.0.1', { app: 'echo', version: 'v1' }));
    api.create(pod('echo-b', NS, '127.0.0.1', { app: 'echo', version: 'v2' }));
    api.create(service('echo', NS, { selector: { app: 'echo' } }));
    api.create(endpointSlice('echo-a', 'echo', NS, a.port, [{ ip: '127.0.0.1', pod: 'echo-a', zone: 'zone-a' }]));
    api.create(endpointSlice('echo-b', 'echo', NS, b.port, [{ ip: '127.0.0.1', pod: 'echo-b', zone: 'zone-b' }]));
    await pf.waitForLogAfter(since, (l) => l.message === 'push' && JSON.stringify(l).includes('ClusterLoadAssignment'), 'a push with the new endpoints');
    const c = client('svc-client');
    await c.waitForReady(20_000);
    const both = await callMany(c, 60);
    assert.deepEqual(both.failures, []);
    assert.ok((both.byBackend.get('backend-a') ?? 0) > 0 && (both.byBackend.get('backend-b') ?? 0) > 0, JSON.stringify([...both.byBackend]));

    // A terminating endpoint is not ready: it stops getting calls.
    let before = await sentVersion(pf, 'svc-client', 'EDS');
    api.apply(endpointSlice('echo-b', 'echo', NS, b.port, [{ ip: '127.0.0.1', pod: 'echo-b', ready: false, serving: true, terminating: true }]));
    await pushedAndAcked(pf, 'svc-client', 'EDS', before);
    const onlyA = await callMany(c, 30);
    assert.deepEqual(onlyA.failures, []);
    assert.deepEqual([...onlyA.byBackend.keys()], ['backend-a']);

    before = await sentVersion(pf, 'svc-client', 'EDS');
    api.apply(endpointSlice('echo-b', 'echo', NS, b.port, [{ ip: '127.0.0.1', pod: 'echo-b', zone: 'zone-b' }]));
    await pushedAndAcked(pf, 'svc-client', 'EDS', before);
    const back = await callMany(c, 60);
    assert.ok((back.byBackend.get('backend-b') ?? 0) > 0, 'backend-b is back');
  });

  it('a Service without a selector works with hand-made EndpointSlices', async () => {
    api.create(service('manual', NS));
    api.create(endpointSlice('manual-1', 'manual', NS, b.port, [{ ip: '127.0.0.1' }]));
    const c = new EchoClient('xds:///manual.e2e.svc.cluster.local:50051', {
      [BOOTSTRAP_OPTION]: bootstrap.replace('"e2e-client"', JSON.stringify('manual-client')),
    });
    clients.push(c);
    await c.waitForReady(20_000);
    const r = await callMany(c, 10);
    assert.deepEqual(r.failures, []);
    assert.deepEqual([...r.byBackend.keys()], ['backend-b']);
  });

  it('a TrafficRoute (with a TrafficPolicy\'s subsets) routes as it says; updating and deleting it change routing', async () => {
    const nodeId = 'route-client';
    const c = client(nodeId);
    assert.deepEqual((await callMany(c, 10)).failures, []);
    api.create({
      apiVersion: ROUTING, kind: 'TrafficPolicy', metadata: { name: 'echo', namespace: NS },
      spec: { host: 'echo', subsets: [{ name: 'v1', labels: { version: 'v1' } }, { name: 'v2', labels: { version: 'v2' } }] },
    });
    api.create(trafficRoute('echo', {
      hosts: ['echo'],
      http: [
        { name: 'canary', match: [{ headers: { 'x-canary': { exact: 'yes' } } }], route: [{ destination: { host: 'echo', subset: 'v2' } }] },
        { name: 'default', route: [{ destination: { host: 'echo', subset: 'v1' } }] },
      ],
    }));
    await routedTo(nodeId, [V1, V2]);
    const plain = await callMany(c, 30);
    assert.deepEqual(plain.failures, []);
    assert.deepEqual([...plain.byBackend.keys()], ['backend-a'], 'no header: subset v1');
    const canary = await callMany(c, 30, { metadata: { 'x-canary': 'yes' } });
    assert.deepEqual(canary.failures, []);
    assert.deepEqual([...canary.byBackend.keys()], ['backend-b'], 'x-canary: yes goes to subset v2');
    const accepted = await waitForConditions('TrafficRoute', 'echo', (l) => condition(l, 'Accepted')?.status === 'True', 'Accepted=True');
    assert.equal(condition(accepted, 'ResolvedRefs')?.status, 'True');
    assert.equal(condition(accepted, 'Accepted')?.observedGeneration, 1);

    api.patch({ apiVersion: ROUTING, kind: 'TrafficRoute', name: 'echo', namespace: NS }, {
      spec: { hosts: ['echo'], http: [{ name: 'default', route: [{ destination: { host: 'echo', subset: 'v2' } }] }] },
    });
    await routedTo(nodeId, [V2]);
    const moved = await callMany(c, 30);
    assert.deepEqual([...moved.byBackend.keys()], ['backend-b'], 'the update sends everything to v2');

    api.delete({ apiVersion: ROUTING, kind: 'TrafficRoute', name: 'echo', namespace: NS });
    await routedTo(nodeId, [ALL]);
    const spread = await callMany(c, 60);
    assert.deepEqual(spread.failures, []);
    assert.ok((spread.byBackend.get('backend-a') ?? 0) > 0 && (spread.byBackend.get('backend-b') ?? 0) > 0,
      `without the route both backends again: ${JSON.stringify([...spread.byBackend])}`);
  });

  it('an invalid TrafficRoute is Accepted=False with a reason to act on; fixing it flips the condition', async () => {
    api.create(trafficRoute('broken', {
      hosts: ['manual'],
      http: [{ route: [{ destination: { host: 'manual', subset: 'canary' } }] }],
    }));
    const bad = await waitForConditions('TrafficRoute', 'broken', (l) => condition(l, 'Accepted')?.status === 'False', 'Accepted=False');
    assert.equal(condition(bad, 'Accepted')?.reason, 'UnresolvedRefs');
    const refs = condition(bad, 'ResolvedRefs');
    assert.equal(refs?.status, 'False');
    assert.equal(refs?.reason, 'SubsetNotFound');
    assert.match(refs!.message, /spec\.http\[0\]\.route\[0\]\.destination\.subset/, 'names the field');
    assert.match(refs!.message, /canary/, 'names the missing subset');
    assert.equal(condition(bad, 'Programmed'), undefined, 'nothing applied, nothing programmed');

    api.patch({ apiVersion: ROUTING, kind: 'TrafficRoute', name: 'broken', namespace: NS }, {
      spec: { hosts: ['manual'], http: [{ route: [{ destination: { host: 'manual' } }] }] },
    });
    const good = await waitForConditions('TrafficRoute', 'broken', (l) => condition(l, 'Accepted')?.status === 'True', 'Accepted=True after the fix');
    assert.equal(condition(good, 'Accepted')?.observedGeneration, 2);
    assert.equal(condition(good, 'ResolvedRefs')?.status, 'True');
    assert.equal(condition(good, 'Programmed')?.status, 'True');

    // Unchanged input, unchanged status: nothing more is written.
    const writes = api.count({ verb: 'patch', resource: 'trafficroutes', subresource: 'status', name: 'broken' });
    const since = pf.logs.length;
    api.create(service('unrelated', NS));
    await pf.waitForLogAfter(since, (l) => l.message === 'push' && JSON.stringify(l.changedTypes).includes('Cluster'),
      'the push for the unrelated Service');
    assert.equal(api.count({ verb: 'patch', resource: 'trafficroutes', subresource: 'status', name: 'broken' }), writes);
  });

  it('a proxy NACK shows up on the object that caused it (only from an authenticated stream), and clears when the proxy goes away', async () => {
    const addrs = await pf.serving();
    // Plaintext first: whoever it claims to be, its text must not reach the status.
    const anonymous = await AdsClient.connect(addrs.xdsAddress, { id: 'anonymous-nacker', metadata: { PILOTFISH_KIND: 'grpc', NAMESPACE: NS } });
    ads.push(anonymous);
    anonymous.request(ROUTE, ['manual.e2e.svc.cluster.local:50051']);
    anonymous.nack(await anonymous.next(ROUTE), 'route manual.e2e.svc.cluster.local:50051: SECURITY NOTICE run curl | sh');

    // The TLS port, authenticated with a projected token; the control plane's roots from the CA Secret it created.
    api.registerToken('tok-e2e-nacker', { namespace: NS, serviceAccount: 'default', audiences: ['pilotfish'] });
    const secret = api.get<KubeObject & { data: Record<string, string> }>({ apiVersion: 'v1', kind: 'Secret', name: 'pilotfish-ca', namespace: SYSTEM_NS });
    const roots = Buffer.from(secret.data['root-cert.pem'], 'base64');
    const md = new grpc.Metadata();
    md.set('authorization', 'Bearer tok-e2e-nacker');
    const nacker = await AdsClient.connect(addrs.xdsTlsAddress!, { id: 'nacker', metadata: { PILOTFISH_KIND: 'grpc', NAMESPACE: NS } }, {
      credentials: grpc.credentials.createSsl(roots), metadata: md,
      channelOptions: { 'grpc.ssl_target_name_override': `pilotfish.${SYSTEM_NS}.svc` },
    });
    ads.push(nacker);
    nacker.request(ROUTE, ['manual.e2e.svc.cluster.local:50051']);
    const res = await nacker.next(ROUTE);
    nacker.nack(res, 'route manual.e2e.svc.cluster.local:50051: no healthy upstream policy understood');
    const rejected = await waitForConditions('TrafficRoute', 'broken', (l) => condition(l, 'Programmed')?.status === 'False', 'Programmed=False');
    const p = condition(rejected, 'Programmed')!;
    assert.equal(p.reason, 'RejectedByProxies');
    assert.match(p.message, /^1 proxy rejects the RouteConfiguration configuration/);
    assert.match(p.message, /\(from nacker\)/);
    assert.match(p.message, /no healthy upstream policy understood/);
    assert.doesNotMatch(p.message, /SECURITY NOTICE|anonymous/);
    assert.equal(condition(rejected, 'Accepted')?.status, 'True', 'still accepted: the API object is fine');
    assert.equal(condition(conditions('TrafficRoute', 'broken'), 'Programmed')?.status, 'False');

    nacker.close();
    await waitForConditions('TrafficRoute', 'broken', (l) => condition(l, 'Programmed')?.status === 'True', 'Programmed=True once the proxy is gone');
  });

  it('two replicas: both serve xDS, only the leader writes status, and killing it hands leadership over', async () => {
    second = PilotfishProcess.start(controllerArgs(kubeconfig, 'pf-b'));
    const [one, two] = await Promise.all([pf.serving(), second.serving()]);
    await second.waitForLog((l) => l.message === 'leader observed' && l.holder === 'pf-a', 'pf-b to see pf-a lead');
    const lease = () => api.get<KubeObject & { spec: { holderIdentity?: string; renewTime?: string; acquireTime?: string; leaseTransitions?: number } }>(
      { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', name: 'pilotfish-leader', namespace: SYSTEM_NS }).spec;
    assert.equal(lease().holderIdentity, 'pf-a');

    // Both serve xDS.
    const toOne = await AdsClient.connect(one.xdsAddress, { id: 'ha-1', metadata: { PILOTFISH_KIND: 'grpc', NAMESPACE: NS } });
    const toTwo = await AdsClient.connect(two.xdsAddress, { id: 'ha-2', metadata: { PILOTFISH_KIND: 'grpc', NAMESPACE: NS } });
    ads.push(toOne, toTwo);
    for (const c of [toOne, toTwo]) {
      const cds = await c.fetch(CLUSTER);
      assert.ok(cds.names.includes('outbound|50051||echo.e2e.svc.cluster.local'), cds.names.join(', '));
    }

    // A status change: written once, by the leader only.
    api.create(service('ha', NS));
    api.create(trafficRoute('ha', { hosts: ['ha'], http: [{ route: [{ destination: { host: 'ha' } }] }] }));
    await waitForConditions('TrafficRoute', 'ha', (l) => condition(l, 'Accepted')?.status === 'True', 'ha Accepted=True');
    const total = api.count({ verb: 'patch', subresource: 'status' });
    // The API counts a write when it answers; the leader logs it when the answer arrives.
    await pf.waitForLog(() => statusWrites(pf) >= total, `the leader to log all ${total} status writes`);
    assert.equal(statusWrites(second), 0, 'the follower writes no status');
    assert.equal(statusWrites(pf), total, 'every status write in the API came from the leader');

    // The leader dies without releasing its Lease.
    const renewedBeforeDeath = lease().renewTime!;
    const sinceTwo = second.logs.length;
    await pf.stop('SIGKILL');
    await second.waitForLogAfter(sinceTwo, (l) => l.message === 'started leading', 'pf-b to take over');
    const after = lease();
    assert.equal(after.holderIdentity, 'pf-b');
    assert.equal(after.leaseTransitions, 1);
    assert.ok(Date.parse(after.acquireTime!) - Date.parse(renewedBeforeDeath) >= LEASE_SECONDS * 1000,
      'the Lease is only taken once it expired');

    // The new leader writes status; the survivor kept serving its proxies throughout.
    api.patch({ apiVersion: ROUTING, kind: 'TrafficRoute', name: 'ha', namespace: NS }, {
      spec: { hosts: ['ha'], http: [{ route: [{ destination: { host: 'gone' } }] }] },
    });
    const bad = await waitForConditions('TrafficRoute', 'ha', (l) => condition(l, 'Accepted')?.status === 'False', 'ha Accepted=False');
    assert.equal(condition(bad, 'ResolvedRefs')?.reason, 'ServiceNotFound');
    await second.waitForLogAfter(sinceTwo, (l) => l.message === 'status written' && l.object === 'TrafficRoute/e2e/ha',
      'the new leader to write the status');
    api.create(service('after-kill', NS));
    for (;;) {
      const cds = await toTwo.next(CLUSTER);
      toTwo.ack(cds);
      if (cds.names.includes('outbound|50051||after-kill.e2e.svc.cluster.local')) break;
    }

    // A clean shutdown releases the Lease.
    assert.equal(await second.stop('SIGTERM'), 0);
    second = undefined;
    assert.equal(lease().holderIdentity, '');
  });
});
