// The signer: turns an authenticated caller's CSR into an X.509-SVID (SPIFFE X.509-SVID standard)
// and issues the control plane's own serving certificate. An instance holds one validated CA
// material; a rotation builds a new instance and swaps it in (see README "Root rotation").
import { randomBytes, webcrypto, type KeyObject } from 'node:crypto';
import { toPem } from '../pem.js';
import { workloadSpiffeId, type WorkloadIdentity } from '../spiffe.js';
import { x509 } from '../x509.js';
import type { CaMaterial } from './ca-material.js';
import { inspectCsr, requireIdentity } from './csr-check.js';

export const DEFAULT_WORKLOAD_TTL_MS = 24 * 60 * 60 * 1000;
const DEFAULT_MAX_WORKLOAD_TTL_MS = 7 * DEFAULT_WORKLOAD_TTL_MS;
/** notBefore is set this far in the past so peers whose clocks lag accept a fresh certificate. */
export const CLOCK_SKEW_MS = 5 * 60 * 1000;
/** The issued certificates' subject. The SPIFFE ID is in the URI SAN; the subject only helps humans reading `openssl x509`. */
const LEAF_SUBJECT = 'O=pilotfish';

export interface MeshCaOptions {
  /** Upper bound on any requested TTL; default 7 days. */
  readonly maxTtlMs?: number;
  readonly now?: () => Date;
}

interface IssuedCertificate {
  /** Leaf first, then the CA certificates up to (not including) a root of the bundle. */
  readonly certChain: readonly string[];
  readonly trustBundle: readonly string[];
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Hex, for logs and revocation lists. */
  readonly serialNumber: string;
}

export interface IssuedSvid extends IssuedCertificate {
  readonly spiffeId: string;
}

export interface ServingCertificate extends IssuedCertificate {
  /** PKCS#8 PEM; made here for the control plane's own listener, and never sent anywhere. */
  readonly keyPem: string;
}

interface ServingCertificateRequest {
  readonly dnsNames: readonly string[];
  readonly ipAddresses?: readonly string[];
  /** Also carry this SPIFFE ID (pilotfish's own identity), so workloads can authorize it like any peer. */
  readonly spiffeId?: string;
  readonly ttlMs?: number;
}

function wholeSeconds(ms: number): number {
  return Math.floor(ms / 1000) * 1000;
}

type SigningAlgorithm = webcrypto.EcdsaParams | webcrypto.Algorithm;

function signingAlgorithm(key: KeyObject): {
  importAlg: webcrypto.EcKeyImportParams | webcrypto.RsaHashedImportParams; signAlg: SigningAlgorithm;
} {
  if (key.asymmetricKeyType === 'rsa') {
    return { importAlg: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, signAlg: { name: 'RSASSA-PKCS1-v1_5' } };
  }
  const p384 = key.asymmetricKeyDetails?.namedCurve === 'secp384r1';
  return {
    importAlg: { name: 'ECDSA', namedCurve: p384 ? 'P-384' : 'P-256' },
    signAlg: { name: 'ECDSA', hash: p384 ? 'SHA-384' : 'SHA-256' },
  };
}

export class MeshCa {
  private readonly maxTtlMs: number;
  private readonly now: () => Date;

  private constructor(
    readonly material: CaMaterial,
    private readonly signingKey: webcrypto.CryptoKey,
    private readonly signAlg: SigningAlgorithm,
    private readonly authorityKeyId: string,
    private readonly issuerName: InstanceType<typeof x509.Name>,
    options: MeshCaOptions,
  ) {
    this.maxTtlMs = options.maxTtlMs ?? DEFAULT_MAX_WORKLOAD_TTL_MS;
    this.now = options.now ?? (() => new Date());
  }

  static async create(material: CaMaterial, options: MeshCaOptions = {}): Promise<MeshCa> {
    const { importAlg, signAlg } = signingAlgorithm(material.signingKey);
    const pkcs8 = material.signingKey.export({ type: 'pkcs8', format: 'der' });
    const key = await webcrypto.subtle.importKey('pkcs8', pkcs8, importAlg, false, ['sign']);
    const signing = new x509.X509Certificate(new Uint8Array(material.signingCert.raw));
    const ski = signing.getExtension(x509.SubjectKeyIdentifierExtension);
    const authorityKeyId = ski?.keyId
      ?? Buffer.from(await signing.publicKey.getKeyIdentifier()).toString('hex');
    return new MeshCa(material, key, signAlg, authorityKeyId, signing.subjectName, options);
  }

