// The CA's answer is checked before anything is written or served: the leaf is for our key and our
// SPIFFE ID only, is not a CA, is valid now, and its chain verifies up to a root of the bundle the
// answer carries (the bundle peers will verify us against). A CA bug or a misrouted answer thus
// never installs a certificate that would fail every handshake.
import { X509Certificate, createPublicKey } from 'node:crypto';
import { certificatePems } from '../security/pem.js';

/** Bounds on the answer's lists (a chain of leaf + a few intermediates, a bundle of a few roots). */
const MAX_CHAIN_CERTIFICATES = 8;
const MAX_BUNDLE_CERTIFICATES = 32;

export class AnswerRejectedError extends Error {
  override readonly name = 'AnswerRejectedError';
}

interface CheckedCertificate {
  /** Canonical PEMs, leaf first. */
  readonly certChain: readonly string[];
  readonly trustBundle: readonly string[];
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly serialNumber: string;
}

function stringList(value: unknown, field: string, max: number): string[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > max || !value.every((v) => typeof v === 'string')) {
    throw new AnswerRejectedError(`the answer's ${field} must be a list of 1 to ${max} PEM strings`);
  }
  return value as string[];
}

function parseAll(pems: string[], field: string): { pem: string; cert: X509Certificate }[] {
  return pems.map((text, i) => {
    const [pem, ...extra] = certificatePems(text);
    if (!pem || extra.length > 0) throw new AnswerRejectedError(`${field}[${i}] is not exactly one PEM certificate`);
    try {
      return { pem, cert: new X509Certificate(pem) };
    } catch {
      throw new AnswerRejectedError(`${field}[${i}] cannot be parsed`);
    }
  });
}

function issuedBy(child: X509Certificate, parent: X509Certificate): boolean {
  return child.checkIssued(parent) && child.verify(parent.publicKey);
}

export function checkAnswer(body: unknown, expected: { spiffeId: string; publicKeySpki: Buffer; now: Date }): CheckedCertificate {
  if (body === null || typeof body !== 'object') throw new AnswerRejectedError('the answer is not a JSON object');
  const fields = body as { certChain?: unknown; trustBundle?: unknown };
  const chain = parseAll(stringList(fields.certChain, 'certChain', MAX_CHAIN_CERTIFICATES), 'certChain');
  const bundle = parseAll(stringList(fields.trustBundle, 'trustBundle', MAX_BUNDLE_CERTIFICATES), 'trustBundle');
  const leaf = chain[0].cert;

  const leafKey = leaf.publicKey.export({ type: 'spki', format: 'der' });
  const ourKey = createPublicKey({ key: expected.publicKeySpki, format: 'der', type: 'spki' }).export({ type: 'spki', format: 'der' });
  if (!leafKey.equals(ourKey)) throw new AnswerRejectedError('the certificate is not for the key this agent made');
  if (leaf.subjectAltName !== `URI:${expected.spiffeId}`) {
    throw new AnswerRejectedError(`the certificate must name exactly ${expected.spiffeId}`);
  }
  if (leaf.ca) throw new AnswerRejectedError('the certificate is a CA certificate');
  const notBefore = new Date(leaf.validFrom);
  const notAfter = new Date(leaf.validTo);
  if (notAfter.getTime() <= expected.now.getTime()) throw new AnswerRejectedError('the certificate has already expired');
  if (notBefore.getTime() > expected.now.getTime()) throw new AnswerRejectedError('the certificate is not valid yet (check the clocks)');

  for (let i = 0; i + 1 < chain.length; i++) {
    if (!issuedBy(chain[i].cert, chain[i + 1].cert)) throw new AnswerRejectedError(`certChain[${i}] was not issued by certChain[${i + 1}]`);
  }
  const top = chain[chain.length - 1];
  if (!bundle.some((root) => root.pem === top.pem || issuedBy(top.cert, root.cert))) {
    throw new AnswerRejectedError('the certificate chain does not verify to any root of the trust bundle');
  }
  return {
    certChain: chain.map((c) => c.pem), trustBundle: bundle.map((b) => b.pem), notBefore, notAfter, serialNumber: leaf.serialNumber,
  };
}
