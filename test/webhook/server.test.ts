// The webhook over real HTTPS, in process: AdmissionReview answers for each kind of request,
// fail-open and deny on internal errors, health, metrics, and certificate files reloaded live.
import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { DEFAULT_INJECTOR_CONFIG, injectPod } from '../../src/webhook/inject.js';
import type { NamespaceLabelSource } from '../../src/webhook/kube.js';
import { InjectionMetrics } from '../../src/webhook/injection-counters.js';
import { applyPodPatch, type Operation } from '../../src/webhook/patch.js';
import type { OnError } from '../../src/webhook/review.js';
import { startWebhookServer, type WebhookServer } from '../../src/webhook/server.js';
import { certInfo, createCa, issueServingCert, type KeyPairPem } from '../../src/webhook/tls/certs.js';
import { ManagedCertificates } from '../../src/webhook/tls/managed.js';
import { FileCertificateSource, ManagedCertificateSource } from '../../src/webhook/tls/source.js';
import { MemoryCaBundleTarget, MemorySecretStore } from './memory-kube.js';
import { request, review } from '../support/https-client.js';
import { LogTap } from '../support/log-tap.js';

class MapNamespaces implements NamespaceLabelSource {
  fail: Error | undefined;
  constructor(private readonly labels_: Record<string, Record<string, string>>) {}
  async labels(ns: string): Promise<Record<string, string> | undefined> {
    if (this.fail) throw this.fail;
    return this.labels_[ns];
  }
}

function pod(name: string): V1Pod {
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name, namespace: 'shop', labels: { app: name } },
    spec: { containers: [{ name: 'app', image: 'example/app:1', readinessProbe: { httpGet: { path: '/ready', port: 8080 } } }] },
  };
}

interface Review { apiVersion: string; kind: string; response: { uid: string; allowed: boolean; patchType?: string; patch?: string; warnings?: string[]; status?: { code: number; message: string } } }

function cert(ca: KeyPairPem): KeyPairPem {
  return issueServingCert({ ca, hosts: ['localhost', '127.0.0.1'], now: new Date(), validityDays: 1 });
}

