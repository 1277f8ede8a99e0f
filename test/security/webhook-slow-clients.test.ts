// Slow and idle clients against the real HTTPS webhook, in a process of its own: slowloris
// (headers that never end), bodies that stall, TCP connections that never start TLS, more
// connections than the cap, idle keep-alive connections, and many large bodies at once. Each is cut
// off by its limit and counted, a real AdmissionReview still succeeds, and the process's RSS stays
// bounded (the figure is in the README, "Webhook limits").
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import type { V1Pod } from '@kubernetes/client-node';
import { createCa, issueServingCert, type KeyPairPem } from '../../src/webhook/tls/certs.js';
import { DEFAULT_WEBHOOK_LIMITS, resolveWebhookLimits, type WebhookLimits } from '../../src/webhook/limits.js';
import type { WebhookServer } from '../../src/webhook/server.js';
import { request, review } from '../support/https-client.js';
import { startTestWebhook, type TestWebhook } from '../support/test-webhook.js';
import type { ChildStats } from './webhook-child.js';

const MiB = 1024 * 1024;

/** Short limits so the test runs in seconds; the defaults are ten times longer. */
const LIMITS: Partial<WebhookLimits> = {
  handshakeTimeoutMs: 1000, headersTimeoutMs: 1000, bodyTimeoutMs: 1000, requestTimeoutMs: 3000, idleTimeoutMs: 1500,
  maxConnections: 100, maxInflightBodyBytes: 16 * MiB,
};

/** What RSS may grow by, above idle, while the attacks run (measured: see the README). */
const RSS_BOUND = 96 * MiB;

const POD: V1Pod = {
  apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'shop' },
  spec: { containers: [{ name: 'app', image: 'example/app:1' }] },
};

class WebhookChild {
  private waiting: ((s: ChildStats) => void)[] = [];
  private constructor(readonly proc: ChildProcess, readonly port: number) {
    proc.on('message', (m: { type?: string }) => {
      if (m.type === 'stats') this.waiting.shift()?.(m as ChildStats);
    });
  }

  static start(config: { certFile: string; keyFile: string; limits: Partial<WebhookLimits> }): Promise<WebhookChild> {
    const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'webhook-child.js');
    const proc = fork(script, [JSON.stringify(config)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    return new Promise((resolve, reject) => {
      proc.once('exit', (code) => reject(new Error(`webhook child exited with ${String(code)} before it was ready`)));
      proc.on('message', (m: { type?: string; port?: number }) => {
        if (m.type === 'ready' && typeof m.port === 'number') resolve(new WebhookChild(proc, m.port));
      });
    });
  }

  stats(resetPeak = false): Promise<ChildStats> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.proc.send({ type: 'stats', resetPeak });
    });
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      if (this.proc.exitCode !== null) { resolve(); return; }
      this.proc.once('exit', () => resolve());
      this.proc.send({ type: 'stop' });
    });
  }
}

/** Resolves when the socket is closed, whoever closed it; errors (resets) are expected here. */
function closed(s: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    if (s.destroyed) { resolve(); return; }
    s.once('close', () => resolve());
  });
}

/** A TCP connection that never starts TLS. */
function tcpConnection(port: number): Promise<net.Socket> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.on('error', () => undefined);
    // Read whatever the server answers (a 408, a 503), so its closing is seen here.
    s.resume();
    s.once('connect', () => resolve(s));
    s.once('close', () => resolve(s));
  });
}

/** A TLS connection, handshake done (or failed: the socket is then closed). */
function tlsConnection(port: number, ca: string): Promise<tls.TLSSocket> {
  return new Promise((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port, ca, servername: 'localhost' });
    s.on('error', () => undefined);
    s.resume();
    s.once('secureConnect', () => resolve(s));
    s.once('close', () => resolve(s));
  });
}

const HEADERS = (contentLength: number): string =>
  `POST /inject HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${contentLength}\r\n\r\n`;

async function admit(port: number, ca: string): Promise<void> {
  const r = await request(port, ca, 'POST', '/inject', review(POD));
  assert.equal(r.status, 200, r.body);
  const response = (r.json as { response: { allowed: boolean; patch?: string } }).response;
  assert.equal(response.allowed, true);
  assert.ok(response.patch, 'the Pod was injected');
}

