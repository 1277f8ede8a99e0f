// The CSR path end to end with real peers: a node:http2 TLS server (serving certificate from the
// mesh CA) in front of CsrService, TokenReviews through client-node to the fake API server (which
// itself demands pilotfish's own token), and the pod-side agent as the client. Every refusal is
// shown with its status, reason, counter and log line, and no log line ever carries a token.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { connect, constants, type Http2SecureServer } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { X509Certificate } from 'node:crypto';
import { AuthenticationV1Api } from '@kubernetes/client-node';
import { CertificateAgent, type AgentError } from '../../src/agent/certificate-agent.js';
import { CSR_PATH as AGENT_CSR_PATH, postCsr } from '../../src/agent/ca-client.js';
import { newWorkloadKey } from '../../src/agent/workload-key.js';
import { createLogger, silentLogger } from '../../src/logging.js';
import { validateCaFiles } from '../../src/security/ca/ca-material.js';
import { MeshCa } from '../../src/security/ca/mesh-ca.js';
import { generateRootCaFiles } from '../../src/security/ca/self-signed-root.js';
import { CsrService, MAX_CSR_BODY_BYTES } from '../../src/security/csr/csr-service.js';
import { createCsrServer, CSR_PATH } from '../../src/security/csr/http2-handler.js';
import { CSR_REFUSAL_REASONS, type CsrRefusalReason } from '../../src/security/csr/refusals.js';
import { KubeTokenReviewAuthenticator } from '../../src/security/csr/token-review.js';
import { startFakeKubeApi, type FakeKubeApi } from '../support/fake-kube-api.js';
import { makeCsr, tamperSignature } from './pki.js';

const TOKENS = {
  frontend: 'tok-shop-frontend',
  expired: 'tok-shop-frontend-expired',
  apiAudience: 'tok-shop-frontend-for-the-api-server',
  user: 'tok-alice',
  unknown: 'tok-nobody-issued-this',
};
const PILOTFISH_API_TOKEN = 'pilotfish-own-service-account-token';
const FRONTEND_ID = 'spiffe://cluster.local/ns/shop/sa/frontend';

interface Answer {
  status: number;
  headers: Record<string, unknown>;
  body: { error?: string; reason?: string; certChain?: string[]; trustBundle?: string[]; expiresAt?: string };
}

