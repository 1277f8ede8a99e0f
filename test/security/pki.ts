// Test PKI: CAs, intermediates, keys and CSRs made to order (including the wrong ones a plugged-in
// CA or a hostile caller may bring), with @peculiar/x509 so the CA under test is not checking
// certificates made by its own code.
import { webcrypto, X509Certificate } from 'node:crypto';
import { toPem } from '../../src/security/pem.js';
import { x509 } from '../../src/security/x509.js';

export interface Pem {
  readonly certPem: string;
  readonly keyPem: string;
}

type KeyKind = 'p256' | 'p384' | 'rsa2048' | 'rsa1024';

function algorithms(kind: KeyKind): { gen: webcrypto.EcKeyGenParams | webcrypto.RsaHashedKeyGenParams; sign: webcrypto.EcdsaParams | webcrypto.Algorithm } {
  switch (kind) {
    case 'p256': return { gen: { name: 'ECDSA', namedCurve: 'P-256' }, sign: { name: 'ECDSA', hash: 'SHA-256' } };
    case 'p384': return { gen: { name: 'ECDSA', namedCurve: 'P-384' }, sign: { name: 'ECDSA', hash: 'SHA-384' } };
    case 'rsa2048':
    case 'rsa1024':
      return {
        gen: { name: 'RSASSA-PKCS1-v1_5', modulusLength: kind === 'rsa2048' ? 2048 : 1024, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
        sign: { name: 'RSASSA-PKCS1-v1_5' },
      };
  }
}

export async function newKeys(kind: KeyKind = 'p256'): Promise<webcrypto.CryptoKeyPair> {
  return webcrypto.subtle.generateKey(algorithms(kind).gen, true, ['sign', 'verify']);
}

async function keyPem(keys: webcrypto.CryptoKeyPair): Promise<string> {
  return toPem('PRIVATE KEY', new Uint8Array(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)));
}

async function importSigner(issuerKeyPem: string): Promise<webcrypto.CryptoKey> {
  const der = x509.PemConverter.decode(issuerKeyPem)[0];
  for (const alg of [{ name: 'ECDSA', namedCurve: 'P-256' }, { name: 'ECDSA', namedCurve: 'P-384' }, { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }]) {
    try {
      return await webcrypto.subtle.importKey('pkcs8', der, alg, false, ['sign']);
    } catch {
      // next
    }
  }
  throw new Error('test PKI: cannot import the issuer key');
}

export interface CertOptions {
  readonly subject: string;
  /** Signed by this CA; self-signed when absent. */
  readonly issuer?: Pem;
  readonly ca?: boolean;
  readonly keyUsage?: number;
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  readonly keyKind?: KeyKind;
  readonly sans?: { type: 'url' | 'dns' | 'ip' | 'email'; value: string }[];
}

/** A certificate and its key (CA by default: CA:true, keyCertSign|cRLSign). */
export async function makeCert(o: CertOptions): Promise<Pem> {
  const kind = o.keyKind ?? 'p256';
  const keys = await newKeys(kind);
  const ca = o.ca ?? true;
  const now = Date.now();
  const signingKey = o.issuer ? await importSigner(o.issuer.keyPem) : keys.privateKey;
  const issuerName = o.issuer ? new x509.X509Certificate(o.issuer.certPem).subjectName : o.subject;
  const extensions: InstanceType<typeof x509.Extension>[] = [
    new x509.BasicConstraintsExtension(ca, undefined, true),
    new x509.KeyUsagesExtension(o.keyUsage ?? (ca ? x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign
      : x509.KeyUsageFlags.digitalSignature), true),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
  ];
  if (o.sans) extensions.push(new x509.SubjectAlternativeNameExtension(o.sans, false));
  const cert = await x509.X509CertificateGenerator.create({
    subject: o.subject,
    issuer: issuerName,
    notBefore: o.notBefore ?? new Date(now - 60_000),
    notAfter: o.notAfter ?? new Date(now + 365 * 24 * 3600_000),
    publicKey: keys.publicKey,
    signingKey,
    signingAlgorithm: algorithms(o.issuer ? keyKindOf(o.issuer) : kind).sign,
    extensions,
  });
  return { certPem: toPem('CERTIFICATE', new Uint8Array(cert.rawData)), keyPem: await keyPem(keys) };
}

function keyKindOf(pem: Pem): KeyKind {
  const details = new X509Certificate(pem.certPem).publicKey;
  if (details.asymmetricKeyType === 'rsa') return 'rsa2048';
  return details.asymmetricKeyDetails?.namedCurve === 'secp384r1' ? 'p384' : 'p256';
}

export interface CsrOptions {
  readonly names?: { type: 'url' | 'dns' | 'ip' | 'email'; value: string }[];
  readonly keyKind?: KeyKind;
  readonly subject?: string;
  /** Leave out the SAN extension. */
  readonly noSan?: boolean;
  readonly keys?: webcrypto.CryptoKeyPair;
}

export async function makeCsr(spiffeId: string, o: CsrOptions = {}): Promise<{ csrPem: string; keys: webcrypto.CryptoKeyPair }> {
  const kind = o.keyKind ?? 'p256';
  const keys = o.keys ?? await newKeys(kind);
  const names = o.names ?? [{ type: 'url' as const, value: spiffeId }];
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    keys,
    name: o.subject,
    signingAlgorithm: { ...algorithms(kind).sign, ...(kind.startsWith('rsa') ? { hash: 'SHA-256' } : {}) },
    extensions: o.noSan ? [] : [new x509.SubjectAlternativeNameExtension(names, false)],
  });
  return { csrPem: toPem('CERTIFICATE REQUEST', new Uint8Array(csr.rawData)), keys };
}

/** `pem` with one bit of its signature flipped: still parses, no longer verifies. */
export function tamperSignature(csrPem: string): string {
  const der = Buffer.from(x509.PemConverter.decode(csrPem)[0]);
  der[der.length - 3] ^= 0x01;
  return toPem('CERTIFICATE REQUEST', der);
}

export function spki(keys: webcrypto.CryptoKeyPair): Promise<ArrayBuffer> {
  return webcrypto.subtle.exportKey('spki', keys.publicKey);
}
