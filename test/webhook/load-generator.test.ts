// The benchmark's load generator (bench/load-generator.ts) against the real webhook over HTTPS:
// the request bytes it sends, how it reads answers split or joined across TLS reads, that an
// open-loop run sends exactly the planned requests with a fresh uid each, and that it counts
// answers that are not injections instead of timing them.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { admissionReview } from '../../bench/pod-review.js';
import {
  checkInjection, generateLoad, percentileOf, requestUid, RequestTemplate, ResponseReader,
} from '../../bench/load-generator.js';
import { DEFAULT_INJECTOR_CONFIG } from '../../src/webhook/inject.js';
import { TrustWebhookSelectors } from '../../src/webhook/kube.js';
import { InjectionMetrics } from '../../src/webhook/injection-counters.js';
import { INJECT_PATH, startWebhookServer, type WebhookServer } from '../../src/webhook/server.js';
import { createCa, issueServingCert, type KeyPairPem } from '../../src/webhook/tls/certs.js';
import { FileCertificateSource } from '../../src/webhook/tls/source.js';
import { silentLogger } from '../../src/logging.js';
import type { AdmissionRecord } from '../../src/webhook/admission-log.js';

const PLACEHOLDER = '5b0c1f7e-3d1a-4c8e-9a57-0e2f4b6d8c19';

