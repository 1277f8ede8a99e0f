// Validated CA material: what the signer may rely on. Plugged-in material is checked the way a
// peer would check the certificates it leads to (key matches, every certificate on the path is a
// CA that may sign certificates, the path ends at a root of the trust bundle, nothing expired), so
// a bad hand-over fails at start with one clear sentence instead of at the first handshake.
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { certificatePems } from '../pem.js';
import { x509 } from '../x509.js';
import {
  CA_CERT_FILE, CA_KEY_FILE, CERT_CHAIN_FILE, MAX_CA_FILE_BYTES, ROOT_CERT_FILE, type CaFileName, type CaFiles,
} from './ca-files.js';

export class CaMaterialError extends Error {
  override readonly name = 'CaMaterialError';
}

export interface CaMaterial {
  /** Where the material came from, for messages ("Secret pilotfish-system/pilotfish-ca"). */
  readonly source: string;
  readonly signingCert: X509Certificate;
  readonly signingCertPem: string;
  readonly signingKey: KeyObject;
  /** Certificates a leaf is sent with, after the leaf: the signing certificate and intermediates, never a root of the bundle. */
  readonly chainPems: readonly string[];
  /**
   * The roots peers verify against (old and new during a rotation), de-duplicated: first the root
   * the signing certificate chains to, then the others in file order. Putting the signing root
   * first makes the published bundle change when only the signer changes (rotation step 2), which
   * is what tells pod agents to renew early (src/agent/root-watch.ts).
   */
  readonly trustBundle: readonly string[];
  /** The earliest notAfter on the path to the root: no certificate may be valid beyond it. */
  readonly pathNotAfter: Date;
}

/** Longest path from the signing certificate to a root that is followed; real PKIs have 1-3 levels. */
const MAX_PATH_LENGTH = 8;
/** Bound on certificates in cert-chain.pem and root-cert.pem. */
const MAX_BUNDLE_CERTIFICATES = 32;

function fail(source: string, problem: string): never {
  throw new CaMaterialError(`CA material in ${source}: ${problem}`);
}

function required(files: CaFiles, name: CaFileName, source: string): string {
  const text = files[name];
  if (text === undefined || text.trim() === '') fail(source, `${name} is missing`);
  if (Buffer.byteLength(text, 'utf8') > MAX_CA_FILE_BYTES) fail(source, `${name} is larger than ${MAX_CA_FILE_BYTES} bytes`);
  return text;
}

function certificates(text: string, name: CaFileName, source: string): { pem: string; cert: X509Certificate }[] {
  const pems = certificatePems(text);
  if (pems.length > MAX_BUNDLE_CERTIFICATES) fail(source, `${name} holds more than ${MAX_BUNDLE_CERTIFICATES} certificates`);
  return pems.map((pem, i) => {
    try {
      return { pem, cert: new X509Certificate(pem) };
    } catch (err) {
      return fail(source, `certificate ${i + 1} in ${name} cannot be parsed (${(err as Error).message})`);
    }
  });
}

function describe(cert: X509Certificate): string {
  return `"${cert.subject.replace(/\n/g, ', ')}"`;
}

/** The reason `cert` may not sign certificates, or undefined. */
function notACa(cert: X509Certificate): string | undefined {
  // Read with @peculiar/x509: Node's X509Certificate.ca folds key usage into its answer.
  const parsed = new x509.X509Certificate(new Uint8Array(cert.raw));
  if (parsed.getExtension(x509.BasicConstraintsExtension)?.ca !== true) return 'is not a CA certificate (basic constraints CA:TRUE is missing)';
  const ku = parsed.getExtension(x509.KeyUsagesExtension);
  if (ku && (ku.usages & x509.KeyUsageFlags.keyCertSign) === 0) return 'may not sign certificates (key usage lacks keyCertSign)';
  return undefined;
}

function issuedBy(child: X509Certificate, parent: X509Certificate): boolean {
  return child.checkIssued(parent) && child.verify(parent.publicKey);
}

function checkKey(key: KeyObject, source: string): void {
  const type = key.asymmetricKeyType;
  const curve = key.asymmetricKeyDetails?.namedCurve;
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (type === 'ec' && (curve === 'prime256v1' || curve === 'secp384r1')) return;
  if (type === 'rsa' && bits >= 2048 && bits <= 8192) return;
  fail(source, `${CA_KEY_FILE} is a ${type ?? 'unknown'} key${curve ? ` on ${curve}` : ''}${bits ? ` of ${bits} bits` : ''}; `
    + 'supported are EC P-256, EC P-384 and RSA of 2048 to 8192 bits');
}

