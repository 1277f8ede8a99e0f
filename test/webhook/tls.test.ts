import assert from 'node:assert/strict';
import { silentLogger } from '../../src/logging.js';
import {
  certInfo, covers, createCa, isIssuedBy, issueServingCert, keyMatches, needsRenewal, splitPem,
} from '../../src/webhook/tls/certs.js';
import { ManagedCertificates, SECRET_CA_BUNDLE, SECRET_TLS_CERT } from '../../src/webhook/tls/managed.js';
import { MemoryCaBundleTarget, MemorySecretStore } from './memory-kube.js';

const DAY = 24 * 3600 * 1000;
const HOSTS = ['pilotfish', 'pilotfish.pilotfish-system', 'pilotfish.pilotfish-system.svc'];

function managed(secrets: MemorySecretStore, target: MemoryCaBundleTarget, clock: { now: Date }): ManagedCertificates {
  return new ManagedCertificates({
    secrets, caBundleTarget: target, namespace: 'pilotfish-system', secretName: 'pilotfish-webhook-tls',
    webhookConfigName: 'pilotfish-sidecar-injector', hosts: HOSTS,
    caValidityDays: 300, certValidityDays: 30, renewFraction: 1 / 3,
    now: () => clock.now, logger: silentLogger(),
  });
}

describe('webhook/tls certificates', () => {
  it('issues a CA and a serving certificate that Node reads back as such', () => {
    const now = new Date();
    const ca = createCa({ commonName: 'test-ca', now, validityDays: 10 });
    const serving = issueServingCert({ ca, hosts: ['svc.ns.svc', '127.0.0.1'], now, validityDays: 2 });
    const info = certInfo(serving.certPem);
    assert.equal(certInfo(ca.certPem).isCa, true);
    assert.equal(info.isCa, false);
    assert.deepEqual(info.dnsNames, ['svc.ns.svc']);
    assert.deepEqual(info.ipAddresses, ['127.0.0.1']);
    assert.ok(covers(info, ['svc.ns.svc', '127.0.0.1']));
    assert.ok(!covers(info, ['other.svc']));
    assert.ok(isIssuedBy(serving.certPem, ca.certPem));
    assert.ok(!isIssuedBy(serving.certPem, createCa({ commonName: 'other', now, validityDays: 1 }).certPem));
    assert.ok(keyMatches(serving));
    assert.ok(!keyMatches({ certPem: serving.certPem, keyPem: ca.keyPem }));
    assert.ok(!needsRenewal(info, now, 1 / 3));
    assert.ok(needsRenewal(info, new Date(now.getTime() + 1.5 * DAY), 1 / 3));
  });

  it('never issues a serving certificate that outlives its CA', () => {
    const now = new Date();
    const ca = createCa({ commonName: 'short', now, validityDays: 1 });
    const serving = issueServingCert({ ca, hosts: ['a'], now, validityDays: 365 });
    assert.ok(certInfo(serving.certPem).notAfter.getTime() <= certInfo(ca.certPem).notAfter.getTime());
  });
});

