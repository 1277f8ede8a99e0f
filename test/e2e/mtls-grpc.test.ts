// Issue 15, done-when 1, with real peers and nothing hand-served: a @grpc/grpc-js-xds client
// (XdsChannelCredentials) calls a grpc-js-xds XdsServer (XdsServerCredentials), both configured
// only by the built `pilotfish serve` (xDS from a config directory holding a PeerAuthentication)
// and `pilotfish bootstrap --kind grpc --cert-dir … [--xds-server]`. Their certificates come from
// pilotfish's CA through the CSR path: a CertificateAgent per workload against the CSR server,
// tokens checked by TokenReview (the fake API server). The server sees the client's SPIFFE ID;
// STRICT refuses a plaintext client; PERMISSIVE lets both through; editing the file switches
// without restarting either side.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as grpcXds from '@grpc/grpc-js-xds';
import { spiffeId } from '../../src/model/spiffe.js';
import { ECHO_SERVICE, echoOnce, OWN_CONNECTIONS } from '../support/echo-service.js';
import { ECHO_TARGET, startWorkloadCertificates, type WorkloadCertificates } from '../support/proxyless-mesh.js';
import { freeLoopbackPort, proxylessEchoMeshYaml, shopPolicyYaml } from '../support/echo-mesh.js';
import { PilotfishProcess, runPilotfish, type LogLine } from '../support/pilotfish-process.js';
import { callUntil } from '../support/call-until.js';

grpcXds.register();

const BOOTSTRAP_OPTION = 'grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config';
const CLIENT_ID = spiffeId('cluster.local', 'shop', 'web');
const SERVER_NODE = 'echo-server';


describe('e2e: proxyless mTLS configured only by pilotfish, certificates through the CSR path', function () {
  this.timeout(120_000);
  let dir: string;
  let certificates: WorkloadCertificates;
  let pf: PilotfishProcess;
  let xdsAddress: string;
  let port: number;
  let server: grpcXds.XdsServer;
  let clientBootstrap: string;
  const clients: grpc.Client[] = [];

  async function bootstrap(nodeId: string, certDir: string, xdsServer: boolean): Promise<string> {
    const out = await runPilotfish(['bootstrap', '--kind', 'grpc', '--node-id', nodeId, '--namespace', 'shop',
      '--xds-address', xdsAddress, '--cert-dir', certDir, ...(xdsServer ? ['--xds-server'] : [])]);
    assert.equal(out.code, 0, out.stderr);
    return JSON.stringify(JSON.parse(out.stdout));
  }

  /** Sets the policy file and waits until `proxy` ACKed a push of `type` made after the edit. */
  async function setPolicy(mode: 'STRICT' | 'PERMISSIVE', waits: readonly { proxy: string; type: string }[]): Promise<void> {
    const since = pf.count(() => true);
    await writeFile(path.join(dir, 'config', 'peer-authentication.yaml'), shopPolicyYaml(mode));
    await Promise.all(waits.map(async ({ proxy, type }) => {
      const sent = await pf.waitForLogAfter(since, (l: LogLine) => l.message === 'sent' && l.type === type && l.proxy === proxy,
        `a ${type} push to ${proxy}`);
      await pf.waitForLogAfter(since, (l: LogLine) => l.message === 'ack' && l.type === type && l.proxy === proxy && l.version === sent.version,
        `${proxy} to ACK ${type} version ${String(sent.version)}`);
    }));
  }

  function meshClient(): grpc.Client {
    const nodeId = `web-${clients.length}`;
    const c = new grpc.Client(ECHO_TARGET, new grpcXds.XdsChannelCredentials(grpc.credentials.createInsecure()),
      { [BOOTSTRAP_OPTION]: clientBootstrap.replace('"web"', JSON.stringify(nodeId)), ...OWN_CONNECTIONS });
    clients.push(c);
    return c;
  }

  function plaintextClient(): grpc.Client {
    const c = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), OWN_CONNECTIONS);
    clients.push(c);
    return c;
  }

  /** Calls until the outcome is `want` (test/support/call-until.ts). */
  async function eventually(client: grpc.Client, want: 'ok' | 'fails'): Promise<string> {
    return callUntil(() => echoOnce(client), want);
  }

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'pilotfish-mtls-e2e-'));
    // The CA, its CSR server (TokenReview) and one agent per workload, with its pod's projected token.
    certificates = await startWorkloadCertificates(dir, ['echo', 'web']);

    port = await freeLoopbackPort();
    const config = path.join(dir, 'config');
    await mkdir(config);
    await writeFile(path.join(config, 'mesh.yaml'), proxylessEchoMeshYaml(port));
    await writeFile(path.join(config, 'peer-authentication.yaml'), shopPolicyYaml('STRICT'));
    pf = PilotfishProcess.start(['serve', '--config-dir', config, '--xds-address', '127.0.0.1:0',
      '--http-address', '127.0.0.1:0', '--log-level', 'debug']);
    xdsAddress = (await pf.serving()).xdsAddress;
    clientBootstrap = await bootstrap('web', certificates.certDirs.web!, false);

    server = new grpcXds.XdsServer({ [BOOTSTRAP_OPTION]: await bootstrap(SERVER_NODE, certificates.certDirs.echo!, true) });
    server.addService(ECHO_SERVICE, {
      Call: (c: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        cb(null, Buffer.from(c.getAuthContext().sslPeerCertificate?.subjectaltname ?? 'plaintext'));
      },
    });
    await new Promise<void>((resolve, reject) => {
      server.bindAsync(`127.0.0.1:${port}`, new grpcXds.XdsServerCredentials(grpc.ServerCredentials.createInsecure()),
        (err) => (err ? reject(err) : resolve()));
    });
  });

  after(async () => {
    for (const c of clients) c.close();
    server?.forceShutdown();
    const code = pf ? await pf.stop('SIGTERM') : 0;
    await certificates?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
    assert.equal(code, 0, 'pilotfish ends cleanly');
  });

  it('STRICT: the mTLS client gets through and the server sees its SPIFFE ID; a plaintext client is refused', async () => {
    assert.equal(await eventually(meshClient(), 'ok'), `URI:${CLIENT_ID}`);
    await eventually(plaintextClient(), 'fails');
  });

  it('PERMISSIVE (the file edited): plaintext and mesh clients both get through; back to STRICT refuses plaintext again', async () => {
    await setPolicy('PERMISSIVE', [{ proxy: SERVER_NODE, type: 'LDS' }]);
    assert.equal(await eventually(plaintextClient(), 'ok'), 'plaintext');
    assert.equal(await eventually(meshClient(), 'ok'), 'plaintext', 'a proxyless PERMISSIVE server serves plaintext (GENERATION.md)');
    await setPolicy('STRICT', [{ proxy: SERVER_NODE, type: 'LDS' }]);
    await eventually(plaintextClient(), 'fails');
    assert.equal(await eventually(meshClient(), 'ok'), `URI:${CLIENT_ID}`);
  });
});
