// The X.509-SVID profile the mesh CA issues, read back with Node's X509Certificate (what peers'
// TLS stacks see) and @peculiar/x509 for the extension details, and every CSR it must refuse.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { CA_CERT_FILE, CA_KEY_FILE, CERT_CHAIN_FILE, ROOT_CERT_FILE } from '../../src/security/ca/ca-files.js';
import { validateCaFiles } from '../../src/security/ca/ca-material.js';
import { CsrRejectedError, type CsrRejection } from '../../src/security/ca/csr-check.js';
import { CLOCK_SKEW_MS, DEFAULT_WORKLOAD_TTL_MS, MeshCa } from '../../src/security/ca/mesh-ca.js';
import { ROOT_SUBJECT, generateRootCaFiles } from '../../src/security/ca/self-signed-root.js';
import { workloadSpiffeId, type WorkloadIdentity } from '../../src/security/spiffe.js';
import { x509 } from '../../src/security/x509.js';
import { makeCert, makeCsr, spki, tamperSignature } from './pki.js';

const CALLER: WorkloadIdentity = { trustDomain: 'cluster.local', namespace: 'shop', serviceAccount: 'frontend' };
const CALLER_ID = workloadSpiffeId(CALLER);
const HOUR = 3600_000;

function issuedBy(child: X509Certificate, parent: X509Certificate): boolean {
  return child.checkIssued(parent) && child.verify(parent.publicKey);
}

async function rejection(p: Promise<unknown>): Promise<CsrRejection> {
  try {
    await p;
  } catch (err) {
    if (err instanceof CsrRejectedError) return err.reason;
    throw err;
  }
  throw new Error('expected the CSR to be refused, but it was signed');
}

