// The pod-side agent against the real CSR server: renewal of a certificate that lives a few
// seconds (awaiting the events, never sleeping), a fresh key and a re-read token for every request,
// retries after a failure, and the checks that keep a wrong answer from being installed.
import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import type { Http2SecureServer } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuthenticationV1Api } from '@kubernetes/client-node';
import { AnswerRejectedError, checkAnswer } from '../../src/agent/answer-check.js';
import { CertificateAgent, type AgentError, type WorkloadCertificate } from '../../src/agent/certificate-agent.js';
import { writeCertificateFiles } from '../../src/agent/cert-files.js';
import { renewalDelayMs, retryDelayMs } from '../../src/agent/renewal-schedule.js';
import { newWorkloadKey } from '../../src/agent/workload-key.js';
import { silentLogger } from '../../src/logging.js';
import { parseWorkloadSpiffeId } from '../../src/security/spiffe.js';
import { validateCaFiles } from '../../src/security/ca/ca-material.js';
import { MeshCa } from '../../src/security/ca/mesh-ca.js';
import { generateRootCaFiles } from '../../src/security/ca/self-signed-root.js';
import { CsrService } from '../../src/security/csr/csr-service.js';
import { createCsrServer } from '../../src/security/csr/http2-handler.js';
import { KubeTokenReviewAuthenticator } from '../../src/security/csr/token-review.js';
import { startFakeKubeApi, type FakeKubeApi } from '../support/fake-kube-api.js';

const ID = 'spiffe://cluster.local/ns/shop/sa/frontend';
const TTL_MS = 3000;

function nextCertificate(agent: CertificateAgent): Promise<WorkloadCertificate> {
  return new Promise((resolve) => {
    const off = agent.onCertificate((c) => {
      off();
      resolve(c);
    });
  });
}

