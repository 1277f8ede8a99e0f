// End to end with the Gateway API: the built `pilotfish serve` reads a GRPCRoute from its config
// directory, and real @grpc/grpc-js-xds clients calling the parent Service follow it (an 80/20
// backendRefs split, a header match for the canary, a method match) and keep working while the
// route is edited.
//
// To know when a client runs a new version of the route, every version has a probe rule: calls
// carrying `x-probe: <generation>` go to a backend of weight 0, which gRPC clients answer with
// UNAVAILABLE, and only once that generation is live.
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
const NS = 'gw';
const PORT = 50051;
/** The gRPC service of test/support/echo-service.ts. */
const ECHO_SERVICE_NAME = 'pilotfish.test.Echo';

type Obj = Record<string, unknown>;

function docs(objects: Obj[]): string {
  return objects.map((o) => YAML.stringify(o)).join('---\n');
}

/** The parent Service `echo` (what clients dial) and one Service per backend version. */
function servicesYaml(v1: EchoBackend, v2: EchoBackend): string {
  const service = (name: string): Obj => ({
    apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: NS },
    spec: { selector: { app: name }, ports: [{ name: 'grpc', port: PORT, appProtocol: 'grpc' }] },
  });
  const slice = (svc: string, port: number): Obj => ({
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: { name: svc, namespace: NS, labels: { 'kubernetes.io/service-name': svc } },
    addressType: 'IPv4', ports: [{ name: 'grpc', port }],
    endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready: true } }],
  });
  return docs([
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } },
    service('echo'), service('echo-v1'), service('echo-v2'),
    // The parent's own endpoints are v1's: without a route, calls reach v1.
    slice('echo', v1.port), slice('echo-v1', v1.port), slice('echo-v2', v2.port),
  ]);
}

const backend = (name: string, weight?: number): Obj => ({ name, port: PORT, ...(weight !== undefined ? { weight } : {}) });

/** A GRPCRoute on Service echo with the probe rule of generation `gen` first. */
function grpcRoute(gen: number, rules: Obj[]): Obj {
  // Service, method and a header: the most specific match there can be, so it precedes every rule.
  const probe = {
    matches: [{ method: { service: ECHO_SERVICE_NAME, method: 'Call' }, headers: [{ name: 'x-probe', value: String(gen) }] }],
    backendRefs: [backend('echo-v1', 0)],
  };
  return {
    apiVersion: 'gateway.networking.k8s.io/v1', kind: 'GRPCRoute', metadata: { name: 'echo', namespace: NS },
    spec: { parentRefs: [{ group: '', kind: 'Service', name: 'echo', port: PORT }], rules: [probe, ...rules] },
  };
}

describe('e2e: a GRPCRoute with real gRPC xDS clients', function () {
  this.timeout(120_000);
  let dir: string;
  let pf: PilotfishProcess;
  let bootstrap: string;
  let generation = 0;
  let v1: EchoBackend;
  let v2: EchoBackend;
  const clients: EchoClient[] = [];

  /**
   * A client already connected to pilotfish: a route change then pushes RDS to it, which is the
   * push applyRoute waits for (without a connected client it changes nothing to push).
   */
  async function client(): Promise<EchoClient> {
    const nodeId = `gateway-client-${clients.length + 1}`;
    const c = new EchoClient(`xds:///echo.${NS}.svc.cluster.local:${PORT}`,
      { [BOOTSTRAP_OPTION]: bootstrap.replace('"e2e-client"', JSON.stringify(nodeId)) });
    clients.push(c);
    await c.waitForReady(20_000);
    return c;
  }

  /** Rewrites routing.yaml in place (see test/e2e/routing.test.ts for why not write-and-rename). */
  async function applyRoute(c: EchoClient, rules: Obj[]): Promise<void> {
    generation += 1;
    const gen = generation;
    const since = pf.logs.length;
    await writeFile(path.join(dir, 'routing.yaml'), docs([grpcRoute(gen, rules)]));
    await pf.waitForLogAfter(since, (l) => l.message === 'push', 'a push after the route changed');
    await probeUntilLive(c, gen, grpc.status.UNAVAILABLE, 'route');
  }

  before(async () => {
    v1 = await startEchoBackend('echo-v1');
    v2 = await startEchoBackend('echo-v2');
    dir = await mkdtemp(path.join(tmpdir(), 'pilotfish-gateway-'));
    await writeFile(path.join(dir, 'services.yaml'), servicesYaml(v1, v2));
    ({ pf, bootstrap } = await serveForClients(dir, NS));
  });

  after(async () => {
    for (const c of clients) c.close();
    const code = pf ? await pf.stop('SIGTERM') : 0;
    await Promise.all([v1, v2].filter((b) => b !== undefined).map((b) => b.close()));
    if (dir) await rm(dir, { recursive: true, force: true });
    assert.equal(code, 0, 'SIGTERM should end pilotfish cleanly with exit code 0');
  });

  it('an 80/20 backendRefs split is within ±5% over 1,000 calls, and the header match sends every canary call to v2', async () => {
    const c = await client();
    await applyRoute(c, [
      { matches: [{ headers: [{ name: 'x-canary', value: 'true' }] }], backendRefs: [backend('echo-v2')] },
      { backendRefs: [backend('echo-v1', 80), backend('echo-v2', 20)] },
    ]);
    await assertEightyTwentySplit(c);
    const canary = await callMany(c, 100, { metadata: { 'x-canary': 'true' } });
    assert.deepEqual(canary.failures, []);
    assert.deepEqual([...canary.byBackend], [['echo-v2', 100]]);
  });

  it('a method match on the Echo service wins over the catch-all rule', async () => {
    const c = await client();
    await applyRoute(c, [
      { backendRefs: [backend('echo-v1')] },
      { matches: [{ method: { service: ECHO_SERVICE_NAME, method: 'Call' } }], backendRefs: [backend('echo-v2')] },
    ]);
    const r = await callMany(c, 50);
    assert.deepEqual(r.failures, []);
    assert.deepEqual([...r.byBackend], [['echo-v2', 50]]);
  });

  it('editing the route shifts traffic 100/0 -> 0/100 while calls run, and no call fails', async () => {
    const c = await client();
    const weights = (w1: number, w2: number): Obj[] => [{ backendRefs: [backend('echo-v1', w1), backend('echo-v2', w2)] }];
    await applyRoute(c, weights(100, 0));
    const { seen, failed } = await callsDuring(c, async () => {
      await callMany(c, 20);
      await applyRoute(c, weights(0, 100));
      const after = await callMany(c, 50);
      assert.deepEqual([...after.byBackend], [['echo-v2', 50]]);
    });
    assert.deepEqual(failed, [], 'no call failed while the route changed');
    assert.equal(seen[0], 'echo-v1');
    assert.equal(seen[seen.length - 1], 'echo-v2');
    const firstV2 = seen.indexOf('echo-v2');
    assert.ok(seen.slice(firstV2).every((b) => b === 'echo-v2'), 'once moved, traffic stays on v2');
  });
});