function response(status: number, body: string): string {
  return `HTTP/1.1 ${status} OK\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

describe('bench/load-generator', () => {
  it('builds each request with its own uid and a Content-Length that matches the body', () => {
    const body = JSON.stringify({ request: { uid: PLACEHOLDER }, again: PLACEHOLDER });
    const t = new RequestTemplate('127.0.0.1:1', '/inject', body, PLACEHOLDER);
    const uid = requestUid(255);
    assert.equal(uid, '00000000-0000-4000-8000-0000000000ff');
    const text = t.build(uid).toString();
    const [head, sent] = text.split('\r\n\r\n');
    assert.match(head, /^POST \/inject HTTP\/1\.1\r\n/);
    assert.equal(Number(/content-length: (\d+)/.exec(head)?.[1]), Buffer.byteLength(sent));
    assert.deepEqual(JSON.parse(sent), { request: { uid }, again: uid });
    // The template itself is not changed by a build.
    assert.ok(t.build(requestUid(1)).toString().includes(requestUid(1)));
    assert.throws(() => new RequestTemplate('h', '/', '{}', PLACEHOLDER), /does not contain the uid placeholder/);
  });

  it('reads answers split across reads and several answers in one read', () => {
    const a = response(200, '{"a":1}'), b = response(400, '{"error":"bad"}');
    const r = new ResponseReader();
    const bytes = Buffer.from(a + b);
    const got = [];
    // One byte at a time: every split point of headers and body is crossed.
    for (let i = 0; i < bytes.length; i++) got.push(...r.push(bytes.subarray(i, i + 1)));
    assert.deepEqual(got.map((x) => [x.status, x.body.toString()]), [[200, '{"a":1}'], [400, '{"error":"bad"}']]);
    const together = new ResponseReader().push(Buffer.from(a + b));
    assert.deepEqual(together.map((x) => x.status), [200, 400]);
    assert.throws(() => new ResponseReader().push(Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n')), /without content-length/);
  });

  it('takes only an allowed AdmissionReview with a non-empty JSONPatch for this uid as an injection', () => {
    const answer = (r: unknown): Buffer => Buffer.from(JSON.stringify({ response: r }));
    const patch = Buffer.from('[{"op":"add","path":"/x","value":1}]').toString('base64');
    assert.equal(checkInjection(answer({ uid: 'u', allowed: true, patchType: 'JSONPatch', patch }), 'u'), undefined);
    assert.match(checkInjection(answer({ uid: 'v', allowed: true, patchType: 'JSONPatch', patch }), 'u')!, /uid v, expected u/);
    assert.match(checkInjection(answer({ uid: 'u', allowed: true }), 'u')!, /not an injection/);
    assert.match(checkInjection(answer({ uid: 'u', allowed: true, patchType: 'JSONPatch', patch: Buffer.from('[]').toString('base64') }), 'u')!, /empty JSONPatch/);
    assert.match(checkInjection(Buffer.from('<html>'), 'u')!, /not an AdmissionReview/);
  });

  it('takes nearest-rank percentiles', () => {
    const sorted = Float64Array.from({ length: 100 }, (_, i) => i + 1);
    assert.equal(percentileOf(sorted, 50), 50);
    assert.equal(percentileOf(sorted, 99), 99);
    assert.equal(percentileOf(sorted, 100), 100);
    assert.ok(Number.isNaN(percentileOf(new Float64Array(0), 50)));
  });

  describe('against the webhook over HTTPS', function () {
    let dir: string;
    let ca: KeyPairPem;
    let server: WebhookServer;
    const admitted: string[] = [];

    before(async () => {
      dir = mkdtempSync(path.join(tmpdir(), 'pf-loadgen-'));
      ca = createCa({ commonName: 'load CA', now: new Date(), validityDays: 1 });
      const serving = issueServingCert({ ca, hosts: ['localhost', '127.0.0.1'], now: new Date(), validityDays: 1 });
      writeFileSync(path.join(dir, 'tls.crt'), serving.certPem);
      writeFileSync(path.join(dir, 'tls.key'), serving.keyPem);
      writeFileSync(path.join(dir, 'ca.crt'), ca.certPem);
      writeFileSync(path.join(dir, 'review.json'), JSON.stringify(admissionReview(PLACEHOLDER)));
      writeFileSync(path.join(dir, 'service.json'), JSON.stringify({
        apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
        request: { uid: PLACEHOLDER, kind: { group: '', version: 'v1', kind: 'Service' }, operation: 'CREATE', object: {} },
      }));
      const logger = silentLogger();
      server = await startWebhookServer({
        host: '127.0.0.1', port: 0, logger,
        certificates: new FileCertificateSource(path.join(dir, 'tls.crt'), path.join(dir, 'tls.key'), logger),
        review: {
          injector: { ...DEFAULT_INJECTOR_CONFIG, nativeSidecars: true }, policy: { controlPlaneNamespace: 'pilotfish-system' },
          namespaces: new TrustWebhookSelectors(), onError: 'allow', logger, metrics: new InjectionMetrics(),
          admissionLog: { record: (r: AdmissionRecord) => admitted.push(r.uid) },
        },
      });
    });

    after(async () => {
      await server?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    const options = (body: string) => ({
      host: '127.0.0.1', port: server.port, path: INJECT_PATH, caFile: path.join(dir, 'ca.crt'), servername: 'localhost',
      bodyFile: path.join(dir, body), uidPlaceholder: PLACEHOLDER, connections: 4,
    });

    it('open loop: sends exactly rate × seconds admissions, each with its own uid, all verified', async () => {
      admitted.length = 0;
      const r = await generateLoad({ ...options('review.json'), seconds: 1, rate: 50 });
      assert.equal(r.mode, 'open-loop');
      assert.equal(r.errors, 0, r.firstError);
      assert.equal(r.non2xx, 0);
      assert.equal(r.total, 50);
      assert.equal(new Set(admitted).size, 50, 'every request had a uid of its own');
      assert.ok(admitted.every((u) => u !== PLACEHOLDER));
      assert.ok(r.latencyMs.p50 > 0 && r.latencyMs.p50 <= r.latencyMs.p99 && r.latencyMs.p99 <= r.latencyMs.max);
      assert.ok(r.sendLagMs, 'open loop reports how late requests left');
    });

    it('closed loop: keeps every connection busy and reports what was answered', async () => {
      const r = await generateLoad({ ...options('review.json'), seconds: 0.5 });
      assert.equal(r.mode, 'closed-loop');
      assert.equal(r.errors, 0, r.firstError);
      assert.ok(r.total > 0);
      assert.equal(r.sendLagMs, undefined);
    });

    it('counts answers that are not injections as errors', async () => {
      // A Service is allowed unchanged: a 200 that echoes the uid but carries no patch.
      const r = await generateLoad({ ...options('service.json'), seconds: 0.2, rate: 20 });
      assert.equal(r.errors, 1, 'the first answer is checked for a patch');
      assert.match(r.firstError ?? '', /not an injection/);
    });
  });
});