describe('security: webhook slow and idle clients', function () {
  let dir: string;
  let ca: KeyPairPem;
  let child: WebhookChild;
  let idleRss: number;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'pf-webhook-slow-'));
    ca = createCa({ commonName: 'slow-clients-ca', now: new Date(), validityDays: 1 });
    const serving = issueServingCert({ ca, hosts: ['localhost', '127.0.0.1'], now: new Date(), validityDays: 1 });
    writeFileSync(path.join(dir, 'tls.crt'), serving.certPem);
    writeFileSync(path.join(dir, 'tls.key'), serving.keyPem);
    child = await WebhookChild.start({ certFile: path.join(dir, 'tls.crt'), keyFile: path.join(dir, 'tls.key'), limits: LIMITS });
    // Warm: the first review loads and compiles the injection path.
    await admit(child.port, ca.certPem);
    idleRss = (await child.stats(true)).rss;
  });

  after(async () => {
    await child?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('cuts slowloris headers, handshakes that never happen and stalled bodies; a review meanwhile succeeds', async () => {
    const port = child.port;
    const before = (await child.stats()).hits;
    const slowloris = await Promise.all(Array.from({ length: 40 }, async () => {
      const s = await tlsConnection(port, ca.certPem);
      s.write('POST /inject HTTP/1.1\r\nHost: localhost\r\nX-Slow: ');
      return s;
    }));
    const noHandshake = await Promise.all(Array.from({ length: 20 }, () => tcpConnection(port)));
    const stalledBodies = await Promise.all(Array.from({ length: 20 }, async () => {
      const s = await tlsConnection(port, ca.certPem);
      s.write(HEADERS(MiB));
      s.write(Buffer.alloc(100 * 1024, 0x20));
      return s;
    }));
    const attackers = [...slowloris, ...noHandshake, ...stalledBodies];
    assert.ok(attackers.every((s) => !s.destroyed), 'every attacker got a connection (below the cap)');

    await admit(port, ca.certPem);

    await Promise.all(attackers.map(closed));
    const hits = (await child.stats()).hits;
    assert.ok(hits.headers_timeout - before.headers_timeout >= 40, `headers timeouts: ${JSON.stringify(hits)}`);
    assert.ok(hits.handshake_timeout - before.handshake_timeout >= 20, `handshake timeouts: ${JSON.stringify(hits)}`);
    assert.ok(hits.body_timeout - before.body_timeout >= 20, `body timeouts: ${JSON.stringify(hits)}`);
  });

  it('closes connections over the cap at once, counts them, and serves again once the held ones time out', async () => {
    const port = child.port;
    const before = (await child.stats()).hits;
    // As many as the probe that found the webhook unbounded (510 slow connections, all still open after 90 s).
    const sockets = await Promise.all(Array.from({ length: 510 }, () => tcpConnection(port)));
    // Those over the cap are closed as they are accepted; the 100 held by the handshake timeout.
    await Promise.all(sockets.map(closed));
    const hits = (await child.stats()).hits;
    const dropped = hits.connections - before.connections;
    const timedOut = hits.handshake_timeout - before.handshake_timeout;
    assert.ok(dropped >= 410, `dropped over the cap: ${JSON.stringify(hits)}`);
    assert.ok(timedOut >= 1 && timedOut <= 100, `held ones timed out: ${JSON.stringify(hits)}`);
    assert.equal(dropped + timedOut, 510);
    await admit(port, ca.certPem);
  });

  it('closes a keep-alive connection left idle', async () => {
    const before = (await child.stats()).hits;
    const s = await tlsConnection(child.port, ca.certPem);
    const answered = new Promise<string>((resolve) => s.once('data', (d: Buffer) => resolve(d.toString('latin1'))));
    s.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive\r\n\r\n');
    assert.match(await answered, /^HTTP\/1\.1 200/);
    await closed(s);
    const hits = (await child.stats()).hits;
    assert.equal(hits.idle_timeout - before.idle_timeout, 1, JSON.stringify(hits));
  });

  it('keeps RSS bounded while many clients push large bodies at once', async function () {
    const port = child.port;
    await child.stats(true);
    const before = (await child.stats()).hits;
    const size = 2 * MiB;
    // Four waves of 100 connections, each pushing all but the last byte of a 2 MiB body: without
    // the in-flight budget the process would hold up to 100 x 2 MiB of body text at once.
    for (let wave = 0; wave < 4; wave++) {
      const sockets = await Promise.all(Array.from({ length: 100 }, async () => {
        const s = await tlsConnection(port, ca.certPem);
        if (!s.destroyed) {
          s.write(HEADERS(size));
          s.write(Buffer.alloc(size - 1, 0x20));
        }
        return s;
      }));
      await Promise.all(sockets.map(closed));
    }
    const stats = await child.stats();
    const grew = stats.peakRss - idleRss;
    const hits = stats.hits;
    process.stdout.write(`      webhook RSS: idle ${(idleRss / MiB).toFixed(0)} MiB, peak ${(stats.peakRss / MiB).toFixed(0)} MiB `
      + `(+${(grew / MiB).toFixed(0)} MiB); limit hits ${JSON.stringify(hits)}\n`);
    assert.ok(hits.inflight_body - before.inflight_body > 0, 'the in-flight body budget refused some');
    assert.equal(stats.inflightBodyBytes, 0, 'every body byte counted in was counted out once its connection closed');
    assert.ok(grew < RSS_BOUND, `RSS grew by ${(grew / MiB).toFixed(0)} MiB (bound ${RSS_BOUND / MiB} MiB)`);
    await admit(port, ca.certPem);
  });
});