  get trustBundle(): readonly string[] {
    return this.material.trustBundle;
  }

  /**
   * Signs `csrPem` for `caller`, whose identity comes from authentication (never from the CSR).
   * Throws CsrRejectedError when the CSR is malformed, badly signed, or names another identity.
   */
  async sign(csrPem: string, caller: WorkloadIdentity, ttlMs: number = DEFAULT_WORKLOAD_TTL_MS): Promise<IssuedSvid> {
    const csr = await inspectCsr(csrPem);
    requireIdentity(csr, caller);
    const spiffeId = workloadSpiffeId(caller);
    const issued = await this.issue(csr.publicKeySpki, [{ type: 'url', value: spiffeId }], ttlMs);
    return { ...issued, spiffeId };
  }

  /** A serving certificate (DNS/IP SANs) for the control plane's own TLS port, key made here. */
  async issueServingCertificate(request: ServingCertificateRequest): Promise<ServingCertificate> {
    if (request.dnsNames.length === 0 && (request.ipAddresses ?? []).length === 0) {
      throw new Error('a serving certificate needs at least one DNS name or IP address');
    }
    const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
    const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
    const spki = Buffer.from(await webcrypto.subtle.exportKey('spki', keys.publicKey));
    const names = [
      ...request.dnsNames.map((value) => ({ type: 'dns' as const, value })),
      ...(request.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value })),
      ...(request.spiffeId ? [{ type: 'url' as const, value: request.spiffeId }] : []),
    ];
    const issued = await this.issue(spki, names, request.ttlMs ?? DEFAULT_WORKLOAD_TTL_MS);
    const keyPem = toPem('PRIVATE KEY', new Uint8Array(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)));
    return { ...issued, keyPem };
  }

  private async issue(spki: Buffer, names: { type: 'url' | 'dns' | 'ip'; value: string }[], ttlMs: number): Promise<IssuedCertificate> {
    if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new Error(`a certificate TTL must be a positive number of milliseconds, not ${ttlMs}`);
    const now = this.now().getTime();
    // Whole seconds: what the certificate encodes, so expiresAt equals the leaf's notAfter exactly.
    const notBefore = new Date(wholeSeconds(now - CLOCK_SKEW_MS));
    // Never beyond the CA path: a peer would reject the chain from the first expiry on.
    const notAfter = new Date(wholeSeconds(Math.min(now + Math.min(ttlMs, this.maxTtlMs), this.material.pathNotAfter.getTime())));
    if (notAfter.getTime() <= now) throw new Error(`the signing CA from ${this.material.source} has expired`);
    const serial = randomBytes(16);
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serial.toString('hex'),
      subject: LEAF_SUBJECT,
      // The signing certificate's subject as encoded, so issuer and subject match byte for byte.
      issuer: this.issuerName,
      notBefore,
      notAfter,
      publicKey: new x509.PublicKey(new Uint8Array(spki)),
      signingKey: this.signingKey,
      signingAlgorithm: this.signAlg,
      // No subject key identifier: end-entity certificates are never issuers, and it costs a hash per
      // certificate. The authority key identifier lets verifiers pick the right root when two roots
      // share a name during a rotation.
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth], false),
        new x509.SubjectAlternativeNameExtension(names, false),
        new x509.AuthorityKeyIdentifierExtension(this.authorityKeyId, false),
      ],
    });
    return {
      certChain: [toPem('CERTIFICATE', new Uint8Array(cert.rawData)), ...this.material.chainPems],
      trustBundle: this.material.trustBundle,
      notBefore,
      notAfter,
      // As Node and OpenSSL print it: upper-case hex of the value, without leading zero bytes.
      serialNumber: serial.toString('hex').toUpperCase().replace(/^(00)+(?=.)/, ''),
    };
  }
}
