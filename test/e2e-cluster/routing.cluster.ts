// The controller against the real API server: Services, EndpointSlices (hand-written, and made by
// kube-controller-manager from Pods) and TrafficRoutes created through the API server drive a real
// @grpc/grpc-js-xds client's routing, and pilotfish writes TrafficRoute status conditions back.
import assert from 'node:assert/strict';
import * as grpcXds from '@grpc/grpc-js-xds';
import type { Cluster } from '../cluster/cluster.js';
import type { KubeObject } from '../cluster/kube-rest.js';
import { callMany, EchoClient, type EchoBackend } from '../support/echo-service.js';
import { runPilotfish, type LogLine, type PilotfishProcess } from '../support/pilotfish-process.js';
import { bounded, conditionsOf, createNamespace, sharedCluster, uniqueName } from './fixture.js';
import { hostAddress, startEchoOn } from './host-echo.js';
import { installPilotfish, startController } from './pilotfish-install.js';

grpcXds.register();

const BOOTSTRAP_OPTION = 'grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config';
const ROUTING = 'routing.pilotfish.io/v1alpha1';

function endpointSlice(ns: string, service: string, name: string, port: number, address: string): KubeObject {
  return {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: { name, namespace: ns, labels: { 'kubernetes.io/service-name': service, 'endpointslice.kubernetes.io/managed-by': 'pilotfish-e2e' } },
    addressType: 'IPv4',
    ports: [{ name: 'grpc', port, protocol: 'TCP' }],
    endpoints: [{ addresses: [address], conditions: { ready: true } }],
  };
}

function grpcService(ns: string, name: string, selector?: Record<string, string>, targetPort: number | string = 50051): KubeObject {
  return {
    apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns },
    spec: { ...(selector ? { selector } : {}), ports: [{ name: 'grpc', port: 50051, targetPort, appProtocol: 'grpc' }] },
  };
}

