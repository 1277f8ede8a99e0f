// A fresh key pair per certificate, made in the pod and kept in memory; only the CSR (public key
// plus the SPIFFE ID it asks for, signed with the private key) leaves the pod.
import { webcrypto } from 'node:crypto';
import { toPem } from '../security/pem.js';
import { x509 } from '../security/x509.js';

interface WorkloadKey {
  /** PKCS#8 PEM, for key.pem and for SDS. */
  readonly privateKeyPem: string;
  /** SubjectPublicKeyInfo DER, to recognise the certificate issued for this key. */
  readonly publicKeySpki: Buffer;
  readonly csrPem: string;
}

const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };

/** An EC P-256 key and a CSR whose only subject alternative name is `spiffeId`. */
export async function newWorkloadKey(spiffeId: string): Promise<WorkloadKey> {
  const keys = await webcrypto.subtle.generateKey(EC_P256, true, ['sign', 'verify']);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    keys,
    signingAlgorithm: EC_P256,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: spiffeId }], false)],
  });
  return {
    privateKeyPem: toPem('PRIVATE KEY', new Uint8Array(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey))),
    publicKeySpki: Buffer.from(await webcrypto.subtle.exportKey('spki', keys.publicKey)),
    csrPem: toPem('CERTIFICATE REQUEST', new Uint8Array(csr.rawData)),
  };
}
