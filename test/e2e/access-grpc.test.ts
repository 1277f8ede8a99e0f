// Issue 17, done-when 1, with real peers: two grpc-js-xds clients with different identities
// (XdsChannelCredentials, certificates from pilotfish's CA through the CSR path) call a
// grpc-js-xds XdsServer whose Listener — RBAC HTTP filters included (gRFC A41) — comes only from
// the built `pilotfish serve` reading an AccessPolicy from its config directory. An ALLOW for one
// principal lets it through and gives the other PERMISSION_DENIED; a DENY on one method blocks
// exactly that method; every edit of the file takes effect on the very next call after the server
// ACKed the push, on the same client channels. A principal rule never matches plaintext.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as grpcXds from '@grpc/grpc-js-xds';
import { ECHO_SERVICE, OWN_CONNECTIONS } from '../support/echo-service.js';
import { enableGrpcRbac } from '../support/grpc-rbac.js';
import { ECHO_TARGET, startWorkloadCertificates, type WorkloadCertificates } from '../support/proxyless-mesh.js';
import { freeLoopbackPort, proxylessEchoMeshYaml } from '../support/echo-mesh.js';
import { PilotfishProcess, runPilotfish, type LogLine } from '../support/pilotfish-process.js';
import { callUntil } from '../support/call-until.js';

// grpc-js-xds 1.14 enforces RBAC filters only with GRPC_XDS_EXPERIMENTAL_RBAC=true (README).
enableGrpcRbac();

const BOOTSTRAP_OPTION = 'grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config';
const SERVER_NODE = 'echo-server';
const CALL = ECHO_SERVICE.Call.path;
const RESET = '/pilotfish.test.Echo/Reset';
const SERVICE: grpc.ServiceDefinition = { ...ECHO_SERVICE, Reset: { ...ECHO_SERVICE.Call, path: RESET } };

function peerAuthenticationYaml(mode: 'STRICT' | 'PERMISSIVE'): string {
  return `apiVersion: security.pilotfish.io/v1alpha1
kind: PeerAuthentication
metadata: { name: default, namespace: shop }
spec: { mtls: { mode: ${mode} } }
`;
}

/** ALLOW for one service account of shop; with `denyReset`, a DENY on the Reset method for everyone. */
function accessYaml(allowed: string, denyReset: boolean): string {
  const allow = `apiVersion: security.pilotfish.io/v1alpha1
kind: AccessPolicy
metadata: { name: echo-callers, namespace: shop }
spec:
  selector: { matchLabels: { app: echo } }
  rules:
    - from: [{ source: { principals: ["cluster.local/ns/shop/sa/${allowed}"] } }]
`;
  const deny = `---
apiVersion: security.pilotfish.io/v1alpha1
kind: AccessPolicy
metadata: { name: no-reset, namespace: shop }
spec:
  selector: { matchLabels: { app: echo } }
  action: DENY
  rules:
    - to: [{ operation: { paths: ["${RESET}"] } }]
`;
  return denyReset ? allow + deny : allow;
}

type Outcome = { ok: true; answer: string } | { ok: false; code: grpc.status; details: string };

function call(client: grpc.Client, method: string): Promise<Outcome> {
  return new Promise((resolve) => {
    client.makeUnaryRequest<Buffer, Buffer>(method, (b) => b, (b) => b, Buffer.from('hi'), { deadline: Date.now() + 10_000 },
      (err, res) => resolve(err ? { ok: false, code: err.code, details: err.details } : { ok: true, answer: res!.toString('utf8') }));
  });
}

function assertDenied(o: Outcome, what: string): void {
  assert.ok(!o.ok, `${what}: expected PERMISSION_DENIED, got an answer`);
  assert.equal(o.code, grpc.status.PERMISSION_DENIED, `${what}: ${o.details}`);
}

function assertAnswered(o: Outcome, what: string): string {
  assert.ok(o.ok, `${what}: expected an answer, got ${o.ok ? '' : `${grpc.status[o.code]}: ${o.details}`}`);
  return o.answer;
}

