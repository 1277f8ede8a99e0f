// Slow and idle clients against the real HTTPS webhook, in a process of its own: slowloris
// (headers that never end), bodies that stall, TCP connections that never start TLS, more
// connections than the cap, idle keep-alive connections, and many large bodies at once. Each is cut
// off by its limit and counted, a real AdmissionReview still succeeds, and the process's RSS stays
// bounded (the figure is in the README, "Webhook limits").
//
// Each test gets a webhook of its own whose only short limits are those the test drives: a short
// limit the test does not drive would race the test's own setup on a busy machine (a 1 s handshake
// timeout cut the slowloris clients' handshakes before they could send headers), and a fresh
// webhook's counters are exactly this test's hits.
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

/**
 * Limits a test does not drive: so long that no handshake, request or body of the test's own
 * clients meets them, however busy the machine. A test shortens the ones it drives (to a second or
 * two, so it runs in seconds; the defaults are ten times longer).
 */
const LONG = 120_000;
const BASE: Partial<WebhookLimits> = {
  handshakeTimeoutMs: LONG, headersTimeoutMs: LONG, bodyTimeoutMs: LONG, requestTimeoutMs: LONG, idleTimeoutMs: LONG,
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

/** Resolves once `n` of the sockets are closed. */
function closedCount(sockets: readonly net.Socket[], n: number): Promise<void> {
  return new Promise((resolve) => {
    let count = 0;
    for (const s of sockets) void closed(s).then(() => { if (++count === n) resolve(); });
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

/** A TLS connection, handshake done (or failed: the socket is then closed, and `secure` false). */
function tlsConnection(port: number, ca: string): Promise<tls.TLSSocket & { secure?: boolean }> {
  return new Promise((resolve) => {
    const s: tls.TLSSocket & { secure?: boolean } = tls.connect({ host: '127.0.0.1', port, ca, servername: 'localhost' });
    s.on('error', () => undefined);
    s.resume();
    s.once('secureConnect', () => { s.secure = true; resolve(s); });
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
  let child: WebhookChild | undefined;
  let idleRss: number;

  /** This test's webhook: BASE with `limits` over it, warmed by one review (which loads and compiles the injection path). */
  async function startChild(limits: Partial<WebhookLimits>): Promise<WebhookChild> {
    child = await WebhookChild.start({ certFile: path.join(dir, 'tls.crt'), keyFile: path.join(dir, 'tls.key'), limits: { ...BASE, ...limits } });
    await admit(child.port, ca.certPem);
    idleRss = (await child.stats(true)).rss;
    return child;
  }

  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'pf-webhook-slow-'));
    ca = createCa({ commonName: 'slow-clients-ca', now: new Date(), validityDays: 1 });
    const serving = issueServingCert({ ca, hosts: ['localhost', '127.0.0.1'], now: new Date(), validityDays: 1 });
    writeFileSync(path.join(dir, 'tls.crt'), serving.certPem);
    writeFileSync(path.join(dir, 'tls.key'), serving.keyPem);
  });

  afterEach(async () => {
    await child?.stop();
    child = undefined;
  });

  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('cuts handshakes that never happen; a review meanwhile succeeds', async () => {
    // The review's own handshake must beat this on a busy machine: two seconds, not one.
    const { port } = await startChild({ handshakeTimeoutMs: 2000 });
    const noHandshake = await Promise.all(Array.from({ length: 20 }, () => tcpConnection(port)));
    await admit(port, ca.certPem);
    await Promise.all(noHandshake.map(closed));
    const hits = (await child!.stats()).hits;
    assert.equal(hits.handshake_timeout, 20, `handshake timeouts: ${JSON.stringify(hits)}`);
    assert.equal(hits.connections, 0, `none refused by the connection cap: ${JSON.stringify(hits)}`);
  });

  it('cuts slowloris headers and stalled bodies; a review meanwhile succeeds', async () => {
    const { port } = await startChild({ headersTimeoutMs: 1000, bodyTimeoutMs: 1000 });
    const slowloris = await Promise.all(Array.from({ length: 40 }, async () => {
      const s = await tlsConnection(port, ca.certPem);
      s.write('POST /inject HTTP/1.1\r\nHost: localhost\r\nX-Slow: ');
      return s;
    }));
    const stalledBodies = await Promise.all(Array.from({ length: 20 }, async () => {
      const s = await tlsConnection(port, ca.certPem);
      s.write(HEADERS(MiB));
      s.write(Buffer.alloc(100 * 1024, 0x20));
      return s;
    }));
    const attackers = [...slowloris, ...stalledBodies];
    assert.ok(attackers.every((s) => s.secure), 'every attacker completed its handshake (below the cap)');

    await admit(port, ca.certPem);

    await Promise.all(attackers.map(closed));
    const hits = (await child!.stats()).hits;
    assert.equal(hits.headers_timeout, 40, `headers timeouts: ${JSON.stringify(hits)}`);
    assert.equal(hits.body_timeout, 20, `body timeouts: ${JSON.stringify(hits)}`);
    assert.equal(hits.connections + hits.handshake_timeout + hits.request_timeout, 0, `cut by nothing else: ${JSON.stringify(hits)}`);
  });

  it('closes connections over the cap at once and counts them, refuses a review while full, and serves again once the held ones are gone', async () => {
    // Nothing of the server's frees a held connection while the test runs: which ones are held and
    // which dropped does not depend on how fast the machine accepts them.
    const { port } = await startChild({});
    // As many as the probe that found the webhook unbounded (510 slow connections, all still open after 90 s).
    const sockets = await Promise.all(Array.from({ length: 510 }, () => tcpConnection(port)));
    // Those over the cap are closed as they are accepted; the 100 below it stay open.
    await closedCount(sockets, 410);
    const held = sockets.filter((s) => !s.destroyed);
    assert.equal(held.length, 100, 'the connections below the cap stay open');
    let hits = (await child!.stats()).hits;
    assert.equal(hits.connections, 410, `dropped over the cap: ${JSON.stringify(hits)}`);
    await assert.rejects(admit(port, ca.certPem), 'a review is refused while the cap is full');
    // Bytes that are no TLS make the server close the held ones itself (so its count of open
    // connections is down before it accepts the next one, which a client-side close would not ensure).
    for (const s of held) s.write('GET / HTTP/1.1\r\n\r\n');
    await Promise.all(held.map(closed));
    await admit(port, ca.certPem);
    hits = (await child!.stats()).hits;
    assert.equal(hits.connections, 411, `dropped over the cap: ${JSON.stringify(hits)}`);
    assert.equal(hits.handshake_timeout, 0, `no timeout freed a connection: ${JSON.stringify(hits)}`);
  });

  it('closes a keep-alive connection left idle', async () => {
    const { port } = await startChild({ idleTimeoutMs: 1500 });
    const s = await tlsConnection(port, ca.certPem);
    const answered = new Promise<string>((resolve) => s.once('data', (d: Buffer) => resolve(d.toString('latin1'))));
    s.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive\r\n\r\n');
    assert.match(await answered, /^HTTP\/1\.1 200/);
    await closed(s);
    const hits = (await child!.stats()).hits;
    assert.equal(hits.idle_timeout, 1, JSON.stringify(hits));
  });

  it('keeps RSS bounded while many clients push large bodies at once', async function () {
    // The body timeout frees the bodies held within the budget; the budget must be reached first,
    // which takes the first 16 MiB of bodies in: two seconds leaves that to a busy machine.
    const { port } = await startChild({ bodyTimeoutMs: 2000 });
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
    // A socket the webhook cut is closed here before the webhook has run its close handlers (which
    // count the body's bytes out); a review's round trips come after them, so the figures are final.
    await admit(port, ca.certPem);
    const stats = await child!.stats();
    const grew = stats.peakRss - idleRss;
    const hits = stats.hits;
    process.stdout.write(`      webhook RSS: idle ${(idleRss / MiB).toFixed(0)} MiB, peak ${(stats.peakRss / MiB).toFixed(0)} MiB `
      + `(+${(grew / MiB).toFixed(0)} MiB); limit hits ${JSON.stringify(hits)}\n`);
    assert.ok(hits.inflight_body > 0, 'the in-flight body budget refused some');
    assert.equal(stats.inflightBodyBytes, 0, 'every body byte counted in was counted out once its connection closed');
    assert.ok(grew < RSS_BOUND, `RSS grew by ${(grew / MiB).toFixed(0)} MiB (bound ${RSS_BOUND / MiB} MiB)`);
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
