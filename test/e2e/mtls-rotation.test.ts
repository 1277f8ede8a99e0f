// Issue 15, done-when 2, with real peers: a @grpc/grpc-js-xds client (XdsChannelCredentials) keeps
// calling a grpc-js-xds XdsServer (XdsServerCredentials) under STRICT mTLS while their certificates
// live twenty seconds (renewed every three), and through a whole root rotation done the way the
// README tells an operator to: edits of the CA directory of a running `pilotfish serve --ca-dir` (no restart). Both workloads get
// everything through a real pod agent (runAgent): certificates over the CSR path (tokens checked
// by TokenReview against the fake API server), xDS through the agent's Unix socket and its mTLS
// session to the TLS port. The agents' roots file stands for the ConfigMap the leader publishes;
// the test writes it with what the CA publishes (MeshCa.trustBundle of the CA directory).
// Nothing sleeps: every step waits for a certificate event of the agents or a log line of serve.
// Zero failed calls are allowed, and at the end every certificate chains to the new root only.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { renameSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import * as grpcXds from '@grpc/grpc-js-xds';
import { runAgent, type RunningAgent } from '../../src/agent/run-agent.js';
import type { WorkloadCertificate } from '../../src/agent/certificate-agent.js';
import { createLogger } from '../../src/logging.js';
import { spiffeId } from '../../src/model/spiffe.js';
import { CA_CERT_FILE, CA_FILE_NAMES, CA_KEY_FILE, CERT_CHAIN_FILE, ROOT_CERT_FILE, type CaFiles } from '../../src/security/ca/ca-files.js';
import { validateCaFiles } from '../../src/security/ca/ca-material.js';
import { DirectoryCaStore } from '../../src/security/ca/directory-store.js';
import { generateRootCaFiles } from '../../src/security/ca/self-signed-root.js';
import { certificatePems } from '../../src/security/pem.js';
import { grpcBootstrap } from '../../src/xds/bootstrap/grpc-bootstrap.js';
import { freeLoopbackPort, proxylessEchoMeshYaml, shopPolicyYaml } from '../support/echo-mesh.js';
import { ECHO_SERVICE, OWN_CONNECTIONS } from '../support/echo-service.js';
import { startFakeKubeApi, type FakeKubeApi } from '../support/fake-kube-api.js';
import { PilotfishProcess, type LogLine } from '../support/pilotfish-process.js';

grpcXds.register();
const grpcErrors: string[] = [];
grpc.setLogger({ error: (...a: unknown[]) => { grpcErrors.push(a.map(String).join(' ')); }, info: () => undefined, debug: () => undefined });
grpc.setLogVerbosity(grpc.logVerbosity.ERROR);

const BOOTSTRAP_OPTION = 'grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config';
const CLIENT_ID = spiffeId('cluster.local', 'shop', 'web');
const TARGET = 'xds:///echo.shop.svc.cluster.local:50051';
/**
 * Workload certificate lifetime, and when the agents renew: at 12.5-17.5 % of it, so a renewal
 * comes every ~3 s and a certificate still has ~16 s to live when its renewal is due. That is the
 * slack a busy machine gets for the renewal's round trip (agent -> serve's TLS port -> TokenReview
 * against the fake API -> signing -> files -> gRPC's next read): with a 10 s lifetime and ~7 s of
 * slack, CI machines at load 5-15 saw renewals arrive after expiry, and the echo server present an
 * expired certificate (calls failed "certificate has expired"). Expiry is real time (OpenSSL's
 * clock), so it cannot be awaited as an event; this keeps it far from what the test waits for.
 */
const TTL = '20s';
const SCHEDULE = { renewFraction: 0.15, jitterFraction: 0.025 };
/** gRPC's file_watcher re-reads the agent's files this often. */
const REFRESH_MS = 250;

type Root = 'old' | 'new';