describe('e2e: AccessPolicy enforced by a proxyless gRPC server (gRFC A41), configured only by pilotfish', function () {
  this.timeout(120_000);
  let dir: string;
  let certificates: WorkloadCertificates;
  let pf: PilotfishProcess;
  let xdsAddress: string;
  let port: number;
  let server: grpcXds.XdsServer;
  const clients: grpc.Client[] = [];
  let web: grpc.Client;
  let other: grpc.Client;

  async function bootstrap(nodeId: string, certDir: string, xdsServer: boolean): Promise<string> {
    const out = await runPilotfish(['bootstrap', '--kind', 'grpc', '--node-id', nodeId, '--namespace', 'shop',
      '--xds-address', xdsAddress, '--cert-dir', certDir, ...(xdsServer ? ['--xds-server'] : [])]);
    assert.equal(out.code, 0, out.stderr);
    return JSON.stringify(JSON.parse(out.stdout));
  }

  /** Writes `file` and waits until the server ACKed the Listener pushed after the edit. */
  async function edit(file: string, text: string): Promise<void> {
    const since = pf.count(() => true);
    await writeFile(path.join(dir, 'config', file), text);
    const sent = await pf.waitForLogAfter(since, (l: LogLine) => l.message === 'sent' && l.type === 'LDS' && l.proxy === SERVER_NODE,
      'an LDS push to the server');
    await pf.waitForLogAfter(since, (l: LogLine) => l.message === 'ack' && l.type === 'LDS' && l.proxy === SERVER_NODE && l.version === sent.version,
      `the server to ACK LDS version ${String(sent.version)}`);
  }

  async function meshClient(account: string): Promise<grpc.Client> {
    const c = new grpc.Client(ECHO_TARGET, new grpcXds.XdsChannelCredentials(grpc.credentials.createInsecure()),
      { [BOOTSTRAP_OPTION]: await bootstrap(`${account}-client`, certificates.certDirs[account]!, false), ...OWN_CONNECTIONS });
    clients.push(c);
    return c;
  }

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'pilotfish-access-e2e-'));
    certificates = await startWorkloadCertificates(dir, ['echo', 'web', 'other']);

    port = await freeLoopbackPort();
    const config = path.join(dir, 'config');
    await mkdir(config);
    await writeFile(path.join(config, 'mesh.yaml'), proxylessEchoMeshYaml(port));
    await writeFile(path.join(config, 'peer-authentication.yaml'), peerAuthenticationYaml('STRICT'));
    await writeFile(path.join(config, 'access.yaml'), accessYaml('web', false));
    pf = PilotfishProcess.start(['serve', '--config-dir', config, '--xds-address', '127.0.0.1:0',
      '--http-address', '127.0.0.1:0', '--log-level', 'debug']);
    xdsAddress = (await pf.serving()).xdsAddress;

    server = new grpcXds.XdsServer({ [BOOTSTRAP_OPTION]: await bootstrap(SERVER_NODE, certificates.certDirs.echo!, true) });
    server.addService(SERVICE, {
      Call: (c: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        cb(null, Buffer.from(c.getAuthContext().sslPeerCertificate?.subjectaltname ?? 'plaintext'));
      },
      Reset: (_c: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, Buffer.from('reset')),
    });
    await new Promise<void>((resolve, reject) => {
      server.bindAsync(`127.0.0.1:${port}`, new grpcXds.XdsServerCredentials(grpc.ServerCredentials.createInsecure()),
        (err) => (err ? reject(err) : resolve()));
    });
    web = await meshClient('web');
    other = await meshClient('other');
  });

  after(async () => {
    for (const c of clients) c.close();
    server?.forceShutdown();
    const code = pf ? await pf.stop('SIGTERM') : 0;
    await certificates?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
    assert.equal(code, 0, 'pilotfish ends cleanly');
  });

  it('ALLOW for one principal: it gets through, the other identity gets PERMISSION_DENIED', async () => {
    // The first call waits for the server to serve at all (its Listener, the clients' xDS).
    assert.equal(await callUntil(async () => assertAnswered(await call(web, CALL), 'web'), 'ok'), 'URI:spiffe://cluster.local/ns/shop/sa/web');
    assertDenied(await call(other, CALL), 'other, not allowed');
    assertDenied(await call(other, RESET), 'other, not allowed, another method');
    assert.equal(assertAnswered(await call(web, RESET), 'web, any method'), 'reset');
  });

  it('a DENY on one method blocks exactly that method, from the next call after the push', async () => {
    await edit('access.yaml', accessYaml('web', true));
    assertDenied(await call(web, RESET), 'web, Reset denied');
    assert.equal(assertAnswered(await call(web, CALL), 'web, Call still allowed'), 'URI:spiffe://cluster.local/ns/shop/sa/web');
    assertDenied(await call(other, CALL), 'other, still not allowed');
  });

  it('editing the policy takes effect on the next call, on the same client channels', async () => {
    await edit('access.yaml', accessYaml('other', true));
    assert.equal(assertAnswered(await call(other, CALL), 'other, now allowed'), 'URI:spiffe://cluster.local/ns/shop/sa/other');
    assertDenied(await call(web, CALL), 'web, no longer allowed');
    assertDenied(await call(other, RESET), 'other, Reset still denied');
    await edit('access.yaml', accessYaml('web', false));
    assert.equal(assertAnswered(await call(web, RESET), 'web, allowed again and Reset no longer denied'), 'reset');
    assertDenied(await call(other, CALL), 'other, no longer allowed');
  });

  it('a rule naming principals never matches plaintext: under PERMISSIVE the server serves plaintext and denies', async () => {
    await edit('peer-authentication.yaml', peerAuthenticationYaml('PERMISSIVE'));
    // The clients switch to plaintext with their own push (CDS); until then a call may still use mTLS.
    let last: Outcome = await call(web, CALL);
    for (let i = 0; i < 20 && !(!last.ok && last.code === grpc.status.PERMISSION_DENIED); i++) last = await call(web, CALL);
    assertDenied(last, 'web over plaintext: the principal cannot be known');
    const plaintext = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), OWN_CONNECTIONS);
    clients.push(plaintext);
    assertDenied(await call(plaintext, CALL), 'a plaintext client outside the mesh');
  });
});