function timeProblem(cert: X509Certificate, now: Date): string | undefined {
  if (new Date(cert.validTo).getTime() <= now.getTime()) return `expired on ${new Date(cert.validTo).toISOString()}`;
  if (new Date(cert.validFrom).getTime() > now.getTime()) return `is not valid before ${new Date(cert.validFrom).toISOString()}`;
  return undefined;
}

/** Validates stored CA files; throws CaMaterialError with one sentence naming the source, the file and the problem. */
export function validateCaFiles(files: CaFiles, source: string, now: Date = new Date()): CaMaterial {
  const [signing, ...extra] = certificates(required(files, CA_CERT_FILE, source), CA_CERT_FILE, source);
  if (!signing) fail(source, `${CA_CERT_FILE} holds no PEM certificate`);
  if (extra.length > 0) fail(source, `${CA_CERT_FILE} must hold exactly one certificate (the signing CA); put intermediates in ${CERT_CHAIN_FILE}`);

  let signingKey: KeyObject;
  try {
    signingKey = createPrivateKey(required(files, CA_KEY_FILE, source));
  } catch (err) {
    if (err instanceof CaMaterialError) throw err;
    return fail(source, `${CA_KEY_FILE} is not an unencrypted PEM private key (${(err as Error).message})`);
  }
  checkKey(signingKey, source);
  if (!signing.cert.checkPrivateKey(signingKey)) fail(source, `${CA_KEY_FILE} is not the key of the certificate in ${CA_CERT_FILE}`);
  const signingProblem = notACa(signing.cert) ?? timeProblem(signing.cert, now);
  if (signingProblem) fail(source, `the certificate in ${CA_CERT_FILE} ${describe(signing.cert)} ${signingProblem}`);

  const roots = certificates(required(files, ROOT_CERT_FILE, source), ROOT_CERT_FILE, source);
  if (roots.length === 0) fail(source, `${ROOT_CERT_FILE} holds no PEM certificate`);
  const bundle: { pem: string; cert: X509Certificate }[] = [];
  for (const root of roots) {
    if (bundle.some((b) => b.pem === root.pem)) continue;
    const problem = notACa(root.cert);
    if (problem) fail(source, `the certificate ${describe(root.cert)} in ${ROOT_CERT_FILE} ${problem}`);
    bundle.push(root);
  }
  const chain = files[CERT_CHAIN_FILE] === undefined ? [] : certificates(files[CERT_CHAIN_FILE], CERT_CHAIN_FILE, source);

  // Walk from the signing certificate towards a root of the bundle, through cert-chain.pem.
  const chainPems: string[] = [];
  let pathNotAfter = new Date(signing.cert.validTo);
  let current = signing;
  let anchorPem = '';
  for (let depth = 0; ; depth++) {
    const anchor = bundle.find((r) => r.pem === current.pem || issuedBy(current.cert, r.cert));
    if (anchor) {
      anchorPem = anchor.pem;
      if (anchor.pem !== current.pem) chainPems.push(current.pem);
      const rootEnd = new Date(anchor.cert.validTo);
      if (rootEnd < pathNotAfter) pathNotAfter = rootEnd;
      const problem = timeProblem(anchor.cert, now);
      if (problem) fail(source, `the root ${describe(anchor.cert)} in ${ROOT_CERT_FILE} ${problem}`);
      break;
    }
    if (depth >= MAX_PATH_LENGTH) fail(source, `the path from ${CA_CERT_FILE} to a root is longer than ${MAX_PATH_LENGTH} certificates`);
    const parent = chain.find((c) => c.pem !== current.pem && issuedBy(current.cert, c.cert));
    if (!parent) {
      fail(source, `${CA_CERT_FILE} does not chain to any certificate in ${ROOT_CERT_FILE}: no certificate in `
        + `${files[CERT_CHAIN_FILE] === undefined ? `${ROOT_CERT_FILE} (and there is no ${CERT_CHAIN_FILE})` : `${CERT_CHAIN_FILE} or ${ROOT_CERT_FILE}`} `
        + `issued ${describe(current.cert)}`);
    }
    const problem = notACa(parent.cert) ?? timeProblem(parent.cert, now);
    if (problem) fail(source, `the intermediate ${describe(parent.cert)} in ${CERT_CHAIN_FILE} ${problem}`);
    chainPems.push(current.pem);
    const end = new Date(parent.cert.validTo);
    if (end < pathNotAfter) pathNotAfter = end;
    current = parent;
  }

  return {
    source, signingCert: signing.cert, signingCertPem: signing.pem, signingKey, chainPems,
    trustBundle: [anchorPem, ...bundle.map((b) => b.pem).filter((p) => p !== anchorPem)], pathNotAfter,
  };
}