/** What an operator's `cp new && mv new file` does: readers see the old or the new content, never a part. */
async function replaceFile(file: string, content: string): Promise<void> {
  await writeFile(`${file}.new`, content);
  renameSync(`${file}.new`, file);
}

interface Seen {
  readonly serial: string;
  readonly root: Root;
  readonly notAfter: number;
  readonly receivedAt: number;
  readonly bundle: readonly Root[];
}

describe('e2e: certificate renewals and a root rotation under continuous STRICT mTLS calls', function () {
  this.timeout(180_000);
  let dir: string;
  let caDir: string;
  let api: FakeKubeApi;
  let pf: PilotfishProcess;
  let server: grpcXds.XdsServer | undefined;
  const agents: Record<string, RunningAgent> = {};
  const seen: Record<string, Seen[]> = { echo: [], web: [] };
  const events = new EventEmitter();
  let oldFiles: CaFiles;
  let newFiles: CaFiles;
  let oldRoot: X509Certificate;
  let newRoot: X509Certificate;
  let waiting = '';
  /** The agents' log lines (the last 200), shown when the test fails. */
  const agentLog: string[] = [];
  const agentLogStream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      agentLog.push(chunk.toString('utf8').trimEnd());
      if (agentLog.length > 200) agentLog.shift();
      done();
    },
  });

  function rootOf(pem: string): Root {
    const cert = new X509Certificate(pem);
    if (cert.checkIssued(newRoot) && cert.verify(newRoot.publicKey)) return 'new';
    if (cert.checkIssued(oldRoot) && cert.verify(oldRoot.publicKey)) return 'old';
    return assert.fail(`certificate ${cert.serialNumber} chains to neither root`);
  }

  function rootName(pem: string): Root {
    if (pem === certificatePems(newFiles[ROOT_CERT_FILE]!)[0]) return 'new';
    if (pem === certificatePems(oldFiles[ROOT_CERT_FILE]!)[0]) return 'old';
    return assert.fail('a root that is neither the old nor the new one');
  }

  /** Resolves once `cond` holds, re-checked at every certificate the agents receive. */
  function until(what: string, cond: () => boolean): Promise<void> {
    waiting = what;
    return new Promise((resolve) => {
      const check = (): void => {
        if (!cond()) return;
        events.off('certificate', check);
        resolve();
      };
      events.on('certificate', check);
      check();
    });
  }

  const issuedSince = (account: string, mark: number): number => seen[account]!.length - mark;
  const latest = (account: string): Seen => seen[account]![seen[account]!.length - 1]!;

  /** The bundle the CA in caDir publishes (the leader's ConfigMap), written where the agents read their roots. */
  async function publishRoots(): Promise<readonly Root[]> {
    const files: Record<string, string> = {};
    for (const name of CA_FILE_NAMES) files[name] = await readFile(path.join(caDir, name), 'utf8');
    const bundle = validateCaFiles(files, caDir).trustBundle;
    for (const account of Object.keys(agents)) await replaceFile(path.join(dir, account, 'roots.pem'), bundle.join(''));
    return bundle.map(rootName);
  }

  /** Edits the CA directory and waits until serve has reloaded it. */
  async function editCa(changes: CaFiles, signerChanged: boolean): Promise<void> {
    const since = pf.count(() => true);
    for (const [name, content] of Object.entries(changes)) await replaceFile(path.join(caDir, name), content ?? '');
    waiting = 'serve to reload its CA';
    await pf.waitForLogAfter(since, (l: LogLine) => l.message === 'mesh CA reloaded' && l.signerChanged === signerChanged, 'a CA reload');
    if (signerChanged) {
      await pf.waitForLogAfter(since, (l: LogLine) => l.message === 'renewed the xDS serving certificate', 'the serving certificate under the new signer');
    }
  }

  // Calls made all along, one after the other, alternating between a client reused for every call
  // and a new client (new channel, new TLS handshake with whatever certificates are on disk now).
  const calls = { ok: 0, failures: [] as string[], serverSaw: new Map<string, Root>(), lastPhase: new Set<Root>() };
  let stopCalling = false;
  let phase3 = false;
  let loops: Promise<void>[] = [];
  let clientBootstrap = '';

  function callOnce(client: grpc.Client, fresh: boolean): Promise<void> {
    return new Promise((resolve) => {
      client.makeUnaryRequest<Buffer, Buffer>(ECHO_SERVICE.Call.path, (b) => b, (b) => b, Buffer.from('hi'),
        { deadline: Date.now() + 10_000 }, (err, res) => {
          if (err) {
            calls.failures.push(`${new Date().toISOString()} ${err.message}`);
          } else {
            const answer = JSON.parse(res!.toString('utf8')) as { san: string; raw: string };
            assert.equal(answer.san, `URI:${CLIENT_ID}`, 'the server sees the client\'s SPIFFE ID');
            const root = rootOf(`-----BEGIN CERTIFICATE-----\n${answer.raw}\n-----END CERTIFICATE-----\n`);
            calls.serverSaw.set(answer.raw.slice(-64), root);
            // A kept connection goes on with the certificates of its handshake (TLS never revisits it);
            // new handshakes are what must use the new root only.
            if (phase3 && fresh) calls.lastPhase.add(root);
            calls.ok++;
          }
          resolve();
        });
    });
  }

  function meshClient(): grpc.Client {
    return new grpc.Client(TARGET, new grpcXds.XdsChannelCredentials(grpc.credentials.createInsecure()),
      { [BOOTSTRAP_OPTION]: clientBootstrap, ...OWN_CONNECTIONS });
  }

  async function startAgent(account: string): Promise<void> {
    const home = path.join(dir, account);
    await mkdir(home);
    await writeFile(path.join(home, 'token'), `token-${account}`);
    await writeFile(path.join(home, 'roots.pem'), certificatePems(oldFiles[ROOT_CERT_FILE]!).join(''));
    api.registerToken(`token-${account}`, { namespace: 'shop', serviceAccount: account, audiences: ['pilotfish'] });
    const agent = await runAgent({
      caAddress: `https://${(await pf.serving()).xdsTlsAddress!}`, namespace: 'shop', serviceAccount: account,
      tokenFile: path.join(home, 'token'), rootCertFile: path.join(home, 'roots.pem'), outputDir: path.join(home, 'certs'),
      xdsSocket: path.join(home, 'xds.sock'), sdsSocket: '', statusAddress: '',
    }, { logger: createLogger('info', agentLogStream, 'text').child({ account }), schedule: SCHEDULE, proxyBackoff: { initialMs: 20, maxMs: 200 } });
    agents[account] = agent;
    const record = (c: WorkloadCertificate): void => {
      seen[account]!.push({
        serial: c.serialNumber, root: rootOf(c.certChainPem[c.certChainPem.length - 1]!), notAfter: c.notAfter.getTime(),
        receivedAt: c.receivedAt.getTime(), bundle: c.trustBundlePem.map(rootName),
      });
      events.emit('certificate');
    };
    agent.certificates.onCertificate(record);
    const first = await agent.ready();
    if (seen[account]!.length === 0) record(first);
  }

  function bootstrapFor(account: string, nodeId: string, xdsServer: boolean): string {
    return JSON.stringify(grpcBootstrap({
      nodeId, xdsAddress: `unix://${path.join(dir, account, 'xds.sock')}`, namespace: 'shop',
      certificates: { directory: path.join(dir, account, 'certs'), refreshIntervalMs: REFRESH_MS }, xdsServer,
    }));
  }

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'pf-rotation-'));
    caDir = path.join(dir, 'ca');
    oldFiles = await generateRootCaFiles({ subject: 'O=pilotfish, CN=old mesh root' });
    newFiles = await generateRootCaFiles({ subject: 'O=pilotfish, CN=new mesh root' });
    oldRoot = new X509Certificate(oldFiles[ROOT_CERT_FILE]!);
    newRoot = new X509Certificate(newFiles[ROOT_CERT_FILE]!);
    await new DirectoryCaStore(caDir).createIfAbsent(oldFiles);

    api = await startFakeKubeApi();
    const port = await freeLoopbackPort();
    const config = path.join(dir, 'config');
    await mkdir(config);
    await writeFile(path.join(config, 'mesh.yaml'), `${proxylessEchoMeshYaml(port)}---\n${shopPolicyYaml('STRICT')}`);
    pf = PilotfishProcess.start(['serve', '--config-dir', config, '--xds-address', '127.0.0.1:0', '--http-address', '127.0.0.1:0',
      '--ca-dir', caDir, '--xds-tls-address', '127.0.0.1:0', '--kubeconfig', await api.writeKubeconfig(dir),
      '--workload-cert-ttl', TTL]);
    await pf.serving();
    await startAgent('echo');
    await startAgent('web');
    clientBootstrap = bootstrapFor('web', 'web', false);

    server = new grpcXds.XdsServer({ [BOOTSTRAP_OPTION]: bootstrapFor('echo', 'echo-server', true) });
    server.addService(ECHO_SERVICE, {
      Call: (c: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        const peer = c.getAuthContext().sslPeerCertificate;
        cb(null, Buffer.from(JSON.stringify({ san: peer?.subjectaltname ?? 'plaintext', raw: peer?.raw.toString('base64') ?? '' })));
      },
    });
    await new Promise<void>((resolve, reject) => {
      server!.bindAsync(`127.0.0.1:${port}`, new grpcXds.XdsServerCredentials(grpc.ServerCredentials.createInsecure()),
        (err) => (err ? reject(err) : resolve()));
    });
  });

  after(async () => {
    stopCalling = true;
    await Promise.all(loops);
    server?.forceShutdown();
    for (const a of Object.values(agents)) await a.stop();
    const code = pf ? await pf.stop('SIGTERM') : 0;
    await api?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
    assert.equal(code, 0, 'pilotfish ends cleanly');
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') {
      console.error(grpcErrors.slice(0, 5));
      console.error(`while waiting for: ${waiting}; calls ok ${calls.ok}, failures ${JSON.stringify(calls.failures.slice(0, 5))}`);
      console.error(`the agents' last log lines:\n${agentLog.slice(-60).join('\n')}`);
      console.error(`certificates: ${JSON.stringify(seen)}`);
      console.error(`serve's last log lines:\n${pf.logs.slice(-40).map((l) => JSON.stringify(l).slice(0, 300)).join('\n')}`);
    }
  });

  it('calls succeed across renewals and the three rotation steps; the final certificates chain to the new root only', async () => {
    // The first call waits for xDS; from then on both loops run until the end.
    const kept = meshClient();
    await callOnce(kept, false);
    assert.deepEqual(calls.failures, [], 'the first call');
    loops = [(async () => {
      while (!stopCalling) {
        await callOnce(kept, false);
        const fresh = meshClient();
        await callOnce(fresh, true);
        fresh.close();
      }
      kept.close();
    })()];

    // Renewals: every certificate is replaced about three seconds into its twenty.
    let mark = { echo: seen.echo!.length, web: seen.web!.length };
    await until('three renewals of each workload under the old root', () =>
      issuedSince('echo', mark.echo) >= 3 && issuedSince('web', mark.web) >= 3);
    assert.ok(calls.ok > 0);

    // Step 1: the new root joins the bundle, signing stays with the old CA.
    await editCa({ [ROOT_CERT_FILE]: oldFiles[ROOT_CERT_FILE]! + newFiles[ROOT_CERT_FILE]! }, false);
    assert.deepEqual(await publishRoots(), ['old', 'new']);
    mark = { echo: seen.echo!.length, web: seen.web!.length };
    await until('both workloads to trust both roots, and hold two more certificates', () => ['echo', 'web'].every((a) =>
      latest(a).bundle.join() === 'old,new' && issuedSince(a, mark[a as 'echo' | 'web']) >= 2));
    assert.ok(seen.web!.every((s) => s.root === 'old'), 'still signed by the old CA');

    // Step 2: signing switches to the new CA; the bundle keeps both roots, the new one first.
    await editCa({
      [CA_CERT_FILE]: newFiles[CA_CERT_FILE]!, [CA_KEY_FILE]: newFiles[CA_KEY_FILE]!, [CERT_CHAIN_FILE]: newFiles[CERT_CHAIN_FILE]!,
    }, true);
    assert.deepEqual(await publishRoots(), ['new', 'old']);
    // Every certificate of the old CA has expired once a certificate arrives after the last one's
    // notAfter; calls kept succeeding meanwhile, so nobody still uses one.
    const lastOldExpiry = (): number => Math.max(...['echo', 'web'].flatMap((a) => seen[a]!.filter((s) => s.root === 'old').map((s) => s.notAfter)));
    await until('every certificate from the old CA to have expired, both workloads holding new-root ones', () => ['echo', 'web'].every((a) =>
      latest(a).root === 'new' && latest(a).bundle.join() === 'new,old' && latest(a).receivedAt > lastOldExpiry() + REFRESH_MS));

    // Step 3: the old root leaves the bundle.
    await editCa({ [ROOT_CERT_FILE]: newFiles[ROOT_CERT_FILE]! }, false);
    assert.deepEqual(await publishRoots(), ['new']);
    mark = { echo: seen.echo!.length, web: seen.web!.length };
    await until('both workloads to trust the new root only', () => ['echo', 'web'].every((a) => latest(a).bundle.join() === 'new'));
    phase3 = true;
    await until('three more certificates for each workload after the old root left', () =>
      issuedSince('echo', mark.echo) >= 3 && issuedSince('web', mark.web) >= 3);
    stopCalling = true;
    await Promise.all(loops);

    assert.deepEqual(calls.failures, [], 'no call failed');
    const renewals = seen.echo!.length + seen.web!.length;
    const serverSaw = [...calls.serverSaw.values()];
    console.log(`      ${calls.ok} calls, 0 failed; ${renewals} certificates issued to the two agents `
      + `(${agents.echo!.status().certificate.earlyRenewals + agents.web!.status().certificate.earlyRenewals} early, for root changes); `
      + `the server saw ${serverSaw.filter((r) => r === 'old').length} old-root and ${serverSaw.filter((r) => r === 'new').length} new-root client certificates; `
      + `gRPC logged ${grpcErrors.length} errors ${JSON.stringify(grpcErrors.slice(0, 3))}`);
    assert.ok(serverSaw.includes('old') && serverSaw.includes('new'), 'handshakes used certificates from both roots');
    assert.ok(serverSaw.filter((r) => r === 'new').length >= 3, 'handshakes used renewed certificates');
    assert.deepEqual([...calls.lastPhase], ['new'], 'after step 3 new handshakes present new-root client certificates only');

    // What the workloads hold at the end: the files gRPC reads chain to the new root only.
    for (const account of ['echo', 'web']) {
      const certs = path.join(dir, account, 'certs');
      const roots = certificatePems(await readFile(path.join(certs, 'root-cert.pem'), 'utf8'));
      assert.deepEqual(roots.map(rootName), ['new'], `${account}: root-cert.pem holds the new root only`);
      const [leaf] = certificatePems(await readFile(path.join(certs, 'cert-chain.pem'), 'utf8'));
      assert.equal(rootOf(leaf!), 'new', `${account}: cert-chain.pem is issued under the new root`);
      const x = new X509Certificate(leaf!);
      assert.equal(x.verify(oldRoot.publicKey), false, `${account}: and not under the old one`);
    }
  });
});
