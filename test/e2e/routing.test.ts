// End to end, as a user runs it: the built `pilotfish serve` with TrafficRoutes and TrafficPolicies
// in its config directory, real gRPC backends on 127.0.0.1 and real @grpc/grpc-js-xds clients,
// which apply routing, faults, retries, timeouts and ring hash themselves (no environment flags
// are needed with @grpc/grpc-js-xds 1.14: every one of these features is on by default).
//
// One pilotfish process serves every test; each test rewrites routing.yaml. To know when a
// client runs the new configuration, every TrafficRoute written starts with a probe rule: calls
// carrying `x-probe: <generation>` fail with DATA_LOSS, and only once that generation is live.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as grpcXds from '@grpc/grpc-js-xds';
import YAML from 'yaml';
import { callMany, EchoClient, startEchoBackend, type CallResult, type EchoBackend, assertEightyTwentySplit } from '../support/echo-service.js';
import { runPilotfish, type PilotfishProcess } from '../support/pilotfish-process.js';
import { callsDuring } from '../support/calls-during.js';
import { serveForClients } from '../support/serve-for-clients.js';

grpcXds.register();

const BOOTSTRAP_OPTION = 'grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config';
const NS = 'rt';
const API = 'routing.pilotfish.io/v1alpha1';

type Obj = Record<string, unknown>;

function servicesYaml(backends: { echoV1: EchoBackend; echoV2: EchoBackend; flaky: EchoBackend; slow: EchoBackend }): string {
  const service = (name: string): Obj => ({
    apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: NS },
    spec: { selector: { app: name }, ports: [{ name: 'grpc', port: 50051, appProtocol: 'grpc' }] },
  });
  const pod = (name: string, labels: Obj): Obj => ({
    apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: NS, labels }, status: { podIP: '127.0.0.1' },
  });
  const slice = (svc: string, name: string, port: number, pod?: string): Obj => ({
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: { name, namespace: NS, labels: { 'kubernetes.io/service-name': svc } },
    addressType: 'IPv4',
    ports: [{ name: 'grpc', port }],
    endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready: true }, ...(pod ? { targetRef: { kind: 'Pod', namespace: NS, name: pod } } : {}) }],
  });
  return docs([
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } },
    service('echo'), service('flaky'), service('slow'),
    pod('echo-v1', { app: 'echo', version: 'v1' }), pod('echo-v2', { app: 'echo', version: 'v2' }),
    slice('echo', 'echo-v1', backends.echoV1.port, 'echo-v1'), slice('echo', 'echo-v2', backends.echoV2.port, 'echo-v2'),
    slice('flaky', 'flaky', backends.flaky.port), slice('slow', 'slow', backends.slow.port),
  ]);
}

function docs(objects: Obj[]): string {
  return objects.map((o) => YAML.stringify(o)).join('---\n');
}

const dest = (host: string, subset?: string, weight?: number): Obj =>
  ({ destination: { host, ...(subset ? { subset } : {}) }, ...(weight !== undefined ? { weight } : {}) });

/** A TrafficRoute for `host` with the probe rule of generation `gen` first. */
function trafficRoute(name: string, host: string, gen: number, rules: Obj[]): Obj {
  const probe = {
    name: 'probe',
    match: [{ headers: { 'x-probe': { exact: String(gen) } } }],
    route: [dest(host)],
    fault: { abort: { grpcStatus: 'DATA_LOSS' } },
  };
  return { apiVersion: API, kind: 'TrafficRoute', metadata: { name, namespace: NS }, spec: { hosts: [host], http: [probe, ...rules] } };
}

function trafficPolicy(name: string, host: string, spec: Obj = {}): Obj {
  return { apiVersion: API, kind: 'TrafficPolicy', metadata: { name, namespace: NS }, spec: { host, ...spec } };
}

const ECHO_SUBSETS = { subsets: [{ name: 'v1', labels: { version: 'v1' } }, { name: 'v2', labels: { version: 'v2' } }] };

