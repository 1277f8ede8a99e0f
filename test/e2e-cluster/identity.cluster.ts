// Issue 15, done-when 3, against the real kube-apiserver: `pilotfish controller` (the chart's
// ServiceAccount and RBAC) signs certificates on its TLS port only for what the API server's
// TokenReview vouches for. A token from the TokenRequest API for a ServiceAccount, audience
// pilotfish, gets a certificate for exactly that identity; a request without a token, an expired
// token, a token for another audience, and a CSR naming another namespace or service account are
// refused with their reason, and each refusal is counted in pilotfish_certificate_requests_refused_total.
//
// The expired token: the TokenRequest API will not issue one that lives less than 600 s, so the test
// mints it the way the API server does: signed with the API server's own service-account key
// (--service-account-signing-key-file of this test cluster), with the claims TokenRequest writes
// (issuer, subject, audience pilotfish, the ServiceAccount's name and UID), and an `exp` ten minutes
// in the past. It is a token the API server itself would have issued twenty minutes ago; the
// refusal comes from the API server's TokenReview, not from pilotfish.
import assert from 'node:assert/strict';
import { createHash, createPrivateKey, createPublicKey, sign, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import http2 from 'node:http2';
import path from 'node:path';
import { postCsr, type CaAnswer } from '../../src/agent/ca-client.js';
import { newWorkloadKey } from '../../src/agent/workload-key.js';
import { DEFAULT_CA_SECRET_NAME } from '../../src/security/ca/secret-store.js';
import { generateRootCaFiles } from '../../src/security/ca/self-signed-root.js';
import { certificatePems } from '../../src/security/pem.js';
import { ROOT_CERT_CONFIGMAP, ROOT_CERT_KEY, NAMESPACE_INJECT_ENABLED, NAMESPACE_INJECT_LABEL } from '../../src/webhook/injection-names.js';
import type { Cluster } from '../cluster/cluster.js';
import type { KubeObject } from '../cluster/kube-rest.js';
import type { PilotfishProcess } from '../support/pilotfish-process.js';
import { parsePrometheusText, sampleValue } from '../support/prom-text.js';
import { bounded, conditionsOf, createNamespace, sharedCluster, uniqueName } from './fixture.js';
import { CONTROL_PLANE_NAMESPACE, installPilotfish, startController } from './pilotfish-install.js';

const ISSUER = 'https://kubernetes.default.svc.cluster.local';

function base64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

describe('cluster: certificate requests authenticated by the real API server\'s TokenReview', function () {
  this.timeout(600_000);
  let cluster: Cluster;
  let pf: PilotfishProcess;
  let ns: string;
  let address: string;
  let httpAddress: string;
  let roots: string;

  async function tokenRequest(account: string, audiences: readonly string[]): Promise<string> {
    const r = await cluster.admin.call<KubeObject & { status: { token: string } }>('POST', `/api/v1/namespaces/${ns}/serviceaccounts/${account}/token`,
      { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { audiences, expirationSeconds: 600 } });
    return r.status.token;
  }

  /**
   * A service account token signed with the test API server's own key, issued twenty minutes ago
   * and expired ten minutes ago (`expired`), or valid for ten more minutes (the control: the same
   * minting is accepted, so expiry is the only thing wrong with the expired one).
   */
  async function mintedToken(account: string, expired: boolean): Promise<string> {
    const key = createPrivateKey(await readFile(path.join(cluster.dir, 'sa.key'), 'utf8'));
    const sa = await cluster.admin.call<KubeObject>('GET', `/api/v1/namespaces/${ns}/serviceaccounts/${account}`);
    // The key ID the API server gives its tokens: SHA-256 of the public key's DER, base64url.
    const kid = base64url(createHash('sha256').update(createPublicKey(key).export({ type: 'spki', format: 'der' })).digest());
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      iss: ISSUER, sub: `system:serviceaccount:${ns}:${account}`, aud: ['pilotfish'],
      iat: now - 1200, nbf: now - 1200, exp: expired ? now - 600 : now + 600,
      'kubernetes.io': { namespace: ns, serviceaccount: { name: account, uid: sa.metadata?.uid } },
    };
    const signingInput = `${base64url(JSON.stringify({ alg: 'RS256', kid }))}.${base64url(JSON.stringify(claims))}`;
    return `${signingInput}.${base64url(sign('sha256', Buffer.from(signingInput), key))}`;
  }

  async function requestCertificate(token: string, spiffeId: string): Promise<CaAnswer> {
    const { csrPem } = await newWorkloadKey(spiffeId);
    return postCsr({ address: `https://${address}`, caBundlePem: roots, token, csrPem });
  }

  /** The same request with no authorization header at all. */
  async function requestWithoutToken(spiffeId: string): Promise<CaAnswer> {
    const { csrPem } = await newWorkloadKey(spiffeId);
    const session = http2.connect(`https://${address}`, { ca: roots });
    try {
      const stream = session.request({ ':method': 'POST', ':path': '/v1/certificate', 'content-type': 'application/json' });
      stream.end(JSON.stringify({ csr: csrPem }));
      const [headers, body] = await Promise.all([
        new Promise<http2.IncomingHttpHeaders>((resolve) => stream.once('response', resolve)),
        (async () => {
          const chunks: Buffer[] = [];
          for await (const c of stream) chunks.push(c as Buffer);
          return Buffer.concat(chunks).toString('utf8');
        })(),
      ]);
      return { status: Number(headers[':status']), body: JSON.parse(body) as unknown };
    } finally {
      session.close();
    }
  }

  async function refusalsCounted(): Promise<Record<string, number>> {
    const res = await fetch(`http://${httpAddress}/metrics`);
    const families = parsePrometheusText(await res.text());
    const out: Record<string, number> = {};
    for (const reason of ['missing_token', 'token_expired', 'token_wrong_audience', 'identity_mismatch_namespace', 'identity_mismatch_service_account']) {
      out[reason] = sampleValue(families, 'pilotfish_certificate_requests_refused_total', 'pilotfish_certificate_requests_refused_total', { reason }) ?? 0;
    }
    out.issued = sampleValue(families, 'pilotfish_certificates_issued_total', 'pilotfish_certificates_issued_total') ?? 0;
    return out;
  }

  before(async () => {
    cluster = await sharedCluster();
    const inst = await installPilotfish(cluster);
    ns = uniqueName('identity');
    await createNamespace(cluster, ns, { [NAMESPACE_INJECT_LABEL]: NAMESPACE_INJECT_ENABLED });
    await cluster.admin.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'web', namespace: ns } });
    pf = await startController(cluster, inst, 'minimal');
    const serving = await pf.serving();
    address = serving.xdsTlsAddress!;
    httpAddress = serving.httpAddress;
    // The roots as an injected pod's agent gets them: the ConfigMap the leader publishes.
    const cm = await bounded(cluster.admin.waitFor<KubeObject & { data?: Record<string, string> }>(
      `/api/v1/namespaces/${ns}/configmaps?fieldSelector=metadata.name%3D${ROOT_CERT_CONFIGMAP}`,
      (c) => (c.data?.[ROOT_CERT_KEY] ?? '').includes('BEGIN CERTIFICATE'), 'the roots ConfigMap'), 120_000, 'the roots ConfigMap', pf);
    roots = cm.data![ROOT_CERT_KEY]!;
  });

  after(async () => {
    await pf?.stop();
  });

  it('a TokenRequest token (audience pilotfish) gets a certificate for its own SPIFFE ID; so does a token minted with the API server\'s key', async () => {
    const id = `spiffe://cluster.local/ns/${ns}/sa/web`;
    const answer = await requestCertificate(await tokenRequest('web', ['pilotfish']), id);
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    const { certChain } = answer.body as { certChain: string[] };
    assert.equal(new X509Certificate(certChain[0]!).subjectAltName, `URI:${id}`);
    const minted = await requestCertificate(await mintedToken('web', false), id);
    assert.equal(minted.status, 200, `a token minted like the expired one below, but not expired, is accepted: ${JSON.stringify(minted.body)}`);
  });

  it('refuses a missing, an expired and a wrong-audience token, and a CSR for another namespace or service account; each counted', async () => {
    const before = await refusalsCounted();
    const id = `spiffe://cluster.local/ns/${ns}/sa/web`;
    const cases: { what: string; answer: () => Promise<CaAnswer>; status: number; reason: string; error: RegExp }[] = [
      { what: 'no token', answer: () => requestWithoutToken(id), status: 401, reason: 'missing_token', error: /no bearer token/ },
      { what: 'an expired token', answer: async () => requestCertificate(await mintedToken('web', true), id), status: 401, reason: 'token_expired', error: /expired/ },
      {
        what: 'a token for another audience', answer: async () => requestCertificate(await tokenRequest('web', ['someone-else']), id),
        status: 401, reason: 'token_wrong_audience', error: /audience pilotfish/,
      },
      {
        what: 'a CSR for another namespace', answer: async () => requestCertificate(await tokenRequest('web', ['pilotfish']), `spiffe://cluster.local/ns/kube-system/sa/web`),
        status: 403, reason: 'identity_mismatch_namespace', error: /namespace/,
      },
      {
        what: 'a CSR for another service account', answer: async () => requestCertificate(await tokenRequest('web', ['pilotfish']), `spiffe://cluster.local/ns/${ns}/sa/admin`),
        status: 403, reason: 'identity_mismatch_service_account', error: /service account/,
      },
    ];
    for (const c of cases) {
      const answer = await c.answer();
      const body = answer.body as { error?: string; reason?: string };
      assert.equal(answer.status, c.status, `${c.what}: ${JSON.stringify(body)}`);
      assert.equal(body.reason, c.reason, c.what);
      assert.match(body.error ?? '', c.error, `${c.what}: a clear reason`);
      const logged = await bounded(pf.waitForLog((l) => l.message === 'certificate request refused' && l.reason === c.reason, c.what),
        30_000, `the refusal of ${c.what} in the log`, pf);
      assert.equal(logged.status, c.status);
    }
    const after = await refusalsCounted();
    for (const c of cases) assert.equal(after[c.reason]! - before[c.reason]!, 1, `${c.reason} counted once`);
    assert.equal(after.issued, before.issued, 'nothing issued');
  });

  it('a root added to the CA Secret reaches new certificates and the namespace\'s roots ConfigMap without a restart, and leaves again', async () => {
    const secretPath = `/api/v1/namespaces/${CONTROL_PLANE_NAMESPACE}/secrets/${DEFAULT_CA_SECRET_NAME}`;
    const secret = await cluster.admin.call<KubeObject & { data: Record<string, string> }>('GET', secretPath);
    const original = secret.data['root-cert.pem']!;
    const added = (await generateRootCaFiles({ subject: 'O=pilotfish, CN=next mesh root' }))['root-cert.pem']!;
    const configMapPath = `/api/v1/namespaces/${ns}/configmaps?fieldSelector=metadata.name%3D${ROOT_CERT_CONFIGMAP}`;
    const rootsPublished = (n: number) => (c: KubeObject & { data?: Record<string, string> }): boolean =>
      certificatePems(c.data?.[ROOT_CERT_KEY] ?? '').length === n;
    const since = pf.logs.length;
    await cluster.admin.patch(secretPath, { data: { 'root-cert.pem': Buffer.from(Buffer.from(original, 'base64').toString('utf8') + added).toString('base64') } }, 'merge');
    try {
      // The controller re-reads the Secret every 30 s; the leader republishes at once when it reloads.
      await bounded(pf.waitForLog((l) => pf.logs.indexOf(l) >= since && l.message === 'mesh CA reloaded', 'the CA reload'), 120_000, 'the CA reload', pf);
      const cm = await bounded(cluster.admin.waitFor(configMapPath, rootsPublished(2), 'two roots in the ConfigMap'), 120_000, 'two roots in the ConfigMap', pf);
      assert.deepEqual(certificatePems((cm as { data?: Record<string, string> }).data![ROOT_CERT_KEY]!)[1], certificatePems(added)[0], 'the signing root first, the new one after it');
      const answer = await requestCertificate(await tokenRequest('web', ['pilotfish']), `spiffe://cluster.local/ns/${ns}/sa/web`);
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      assert.equal((answer.body as { trustBundle: string[] }).trustBundle.length, 2, 'new certificates come with both roots');
    } finally {
      await cluster.admin.patch(secretPath, { data: { 'root-cert.pem': original } }, 'merge');
    }
    await bounded(cluster.admin.waitFor(configMapPath, rootsPublished(1), 'one root in the ConfigMap again'), 120_000, 'one root in the ConfigMap again', pf);
  });

  it('the leader marks a PeerAuthentication Accepted (status condition, as for the routing objects)', async () => {
    await cluster.admin.create({
      apiVersion: 'security.pilotfish.io/v1alpha1', kind: 'PeerAuthentication', metadata: { name: 'default', namespace: ns },
      spec: { mtls: { mode: 'STRICT' } },
    });
    const pa = await bounded(cluster.admin.waitFor(`/apis/security.pilotfish.io/v1alpha1/namespaces/${ns}/peerauthentications`,
      (o) => conditionsOf(o).some((c) => c.type === 'Accepted'), 'the Accepted condition'), 120_000, 'the Accepted condition', pf);
    const accepted = conditionsOf(pa).find((c) => c.type === 'Accepted');
    assert.deepEqual({ status: accepted?.status, reason: accepted?.reason, observedGeneration: accepted?.observedGeneration },
      { status: 'True', reason: 'Accepted', observedGeneration: 1 });
  });
});