describe('webhook/tls managed secret', () => {
  it('creates CA and serving certificate, patches the caBundle, and reuses them on the next start', async () => {
    const secrets = new MemorySecretStore();
    const target = new MemoryCaBundleTarget();
    const clock = { now: new Date('2030-01-01T00:00:00Z') };
    const first = await managed(secrets, target, clock).ensure();
    assert.equal(secrets.writes, 1);
    assert.ok(isIssuedBy(first.serving.certPem, first.ca.certPem));
    assert.ok(covers(certInfo(first.serving.certPem), HOSTS));
    assert.equal(target.bundles.get('pilotfish-sidecar-injector'), first.ca.certPem);

    // A second replica (or a restart) adopts what is stored and writes nothing.
    const second = await managed(secrets, target, clock).ensure();
    assert.equal(secrets.writes, 1);
    assert.equal(second.serving.certPem, first.serving.certPem);
    assert.equal(target.calls, 2, 'the caBundle is re-asserted on every check');
  });

  it('renews the serving certificate well before expiry, keeping the CA', async () => {
    const secrets = new MemorySecretStore();
    const target = new MemoryCaBundleTarget();
    const clock = { now: new Date('2030-01-01T00:00:00Z') };
    const m = managed(secrets, target, clock);
    const first = await m.ensure();
    clock.now = new Date(clock.now.getTime() + 15 * DAY); // half of 30 days left: not yet
    assert.equal((await m.ensure()).serving.certPem, first.serving.certPem);
    clock.now = new Date(clock.now.getTime() + 6 * DAY); // 9 of 30 days left: renew
    const renewed = await m.ensure();
    assert.notEqual(renewed.serving.certPem, first.serving.certPem);
    assert.equal(renewed.ca.certPem, first.ca.certPem);
    assert.ok(certInfo(renewed.serving.certPem).notAfter > certInfo(first.serving.certPem).notAfter);
    assert.equal(secrets.writes, 2);
  });

  it('rotates the CA before it expires, keeping the old CA in the bundle while it is valid', async () => {
    const secrets = new MemorySecretStore();
    const target = new MemoryCaBundleTarget();
    const clock = { now: new Date('2030-01-01T00:00:00Z') };
    const m = managed(secrets, target, clock);
    const first = await m.ensure();
    clock.now = new Date(clock.now.getTime() + 250 * DAY); // 50 of 300 days left
    const rotated = await m.ensure();
    assert.notEqual(rotated.ca.certPem, first.ca.certPem);
    assert.ok(isIssuedBy(rotated.serving.certPem, rotated.ca.certPem), 'serving cert re-issued by the new CA');
    const bundle = splitPem(target.bundles.get('pilotfish-sidecar-injector')!);
    assert.deepEqual(bundle.map((p) => p.trim()), [rotated.ca.certPem.trim(), first.ca.certPem.trim()]);
    clock.now = new Date(clock.now.getTime() + 60 * DAY); // the old CA has expired
    const later = await m.ensure();
    assert.deepEqual(splitPem(later.caBundle).map((p) => p.trim()), [rotated.ca.certPem.trim()]);
  });

  it('adopts the Secret another replica created first', async () => {
    const secrets = new MemorySecretStore();
    const target = new MemoryCaBundleTarget();
    const clock = { now: new Date('2030-01-01T00:00:00Z') };
    const other = managed(new MemorySecretStore(), new MemoryCaBundleTarget(), clock);
    const theirs = await other.ensure();
    secrets.beforeNextWrite = () => {
      secrets.put('pilotfish-system', 'pilotfish-webhook-tls', {
        'ca.crt': theirs.ca.certPem, 'ca.key': theirs.ca.keyPem, [SECRET_CA_BUNDLE]: theirs.caBundle,
        [SECRET_TLS_CERT]: theirs.serving.certPem, 'tls.key': theirs.serving.keyPem,
      });
    };
    const mine = await managed(secrets, target, clock).ensure();
    assert.equal(mine.serving.certPem, theirs.serving.certPem);
    assert.equal(secrets.writes, 0);
    assert.equal(target.bundles.get('pilotfish-sidecar-injector'), theirs.caBundle);
  });

  it('replaces unreadable or mismatched contents instead of serving them', async () => {
    const secrets = new MemorySecretStore();
    const target = new MemoryCaBundleTarget();
    const clock = { now: new Date('2030-01-01T00:00:00Z') };
    secrets.put('pilotfish-system', 'pilotfish-webhook-tls', { 'ca.crt': 'garbage', 'tls.crt': 'x', 'tls.key': 'y' });
    const state = await managed(secrets, target, clock).ensure();
    assert.ok(keyMatches(state.serving));
    assert.ok(isIssuedBy(state.serving.certPem, state.ca.certPem));
    assert.equal(secrets.writes, 1);
  });
});
