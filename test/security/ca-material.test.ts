// Plugged-in CA material (Istio cacerts layout) is validated with one clear sentence per problem,
// and a trust bundle with two roots lets certificates from the old and the new root talk to each
// other over real mutual TLS, which is what makes a rotation hitless.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createPrivateKey, webcrypto } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { connect, createServer, type TLSSocket } from 'node:tls';
import { CA_CERT_FILE, CA_KEY_FILE, CERT_CHAIN_FILE, ROOT_CERT_FILE, type CaFiles } from '../../src/security/ca/ca-files.js';
import { CaMaterialError, validateCaFiles } from '../../src/security/ca/ca-material.js';
import { MeshCa, type IssuedSvid } from '../../src/security/ca/mesh-ca.js';
import { generateRootCaFiles } from '../../src/security/ca/self-signed-root.js';
import { workloadSpiffeId, type WorkloadIdentity } from '../../src/security/spiffe.js';
import { x509 } from '../../src/security/x509.js';
import { makeCert, makeCsr, type Pem } from './pki.js';

const HOUR = 3600_000;

function cacerts(signer: Pem, root: Pem, chain?: string): CaFiles {
  return {
    [CA_CERT_FILE]: signer.certPem, [CA_KEY_FILE]: signer.keyPem, [ROOT_CERT_FILE]: root.certPem,
    ...(chain !== undefined ? { [CERT_CHAIN_FILE]: chain } : {}),
  };
}

function refusal(files: CaFiles): string {
  try {
    validateCaFiles(files, 'Secret pilotfish-system/pilotfish-ca');
  } catch (err) {
    assert.ok(err instanceof CaMaterialError, String(err));
    return err.message;
  }
  throw new Error('expected the CA material to be refused');
}

