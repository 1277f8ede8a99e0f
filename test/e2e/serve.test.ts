// End to end, as a user runs it: the built `pilotfish serve` on free ports, real gRPC backends on
// 127.0.0.1, and a real @grpc/grpc-js-xds client resolving `xds:///` targets through it.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as grpcXds from '@grpc/grpc-js-xds';
import { callMany, EchoClient, startEchoBackend, type EchoBackend } from '../support/echo-service.js';
import { PilotfishProcess, runPilotfish, type LogLine } from '../support/pilotfish-process.js';

grpcXds.register();

const BOOTSTRAP_OPTION = 'grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config';

function echoYaml(ports: number[]): string {
  const slices = ports.map((port, i) => `---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: echo-${i}
  namespace: e2e
  labels: { kubernetes.io/service-name: echo }
addressType: IPv4
ports: [{ name: grpc, port: ${port} }]
endpoints:
  - addresses: ["127.0.0.1"]
    conditions: { ready: true }
    zone: zone-${i}
`).join('');
  return `apiVersion: v1
kind: Namespace
metadata: { name: e2e }
---
apiVersion: v1
kind: Service
metadata: { name: echo, namespace: e2e }
spec:
  ports: [{ name: grpc, port: 50051, targetPort: 50051, appProtocol: grpc }]
${slices}`;
}

