// End to end with Istio config applied unchanged: the built `pilotfish serve` with a VirtualService
// and a DestinationRule in its config directory, real gRPC backends on 127.0.0.1 and real
// @grpc/grpc-js-xds clients. The same checks as the TrafficRoute e2e (test/e2e/routing.test.ts),
// with its probe technique: every VirtualService written starts with a rule that fails calls
// carrying `x-probe: <generation>` with DATA_LOSS, so a test knows when a client runs it.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as grpcXds from '@grpc/grpc-js-xds';
import YAML from 'yaml';
import { callMany, EchoClient, startEchoBackend, type EchoBackend, assertEightyTwentySplit } from '../support/echo-service.js';
import type { PilotfishProcess } from '../support/pilotfish-process.js';
import { callsDuring } from '../support/calls-during.js';
import { probeUntilLive, serveForClients } from '../support/serve-for-clients.js';

grpcXds.register();

const BOOTSTRAP_OPTION = 'grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config';
const NS = 'istio';
const ISTIO = 'networking.istio.io/v1';

type Obj = Record<string, unknown>;

function docs(objects: Obj[]): string {
  return objects.map((o) => YAML.stringify(o)).join('---\n');
}

function mesh(v1: EchoBackend, v2: EchoBackend): string {
  const pod = (name: string, version: string): Obj => ({
    apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: NS, labels: { app: 'echo', version } }, status: { podIP: '127.0.0.1' },
  });
  const slice = (name: string, port: number): Obj => ({
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: { name, namespace: NS, labels: { 'kubernetes.io/service-name': 'echo' } },
    addressType: 'IPv4', ports: [{ name: 'grpc', port }],
    endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready: true }, targetRef: { kind: 'Pod', namespace: NS, name } }],
  });
  return docs([
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'echo', namespace: NS }, spec: { selector: { app: 'echo' }, ports: [{ name: 'grpc', port: 50051, appProtocol: 'grpc' }] } },
    pod('echo-v1', 'v1'), pod('echo-v2', 'v2'), slice('echo-v1', v1.port), slice('echo-v2', v2.port),
  ]);
}

const DESTINATION_RULE: Obj = {
  apiVersion: ISTIO, kind: 'DestinationRule', metadata: { name: 'echo', namespace: NS },
  spec: { host: 'echo', subsets: [{ name: 'v1', labels: { version: 'v1' } }, { name: 'v2', labels: { version: 'v2' } }] },
};

const subset = (name: string, weight?: number): Obj =>
  ({ destination: { host: 'echo', subset: name, port: { number: 50051 } }, ...(weight !== undefined ? { weight } : {}) });

/** A VirtualService for echo with the probe rule of generation `gen` first. */
function virtualService(gen: number, rules: Obj[]): Obj {
  const probe = {
    name: 'probe',
    match: [{ headers: { 'x-probe': { exact: String(gen) } } }],
    route: [subset('v1')],
    fault: { abort: { grpcStatus: 'DATA_LOSS', percentage: { value: 100 } } },
  };
  return { apiVersion: ISTIO, kind: 'VirtualService', metadata: { name: 'echo', namespace: NS }, spec: { hosts: ['echo'], http: [probe, ...rules] } };
}

describe('e2e: Istio VirtualService and DestinationRule with real gRPC xDS clients', function () {
  this.timeout(120_000);
  let dir: string;
  let pf: PilotfishProcess;
  let bootstrap: string;
  let generation = 0;
  const backends: EchoBackend[] = [];
  const clients: EchoClient[] = [];

  function client(): EchoClient {
    const c = new EchoClient(`xds:///echo.${NS}.svc.cluster.local:50051`,
      { [BOOTSTRAP_OPTION]: bootstrap.replace('"e2e-client"', JSON.stringify(`istio-client-${clients.length + 1}`)) });
    clients.push(c);
    return c;
  }

  /** Writes the VirtualService (built for a fresh generation) and the DestinationRule; waits until `c` runs them. */
  async function applyRouting(c: EchoClient, rules: Obj[]): Promise<void> {
    generation += 1;
    const gen = generation;
    const since = pf.logs.length;
    // Rewritten in place: Node 20's recursive fs.watch can miss a renamed-over file.
    await writeFile(path.join(dir, 'istio.yaml'), docs([DESTINATION_RULE, virtualService(gen, rules)]));
    await pf.waitForLogAfter(since, (l) => l.message === 'push', 'a push after the routing change');
    await probeUntilLive(c, gen, grpc.status.DATA_LOSS, 'VirtualService');
  }

  before(async () => {
    backends.push(await startEchoBackend('echo-v1'), await startEchoBackend('echo-v2'));
    dir = await mkdtemp(path.join(tmpdir(), 'pilotfish-istio-'));
    await writeFile(path.join(dir, 'mesh.yaml'), mesh(backends[0] as EchoBackend, backends[1] as EchoBackend));
    ({ pf, bootstrap } = await serveForClients(dir, NS));
  });

  after(async () => {
    for (const c of clients) c.close();
    const code = pf ? await pf.stop('SIGTERM') : 0;
    await Promise.all(backends.map((b) => b.close()));
    if (dir) await rm(dir, { recursive: true, force: true });
    assert.equal(code, 0, 'SIGTERM should end pilotfish cleanly with exit code 0');
  });

  it('an 80/20 split with a header match: matching calls all go to the canary, the rest split 80/20 (±5% over 1,000 calls)', async () => {
    const c = client();
    await applyRouting(c, [
      { name: 'canary', match: [{ headers: { 'x-canary': { exact: 'true' } } }], route: [subset('v2')] },
      { name: 'split', route: [subset('v1', 80), subset('v2', 20)] },
    ]);
    const canary = await callMany(c, 100, { metadata: { 'x-canary': 'true' } });
    assert.deepEqual(canary.failures, []);
    assert.deepEqual([...canary.byBackend], [['echo-v2', 100]]);
    await assertEightyTwentySplit(c);
  });

  it('editing the VirtualService shifts the traffic 100/0 -> 0/100 while calls run, and no call fails', async () => {
    const c = client();
    const split = (w1: number, w2: number): Obj[] => [{ name: 'split', route: [subset('v1', w1), subset('v2', w2)] }];
    await applyRouting(c, split(100, 0));
    const { seen, failed } = await callsDuring(c, async () => {
      await callMany(c, 20);
      await applyRouting(c, split(0, 100));
      const after = await callMany(c, 50);
      assert.deepEqual([...after.byBackend], [['echo-v2', 50]]);
    });
    assert.deepEqual(failed, [], 'no call failed while the weights moved');
    assert.equal(seen[0], 'echo-v1');
    assert.equal(seen[seen.length - 1], 'echo-v2');
    const firstV2 = seen.indexOf('echo-v2');
    assert.ok(seen.slice(firstV2).every((b) => b === 'echo-v2'), 'once moved, traffic stays on v2');
  });
});