describe('cluster: pilotfish controller with the real API server', function () {
  this.timeout(300_000);
  let cluster: Cluster;
  let pf: PilotfishProcess;
  let xdsAddress: string;
  let ns: string;
  let ip: string;
  const backends: EchoBackend[] = [];
  const clients: EchoClient[] = [];

  async function client(target: string, nodeId: string): Promise<EchoClient> {
    const out = await runPilotfish(['bootstrap', '--node-id', nodeId, '--xds-address', xdsAddress, '--namespace', ns]);
    assert.equal(out.code, 0, out.stderr);
    const c = new EchoClient(target, { [BOOTSTRAP_OPTION]: out.stdout });
    clients.push(c);
    // Resolves once xDS has delivered a usable listener, route and endpoints: the channel's own
    // state change, not a guess at how long the controller needs.
    await c.waitForReady(90_000);
    return c;
  }

  /**
   * Calls through `c` until the answers satisfy `check` (which returns what is still wrong, or
   * undefined). Between attempts it waits for `nodeId` to ACK another xDS update, so every retry
   * follows a real configuration change: changes made through the API server reach pilotfish's
   * informers, then the client, in steps the test cannot see individually.
   */
  async function converge(c: EchoClient, nodeId: string, since: number, check: (c: EchoClient) => Promise<string | undefined>): Promise<void> {
    let from = since;
    let problem = await check(c);
    for (let acks = 0; problem !== undefined; acks++) {
      if (acks === 10) assert.fail(`${nodeId}: still wrong after ${acks} xDS updates: ${problem}`);
      const what = `${nodeId} to ACK another xDS update (still wrong: ${problem})`;
      const ack = await bounded(pf.waitForLogAfter(from, (l: LogLine) => l.message === 'ack' && l.proxy === nodeId, what), 60_000, what, pf);
      from = pf.logs.indexOf(ack, from) + 1;
      problem = await check(c);
    }
  }

  /** A check: n calls, none failing, reaching exactly `expected` backends. */
  function reaches(expected: readonly string[], n = 60, metadata: Record<string, string> = {}) {
    return async (c: EchoClient): Promise<string | undefined> => {
      const r = await callMany(c, n, { metadata });
      const got = [...r.byBackend.keys()].sort();
      if (r.failures.length > 0) return `${r.failures.length} failed calls, e.g. ${r.failures[0]!.code}: ${r.failures[0]!.details}`;
      return JSON.stringify(got) === JSON.stringify([...expected].sort()) ? undefined : `calls reached ${JSON.stringify([...r.byBackend])}, want ${expected.join(', ')}`;
    };
  }

  before(async () => {
    ip = hostAddress();
    cluster = await sharedCluster();
    const inst = await installPilotfish(cluster);
    ns = uniqueName('routing');
    await createNamespace(cluster, ns);
    // The chart's args also configure the injector, which these tests do not use.
    pf = await startController(cluster, inst, 'chart');
    xdsAddress = (await pf.serving()).xdsAddress;
  });

  after(async () => {
    for (const c of clients) c.close();
    const code = pf ? await pf.stop('SIGTERM') : 0;
    await Promise.all(backends.map((b) => b.close()));
    assert.equal(code, 0, 'SIGTERM should end pilotfish cleanly with exit code 0');
  });

  it('hand-written EndpointSlices: an added slice joins the load balancing, a deleted one leaves it', async () => {
    const a = await startEchoOn('slice-a', ip);
    const b = await startEchoOn('slice-b', ip);
    backends.push(a, b);
    await cluster.admin.create(grpcService(ns, 'echo'));
    await cluster.admin.create(endpointSlice(ns, 'echo', 'echo-a', a.port, ip));

    const nodeId = 'slices-client';
    const c = await client(`xds:///echo.${ns}.svc.cluster.local:50051`, nodeId);
    await converge(c, nodeId, pf.logs.length, reaches(['slice-a']));

    let since = pf.logs.length;
    await cluster.admin.create(endpointSlice(ns, 'echo', 'echo-b', b.port, ip));
    await converge(c, nodeId, since, reaches(['slice-a', 'slice-b']));

    since = pf.logs.length;
    await cluster.admin.delete(`/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices/echo-b`);
    await converge(c, nodeId, since, reaches(['slice-a']));
  });

  it('EndpointSlices made by kube-controller-manager from ready Pods route to those Pods', async () => {
    // Both Pods have the machine's address; a named targetPort lets each listen on its own port
    // (kube-controller-manager then writes one slice per port).
    const first = await startEchoOn('pod-1', ip);
    const second = await startEchoOn('pod-2', ip);
    backends.push(first, second);
    const node = uniqueName('node');
    await cluster.admin.create({ apiVersion: 'v1', kind: 'Node', metadata: { name: node } });
    await cluster.admin.create(grpcService(ns, 'pods', { app: 'pods' }, 'grpc'));

    /** Plays the scheduler and the kubelet: the Pod is bound, runs, has its IP and is ready. */
    const readyPod = async (name: string, port: number): Promise<void> => {
      await cluster.admin.create({
        apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns, labels: { app: 'pods' } },
        spec: { nodeName: node, containers: [{ name: 'echo', image: 'example.invalid/echo:1', ports: [{ name: 'grpc', containerPort: port }] }] },
      });
      await cluster.admin.patch(`/api/v1/namespaces/${ns}/pods/${name}/status`, {
        status: { phase: 'Running', podIP: ip, podIPs: [{ ip }], conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: new Date().toISOString() }] },
      }, 'merge');
    };

    await readyPod('pod-1', first.port);
    const nodeId = 'pods-client';
    const c = await client(`xds:///pods.${ns}.svc.cluster.local:50051`, nodeId);
    await converge(c, nodeId, pf.logs.length, reaches(['pod-1']));

    const since = pf.logs.length;
    await readyPod('pod-2', second.port);
    await converge(c, nodeId, since, reaches(['pod-1', 'pod-2']));
    const slices = await cluster.admin.list(`/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3Dpods`);
    assert.ok(slices.items.every((sl) => sl.metadata?.labels?.['endpointslice.kubernetes.io/managed-by'] === 'endpointslice-controller.k8s.io'),
      'the slices come from kube-controller-manager');
  });

  it('a TrafficRoute sends matching calls to another Service, and gets Accepted status from pilotfish', async () => {
    const stable = await startEchoOn('stable', ip);
    const canary = await startEchoOn('canary', ip);
    backends.push(stable, canary);
    await cluster.admin.create(grpcService(ns, 'shop'));
    await cluster.admin.create(grpcService(ns, 'shop-canary'));
    await cluster.admin.create(endpointSlice(ns, 'shop', 'shop-1', stable.port, ip));
    await cluster.admin.create(endpointSlice(ns, 'shop-canary', 'shop-canary-1', canary.port, ip));
    const route = await cluster.admin.create<KubeObject>({
      apiVersion: ROUTING, kind: 'TrafficRoute', metadata: { name: 'shop', namespace: ns },
      spec: {
        hosts: ['shop'],
        http: [
          { name: 'testers', match: [{ headers: { 'x-user': { exact: 'tester' } } }], route: [{ destination: { host: 'shop-canary', port: 50051 } }] },
          { name: 'everyone', route: [{ destination: { host: 'shop', port: 50051 } }] },
        ],
      },
    });

    const accepted = await cluster.admin.waitFor(`/apis/${ROUTING}/namespaces/${ns}/trafficroutes?fieldSelector=metadata.name%3Dshop`, (o) =>
      conditionsOf(o).some((c) => c.type === 'Accepted' && c.status === 'True' && c.observedGeneration === route.metadata?.generation),
    'pilotfish to mark TrafficRoute shop Accepted');
    assert.ok(conditionsOf(accepted).every((c) => c.status === 'True'), JSON.stringify(conditionsOf(accepted)));

    const nodeId = 'route-client';
    const c = await client(`xds:///shop.${ns}.svc.cluster.local:50051`, nodeId);
    const testersAndOthers = async (cl: EchoClient): Promise<string | undefined> =>
      (await reaches(['canary'], 20, { 'x-user': 'tester' })(cl)) ?? (await reaches(['stable'], 20)(cl));
    await converge(c, nodeId, pf.logs.length, testersAndOthers);
  });

  it('a TrafficRoute only pilotfish can refuse gets Accepted=False with the reason', async () => {
    await cluster.admin.create({
      apiVersion: ROUTING, kind: 'TrafficRoute', metadata: { name: 'bad-regex', namespace: ns },
      spec: { hosts: ['shop'], http: [{ match: [{ uri: { regex: '(unclosed' } }], route: [{ destination: { host: 'shop' } }] }] },
    });
    const refused = await cluster.admin.waitFor(`/apis/${ROUTING}/namespaces/${ns}/trafficroutes?fieldSelector=metadata.name%3Dbad-regex`,
      (o) => conditionsOf(o).some((c) => c.type === 'Accepted' && c.status === 'False'),
      'pilotfish to mark TrafficRoute bad-regex not Accepted');
    const condition = conditionsOf(refused).find((c) => c.type === 'Accepted')!;
    assert.match(condition.message ?? '', /spec\.http\[0\]\.match\[0\]\.uri\.regex/);
    assert.match(condition.message ?? '', /not a valid RE2 regular expression/);
  });
});
