// Key material for a throw-away control plane: a CA, the API server's serving certificate signed
// by it, and the service-account signing key pair. Keys come from Node's native RSA generator
// (fast); node-forge signs the certificates, because Node can parse X.509 but not create it.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import forge from 'node-forge';

export interface CertAndKey {
  readonly certPem: string;
  readonly keyPem: string;
}

export interface ClusterPki {
  readonly ca: CertAndKey;
  /** For kube-apiserver's --tls-cert-file / --tls-private-key-file. */
  readonly apiServer: CertAndKey;
  /** For --service-account-signing-key-file (private) and --service-account-key-file (public). */
  readonly serviceAccount: { readonly privatePem: string; readonly publicPem: string };
}

// Back-dated so a clock that is a little behind still accepts the certificates.
const BACKDATE_MS = 60 * 60 * 1000;
const VALIDITY_MS = 7 * 24 * 60 * 60 * 1000;

function rsaKey(): { forgeKey: forge.pki.rsa.PrivateKey; privatePem: string; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  return { forgeKey: forge.pki.privateKeyFromPem(privateKey), privatePem: privateKey, publicPem: publicKey };
}

function newCertificate(key: forge.pki.rsa.PrivateKey, now: Date): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.rsa.setPublicKey(key.n, key.e);
  const serial = randomBytes(16);
  serial[0]! &= 0x7f; // DER INTEGER: keep it positive
  cert.serialNumber = serial.toString('hex');
  cert.validity.notBefore = new Date(now.getTime() - BACKDATE_MS);
  cert.validity.notAfter = new Date(now.getTime() + VALIDITY_MS);
  return cert;
}

/** hosts: DNS names and IP addresses the API server certificate must be valid for. */
export function createClusterPki(hosts: readonly string[], now = new Date()): ClusterPki {
  const caKey = rsaKey();
  const caCert = newCertificate(caKey.forgeKey, now);
  const caName = [{ name: 'commonName', value: 'pilotfish-e2e-ca' }];
  caCert.setSubject(caName);
  caCert.setIssuer(caName);
  caCert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  caCert.sign(caKey.forgeKey, forge.md.sha256.create());

  const serverKey = rsaKey();
  const serverCert = newCertificate(serverKey.forgeKey, now);
  serverCert.setSubject([{ name: 'commonName', value: 'kube-apiserver' }]);
  serverCert.setIssuer(caName);
  serverCert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: hosts.map((h) => (isIP(h) ? { type: 7, ip: h } : { type: 2, value: h })) },
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  serverCert.sign(caKey.forgeKey, forge.md.sha256.create());

  const saKey = rsaKey();
  return {
    ca: { certPem: forge.pki.certificateToPem(caCert), keyPem: caKey.privatePem },
    apiServer: { certPem: forge.pki.certificateToPem(serverCert), keyPem: serverKey.privatePem },
    serviceAccount: { privatePem: saKey.privatePem, publicPem: saKey.publicPem },
  };
}

/** A bearer token for the static token file: 32 random bytes, hex. */
export function newToken(): string {
  return randomBytes(32).toString('hex');
}