describe('agent/certificate-agent', function () {
  this.timeout(60_000);
  let api: FakeKubeApi;
  let ca: MeshCa;
  let service: CsrService;
  let server: Http2SecureServer;
  let origin: string;
  let dir: string;

  before(async () => {
    api = await startFakeKubeApi();
    api.registerToken('token-1', { namespace: 'shop', serviceAccount: 'frontend', audiences: ['pilotfish'] });
    ca = await MeshCa.create(validateCaFiles(await generateRootCaFiles(), 'test'));
    service = new CsrService({
      ca, authenticator: new KubeTokenReviewAuthenticator(api.kubeConfig().makeApiClient(AuthenticationV1Api)),
      logger: silentLogger(), ttlMs: TTL_MS,
    });
    const serving = await ca.issueServingCertificate({ dnsNames: ['pilotfish.pilotfish-system.svc'] });
    server = createCsrServer(service, { key: serving.keyPem, cert: serving.certChain });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pilotfish-agent-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  after(async () => {
    server?.close();
    await api?.close();
  });

  function agentFor(tokenFile: string, extra: Partial<ConstructorParameters<typeof CertificateAgent>[0]> = {}): CertificateAgent {
    return new CertificateAgent({
      namespace: 'shop', serviceAccount: 'frontend', caAddress: origin,
      // The serving certificate names the Service, not 127.0.0.1: the agent checks the name it is told.
      caServerName: 'pilotfish.pilotfish-system.svc', caRootCertPem: ca.trustBundle.join(''), tokenFile, outputDir: join(dir, 'certs'),
      schedule: { initialBackoffMs: 20, maxBackoffMs: 200 },
      ...extra,
    }, { logger: silentLogger() });
  }

  it('renews at about half the lifetime, with a new key and a re-read token each time', async () => {
    const tokenFile = join(dir, 'token');
    await writeFile(tokenFile, 'token-1');
    const agent = agentFor(tokenFile);
    try {
      const first = await agent.start();
      const status = agent.status();
      const lifetime = first.notAfter.getTime() - first.receivedAt.getTime();
      const next = new Date(status.nextAttemptAt ?? 0).getTime() - first.receivedAt.getTime();
      assert.ok(next >= 0.4 * lifetime - 5 && next <= 0.6 * lifetime + 5, `renewal planned after ${next} ms of ${lifetime}`);

      // kubelet rotates the projected token: the next request must use the new one.
      api.registerToken('token-2', { namespace: 'shop', serviceAccount: 'frontend', audiences: ['pilotfish'] });
      await writeFile(tokenFile, 'token-2\n');
      api.revokeToken('token-1');
      const second = await nextCertificate(agent);
      const third = await nextCertificate(agent);
      assert.equal(new Set([first.serialNumber, second.serialNumber, third.serialNumber]).size, 3);
      assert.equal(new Set([first.privateKeyPem, second.privateKeyPem, third.privateKeyPem]).size, 3, 'a fresh key per certificate');
      assert.ok(second.receivedAt < first.notAfter, 'renewed before the first certificate expired');
      assert.ok(third.receivedAt < second.notAfter, 'renewed before the second certificate expired');
      assert.equal(agent.status().consecutiveFailures, 0);

      // The files hold the latest pair, and it matches.
      const chain = await readFile(join(dir, 'certs', 'cert-chain.pem'), 'utf8');
      const key = await readFile(join(dir, 'certs', 'key.pem'), 'utf8');
      const current = agent.current();
      assert.equal(key, current?.privateKeyPem);
      assert.ok(new X509Certificate(chain).checkPrivateKey(createPrivateKey(key)));
      assert.deepEqual((await readdir(join(dir, 'certs'))).sort(), ['cert-chain.pem', 'key.pem', 'root-cert.pem'], 'no temporary files left');
    } finally {
      agent.stop();
    }
  });

  it('renews at once when its roots file changes to a bundle other than its certificate\'s (a rotation step), once per change', async () => {
    // A CA that issues for an hour: any renewal seen here is an early one.
    const hourly = new CsrService({
      ca, authenticator: new KubeTokenReviewAuthenticator(api.kubeConfig().makeApiClient(AuthenticationV1Api)),
      logger: silentLogger(), ttlMs: 3600_000,
    });
    const serving = await ca.issueServingCertificate({ dnsNames: ['pilotfish.pilotfish-system.svc'] });
    const hourlyServer = createCsrServer(hourly, { key: serving.keyPem, cert: serving.certChain });
    hourlyServer.listen(0, '127.0.0.1');
    await once(hourlyServer, 'listening');
    const tokenFile = join(dir, 'token');
    const rootsFile = join(dir, 'roots.pem');
    api.registerToken('token-roots', { namespace: 'shop', serviceAccount: 'frontend', audiences: ['pilotfish'] });
    await writeFile(tokenFile, 'token-roots');
    await writeFile(rootsFile, ca.trustBundle.join(''));
    const agent = agentFor(tokenFile, {
      caAddress: `https://127.0.0.1:${(hourlyServer.address() as AddressInfo).port}`, caRootCertPem: undefined, caRootCertFile: rootsFile, rootPollMs: 0,
    });
    try {
      const first = await agent.start();
      assert.equal(agent.status().earlyRenewals, 0);
      const other = (await generateRootCaFiles({ subject: 'CN=next root' }))['root-cert.pem']!;
      let next = nextCertificate(agent);
      // The ConfigMap as the kubelet updates it: the file is replaced.
      await writeFile(`${rootsFile}.new`, ca.trustBundle.join('') + other);
      await rename(`${rootsFile}.new`, rootsFile);
      const second = await next;
      assert.notEqual(second.serialNumber, first.serialNumber);
      assert.equal(agent.status().earlyRenewals, 1);
      // This CA still answers with its own one-root bundle, which differs from the file: that is
      // not a reason to ask again (no loop); the next change of the file is.
      next = nextCertificate(agent);
      await writeFile(`${rootsFile}.new`, other + ca.trustBundle.join(''));
      await rename(`${rootsFile}.new`, rootsFile);
      await next;
      assert.equal(agent.status().earlyRenewals, 2);
      assert.equal(agent.status().issued, 3);
    } finally {
      agent.stop();
      hourlyServer.close();
    }
  });

  it('retries with backoff after a failure and then succeeds', async () => {
    const tokenFile = join(dir, 'token');
    await writeFile(tokenFile, 'token-1');
    api.registerToken('token-1', { namespace: 'shop', serviceAccount: 'frontend', audiences: ['pilotfish'] });
    api.failNext({ resource: 'tokenreviews' }, { status: 500, count: 2 });
    const agent = agentFor(tokenFile);
    const failures: AgentError[] = [];
    agent.onFailure((e) => failures.push(e));
    try {
      const cert = await agent.start();
      assert.equal(cert.spiffeId, ID);
      assert.deepEqual(failures.map((f) => [f.status, f.reason]), [[503, 'authentication_unavailable'], [503, 'authentication_unavailable']]);
      assert.equal(agent.status().consecutiveFailures, 0);
      assert.equal(agent.status().lastError?.reason, 'authentication_unavailable', 'the last error stays visible');
    } finally {
      agent.stop();
    }
  });

  it('reports an unreadable token file without calling the CA', async () => {
    const agent = agentFor(join(dir, 'missing-token'));
    const failure = new Promise<AgentError>((resolve) => agent.onFailure(resolve));
    const before = api.count({ resource: 'tokenreviews' });
    agent.start().catch(() => undefined);
    try {
      const error = await failure;
      assert.match(error.message, /cannot read the service account token file .*missing-token/);
      assert.equal(api.count({ resource: 'tokenreviews' }), before);
    } finally {
      agent.stop();
    }
  });

  it('installs nothing when the answer is for someone else', async () => {
    const tokenFile = join(dir, 'token');
    await writeFile(tokenFile, 'token-1');
    const agent = new CertificateAgent({
      namespace: 'shop', serviceAccount: 'frontend', caAddress: origin, caRootCertPem: ca.trustBundle.join(''), tokenFile,
      outputDir: join(dir, 'certs'), schedule: { initialBackoffMs: 10_000 },
    }, {
      logger: silentLogger(),
      // A CA that answers with a valid certificate, but for another workload's key and identity.
      post: async () => {
        const key = await newWorkloadKey('spiffe://cluster.local/ns/shop/sa/admin');
        const issued = await ca.sign(key.csrPem, { trustDomain: 'cluster.local', namespace: 'shop', serviceAccount: 'admin' });
        return { status: 200, body: { certChain: issued.certChain, trustBundle: issued.trustBundle, expiresAt: issued.notAfter.toISOString() } };
      },
    });
    const failure = new Promise<AgentError>((resolve) => agent.onFailure(resolve));
    agent.start().catch(() => undefined);
    try {
      assert.match((await failure).message, /not for the key this agent made/);
      assert.equal(agent.current(), undefined);
      await assert.rejects(readdir(join(dir, 'certs')), /ENOENT/);
    } finally {
      agent.stop();
    }
  });

  describe('answer checks', () => {
    async function answerFor(keySpiffeId: string): Promise<{ body: { certChain: readonly string[]; trustBundle: readonly string[] }; spki: Buffer }> {
      const key = await newWorkloadKey(keySpiffeId);
      const issued = await ca.sign(key.csrPem, parseWorkloadSpiffeId(keySpiffeId));
      return { body: { certChain: issued.certChain, trustBundle: issued.trustBundle }, spki: key.publicKeySpki };
    }

    it('accepts the right answer', async () => {
      const { body, spki } = await answerFor(ID);
      const checked = checkAnswer(body, { spiffeId: ID, publicKeySpki: spki, now: new Date() });
      assert.equal(checked.certChain.length, 1);
    });

    it('refuses a certificate for another key', async () => {
      const { body } = await answerFor(ID);
      const other = await newWorkloadKey(ID);
      assert.throws(() => checkAnswer(body, { spiffeId: ID, publicKeySpki: other.publicKeySpki, now: new Date() }),
        (err: unknown) => err instanceof AnswerRejectedError && /not for the key/.test(err.message));
    });

    it('refuses a certificate for another identity', async () => {
      const { body, spki } = await answerFor('spiffe://cluster.local/ns/shop/sa/admin');
      assert.throws(() => checkAnswer(body, { spiffeId: ID, publicKeySpki: spki, now: new Date() }), /must name exactly/);
    });

    it('refuses a chain that does not verify to the bundle', async () => {
      const { body, spki } = await answerFor(ID);
      const stranger = await generateRootCaFiles();
      assert.throws(() => checkAnswer({ ...body, trustBundle: [stranger['root-cert.pem']] }, { spiffeId: ID, publicKeySpki: spki, now: new Date() }),
        /does not verify to any root/);
    });

    it('refuses an expired certificate and malformed bodies', async () => {
      const { body, spki } = await answerFor(ID);
      assert.throws(() => checkAnswer(body, { spiffeId: ID, publicKeySpki: spki, now: new Date(Date.now() + 48 * 3600_000) }), /expired/);
      for (const bad of [null, 'x', {}, { certChain: [], trustBundle: body.trustBundle }, { certChain: ['nope'], trustBundle: body.trustBundle },
        { certChain: body.certChain, trustBundle: [1] }, { certChain: new Array(9).fill(body.certChain[0]), trustBundle: body.trustBundle }]) {
        assert.throws(() => checkAnswer(bad, { spiffeId: ID, publicKeySpki: spki, now: new Date() }), AnswerRejectedError, JSON.stringify(bad)?.slice(0, 80));
      }
    });
  });

  describe('schedule', () => {
    it('renews between 40 % and 60 % of the lifetime', () => {
      assert.equal(renewalDelayMs(0, 1000, () => 0), 400);
      assert.equal(renewalDelayMs(0, 1000, () => 0.5), 500);
      assert.equal(renewalDelayMs(0, 1000, () => 0.999999), 599);
      assert.equal(renewalDelayMs(500, 400, () => 0.5), 0, 'already past: renew at once');
    });

    it('backs off exponentially, capped, and never more than a quarter of the time left', () => {
      const full = (): number => 0.999999;
      assert.deepEqual([0, 1, 2, 3, 10].map((a) => retryDelayMs(a, undefined, full)), [999, 1999, 3999, 7999, 59999]);
      assert.equal(retryDelayMs(10, 8000, full), 1999);
      assert.equal(retryDelayMs(10, -5, full), 999, 'expired: keep trying at the initial pace');
      assert.equal(retryDelayMs(0, undefined, () => 0), 500, 'jitter halves at most');
    });
  });

  it('writes the files with the key 0600 and replaces them whole', async () => {
    const out = join(dir, 'files');
    await writeCertificateFiles(out, { certChainPem: 'chain-1', privateKeyPem: 'key-1', trustBundlePem: 'roots-1' });
    await writeCertificateFiles(out, { certChainPem: 'chain-2', privateKeyPem: 'key-2', trustBundlePem: 'roots-2' });
    const { stat } = await import('node:fs/promises');
    assert.equal((await stat(join(out, 'key.pem'))).mode & 0o777, 0o600);
    assert.equal((await stat(join(out, 'cert-chain.pem'))).mode & 0o777, 0o644);
    assert.deepEqual(await Promise.all(['cert-chain.pem', 'key.pem', 'root-cert.pem'].map((f) => readFile(join(out, f), 'utf8'))),
      ['chain-2', 'key-2', 'roots-2']);
    assert.deepEqual((await readdir(out)).sort(), ['cert-chain.pem', 'key.pem', 'root-cert.pem']);
  });
});