describe('security/ca material', () => {
  let root: Pem;
  let intermediate: Pem;
  let otherRoot: Pem;

  before(async () => {
    root = await makeCert({ subject: 'CN=corp root, O=corp' });
    intermediate = await makeCert({ subject: 'CN=mesh signer, O=corp', issuer: root });
    otherRoot = await makeCert({ subject: 'CN=someone else\'s root' });
  });

  it('accepts an intermediate with its chain, and an RSA or P-384 CA', async () => {
    const m = validateCaFiles(cacerts(intermediate, root, intermediate.certPem + root.certPem), 'test');
    assert.deepEqual(m.chainPems, [intermediate.certPem]);
    assert.deepEqual(m.trustBundle, [root.certPem]);
    for (const keyKind of ['rsa2048', 'p384'] as const) {
      const other = await makeCert({ subject: `CN=${keyKind} root`, keyKind });
      const ca = await MeshCa.create(validateCaFiles(cacerts(other, other), 'test'));
      const id: WorkloadIdentity = { trustDomain: 'cluster.local', namespace: 'a', serviceAccount: 'b' };
      const issued = await ca.sign((await makeCsr(workloadSpiffeId(id))).csrPem, id);
      assert.ok(await new x509.X509Certificate(issued.certChain[0]).verify({ publicKey: new x509.X509Certificate(other.certPem).publicKey }));
    }
  });

  it('names a missing file', () => {
    assert.match(refusal({ [CA_CERT_FILE]: root.certPem, [CA_KEY_FILE]: root.keyPem }),
      /^CA material in Secret pilotfish-system\/pilotfish-ca: root-cert\.pem is missing$/);
    assert.match(refusal({ [CA_CERT_FILE]: root.certPem, [ROOT_CERT_FILE]: root.certPem }), /ca-key\.pem is missing/);
  });

  it('refuses a key that is not the certificate\'s', () => {
    assert.match(refusal({ ...cacerts(root, root), [CA_KEY_FILE]: otherRoot.keyPem }), /ca-key\.pem is not the key of the certificate in ca-cert\.pem/);
  });

  it('refuses a key that is not a key, and an encrypted one', () => {
    assert.match(refusal({ ...cacerts(root, root), [CA_KEY_FILE]: root.certPem }), /ca-key\.pem is not an unencrypted PEM private key/);
    const encrypted = createPrivateKey(root.keyPem).export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'secret' });
    assert.match(String(encrypted), /ENCRYPTED PRIVATE KEY/);
    assert.match(refusal({ ...cacerts(root, root), [CA_KEY_FILE]: String(encrypted) }), /ca-key\.pem is not an unencrypted PEM private key/);
  });

  it('refuses a signing certificate that is not a CA, or may not sign certificates', async () => {
    const leaf = await makeCert({ subject: 'CN=just a server', issuer: root, ca: false });
    assert.match(refusal(cacerts(leaf, root)), /"CN=just a server" is not a CA certificate/);
    const noSign = await makeCert({ subject: 'CN=crl only', issuer: root, keyUsage: x509.KeyUsageFlags.cRLSign });
    assert.match(refusal(cacerts(noSign, root)), /"CN=crl only" may not sign certificates/);
  });

  it('refuses a chain that does not reach a root of the bundle', () => {
    assert.match(refusal(cacerts(intermediate, otherRoot, intermediate.certPem)),
      /ca-cert\.pem does not chain to any certificate in root-cert\.pem: no certificate in cert-chain\.pem or root-cert\.pem issued "CN=mesh signer, O=corp"/);
    assert.match(refusal(cacerts(intermediate, otherRoot)), /there is no cert-chain\.pem/);
  });

  it('refuses an expired signing certificate', async () => {
    const old = await makeCert({ subject: 'CN=old signer', issuer: root, notBefore: new Date(Date.now() - 10 * HOUR), notAfter: new Date(Date.now() - HOUR) });
    assert.match(refusal(cacerts(old, root)), /"CN=old signer" expired on/);
  });

  it('refuses two certificates in ca-cert.pem', () => {
    assert.match(refusal({ ...cacerts(intermediate, root), [CA_CERT_FILE]: intermediate.certPem + root.certPem }), /exactly one certificate/);
  });

  describe('root rotation', () => {
    const client: WorkloadIdentity = { trustDomain: 'cluster.local', namespace: 'shop', serviceAccount: 'frontend' };
    const server: WorkloadIdentity = { trustDomain: 'cluster.local', namespace: 'shop', serviceAccount: 'backend' };

    async function issue(ca: MeshCa, who: WorkloadIdentity): Promise<IssuedSvid & { keyPem: string }> {
      const { csrPem, keys } = await makeCsr(workloadSpiffeId(who));
      const issued = await ca.sign(csrPem, who, HOUR);
      const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)).toString('base64');
      return { ...issued, keyPem: `-----BEGIN PRIVATE KEY-----\n${pkcs8.match(/.{1,64}/g)?.join('\n')}\n-----END PRIVATE KEY-----\n` };
    }

    /** A real mTLS handshake: the server requires a client certificate, both sides verify against their bundle. */
    async function handshake(serverCert: IssuedSvid & { keyPem: string }, serverTrust: readonly string[],
      clientCert: IssuedSvid & { keyPem: string }, clientTrust: readonly string[]): Promise<string> {
      const srv = createServer({
        key: serverCert.keyPem, cert: serverCert.certChain.join(''), ca: [...serverTrust], requestCert: true, rejectUnauthorized: true,
      }, (socket: TLSSocket) => {
        socket.end(socket.getPeerCertificate().subjectaltname ?? '');
      });
      srv.on('tlsClientError', () => undefined);
      srv.listen(0, '127.0.0.1');
      await once(srv, 'listening');
      try {
        const socket = connect({
          host: '127.0.0.1', port: (srv.address() as AddressInfo).port, key: clientCert.keyPem, cert: clientCert.certChain.join(''),
          ca: [...clientTrust], checkServerIdentity: () => undefined,
        });
        const chunks: Buffer[] = [];
        let failure = '';
        socket.on('data', (c: Buffer) => chunks.push(c));
        socket.on('error', (err) => { failure = err.message; });
        await new Promise((resolve) => socket.once('close', resolve));
        // The server writes the client's SAN only after accepting its certificate; a refusal
        // reaches a TLS 1.3 client as an alert or a bare close after its own handshake finished.
        const answer = Buffer.concat(chunks).toString();
        const outcome = answer !== '' ? `ok ${answer}` : `error ${failure || 'closed without an answer'}`;
        socket.destroy();
        return outcome;
      } finally {
        srv.close();
      }
    }

    it('old and new roots both verify while the bundle holds both', async () => {
      const oldFiles = await generateRootCaFiles();
      // Same subject as the old root, as when an operator makes a new default root: verifiers tell
      // the two apart by key identifiers and signatures.
      const newFiles = await generateRootCaFiles();
      const oldRoot = oldFiles[ROOT_CERT_FILE] ?? '';
      const newRoot = newFiles[ROOT_CERT_FILE] ?? '';
      // Step 1: the new root joins the bundle; signing stays with the old one.
      const step1 = await MeshCa.create(validateCaFiles({ ...oldFiles, [ROOT_CERT_FILE]: oldRoot + newRoot }, 'step 1'));
      assert.deepEqual(step1.trustBundle, [oldRoot, newRoot]);
      // Step 2: signing switches to the new root; the bundle still holds both.
      const step2 = await MeshCa.create(validateCaFiles({ ...newFiles, [ROOT_CERT_FILE]: oldRoot + newRoot }, 'step 2'));
      // The root the CA signs under comes first, so the published bundle changes with the signer.
      assert.deepEqual(step2.trustBundle, [newRoot, oldRoot]);
      const oldClient = await issue(step1, client);
      const newServer = await issue(step2, server);
      const both = step2.trustBundle;
      assert.equal(await handshake(newServer, both, oldClient, both), `ok URI:${workloadSpiffeId(client)}`);
      const newClient = await issue(step2, client);
      const oldServer = await issue(step1, server);
      assert.equal(await handshake(oldServer, both, newClient, both), `ok URI:${workloadSpiffeId(client)}`);
      // Removing the old root too early breaks exactly the pairs still holding old certificates.
      assert.match(await handshake(newServer, [newRoot], oldClient, both), /^error/);
      assert.match(await handshake(newServer, both, oldClient, [oldRoot]), /^error/);
      // Step 3: once every certificate is from the new root, the old root goes.
      const step3 = await MeshCa.create(validateCaFiles(newFiles, 'step 3'));
      assert.deepEqual(step3.trustBundle, [newRoot]);
      assert.equal(await handshake(newServer, step3.trustBundle, newClient, step3.trustBundle), `ok URI:${workloadSpiffeId(client)}`);
    });
  });
});