describe('security/csr service over HTTP/2 TLS, with the agent as client', function () {
  this.timeout(60_000);
  let api: FakeKubeApi;
  let ca: MeshCa;
  let service: CsrService;
  let server: Http2SecureServer;
  let origin: string;
  let bundle: string;
  let dir: string;
  const logLines: string[] = [];

  before(async () => {
    api = await startFakeKubeApi({ token: PILOTFISH_API_TOKEN });
    api.registerToken(TOKENS.frontend, { namespace: 'shop', serviceAccount: 'frontend', audiences: ['pilotfish'], podName: 'frontend-1' });
    api.registerToken(TOKENS.expired, { namespace: 'shop', serviceAccount: 'frontend', audiences: ['pilotfish'], expired: true });
    api.registerToken(TOKENS.apiAudience, { namespace: 'shop', serviceAccount: 'frontend' });
    api.registerToken(TOKENS.user, { username: 'alice@example.com', audiences: ['pilotfish'] });
    ca = await MeshCa.create(validateCaFiles(await generateRootCaFiles(), 'test'));
    const logStream = new PassThrough();
    logStream.on('data', (d: Buffer) => logLines.push(...d.toString().split('\n').filter((l) => l !== '')));
    service = new CsrService({
      ca, authenticator: new KubeTokenReviewAuthenticator(api.kubeConfig().makeApiClient(AuthenticationV1Api)),
      logger: createLogger('info', logStream), ttlMs: 3600_000,
    });
    const serving = await ca.issueServingCertificate({ dnsNames: ['pilotfish.pilotfish-system.svc'], ipAddresses: ['127.0.0.1'] });
    server = createCsrServer(service, { key: serving.keyPem, cert: serving.certChain });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    bundle = ca.trustBundle.join('');
    dir = await mkdtemp(join(tmpdir(), 'pilotfish-agent-'));
  });

  after(async () => {
    server?.close();
    await api?.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function call(o: { method?: string; token?: string; contentType?: string | null; body: string | Buffer; declareLength?: boolean }): Promise<Answer> {
    const session = connect(origin, { ca: bundle });
    try {
      const headers: Record<string, string | number> = {
        [constants.HTTP2_HEADER_METHOD]: o.method ?? 'POST', [constants.HTTP2_HEADER_PATH]: CSR_PATH,
      };
      if (o.token !== undefined) headers.authorization = `Bearer ${o.token}`;
      if (o.contentType !== null) headers['content-type'] = o.contentType ?? 'application/json';
      if (o.declareLength !== false) headers['content-length'] = Buffer.byteLength(o.body);
      const stream = session.request(headers);
      const [responseHeaders] = await Promise.all([
        once(stream, 'response').then(([h]) => h as Record<string, unknown>),
        // node:http2 ends a GET's request side by itself.
        new Promise<void>((resolve) => { if (stream.writableEnded) resolve(); else stream.end(o.body, () => resolve()); }),
      ]);
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      await once(stream, 'end');
      return { status: Number(responseHeaders[':status']), headers: responseHeaders, body: JSON.parse(Buffer.concat(chunks).toString()) };
    } finally {
      session.close();
    }
  }

  function snapshot(): Record<CsrRefusalReason, number> {
    return { ...service.counters.refused };
  }

  /** Exactly one refusal was counted, under `reason`. */
  function assertCounted(before: Record<CsrRefusalReason, number>, reason: CsrRefusalReason): void {
    for (const r of CSR_REFUSAL_REASONS) {
      assert.equal(service.counters.refused[r] - before[r], r === reason ? 1 : 0, `counter ${r}`);
    }
  }

  it('issues a certificate to the agent and writes the files gRPC reads', async () => {
    const tokenFile = join(dir, 'token');
    await writeFile(tokenFile, `${TOKENS.frontend}\n`);
    const outputDir = join(dir, 'certs');
    const agent = new CertificateAgent({
      namespace: 'shop', serviceAccount: 'frontend', caAddress: origin, caRootCertPem: bundle, tokenFile, outputDir,
    }, { logger: silentLogger() });
    const issuedBefore = service.counters.issued;
    try {
      const cert = await agent.start();
      assert.equal(cert.spiffeId, FRONTEND_ID);
      assert.equal(service.counters.issued, issuedBefore + 1);
      const leaf = new X509Certificate(await readFile(join(outputDir, 'cert-chain.pem'), 'utf8'));
      assert.equal(leaf.subjectAltName, `URI:${FRONTEND_ID}`);
      assert.ok(leaf.checkPrivateKey((await import('node:crypto')).createPrivateKey(await readFile(join(outputDir, 'key.pem'), 'utf8'))));
      assert.equal(await readFile(join(outputDir, 'root-cert.pem'), 'utf8'), bundle);
      assert.equal((await stat(join(outputDir, 'key.pem'))).mode & 0o777, 0o600);
      const status = agent.status();
      assert.equal(status.state, 'ready');
      assert.equal(status.identity, FRONTEND_ID);
      assert.equal(status.expiresAt, cert.notAfter.toISOString());
      assert.equal(status.consecutiveFailures, 0);
      // The token is valid for audience pilotfish only, so this review named that audience; the fake
      // answers only requests carrying pilotfish's own token.
      const review = api.requests({ resource: 'tokenreviews' }).at(-1);
      assert.equal(review?.status, 201);
    } finally {
      agent.stop();
    }
  });

  it('agent and server agree on the path', () => {
    assert.equal(AGENT_CSR_PATH, CSR_PATH);
    assert.equal(CSR_PATH, '/v1/certificate');
  });

  it('answers with the leaf, the chain and the bundle per the wire contract', async () => {
    const { csrPem } = await makeCsr(FRONTEND_ID);
    const answer = await call({ token: TOKENS.frontend, body: JSON.stringify({ csr: csrPem }) });
    assert.equal(answer.status, 200);
    assert.equal(answer.headers['content-type'], 'application/json');
    assert.deepEqual(Object.keys(answer.body).sort(), ['certChain', 'expiresAt', 'trustBundle']);
    assert.deepEqual(answer.body.trustBundle, ca.trustBundle);
    assert.match(answer.body.expiresAt ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(new Date(answer.body.expiresAt ?? '').getTime(), new Date(new X509Certificate(answer.body.certChain?.[0] ?? '').validTo).getTime());
  });

  const frontendCsr = async (spiffeId = FRONTEND_ID): Promise<string> => JSON.stringify({ csr: (await newWorkloadKey(spiffeId)).csrPem });
  const refusals: {
    what: string; status: number; reason: CsrRefusalReason;
    request: () => Promise<{ method?: string; token?: string; contentType?: string | null; body: string | Buffer; declareLength?: boolean }>;
  }[] = [
    { what: 'no token', status: 401, reason: 'missing_token', request: async () => ({ body: await frontendCsr() }) },
    { what: 'an expired token', status: 401, reason: 'token_expired', request: async () => ({ token: TOKENS.expired, body: await frontendCsr() }) },
    { what: 'a token for the API server\'s audience', status: 401, reason: 'token_wrong_audience', request: async () => ({ token: TOKENS.apiAudience, body: await frontendCsr() }) },
    { what: 'a token nobody issued', status: 401, reason: 'token_invalid', request: async () => ({ token: TOKENS.unknown, body: await frontendCsr() }) },
    { what: 'a user that is not a service account', status: 403, reason: 'not_service_account', request: async () => ({ token: TOKENS.user, body: await frontendCsr() }) },
    { what: 'a CSR for another namespace', status: 403, reason: 'identity_mismatch_namespace', request: async () => ({ token: TOKENS.frontend, body: await frontendCsr('spiffe://cluster.local/ns/bank/sa/frontend') }) },
    { what: 'a CSR for another service account', status: 403, reason: 'identity_mismatch_service_account', request: async () => ({ token: TOKENS.frontend, body: await frontendCsr('spiffe://cluster.local/ns/shop/sa/admin') }) },
    { what: 'a malformed CSR', status: 400, reason: 'csr_malformed', request: async () => ({ token: TOKENS.frontend, body: JSON.stringify({ csr: '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n' }) }) },
    { what: 'a CSR with a bad signature', status: 400, reason: 'csr_bad_signature', request: async () => ({ token: TOKENS.frontend, body: JSON.stringify({ csr: tamperSignature((await makeCsr(FRONTEND_ID)).csrPem) }) }) },
    { what: 'a body that is not JSON', status: 400, reason: 'request_malformed', request: async () => ({ token: TOKENS.frontend, body: 'csr=...' }) },
    { what: 'a body over 16 KiB (declared)', status: 413, reason: 'body_too_large', request: async () => ({ token: TOKENS.frontend, body: JSON.stringify({ csr: 'x'.repeat(MAX_CSR_BODY_BYTES) }) }) },
    { what: 'a body over 16 KiB (streamed, no length)', status: 413, reason: 'body_too_large', request: async () => ({ token: TOKENS.frontend, body: JSON.stringify({ csr: 'x'.repeat(4 * MAX_CSR_BODY_BYTES) }), declareLength: false }) },
    { what: 'a wrong content type', status: 415, reason: 'wrong_content_type', request: async () => ({ token: TOKENS.frontend, contentType: 'text/plain', body: await frontendCsr() }) },
    { what: 'no content type', status: 415, reason: 'wrong_content_type', request: async () => ({ token: TOKENS.frontend, contentType: null, body: await frontendCsr() }) },
    { what: 'a GET', status: 405, reason: 'method_not_allowed', request: async () => ({ method: 'GET', token: TOKENS.frontend, body: '' }) },
  ];
  for (const r of refusals) {
    it(`refuses ${r.what}: ${r.status} ${r.reason}`, async () => {
      const before = snapshot();
      const logged = logLines.length;
      const answer = await call(await r.request());
      assert.equal(answer.status, r.status);
      assert.equal(answer.body.reason, r.reason);
      assert.match(answer.body.error ?? '', /^[^\n]{10,300}$/, 'one clear sentence');
      assertCounted(before, r.reason);
      const lines = logLines.slice(logged).map((l) => JSON.parse(l) as Record<string, unknown>);
      assert.ok(lines.some((l) => l.message === 'certificate request refused' && l.reason === r.reason), JSON.stringify(lines));
      if (r.status === 401) assert.match(String(answer.headers['www-authenticate']), /^Bearer/);
    });
  }

  it('says which identity was refused in the log, and never logs a token', async () => {
    const lines = logLines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const mismatch = lines.find((l) => l.reason === 'identity_mismatch_namespace');
    assert.equal(mismatch?.identity, FRONTEND_ID);
    const user = lines.find((l) => l.reason === 'not_service_account');
    assert.equal(user?.identity, 'alice@example.com');
    for (const token of Object.values(TOKENS)) {
      assert.ok(!logLines.some((l) => l.includes(token)), `a log line contains token ${token}`);
    }
  });

  it('answers 503 authentication_unavailable when the TokenReview fails', async () => {
    api.failNext({ resource: 'tokenreviews' }, { status: 500 });
    const before = snapshot();
    const answer = await call({ token: TOKENS.frontend, body: await frontendCsr() });
    assert.equal(answer.status, 503);
    assert.equal(answer.body.reason, 'authentication_unavailable');
    assertCounted(before, 'authentication_unavailable');
  });

  it('the agent reports a refusal in its status and retries', async () => {
    const tokenFile = join(dir, 'token-bank');
    await writeFile(tokenFile, TOKENS.frontend);
    // Configured for namespace bank, but the token is shop's: the CA must refuse.
    const agent = new CertificateAgent({
      namespace: 'bank', serviceAccount: 'frontend', caAddress: origin, caRootCertPem: bundle, tokenFile,
    }, { logger: silentLogger() });
    const failure = new Promise<AgentError>((resolve) => agent.onFailure(resolve));
    const first = agent.start();
    first.catch(() => undefined);
    try {
      const error = await failure;
      assert.equal(error.status, 403);
      assert.equal(error.reason, 'identity_mismatch_namespace');
      const status = agent.status();
      assert.equal(status.state, 'starting');
      assert.equal(status.consecutiveFailures, 1);
      assert.ok(status.nextAttemptAt, 'a retry is scheduled');
      assert.equal(status.lastError?.reason, 'identity_mismatch_namespace');
    } finally {
      agent.stop();
    }
    await assert.rejects(first, /stopped/);
  });

  it('the agent refuses to talk to a CA whose certificate the bundle does not vouch for', async () => {
    const other = await MeshCa.create(validateCaFiles(await generateRootCaFiles(), 'other'));
    const key = await newWorkloadKey(FRONTEND_ID);
    await assert.rejects(postCsr({ address: origin, caBundlePem: other.trustBundle.join(''), token: TOKENS.frontend, csrPem: key.csrPem }),
      /unable to verify the first certificate/);
  });
});
