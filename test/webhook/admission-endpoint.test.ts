// POST /inject as the raw-request endpoint answers it (admission-endpoint.ts), over real HTTPS:
// the API server's `?timeout=` query, the routes left to fastify, and each refusal the endpoint
// makes itself — wrong content type, a chunked body over the limit, a body holding a prototype
// key, a body past the in-flight budget — with the budget counted back out afterwards.
import assert from 'node:assert/strict';
import tls from 'node:tls';
import type { V1Pod } from '@kubernetes/client-node';
import type { WebhookServer } from '../../src/webhook/server.js';
import type { KeyPairPem } from '../../src/webhook/tls/certs.js';
import { request, review } from '../support/https-client.js';
import { startTestWebhook, type TestWebhook } from '../support/test-webhook.js';

const KiB = 1024;

const POD: V1Pod = {
  apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'shop' },
  spec: { containers: [{ name: 'app', image: 'example/app:1' }] },
};

/** A TLS connection to the webhook whose whole answer (up to the server closing it) is collected. */
function rawConnection(port: number, ca: string): Promise<{ socket: tls.TLSSocket; answer: Promise<string> }> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca, servername: 'localhost' });
    let text = '';
    const answer = new Promise<string>((done) => {
      socket.on('data', (d: Buffer) => { text += d.toString('latin1'); });
      socket.once('close', () => done(text));
    });
    socket.on('error', () => undefined);
    socket.once('secureConnect', () => resolve({ socket, answer }));
    socket.once('close', () => reject(new Error('connection closed before the handshake finished')));
  });
}

/** Resolves once `condition` holds, checked once per event-loop turn (what it waits for has no event). */
async function until(condition: () => boolean, what: string): Promise<void> {
  for (let turns = 0; !condition(); turns++) {
    if (turns > 200_000) assert.fail(`never happened: ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe('webhook/admission-endpoint over HTTPS', () => {
  let webhook: TestWebhook;
  let ca: KeyPairPem;
  let server: WebhookServer;

  before(async () => {
    // A budget of one body: a second one arriving while the first is held is refused.
    webhook = await startTestWebhook('admission-endpoint', { bodyLimit: 64 * KiB, maxInflightBodyBytes: 64 * KiB });
    ({ ca, server } = webhook);
  });

  after(async () => {
    await webhook?.close();
  });

  it('answers the URL the API server calls (with ?timeout=), and application/json with a charset', async () => {
    const r = await request(server.port, ca.certPem, 'POST', '/inject?timeout=10s', review(POD, { uid: 'q-1' }), 'application/json; charset=utf-8');
    assert.equal(r.status, 200, r.body);
    const response = (r.json as { response: { uid: string; patch?: string } }).response;
    assert.equal(response.uid, 'q-1');
    assert.ok(response.patch);
    assert.equal(server.inflightBodyBytes(), 0);
  });

  it('leaves other methods and paths to fastify: 404', async () => {
    assert.equal((await request(server.port, ca.certPem, 'GET', '/inject')).status, 404);
    assert.equal((await request(server.port, ca.certPem, 'POST', '/injection', review(POD))).status, 404);
    assert.equal((await request(server.port, ca.certPem, 'POST', '/inject/x', review(POD))).status, 404);
  });

  it('refuses a body that is not application/json with 415, unread', async () => {
    for (const type of ['text/plain', 'application/jsonx', 'application/x-www-form-urlencoded']) {
      const r = await request(server.port, ca.certPem, 'POST', '/inject', review(POD), type);
      assert.equal(r.status, 415, type);
      assert.match((r.json as { error: string }).error, /Unsupported Media Type/);
    }
  });

  it('refuses a chunked body (no Content-Length) once it passes the limit: 413, counted, connection closed', async () => {
    const before = server.limitHits.get('body_limit');
    const { socket, answer } = await rawConnection(server.port, ca.certPem);
    socket.write('POST /inject HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n');
    const chunk = 'x'.repeat(16 * KiB);
    // 80 KiB in five chunks, never terminated: the refusal cannot wait for the end.
    for (let i = 0; i < 5; i++) socket.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
    const text = await answer;
    assert.match(text, /^HTTP\/1\.1 413 /);
    assert.match(text, /\r\nconnection: close\r\n/i);
    assert.match(text, /"error":"Request body is too large"/);
    assert.equal(server.limitHits.get('body_limit') - before, 1);
    await until(() => server.inflightBodyBytes() === 0, 'the refused body counted out');
  });

  it('refuses a body holding a prototype key, however it is spelled, with 400; "constructor" as a plain key is fine', async () => {
    const bodies = [
      '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"p","__proto__":{"x":1}}}',
      '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"p","object":{"a":[{"\\u005f_proto__":{}}]}}}',
      '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"p","constructor":{"prototype":{"x":1}}}}',
    ];
    for (const body of bodies) {
      const r = await request(server.port, ca.certPem, 'POST', '/inject', body);
      assert.equal(r.status, 400, body);
      assert.match((r.json as { error: string }).error, /body is refused: it holds a (__proto__|constructor\.prototype) key/);
    }
    const plain = { ...POD, metadata: { ...POD.metadata, labels: { constructor: 'x' }, annotations: { note: 'caf\u00e9' } } };
    const ok = await request(server.port, ca.certPem, 'POST', '/inject', review(plain, { uid: 'plain-constructor' }));
    assert.equal(ok.status, 200, ok.body);
  });

  it('answers malformed JSON with 400 naming JSON', async () => {
    const r = await request(server.port, ca.certPem, 'POST', '/inject', '{"apiVersion": ');
    assert.equal(r.status, 400);
    assert.match((r.json as { error: string }).error, /body is not valid JSON/);
  });

  it('refuses a body past the in-flight budget with 503 and closes its connection; the held bytes are counted out', async () => {
    const before = server.limitHits.get('inflight_body');
    // The first body: 60 KiB of a declared 63 KiB, stalled, so its bytes stay held.
    const holder = await rawConnection(server.port, ca.certPem);
    try {
      holder.socket.write(`POST /inject HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${63 * KiB}\r\n\r\n`);
      holder.socket.write(' '.repeat(60 * KiB));
      await until(() => server.inflightBodyBytes() === 60 * KiB, 'the first body held');
      // The second, 6 KiB, would pass the 64 KiB budget.
      const second = await rawConnection(server.port, ca.certPem);
      const body = review({ ...POD, metadata: { ...POD.metadata, annotations: { pad: 'x'.repeat(6 * KiB) } } });
      second.socket.write(`POST /inject HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      const text = await second.answer;
      assert.match(text, /^HTTP\/1\.1 503 /);
      assert.match(text, /webhook busy/);
      assert.equal(server.limitHits.get('inflight_body') - before, 1);
      assert.equal(server.inflightBodyBytes(), 60 * KiB, 'the refused body holds nothing');
    } finally {
      holder.socket.destroy();
    }
    await until(() => server.inflightBodyBytes() === 0, 'the held body counted out once its connection closed');
    // With the budget free again, a review succeeds.
    assert.equal((await request(server.port, ca.certPem, 'POST', '/inject', review(POD))).status, 200);
  });
});