describe('e2e: pilotfish serve with a real gRPC xDS client', function () {
  this.timeout(120_000);
  let dir: string;
  let pf: PilotfishProcess;
  let a: EchoBackend;
  let b: EchoBackend;
  let httpBase: string;
  let bootstrap: string;
  const clients: EchoClient[] = [];

  function client(target: string, nodeId: string): EchoClient {
    const c = new EchoClient(target, { [BOOTSTRAP_OPTION]: bootstrap.replace('"e2e-client"', JSON.stringify(nodeId)) });
    clients.push(c);
    return c;
  }

  /** Waits until `nodeId` has ACKed an EDS update sent after log line `since`. */
  async function edsAcked(since: number, nodeId: string): Promise<void> {
    const sent = await pf.waitForLogAfter(since, (l: LogLine) => l.message === 'sent' && l.type === 'EDS' && l.proxy === nodeId,
      `an EDS push to ${nodeId}`);
    await pf.waitForLogAfter(since, (l: LogLine) => l.message === 'ack' && l.type === 'EDS' && l.proxy === nodeId && l.version === sent.version,
      `${nodeId} to ACK EDS version ${String(sent.version)}`);
  }

  before(async () => {
    a = await startEchoBackend('backend-a');
    b = await startEchoBackend('backend-b');
    dir = await mkdtemp(path.join(tmpdir(), 'pilotfish-e2e-'));
    await writeFile(path.join(dir, 'echo.yaml'), echoYaml([a.port, b.port]));
    pf = PilotfishProcess.start(['serve', '--config-dir', dir, '--xds-address', '127.0.0.1:0',
      '--http-address', '127.0.0.1:0', '--log-level', 'debug']);
    const addrs = await pf.serving();
    httpBase = `http://${addrs.httpAddress}`;
    const out = await runPilotfish(['bootstrap', '--node-id', 'e2e-client', '--xds-address', addrs.xdsAddress, '--namespace', 'e2e']);
    assert.equal(out.code, 0, out.stderr);
    bootstrap = JSON.stringify(JSON.parse(out.stdout));
  });

  after(async () => {
    for (const c of clients) c.close();
    const code = pf ? await pf.stop('SIGTERM') : 0;
    await Promise.all([a?.close(), b?.close()]);
    if (dir) await rm(dir, { recursive: true, force: true });
    assert.equal(code, 0, 'SIGTERM should end pilotfish cleanly with exit code 0');
  });

  it('serves readiness and load-balances 100 calls across both backends', async () => {
    const ready = await fetch(`${httpBase}/readyz`);
    assert.equal(ready.status, 200);
    const c = client('xds:///echo.e2e.svc.cluster.local:50051', 'lb-client');
    const { byBackend, failures } = await callMany(c, 100);
    assert.deepEqual(failures, []);
    assert.ok((byBackend.get('backend-a') ?? 0) > 0, `backend-a got no call: ${JSON.stringify([...byBackend])}`);
    assert.ok((byBackend.get('backend-b') ?? 0) > 0, `backend-b got no call: ${JSON.stringify([...byBackend])}`);
  });

  it('short names resolve for a client in the same namespace', async () => {
    const c = client('xds:///echo:50051', 'short-name-client');
    const r = await c.call();
    assert.ok(r.ok, `call failed: ${r.details}`);
  });

  it('follows YAML edits: dropping an endpoint moves all traffic without a failed call, re-adding restores it', async () => {
    const nodeId = 'edit-client';
    const c = client('xds:///echo.e2e.svc.cluster.local:50051', nodeId);
    const warm = await callMany(c, 20);
    assert.deepEqual(warm.failures, []);

    // Calls keep running while the file changes: none may fail.
    let running = true;
    const during: { ok: number; failed: string[] } = { ok: 0, failed: [] };
    const background = (async () => {
      while (running) {
        const r = await c.call();
        if (r.ok) during.ok++;
        else during.failed.push(`${r.code}: ${r.details}`);
      }
    })();

    let since = pf.logs.length;
    await writeFile(path.join(dir, 'echo.yaml'), echoYaml([a.port]));
    await edsAcked(since, nodeId);
    const onlyA = await callMany(c, 100);
    assert.deepEqual(onlyA.failures, []);
    assert.deepEqual([...onlyA.byBackend.keys()], ['backend-a']);

    since = pf.logs.length;
    await writeFile(path.join(dir, 'echo.yaml'), echoYaml([a.port, b.port]));
    await edsAcked(since, nodeId);
    running = false;
    await background;
    const both = await callMany(c, 100);
    assert.deepEqual(both.failures, []);
    assert.ok((both.byBackend.get('backend-b') ?? 0) > 0, 'backend-b is back in rotation');
    assert.deepEqual(during.failed, [], 'no call failed while endpoints changed');
    assert.ok(during.ok > 0);
  });

  it('a malformed YAML file is reported with path, document and reason, and the last good state keeps serving', async () => {
    const nodeId = 'bad-yaml-client';
    const c = client('xds:///echo.e2e.svc.cluster.local:50051', nodeId);
    assert.deepEqual((await callMany(c, 10)).failures, []);
    const since = pf.logs.length;
    const file = path.join(dir, 'echo.yaml');
    // Second document is broken: the whole file keeps its last good content.
    await writeFile(file, `${echoYaml([a.port])}---\nkind: Service\nmetadata: { name: [oops\n`);
    const err = await pf.waitForLogAfter(since, (l) => (l.level === 'error' || l.level === 'warn') && JSON.stringify(l).includes('echo.yaml'),
      'an error naming echo.yaml');
    const text = JSON.stringify(err);
    assert.match(text, /echo\.yaml/);
    assert.match(text, /document/i);
    const still = await callMany(c, 50);
    assert.deepEqual(still.failures, []);
    assert.ok((still.byBackend.get('backend-b') ?? 0) > 0, 'last good content (both endpoints) still served');
    const since2 = pf.logs.length;
    await writeFile(file, echoYaml([a.port, b.port]));
    await pf.waitForLogAfter(since2, (l) => l.message === 'config file is valid again', 'the file to be valid again');
  });

  it('REST registry: register, deregister (UNAVAILABLE) and register again, through the classic paths', async () => {
    const nodeId = 'registry-client';
    const reg = await startEchoBackend('registered');
    try {
      let since = pf.logs.length;
      let res = await fetch(`${httpBase}/edsservice/register?endpoint=127.0.0.1:${reg.port}&service=reg`);
      assert.equal(res.status, 200);
      assert.equal((await res.text()).trim(), `127.0.0.1:${reg.port} ok`);
      const c = client('xds:///reg.default.svc.cluster.local:80', nodeId);
      const first = await callMany(c, 10);
      assert.deepEqual(first.failures, []);
      assert.deepEqual([...first.byBackend.keys()], ['registered']);

      since = pf.logs.length;
      res = await fetch(`${httpBase}/edsservice/deregister?endpoint=127.0.0.1:${reg.port}&service=reg`);
      assert.equal(res.status, 200);
      assert.equal((await res.text()).trim(), `127.0.0.1:${reg.port} ok`);
      await edsAcked(since, nodeId);
      const gone = await c.call();
      assert.equal(gone.ok, false);
      assert.equal(gone.code, grpc.status.UNAVAILABLE, `expected UNAVAILABLE, got ${gone.code}: ${gone.details}`);

      since = pf.logs.length;
      res = await fetch(`${httpBase}/edsservice/register?endpoint=127.0.0.1:${reg.port}&service=reg`);
      assert.equal(res.status, 200);
      await edsAcked(since, nodeId);
      await c.waitForReady(10_000);
      const back = await callMany(c, 10);
      assert.deepEqual(back.failures, []);
    } finally {
      await reg.close();
    }
  });

  it('a bad registry request gets a 400 with the reason, and serving goes on', async () => {
    for (const q of ['', '?endpoint=nonsense', '?endpoint=127.0.0.1:99999', '?endpoint=300.1.1.1:80']) {
      const res = await fetch(`${httpBase}/edsservice/register${q}`);
      assert.equal(res.status, 400, `register${q}`);
      const body = await res.text();
      assert.ok(body.length > 10, `a reason is given for register${q}: "${body}"`);
    }
    const c = client('xds:///echo.e2e.svc.cluster.local:50051', 'after-bad-request');
    assert.deepEqual((await callMany(c, 10)).failures, []);
  });
});