describe('security/ca signing', () => {
  let ca: MeshCa;
  let fixedNow: Date;

  before(async () => {
    fixedNow = new Date();
    ca = await MeshCa.create(validateCaFiles(await generateRootCaFiles(), 'test'), { now: () => fixedNow });
  });

  it('makes a self-signed EC P-256 root as specified', async () => {
    const root = new X509Certificate(ca.trustBundle[0]);
    assert.equal(root.subject, 'O=pilotfish\nCN=pilotfish mesh root');
    assert.equal(ROOT_SUBJECT, 'O=pilotfish, CN=pilotfish mesh root');
    assert.equal(root.ca, true);
    assert.equal(root.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    assert.ok(issuedBy(root, root));
    const years = (new Date(root.validTo).getTime() - Date.now()) / (365.25 * 24 * HOUR);
    assert.ok(years > 9.9 && years <= 10.01, `root valid ${years} years`);
    const p = new x509.X509Certificate(ca.trustBundle[0]);
    const bc = p.getExtension(x509.BasicConstraintsExtension);
    assert.equal(bc?.critical, true);
    const ku = p.getExtension(x509.KeyUsagesExtension);
    assert.equal(ku?.usages, x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
    assert.equal(ku?.critical, true);
  });

  it('issues an X.509-SVID: URI SAN only, not a CA, for the CSR key, chained to the root', async () => {
    const { csrPem, keys } = await makeCsr(CALLER_ID, { subject: 'CN=ignored, O=evil' });
    const issued = await ca.sign(csrPem, CALLER, 2 * HOUR);
    assert.equal(issued.spiffeId, CALLER_ID);
    assert.equal(issued.certChain.length, 1, 'a root signer sends the leaf alone');
    const leaf = new X509Certificate(issued.certChain[0]);
    const root = new X509Certificate(issued.trustBundle[0]);
    assert.equal(leaf.subjectAltName, `URI:${CALLER_ID}`);
    assert.equal(leaf.subject, 'O=pilotfish', 'the CSR subject is ignored');
    assert.equal(leaf.ca, false);
    assert.ok(issuedBy(leaf, root));
    assert.deepEqual(leaf.publicKey.export({ type: 'spki', format: 'der' }), Buffer.from(await spki(keys)));
    assert.deepEqual(leaf.keyUsage?.slice().sort(), ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2'], 'EKU serverAuth + clientAuth');

    const p = new x509.X509Certificate(issued.certChain[0]);
    const bc = p.getExtension(x509.BasicConstraintsExtension);
    assert.equal(bc?.ca, false);
    assert.equal(bc?.critical, true);
    const ku = p.getExtension(x509.KeyUsagesExtension);
    assert.equal(ku?.usages, x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment);
    assert.equal(ku?.critical, true);
    const san = p.getExtension(x509.SubjectAlternativeNameExtension);
    assert.deepEqual(san?.names.toJSON(), [{ type: 'url', value: CALLER_ID }]);
    assert.ok(p.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId);

    // 128 random bits: 16 bytes, or 17 with the sign byte.
    assert.ok(leaf.serialNumber.length >= 30 && leaf.serialNumber.length <= 34, leaf.serialNumber);
    assert.equal(issued.serialNumber, leaf.serialNumber);
    assert.equal(issued.notAfter.getTime(), new Date(leaf.validTo).getTime());
    assert.equal(issued.notBefore.getTime(), new Date(leaf.validFrom).getTime());
    const second = new X509Certificate((await ca.sign((await makeCsr(CALLER_ID)).csrPem, CALLER)).certChain[0]);
    assert.notEqual(second.serialNumber, leaf.serialNumber);
  });

  it('back-dates by the clock skew and expires after the TTL, default 24 h, capped by the maximum', async () => {
    const seconds = (d: Date | number): number => Math.floor(new Date(d).getTime() / 1000);
    const two = await ca.sign((await makeCsr(CALLER_ID)).csrPem, CALLER, 2 * HOUR);
    assert.equal(seconds(two.notBefore), seconds(fixedNow.getTime() - CLOCK_SKEW_MS));
    assert.equal(seconds(two.notAfter), seconds(fixedNow.getTime() + 2 * HOUR));
    const standard = await ca.sign((await makeCsr(CALLER_ID)).csrPem, CALLER);
    assert.equal(seconds(standard.notAfter), seconds(fixedNow.getTime() + DEFAULT_WORKLOAD_TTL_MS));
    const capped = await MeshCa.create(ca.material, { maxTtlMs: 3 * HOUR, now: () => fixedNow });
    const long = await capped.sign((await makeCsr(CALLER_ID)).csrPem, CALLER, 30 * 24 * HOUR);
    assert.equal(seconds(long.notAfter), seconds(fixedNow.getTime() + 3 * HOUR));
    await assert.rejects(ca.sign((await makeCsr(CALLER_ID)).csrPem, CALLER, 0), /positive/);
  });

  it('signs through an intermediate, sends it in the chain, and never outlives it', async () => {
    const root = await makeCert({ subject: 'CN=corp root' });
    const soon = new Date(Date.now() + 3 * HOUR);
    const intermediate = await makeCert({ subject: 'CN=mesh intermediate, O=corp', issuer: root, notAfter: soon });
    const material = validateCaFiles({
      [CA_CERT_FILE]: intermediate.certPem, [CA_KEY_FILE]: intermediate.keyPem,
      [CERT_CHAIN_FILE]: intermediate.certPem + root.certPem, [ROOT_CERT_FILE]: root.certPem,
    }, 'corp');
    const corp = await MeshCa.create(material);
    const issued = await corp.sign((await makeCsr(CALLER_ID)).csrPem, CALLER);
    assert.equal(issued.certChain.length, 2);
    const [leaf, inter] = issued.certChain.map((p) => new X509Certificate(p));
    const anchor = new X509Certificate(issued.trustBundle[0]);
    assert.ok(issuedBy(leaf, inter));
    assert.ok(issuedBy(inter, anchor));
    assert.equal(inter.subject, 'CN=mesh intermediate\nO=corp');
    assert.ok(!issued.certChain.includes(root.certPem), 'the root is in the bundle, not the chain');
    assert.ok(new Date(leaf.validTo).getTime() <= new Date(inter.validTo).getTime(), 'capped at the intermediate\'s notAfter');
  });

  it('signs CSRs with P-384 and RSA-2048 keys', async () => {
    for (const keyKind of ['p384', 'rsa2048'] as const) {
      const issued = await ca.sign((await makeCsr(CALLER_ID, { keyKind })).csrPem, CALLER);
      assert.equal(new X509Certificate(issued.certChain[0]).subjectAltName, `URI:${CALLER_ID}`);
    }
  });

  describe('refuses', () => {
    const cases: [string, () => Promise<string>, CsrRejection, WorkloadIdentity?][] = [
      ['a tampered signature', async () => tamperSignature((await makeCsr(CALLER_ID)).csrPem), 'csr_bad_signature'],
      ['text that is not PEM', async () => 'hello', 'csr_malformed'],
      ['a PEM certificate instead of a CSR', async () => (await makeCert({ subject: 'CN=x' })).certPem, 'csr_malformed'],
      ['two CSRs in one PEM', async () => (await makeCsr(CALLER_ID)).csrPem + (await makeCsr(CALLER_ID)).csrPem, 'csr_malformed'],
      ['garbage inside the PEM armour', async () => '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n', 'csr_malformed'],
      ['no SAN', async () => (await makeCsr(CALLER_ID, { noSan: true })).csrPem, 'csr_malformed'],
      ['an extra DNS SAN', async () => (await makeCsr(CALLER_ID, {
        names: [{ type: 'url', value: CALLER_ID }, { type: 'dns', value: 'frontend.shop.svc' }],
      })).csrPem, 'csr_malformed'],
      ['a DNS SAN instead of the URI', async () => (await makeCsr(CALLER_ID, { names: [{ type: 'dns', value: 'frontend' }] })).csrPem, 'csr_malformed'],
      ['two URIs', async () => (await makeCsr(CALLER_ID, {
        names: [{ type: 'url', value: CALLER_ID }, { type: 'url', value: 'spiffe://cluster.local/ns/shop/sa/admin' }],
      })).csrPem, 'csr_malformed'],
      ['a URI that is not a workload SPIFFE ID', async () => (await makeCsr('spiffe://cluster.local/admin')).csrPem, 'csr_malformed'],
      ['an RSA-1024 key', async () => (await makeCsr(CALLER_ID, { keyKind: 'rsa1024' })).csrPem, 'csr_malformed'],
      ['another namespace', async () => (await makeCsr('spiffe://cluster.local/ns/bank/sa/frontend')).csrPem, 'identity_mismatch_namespace'],
      ['another service account', async () => (await makeCsr('spiffe://cluster.local/ns/shop/sa/admin')).csrPem, 'identity_mismatch_service_account'],
      ['another trust domain', async () => (await makeCsr('spiffe://other.org/ns/shop/sa/frontend')).csrPem, 'identity_mismatch_trust_domain'],
    ];
    for (const [what, csr, reason] of cases) {
      it(`${what} (${reason})`, async () => {
        assert.equal(await rejection(ca.sign(await csr(), CALLER)), reason);
      });
    }
  });
});
