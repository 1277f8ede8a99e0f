// The mesh root pilotfish makes for itself on first start when no CA was plugged in: EC P-256,
// ten years, allowed to sign certificates and CRLs and nothing else. It signs workload
// certificates directly (no intermediate): the key lives only in pilotfish's Secret or directory.
import { randomBytes, webcrypto } from 'node:crypto';
import { toPem } from '../pem.js';
import { x509 } from '../x509.js';
import { CA_CERT_FILE, CA_KEY_FILE, CERT_CHAIN_FILE, ROOT_CERT_FILE, type CaFiles } from './ca-files.js';

export const ROOT_SUBJECT = 'O=pilotfish, CN=pilotfish mesh root';
const ROOT_VALIDITY_YEARS = 10;
/** Back-dating, so a node whose clock is a little slow accepts a root made a moment ago. */
const ROOT_BACKDATE_MS = 60 * 60 * 1000;

interface RootOptions {
  readonly now?: Date;
  readonly validityYears?: number;
  /** Subject, default ROOT_SUBJECT; rotation tests make a second root with another name. */
  readonly subject?: string;
}

export async function generateRootCaFiles(options: RootOptions = {}): Promise<CaFiles> {
  const now = options.now ?? new Date();
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const notAfter = new Date(now);
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + (options.validityYears ?? ROOT_VALIDITY_YEARS));
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomBytes(16).toString('hex'),
    name: options.subject ?? ROOT_SUBJECT,
    notBefore: new Date(now.getTime() - ROOT_BACKDATE_MS),
    notAfter,
    keys,
    signingAlgorithm: alg,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const certPem = toPem('CERTIFICATE', new Uint8Array(cert.rawData));
  const keyPem = toPem('PRIVATE KEY', new Uint8Array(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)));
  return { [CA_CERT_FILE]: certPem, [CA_KEY_FILE]: keyPem, [CERT_CHAIN_FILE]: certPem, [ROOT_CERT_FILE]: certPem };
}