describe('security: webhook request timeout and body limit', () => {
  let webhook: TestWebhook;
  let ca: KeyPairPem;
  let server: WebhookServer;

  before(async () => {
    webhook = await startTestWebhook('webhook-limits', {
      // The body timeout is far away, so a stalled body meets the request timeout.
      headersTimeoutMs: 500, requestTimeoutMs: 1000, bodyTimeoutMs: 60_000, bodyLimit: 64 * 1024, maxInflightBodyBytes: 64 * 1024,
    });
    ({ ca, server } = webhook);
  });

  after(async () => {
    await webhook?.close();
  });

  it('cuts a request whose body stalls after its headers, by the request timeout', async () => {
    const s = await tlsConnection(server.port, ca.certPem);
    const answer = new Promise<string>((resolve) => {
      let text = '';
      s.on('data', (d: Buffer) => { text += d.toString('latin1'); });
      s.once('close', () => resolve(text));
    });
    s.write(HEADERS(1000));
    s.write('{"apiVersion":');
    assert.match(await answer, /^HTTP\/1\.1 408/);
    assert.equal(server.limitHits.get('request_timeout'), 1);
    assert.equal(server.limitHits.get('headers_timeout'), 0);
  });

  it('refuses a body over the limit with 413 and counts it', async () => {
    const r = await request(server.port, ca.certPem, 'POST', '/inject', JSON.stringify({ pad: 'x'.repeat(100 * 1024) }));
    assert.equal(r.status, 413);
    assert.equal(server.limitHits.get('body_limit'), 1);
  });

  it('shows the hits on /metrics', async () => {
    const r = await request(server.port, ca.certPem, 'GET', '/metrics');
    assert.match(r.body, /^pilotfish_webhook_limit_hits_total\{limit="request_timeout"\} 1$/m);
    assert.match(r.body, /^pilotfish_webhook_limit_hits_total\{limit="body_limit"\} 1$/m);
    assert.match(r.body, /^pilotfish_webhook_limit_hits_total\{limit="connections"\} 0$/m);
  });

  it('refuses limits that are not positive integers', () => {
    assert.throws(() => resolveWebhookLimits({ maxConnections: 0 }), /maxConnections must be a positive integer/);
    assert.throws(() => resolveWebhookLimits({ bodyLimit: 10, maxInflightBodyBytes: 5 }), /must be at least bodyLimit/);
    assert.deepEqual(resolveWebhookLimits(), DEFAULT_WEBHOOK_LIMITS);
  });
});