describe('e2e: TrafficRoute and TrafficPolicy with real gRPC xDS clients', function () {
  this.timeout(120_000);
  let dir: string;
  let pf: PilotfishProcess;
  let bootstrap: string;
  let generation = 0;
  const backends = {} as { echoV1: EchoBackend; echoV2: EchoBackend; flaky: EchoBackend; slow: EchoBackend };
  const clients: EchoClient[] = [];
  let clientCount = 0;

  function client(service: string): EchoClient {
    clientCount += 1;
    const nodeId = `routing-client-${clientCount}`;
    const c = new EchoClient(`xds:///${service}.${NS}.svc.cluster.local:50051`,
      { [BOOTSTRAP_OPTION]: bootstrap.replace('"e2e-client"', JSON.stringify(nodeId)) });
    clients.push(c);
    return c;
  }

  /**
   * Rewrites routing.yaml in place. (Not write-and-rename: Node 20's recursive fs.watch on Linux
   * keeps watching the replaced inode and can miss the new file.)
   */
  async function writeRouting(objects: Obj[]): Promise<number> {
    const since = pf.logs.length;
    await writeFile(path.join(dir, 'routing.yaml'), docs(objects));
    return since;
  }

  /**
   * Waits until `c` runs routing generation `gen`: first for pilotfish to push, then for the
   * client's probe call to be answered by that generation's probe rule.
   */
  async function live(c: EchoClient, gen: number, since: number): Promise<void> {
    await pf.waitForLogAfter(since, (l) => l.message === 'push', 'a push after the routing change');
    const deadline = Date.now() + 20_000;
    let last: CallResult | undefined;
    while (Date.now() < deadline) {
      last = await c.call({ metadata: { 'x-probe': String(gen) }, deadlineMs: 5_000 });
      if (!last.ok && last.code === grpc.status.DATA_LOSS) return;
    }
    assert.fail(`routing generation ${gen} never became live in the client; last probe: ${JSON.stringify(last)}`);
  }

  /** Writes the routing objects (each route built for a fresh generation) and waits until `c` runs them. */
  async function applyRouting(c: EchoClient, build: (gen: number) => Obj[]): Promise<void> {
    generation += 1;
    const gen = generation;
    const since = await writeRouting(build(gen));
    await live(c, gen, since);
  }

  before(async () => {
    backends.echoV1 = await startEchoBackend('echo-v1');
    backends.echoV2 = await startEchoBackend('echo-v2');
    backends.flaky = await startEchoBackend('flaky', { failFirst: { count: 1, code: grpc.status.UNAVAILABLE } });
    backends.slow = await startEchoBackend('slow', { delayMs: 3_000 });
    dir = await mkdtemp(path.join(tmpdir(), 'pilotfish-routing-'));
    await writeFile(path.join(dir, 'services.yaml'), servicesYaml(backends));
    ({ pf, bootstrap } = await serveForClients(dir, NS));
  });

  after(async () => {
    for (const c of clients) c.close();
    const code = pf ? await pf.stop('SIGTERM') : 0;
    await Promise.all(Object.values(backends).map((b) => b.close()));
    if (dir) await rm(dir, { recursive: true, force: true });
    assert.equal(code, 0, 'SIGTERM should end pilotfish cleanly with exit code 0');
  });

  it('an 80/20 weighted split is within ±5% over 1,000 calls', async () => {
    const c = client('echo');
    await applyRouting(c, (gen) => [
      trafficPolicy('echo', 'echo', ECHO_SUBSETS),
      trafficRoute('echo', 'echo', gen, [{ route: [dest('echo', 'v1', 80), dest('echo', 'v2', 20)] }]),
    ]);
    await assertEightyTwentySplit(c);
  });

  it('header-based routing sends only matching calls to the canary', async () => {
    const c = client('echo');
    await applyRouting(c, (gen) => [
      trafficPolicy('echo', 'echo', ECHO_SUBSETS),
      trafficRoute('echo', 'echo', gen, [
        { name: 'canary', match: [{ headers: { 'x-canary': { exact: 'true' } } }], route: [dest('echo', 'v2')] },
        { name: 'stable', route: [dest('echo', 'v1')] },
      ]),
    ]);
    const canary = await callMany(c, 100, { metadata: { 'x-canary': 'true' } });
    const other = await callMany(c, 100, { metadata: { 'x-canary': 'false' } });
    const none = await callMany(c, 100);
    for (const r of [canary, other, none]) assert.deepEqual(r.failures, []);
    assert.deepEqual([...canary.byBackend], [['echo-v2', 100]]);
    assert.deepEqual([...other.byBackend], [['echo-v1', 100]]);
    assert.deepEqual([...none.byBackend], [['echo-v1', 100]]);
  });

  it('an abort fault at 30% fails about 30% of calls with the configured status', async () => {
    const c = client('echo');
    await applyRouting(c, (gen) => [
      trafficPolicy('echo', 'echo', ECHO_SUBSETS),
      trafficRoute('echo', 'echo', gen, [{ route: [dest('echo')], fault: { abort: { grpcStatus: 'ABORTED', percentage: 30 } } }]),
    ]);
    const { byBackend, failures } = await callMany(c, 1000);
    assert.deepEqual([...new Set(failures.map((f) => f.code))], [grpc.status.ABORTED], 'every failure has the configured status');
    // 1,000 draws at p = 0.3: the standard deviation is 14.5 calls, so ±60 is over 4 of them.
    assert.ok(failures.length >= 240 && failures.length <= 360, `${failures.length} of 1000 calls aborted, expected about 300`);
    assert.equal([...byBackend.values()].reduce((a, b) => a + b, 0), 1000 - failures.length);
  });

  it('a fixed delay raises latency by at least its amount', async () => {
    const c = client('echo');
    await applyRouting(c, (gen) => [
      trafficPolicy('echo', 'echo', ECHO_SUBSETS),
      trafficRoute('echo', 'echo', gen, [
        { name: 'slowed', match: [{ headers: { 'x-delay': { exact: 'yes' } } }], route: [dest('echo')], fault: { delay: { fixedDelay: '300ms' } } },
        { route: [dest('echo')] },
      ]),
    ]);
    const plain: number[] = [];
    const delayed: number[] = [];
    for (let i = 0; i < 5; i++) {
      const p = await c.call();
      const d = await c.call({ metadata: { 'x-delay': 'yes' } });
      assert.ok(p.ok && d.ok, `calls succeed: ${JSON.stringify([p, d])}`);
      plain.push(p.ms);
      delayed.push(d.ms);
    }
    // Timers fire on the event loop's millisecond clock, which may trail performance.now() by
    // under a millisecond; 2 ms of slack covers that and nothing else.
    assert.ok(Math.min(...delayed) >= 300 - 2, `delayed calls took ${delayed.map((x) => x.toFixed(1)).join(', ')} ms`);
    assert.ok(Math.min(...delayed) - Math.min(...plain) >= 300 - 2,
      `the delay adds at least 300 ms (plain ${plain.map((x) => x.toFixed(1)).join(', ')} ms)`);
  });

  it('retries turn a first-attempt UNAVAILABLE into success', async () => {
    const c = client('flaky');
    await applyRouting(c, (gen) => [
      trafficRoute('flaky', 'flaky', gen, [{ route: [dest('flaky')], retries: { attempts: 2, retryOn: 'unavailable' } }]),
    ]);
    assert.equal(backends.flaky.calls.length, 0, 'the probe never reached the backend');
    const r = await c.call();
    assert.ok(r.ok, `the call succeeds after a retry: ${JSON.stringify(r)}`);
    assert.equal(backends.flaky.calls.length, 2, 'the backend saw the failed attempt and the retry');
  });

  it('a route timeout produces DEADLINE_EXCEEDED', async () => {
    const c = client('slow');
    await applyRouting(c, (gen) => [
      trafficRoute('slow', 'slow', gen, [{ route: [dest('slow')], timeout: '200ms' }]),
    ]);
    const r = await c.call();
    assert.equal(r.ok, false);
    assert.equal(r.code, grpc.status.DEADLINE_EXCEEDED, `got ${r.code}: ${r.details}`);
  });

  it('ring hash keeps one header value on one backend', async () => {
    const c = client('echo');
    await applyRouting(c, (gen) => [
      trafficPolicy('echo', 'echo', { trafficPolicy: { loadBalancer: { consistentHash: { httpHeaderName: 'x-user' } } }, ...ECHO_SUBSETS }),
      trafficRoute('echo', 'echo', gen, [{ route: [dest('echo')] }]),
    ]);
    const users = Array.from({ length: 20 }, (_, i) => `user-${i}`);
    for (const u of users) await c.call({ metadata: { 'x-user': u } });
    const home = new Map<string, string>();
    for (const u of users) {
      const { byBackend, failures } = await callMany(c, 10, { metadata: { 'x-user': u } });
      assert.deepEqual(failures, []);
      assert.equal(byBackend.size, 1, `${u} went to ${JSON.stringify([...byBackend])}`);
      home.set(u, [...byBackend.keys()][0]);
    }
    assert.equal(new Set(home.values()).size, 2, `20 users all hashed to one backend: ${JSON.stringify([...home])}`);
  });

  it('shifting weights 100/0 -> 0/100 while calls run loses no call', async () => {
    const c = client('echo');
    const route = (gen: number, w1: number, w2: number): Obj[] => [
      trafficPolicy('echo', 'echo', ECHO_SUBSETS),
      trafficRoute('echo', 'echo', gen, [{ route: [dest('echo', 'v1', w1), dest('echo', 'v2', w2)] }]),
    ];
    await applyRouting(c, (gen) => route(gen, 100, 0));
    const { seen, failed } = await callsDuring(c, async () => {
      await callMany(c, 20);
      await applyRouting(c, (gen) => route(gen, 0, 100));
      const after = await callMany(c, 50);
      assert.deepEqual([...after.byBackend], [['echo-v2', 50]]);
    });
    assert.deepEqual(failed, [], 'no call failed while the weights moved');
    assert.equal(seen[0], 'echo-v1');
    assert.equal(seen[seen.length - 1], 'echo-v2');
    const firstV2 = seen.indexOf('echo-v2');
    assert.ok(seen.slice(firstV2).every((b) => b === 'echo-v2'), 'once moved, traffic stays on v2');
  });

  it('invalid objects of each kind are rejected with their reason while valid ones keep working', async () => {
    const c = client('echo');
    const slowClient = client('slow');
    await applyRouting(c, (gen) => [
      trafficPolicy('echo', 'echo', ECHO_SUBSETS),
      trafficRoute('echo', 'echo', gen, [{ route: [dest('echo', 'v1')] }]),
    ]);

    generation += 1;
    const gen = generation;
    const since = await writeRouting([
      trafficPolicy('echo', 'echo', ECHO_SUBSETS),
      // Invalid spec: the last accepted generation of this object keeps serving.
      trafficRoute('echo', 'echo', gen, [{ route: [dest('echo', 'v2')], timeout: 'soon' }]),
      // Invalid TrafficPolicy.
      trafficPolicy('flaky', 'flaky', { trafficPolicy: { loadBalancer: { simple: 'FASTEST' } } }),
      // A second policy for a host that already has one: the older (here: first by name) wins.
      trafficPolicy('echo-dup', 'echo', { trafficPolicy: { loadBalancer: { simple: 'RANDOM' } } }),
      // A subset nobody defines.
      trafficRoute('slow-subset', 'slow', gen, [{ route: [dest('slow', 'blue')] }]),
      // Weights that route nothing.
      trafficRoute('flaky-weights', 'flaky', gen, [{ route: [dest('flaky', undefined, 0)] }]),
      // And a valid object, applied alongside.
      trafficPolicy('slow', 'slow', { trafficPolicy: { connectionPool: { http: { http2MaxRequests: 100 } } } }),
    ]);
    const expected = [
      ['TrafficRoute rt/echo', 'Invalid'],
      ['TrafficPolicy rt/flaky', 'Invalid'],
      ['TrafficPolicy rt/echo-dup', 'Conflict'],
      ['TrafficRoute rt/slow-subset', 'UnresolvedRefs'],
      ['TrafficRoute rt/flaky-weights', 'InvalidWeights'],
    ];
    for (const [object, reason] of expected) {
      const line = await pf.waitForLogAfter(since, (l) => l.message === 'routing object not applied' && l.object === object,
        `the rejection of ${object} to be logged`);
      assert.equal(line.reason, reason, JSON.stringify(line));
      const keeps = object === 'TrafficRoute rt/echo' ? 'the last accepted version' : 'nothing of it';
      assert.equal(line.serving, keeps, JSON.stringify(line));
    }
    await pf.waitForLogAfter(since, (l) => l.message === 'push', 'the push of the valid objects');

    // The echo route's last good generation still serves: everything on v1, nothing failing.
    const still = await callMany(c, 50);
    assert.deepEqual(still.failures, []);
    assert.deepEqual([...still.byBackend], [['echo-v1', 50]]);
    // slow has no applied route now (its only route was rejected): plain routing to the backend.
    const slowCall = await slowClient.call({ deadlineMs: 10_000 });
    assert.ok(slowCall.ok, `slow still answers: ${JSON.stringify(slowCall)}`);

    const dump = await runPilotfish(['config-dump', '--config-dir', dir, '--node-id', 'dump', '--namespace', NS]);
    // Rejected objects make config-dump exit 3 (so it can gate CI); the dump is printed all the same.
    assert.equal(dump.code, 3, dump.stderr);
    const statuses = (JSON.parse(dump.stdout) as { routing: { kind: string; namespace: string; name: string; applied: string;
      conditions: { type: string; status: string; reason: string; message: string }[] }[] }).routing;
    const find = (kind: string, name: string) => statuses.find((s) => s.kind === kind && s.name === name);
    const accepted = (kind: string, name: string) => find(kind, name)?.conditions.find((x) => x.type === 'Accepted');
    assert.equal(accepted('TrafficRoute', 'echo')?.reason, 'Invalid');
    assert.match(accepted('TrafficRoute', 'echo')?.message ?? '', /spec\.http\[1\]\.timeout: must be a duration like .* \(got "soon"\)/);
    // config-dump reads the files afresh, so it knows no earlier generation; the server (above) does.
    assert.equal(find('TrafficRoute', 'echo')?.applied, 'none');
    assert.match(accepted('TrafficPolicy', 'flaky')?.message ?? '', /spec\.trafficPolicy\.loadBalancer\.simple: must be one of: ROUND_ROBIN, LEAST_REQUEST, RANDOM/);
    assert.match(accepted('TrafficPolicy', 'echo-dup')?.message ?? '', /already configured by TrafficPolicy rt\/echo/);
    const refs = find('TrafficRoute', 'slow-subset')?.conditions.find((x) => x.type === 'ResolvedRefs');
    assert.equal(refs?.reason, 'SubsetNotFound');
    assert.match(refs?.message ?? '', /subset "blue"/);
    assert.match(accepted('TrafficRoute', 'flaky-weights')?.message ?? '', /weights add up to 0/);
    assert.equal(accepted('TrafficPolicy', 'slow')?.status, 'True');
    assert.equal(accepted('TrafficPolicy', 'echo')?.status, 'True');
  });
});
