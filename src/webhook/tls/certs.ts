// X.509 for the webhook: a self-signed CA and serving certificates signed by it. Node can parse
// certificates (crypto.X509Certificate) but not create them; node-forge does the signing, keys
// come from Node's native RSA generator (fast), and every check reads certificates back with Node.
import { X509Certificate, createPrivateKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import forge from 'node-forge';

export interface KeyPairPem {
  readonly certPem: string;
  readonly keyPem: string;
}

interface CertInfo {
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly fingerprint256: string;
  readonly subject: string;
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
  readonly isCa: boolean;
}

/** Certificates are back-dated by this much so a node with a slightly slow clock accepts them. */
const BACKDATE_MS = 5 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

function newKey(): { forgeKey: forge.pki.rsa.PrivateKey; keyPem: string } {
  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  return { forgeKey: forge.pki.privateKeyFromPem(privateKey), keyPem: privateKey };
}

function serial(): string {
  const bytes = randomBytes(16);
  bytes[0] &= 0x7f; // a positive INTEGER
  return bytes.toString('hex');
}

function publicOf(key: forge.pki.rsa.PrivateKey): forge.pki.rsa.PublicKey {
  return forge.pki.rsa.setPublicKey(key.n, key.e);
}

interface CaOptions {
  readonly commonName: string;
  readonly now: Date;
  readonly validityDays: number;
}

export function createCa(o: CaOptions): KeyPairPem {
  const { forgeKey, keyPem } = newKey();
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicOf(forgeKey);
  cert.serialNumber = serial();
  cert.validity.notBefore = new Date(o.now.getTime() - BACKDATE_MS);
  cert.validity.notAfter = new Date(o.now.getTime() + o.validityDays * DAY_MS);
  const name = [{ name: 'commonName', value: o.commonName }, { name: 'organizationName', value: 'pilotfish' }];
  cert.setSubject(name);
  cert.setIssuer(name);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(forgeKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem };
}

interface ServingCertOptions {
  readonly ca: KeyPairPem;
  /** DNS names and IP addresses the certificate is valid for; the first is the common name. */
  readonly hosts: readonly string[];
  readonly now: Date;
  readonly validityDays: number;
}

export function issueServingCert(o: ServingCertOptions): KeyPairPem {
  if (o.hosts.length === 0) throw new Error('a serving certificate needs at least one host name');
  const caCert = forge.pki.certificateFromPem(o.ca.certPem);
  const caKey = forge.pki.privateKeyFromPem(o.ca.keyPem);
  const { forgeKey, keyPem } = newKey();
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicOf(forgeKey);
  cert.serialNumber = serial();
  cert.validity.notBefore = new Date(o.now.getTime() - BACKDATE_MS);
  // Never outlive the CA: a client would reject the chain from the CA's expiry on.
  const wanted = o.now.getTime() + o.validityDays * DAY_MS;
  cert.validity.notAfter = new Date(Math.min(wanted, caCert.validity.notAfter.getTime()));
  cert.setSubject([{ name: 'commonName', value: o.hosts[0] }]);
  cert.setIssuer(caCert.subject.attributes);
  const altNames = o.hosts.map((h) => (isIP(h) ? { type: 7, ip: h } : { type: 2, value: h }));
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem };
}

/** All certificates in a PEM bundle. */
export function splitPem(bundle: string): string[] {
  return bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)?.map((p) => `${p}\n`) ?? [];
}

export function certInfo(pem: string): CertInfo {
  const x = new X509Certificate(pem);
  const dnsNames: string[] = [];
  const ipAddresses: string[] = [];
  for (const part of (x.subjectAltName ?? '').split(', ')) {
    if (part.startsWith('DNS:')) dnsNames.push(part.slice(4));
    else if (part.startsWith('IP Address:')) ipAddresses.push(part.slice(11));
  }
  return {
    notBefore: new Date(x.validFrom),
    notAfter: new Date(x.validTo),
    fingerprint256: x.fingerprint256,
    subject: x.subject,
    dnsNames,
    ipAddresses,
    isCa: x.ca,
  };
}

/** True when `certPem` was signed by the CA in `caPem`. */
export function isIssuedBy(certPem: string, caPem: string): boolean {
  const cert = new X509Certificate(certPem);
  const ca = new X509Certificate(caPem);
  return cert.checkIssued(ca) && cert.verify(ca.publicKey);
}

/** True when the private key belongs to the certificate. */
export function keyMatches(pair: KeyPairPem): boolean {
  try {
    return new X509Certificate(pair.certPem).checkPrivateKey(createPrivateKey(pair.keyPem));
  } catch {
    return false;
  }
}

/** Renew once less than `fraction` of the lifetime remains (or it is already expired). */
export function needsRenewal(info: CertInfo, now: Date, fraction: number): boolean {
  const lifetime = info.notAfter.getTime() - info.notBefore.getTime();
  return info.notAfter.getTime() - now.getTime() < lifetime * fraction;
}

export function covers(info: CertInfo, hosts: readonly string[]): boolean {
  return hosts.every((h) => (isIP(h) ? info.ipAddresses.includes(h) : info.dnsNames.includes(h)));
}
