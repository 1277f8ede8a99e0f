// Workload certificates for tests: X.509-SVIDs (URI SAN only, not a CA) signed by a test CA, and
// the directory layout the pod agent writes for proxyless gRPC (cert-chain.pem, key.pem,
// root-cert.pem). The mesh CA of src/security issues the real ones; this only has to be valid.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import forge from 'node-forge';
import { CERT_CHAIN_FILE, KEY_FILE, ROOT_CERT_FILE } from '../../src/xds/bootstrap/grpc-bootstrap.js';
import { createCa, type KeyPairPem } from '../../src/webhook/tls/certs.js';

export function testCa(commonName: string): KeyPairPem {
  return createCa({ commonName, now: new Date(), validityDays: 1 });
}

/** A one-day SVID for `spiffeId`, signed by `ca`. */
export function issueSvid(ca: KeyPairPem, spiffeId: string): KeyPairPem {
  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const key = forge.pki.privateKeyFromPem(privateKey);
  const caKey = forge.pki.privateKeyFromPem(ca.keyPem);
  const caCert = forge.pki.certificateFromPem(ca.certPem);
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.rsa.setPublicKey(key.n, key.e);
  const serial = randomBytes(16);
  serial[0] &= 0x7f;
  cert.serialNumber = serial.toString('hex');
  const now = Date.now();
  cert.validity.notBefore = new Date(now - 5 * 60_000);
  cert.validity.notAfter = new Date(now + 24 * 3600_000);
  cert.setSubject([]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
    // An empty subject makes the SAN extension critical (RFC 5280 4.2.1.6).
    { name: 'subjectAltName', critical: true, altNames: [{ type: 6, value: spiffeId }] },
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: privateKey };
}

/** Writes what the pod agent writes for a proxyless workload into `dir`. */
export async function writeWorkloadFiles(dir: string, svid: KeyPairPem, trustBundlePem: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, CERT_CHAIN_FILE), svid.certPem);
  await writeFile(path.join(dir, KEY_FILE), svid.keyPem, { mode: 0o600 });
  await writeFile(path.join(dir, ROOT_CERT_FILE), trustBundlePem);
  return dir;
}
