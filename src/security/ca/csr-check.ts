// What the CA accepts from a certificate signing request: a well-formed PKCS#10 request, signed
// by the key it carries (proof the caller holds that key), for a key type peers can use, asking for
// exactly one name, a workload SPIFFE ID. Everything else in the request (subject, other
// extensions, attributes) is ignored: the certificate's content is decided by the CA alone.
import { createPublicKey } from 'node:crypto';
import { pemBlocks } from '../pem.js';
import { parseWorkloadSpiffeId, SpiffeIdError, type WorkloadIdentity } from '../spiffe.js';
import { x509 } from '../x509.js';

export type CsrRejection =
  | 'csr_malformed'
  | 'csr_bad_signature'
  | 'identity_mismatch_trust_domain'
  | 'identity_mismatch_namespace'
  | 'identity_mismatch_service_account';

/** A request the CA will not sign, with a reason code and a sentence safe to send back and log. */
export class CsrRejectedError extends Error {
  override readonly name = 'CsrRejectedError';
  constructor(readonly reason: CsrRejection, message: string) {
    super(message);
  }
}

interface InspectedCsr {
  /** SubjectPublicKeyInfo, DER. */
  readonly publicKeySpki: Buffer;
  /** The one URI SAN, as written. */
  readonly spiffeId: string;
  readonly identity: WorkloadIdentity;
}

/** Bound on a CSR's PEM text; the HTTP body bound (16 KiB) is the tighter one in practice. */
const MAX_CSR_PEM_BYTES = 16 * 1024;

const SAN_OID = '2.5.29.17';

function malformed(message: string): never {
  throw new CsrRejectedError('csr_malformed', message);
}

function checkKeyType(spki: Buffer): void {
  let key;
  try {
    key = createPublicKey({ key: spki, format: 'der', type: 'spki' });
  } catch {
    return malformed('the CSR\'s public key cannot be read');
  }
  const curve = key.asymmetricKeyDetails?.namedCurve;
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (key.asymmetricKeyType === 'ec' && (curve === 'prime256v1' || curve === 'secp384r1')) return;
  if (key.asymmetricKeyType === 'rsa' && bits >= 2048 && bits <= 4096) return;
  malformed('the CSR\'s key must be EC P-256 or P-384, or RSA of 2048 to 4096 bits');
}

/** Parses and checks a CSR; throws CsrRejectedError (csr_malformed or csr_bad_signature). */
export async function inspectCsr(pem: string): Promise<InspectedCsr> {
  if (Buffer.byteLength(pem, 'utf8') > MAX_CSR_PEM_BYTES) malformed(`the CSR is larger than ${MAX_CSR_PEM_BYTES} bytes`);
  const blocks = pemBlocks(pem);
  if (blocks.length !== 1 || blocks[0].label !== 'CERTIFICATE REQUEST') {
    malformed('the CSR must be exactly one PEM block labelled CERTIFICATE REQUEST');
  }
  let csr: InstanceType<typeof x509.Pkcs10CertificateRequest>;
  try {
    csr = new x509.Pkcs10CertificateRequest(new Uint8Array(blocks[0].der));
  } catch {
    return malformed('the CSR is not a valid PKCS#10 certificate request');
  }
  let spki: Buffer;
  try {
    spki = Buffer.from(csr.publicKey.rawData);
  } catch {
    return malformed('the CSR\'s public key cannot be read');
  }
  checkKeyType(spki);
  let signed: boolean;
  try {
    signed = await csr.verify();
  } catch {
    return malformed('the CSR\'s signature algorithm is not supported');
  }
  if (!signed) throw new CsrRejectedError('csr_bad_signature', 'the CSR\'s signature does not verify with the key it carries');

  let sans: InstanceType<typeof x509.Extension>[];
  try {
    sans = csr.extensions.filter((e) => e.type === SAN_OID);
  } catch {
    return malformed('the CSR\'s requested extensions cannot be read');
  }
  if (sans.length !== 1) malformed('the CSR must request exactly one subject alternative name extension');
  let names: { type: string; value: string }[];
  try {
    names = new x509.SubjectAlternativeNameExtension(sans[0].rawData).names.toJSON();
  } catch {
    return malformed('the CSR\'s subject alternative names cannot be read');
  }
  if (names.length !== 1 || names[0].type !== 'url') {
    malformed('the CSR must name exactly one subject alternative name, the caller\'s SPIFFE ID as a URI');
  }
  const spiffeId = names[0].value;
  let identity: WorkloadIdentity;
  try {
    identity = parseWorkloadSpiffeId(spiffeId);
  } catch (err) {
    if (err instanceof SpiffeIdError) malformed(`the CSR's URI is not a workload SPIFFE ID: ${err.message}`);
    throw err;
  }
  return { publicKeySpki: spki, spiffeId, identity };
}

/** Throws CsrRejectedError unless the CSR names exactly the authenticated identity. */
export function requireIdentity(csr: InspectedCsr, caller: WorkloadIdentity): void {
  const asked = csr.identity;
  if (asked.trustDomain !== caller.trustDomain) {
    throw new CsrRejectedError('identity_mismatch_trust_domain',
      `the CSR names trust domain ${asked.trustDomain}, but this CA issues identities in ${caller.trustDomain}`);
  }
  if (asked.namespace !== caller.namespace) {
    throw new CsrRejectedError('identity_mismatch_namespace',
      `the CSR names namespace ${asked.namespace}, but the caller's token is for namespace ${caller.namespace}`);
  }
  if (asked.serviceAccount !== caller.serviceAccount) {
    throw new CsrRejectedError('identity_mismatch_service_account',
      `the CSR names service account ${asked.serviceAccount}, but the caller's token is for service account ${caller.serviceAccount}`);
  }
}
