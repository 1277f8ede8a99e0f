// /metrics at many connections: the process metrics must not walk every handle synchronously on
// each scrape (at 10,000 proxies that blocked pushes for ~80 ms per scrape), and the open file
// descriptors must still be counted, live.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { PilotfishMetrics } from '../../src/admin/metrics.js';
import { PER_HANDLE_METRICS } from '../../src/admin/process-metrics.js';
import { parsePrometheusText, sampleValue } from '../support/prom-text.js';

type ProcessInternals = Record<string, unknown>;

async function openFds(metrics: PilotfishMetrics): Promise<number> {
  const families = parsePrometheusText((await metrics.render()).body);
  const value = sampleValue(families, 'process_open_fds', 'process_open_fds');
  assert.ok(value !== undefined, 'process_open_fds is exported');
  return value;
}

describe('admin: process metrics', () => {
  let server: Server;
  const sockets: Socket[] = [];

  let accepted: (() => void) | undefined;

  before(async () => {
    server = createServer((s) => { sockets.push(s); if (sockets.length >= 200) accepted?.(); });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  });

  after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((done) => server.close(done));
  });

  it('a scrape walks no handle list and no descriptor directory synchronously', async () => {
    const metrics = new PilotfishMetrics();
    const walks: Record<string, number> = {};
    let body = '';
    const internals = process as unknown as ProcessInternals;
    const spied: [object, string][] = [[internals, '_getActiveHandles'], [fs, 'readdirSync']];
    if (typeof internals['getActiveResourcesInfo'] === 'function') spied.push([internals, 'getActiveResourcesInfo']);
    const originals = spied.map(([owner, name]) => (owner as Record<string, unknown>)[name]);
    spied.forEach(([owner, name], i) => {
      walks[name] = 0;
      (owner as Record<string, unknown>)[name] = function (this: unknown, ...args: unknown[]): unknown {
        walks[name] = (walks[name] ?? 0) + 1;
        return (originals[i] as (...a: unknown[]) => unknown).apply(this, args);
      };
    });
    try {
      body = (await metrics.render()).body;
    } finally {
      spied.forEach(([owner, name], i) => { (owner as Record<string, unknown>)[name] = originals[i]; });
    }
    assert.deepEqual(walks, Object.fromEntries(Object.keys(walks).map((k) => [k, 0])), 'calls during one scrape');
    const families = parsePrometheusText(body);
    for (const name of PER_HANDLE_METRICS.filter((n) => n !== 'process_open_fds')) {
      assert.equal(families.has(name), false, `${name} is not exported`);
    }
    assert.ok(families.has('nodejs_eventloop_lag_max_seconds') && families.has('process_cpu_seconds_total'), 'the other process metrics stay');
  });

  it('process_open_fds counts the descriptors open at the scrape', async () => {
    const metrics = new PilotfishMetrics();
    const before = await openFds(metrics);
    const address = server.address();
    assert.ok(address !== null && typeof address === 'object');
    const allAccepted = new Promise<void>((done) => { accepted = done; });
    const clients = await Promise.all(Array.from({ length: 200 }, () => new Promise<Socket>((done, fail) => {
      const c = connect(address.port, '127.0.0.1', () => done(c));
      c.once('error', fail);
    })));
    await allAccepted;
    try {
      // Each connection is two descriptors in this process: the client's and the accepted one.
      const during = await openFds(metrics);
      assert.ok(during >= before + 400, `open fds ${before} -> ${during} with 200 loopback connections`);
    } finally {
      for (const c of clients) c.destroy();
    }
  });
});