describe('webhook/server over HTTPS', function () {
  let dir: string;
  let ca1: KeyPairPem;
  let server: WebhookServer;
  let tap: LogTap;
  let namespaces: MapNamespaces;
  let metrics: InjectionMetrics;
  const certFile = (): string => path.join(dir, 'tls.crt');
  const keyFile = (): string => path.join(dir, 'tls.key');

  async function start(onError: OnError): Promise<WebhookServer> {
    return startWebhookServer({
      host: '127.0.0.1', port: 0, logger: tap.logger, limits: { bodyLimit: 256 * 1024 },
      certificates: new FileCertificateSource(certFile(), keyFile(), tap.logger),
      review: {
        injector: DEFAULT_INJECTOR_CONFIG, policy: { controlPlaneNamespace: 'pilotfish-system' },
        namespaces, onError, logger: tap.logger, metrics,
      },
    });
  }

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'pf-webhook-'));
    ca1 = createCa({ commonName: 'ca-one', now: new Date(), validityDays: 2 });
    const serving = cert(ca1);
    writeFileSync(certFile(), serving.certPem);
    writeFileSync(keyFile(), serving.keyPem);
    tap = new LogTap();
    namespaces = new MapNamespaces({ shop: { 'pilotfish.io/inject': 'enabled' }, plain: {} });
    metrics = new InjectionMetrics();
    server = await start('allow');
  });

  after(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('injects: uid echoed, JSONPatch that turns the sent Pod into the injected Pod', async () => {
    const sent = pod('web');
    const res = await request(server.port, ca1.certPem, 'POST', '/inject', review(sent, { uid: 'abc-123' }));
    assert.equal(res.status, 200);
    const r = res.json as Review;
    assert.equal(r.apiVersion, 'admission.k8s.io/v1');
    assert.equal(r.kind, 'AdmissionReview');
    assert.equal(r.response.uid, 'abc-123');
    assert.equal(r.response.allowed, true);
    assert.equal(r.response.patchType, 'JSONPatch');
    const ops = JSON.parse(Buffer.from(r.response.patch!, 'base64').toString('utf8')) as Operation[];
    assert.deepEqual(applyPodPatch(sent, ops), injectPod(sent, DEFAULT_INJECTOR_CONFIG).pod);
    const log = await tap.next((e) => e.message === 'sidecar injected' && e.name === 'web');
    assert.equal(log.namespace, 'shop');
    assert.equal(metrics.get('injected'), 1);
  });

  it('skips a Pod in a namespace that is not labelled: allowed, no patch, logged with the reason', async () => {
    const res = await request(server.port, ca1.certPem, 'POST', '/inject', review(pod('quiet'), { namespace: 'plain' }));
    const r = res.json as Review;
    assert.equal(res.status, 200);
    assert.deepEqual(r.response, { uid: 'uid-1', allowed: true });
    const log = await tap.next((e) => e.message === 'sidecar not injected' && e.name === 'quiet');
    assert.match(String(log.reason), /not labelled/);
    assert.equal(metrics.get('skipped', 'namespace-not-enabled'), 1);
  });

  it('allows a non-Pod object unchanged', async () => {
    const svc = { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: {} };
    const res = await request(server.port, ca1.certPem, 'POST', '/inject', review(svc, { kind: 'Service', uid: 'svc-1' }));
    assert.equal(res.status, 200);
    assert.deepEqual((res.json as Review).response, { uid: 'svc-1', allowed: true });
    assert.equal(metrics.get('ignored', 'not-a-pod'), 1);
  });

  it('answers 400 with the reason to malformed JSON, a review without a request, and a wrong envelope', async () => {
    const bad = await request(server.port, ca1.certPem, 'POST', '/inject', '{"apiVersion": ');
    assert.equal(bad.status, 400);
    assert.match(String((bad.json as { error: string }).error), /JSON/i);
    const noRequest = await request(server.port, ca1.certPem, 'POST', '/inject',
      JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }));
    assert.equal(noRequest.status, 400);
    assert.deepEqual(noRequest.json, { error: 'AdmissionReview has no request' });
    const v1beta1 = await request(server.port, ca1.certPem, 'POST', '/inject',
      JSON.stringify({ apiVersion: 'admission.k8s.io/v1beta1', kind: 'AdmissionReview', request: { uid: 'x' } }));
    assert.equal(v1beta1.status, 400);
    assert.match(String((v1beta1.json as { error: string }).error), /expected apiVersion admission.k8s.io\/v1/);
  });

  it('refuses a body over the limit with 413', async () => {
    const big = review({ ...pod('huge'), metadata: { name: 'huge', annotations: { blob: 'x'.repeat(300 * 1024) } } });
    const res = await request(server.port, ca1.certPem, 'POST', '/inject', big);
    assert.equal(res.status, 413);
    assert.ok((res.json as { error: string }).error);
  });

  it('serves health and metrics', async () => {
    assert.equal((await request(server.port, ca1.certPem, 'GET', '/healthz')).status, 200);
    assert.equal((await request(server.port, ca1.certPem, 'GET', '/readyz')).status, 200);
    const m = await request(server.port, ca1.certPem, 'GET', '/metrics');
    assert.match(m.body, /pilotfish_sidecar_injection_total\{outcome="injected",reason="namespace-label"\} 1/);
  });

  it('fails open on an internal error: allowed without a patch, with a warning, counted and logged', async () => {
    namespaces.fail = new Error('namespaces "shop" is forbidden');
    try {
      const res = await request(server.port, ca1.certPem, 'POST', '/inject', review(pod('oops'), { uid: 'e-1' }));
      const r = res.json as Review;
      assert.equal(res.status, 200);
      assert.equal(r.response.allowed, true);
      assert.equal(r.response.patch, undefined);
      assert.match(r.response.warnings![0], /not injected because of an error: namespaces "shop" is forbidden/);
      const log = await tap.next((e) => e.message === 'sidecar injection failed' && e.name === 'oops');
      assert.equal(log.namespace, 'shop');
      assert.equal(metrics.get('error'), 1);
    } finally {
      namespaces.fail = undefined;
    }
  });

  it('denies on an internal error with --on-error=deny', async () => {
    const denying = await start('deny');
    namespaces.fail = new Error('boom');
    try {
      const res = await request(denying.port, ca1.certPem, 'POST', '/inject', review(pod('strict'), { uid: 'd-1' }));
      const r = res.json as Review;
      assert.equal(r.response.allowed, false);
      assert.equal(r.response.status?.code, 500);
      assert.match(r.response.status!.message, /boom/);
    } finally {
      namespaces.fail = undefined;
      await denying.close();
    }
  });

  it('reloads rewritten certificate files without a restart', async () => {
    const ca2 = createCa({ commonName: 'ca-two', now: new Date(), validityDays: 2 });
    const next = cert(ca2);
    const mark = tap.mark();
    // A key that does not match the certificate yet (written in two steps) is rejected and the
    // old certificate keeps serving; the reload happens once both files agree.
    writeFileSync(keyFile(), next.keyPem);
    writeFileSync(certFile(), next.certPem);
    const fingerprint = certInfo(next.certPem).fingerprint256;
    await tap.next((e) => e.message === 'serving certificate reloaded' && e.fingerprint256 === fingerprint, mark);
    // Never a reload of a half-written pair on the way.
    assert.equal(tap.entries.slice(mark).filter((e) => e.message === 'serving certificate reloaded').length, 1);
    const ok = await request(server.port, ca2.certPem, 'GET', '/healthz');
    assert.equal(ok.status, 200);
    await assert.rejects(request(server.port, ca1.certPem, 'GET', '/healthz'), /certificate/i);
  });

  it('checks the certificate files only when they change: other files written next to them cost no reload', async () => {
    const ca3 = createCa({ commonName: 'ca-three', now: new Date(), validityDays: 2 });
    const next = cert(ca3);
    // Replaced by rename, as kubelet and cert-manager do, so each write is one complete file.
    const replace = (file: string, text: string): void => {
      writeFileSync(`${file}.new`, text);
      renameSync(`${file}.new`, file);
    };
    const mark = tap.mark();
    replace(keyFile(), next.keyPem); // does not match the certificate being served
    await tap.next((e) => e.message === 'TLS files not reloaded; keeping the current certificate', mark);
    // Unrelated files in the watched directory (a log, say): the pair has not changed, so it is
    // neither checked again nor reported again.
    const afterWarning = tap.mark();
    for (let i = 0; i < 5; i++) writeFileSync(path.join(dir, `unrelated-${i}.log`), `line ${i}\n`);
    await tap.next((e) => e.message === 'TLS directory changed, certificate files did not; not checked again', afterWarning);
    replace(certFile(), next.certPem);
    const fingerprint = certInfo(next.certPem).fingerprint256;
    // Reloads run in the order of the events, so every event before this one has been handled.
    await tap.next((e) => e.message === 'serving certificate reloaded' && e.fingerprint256 === fingerprint, mark);
    const warnings = tap.entries.slice(mark).filter((e) => e.message === 'TLS files not reloaded; keeping the current certificate');
    assert.equal(warnings.length, 1, `the mismatched pair was reported ${warnings.length} times: ${JSON.stringify(warnings)}`);
    assert.equal((await request(server.port, ca3.certPem, 'GET', '/healthz')).status, 200);
  });

  it('a self-managed CA rotation reaches the running server: a client trusting only the new CA connects', async () => {
    // Starts in the past so that both the first and the rotated certificates are valid in real time.
    const clock = { now: new Date(Date.now() - 21 * 24 * 3600 * 1000) };
    const target = new MemoryCaBundleTarget();
    const managed = new ManagedCertificates({
      secrets: new MemorySecretStore(), caBundleTarget: target, namespace: 'pilotfish-system',
      secretName: 'tls', webhookConfigName: 'mwc', hosts: ['localhost', '127.0.0.1'],
      caValidityDays: 30, certValidityDays: 30, now: () => clock.now, logger: tap.logger,
    });
    const source = new ManagedCertificateSource(managed, 3600_000, tap.logger);
    const own = await startWebhookServer({
      host: '127.0.0.1', port: 0, logger: tap.logger, certificates: source,
      review: { injector: DEFAULT_INJECTOR_CONFIG, policy: { controlPlaneNamespace: 'x' }, namespaces, onError: 'allow', logger: tap.logger, metrics },
    });
    try {
      const firstCa = target.bundles.get('mwc')!;
      assert.equal((await request(own.port, firstCa, 'GET', '/healthz')).status, 200);
      clock.now = new Date(); // 9 of the CA's 30 days left: due for rotation
      const mark = tap.mark();
      await source.check();
      await tap.next((e) => e.message === 'serving certificate reloaded', mark);
      const bundle = target.bundles.get('mwc')!;
      const newCa = bundle.slice(0, bundle.indexOf('-----END CERTIFICATE-----') + 26);
      assert.notEqual(newCa.trim(), firstCa.trim());
      assert.equal((await request(own.port, newCa, 'GET', '/healthz')).status, 200);
      await assert.rejects(request(own.port, firstCa, 'GET', '/healthz'), /certificate/i);
    } finally {
      await own.close();
    }
  });
});
