// Memory probes against the built binary (`pilotfish serve` in a child process, default limits):
// what an unauthenticated client on the pod network could once make the xDS server hold, now
// bounded. Each probe measures the server's RSS (from /proc/<pid>/status) while it runs and after
// the clients leave, and asserts it stays within BOUND_ABOVE_IDLE of idle and comes back near
// idle. The figures observed are in README "Limits"; the run prints them.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { AdsClient } from '../support/ads-client.js';
import { PilotfishProcess } from '../support/pilotfish-process.js';
import { parsePrometheusText, sampleValue } from '../support/prom-text.js';
import { grpcFrame, grpcPrefix, RawGrpcConnection, type RawGrpcStream } from '../support/raw-grpc-stream.js';
import { encodeSotwRequest } from '../support/xds-client-codec.js';
import { NODE_FLAGS } from '../../src/cli/node-flags.js';
import { ADS_SERVICE, methodPath } from '../../src/xds/server/services.js';
import { CLUSTER, ENDPOINT } from '../../src/xds/types.js';

const SOTW = methodPath(ADS_SERVICE, 'StreamAggregatedResources');
const MiB = 1024 * 1024;
/** What a probe may add to the server's RSS (issue 16: at most 256 MiB above idle). */
const BOUND_ABOVE_IDLE = 256 * MiB;
/**
 * "Back near idle" after the clients left: what remains is not data the server holds (held() is
 * zero again) but V8's grown young generation and pages the C allocator keeps. The figure printed
 * is the first sample within this margin; the RSS goes on falling at the collection that follows
 * the block pools emptying (to +4 to +33 MiB in traced runs on a busy shared machine).
 */
const NEAR_IDLE = 96 * MiB;

const SERVICE = `apiVersion: v1
kind: Service
metadata: { name: alpha, namespace: probe }
spec:
  ports: [{ name: http, port: 8080 }]
`;

function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (!m) throw new Error(`no VmRSS in /proc/${pid}/status (this test needs Linux /proc)`);
  return Number(m[1]) * 1024;
}

/** Samples a process's RSS until stopped; keeps the peak. */
class RssWatch {
  peak = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly pid: number) {
    this.sample();
    this.timer = setInterval(() => this.sample(), 10);
  }

  sample(): number {
    const rss = rssOf(this.pid);
    this.peak = Math.max(this.peak, rss);
    return rss;
  }

  stop(): number {
    clearInterval(this.timer);
    return this.sample();
  }
}

/** Waits until the server's RSS is back within `margin` of `idle` (allocators return memory lazily). */
async function backNearIdle(pid: number, idle: number, margin: number, timeoutMs = 30_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rss = rssOf(pid);
    if (rss <= idle + margin || Date.now() > deadline) return rss;
    await new Promise((r) => setTimeout(r, 100));
  }
}

const mb = (n: number): string => `${(n / MiB).toFixed(0)} MiB`;

describe('security: memory probes against `pilotfish serve`', function () {
  this.timeout(180_000);
  let dir: string;
  let pf: PilotfishProcess;
  let xds: string;
  let http: string;
  let pid: number;
  let idle: number;
  const figures: string[] = [];

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'pilotfish-probe-'));
    await writeFile(path.join(dir, 'alpha.yaml'), SERVICE);
  });

  // Each probe gets a server of its own: what one probe leaves behind does not count for the next.
  beforeEach(async () => {
    // With the V8 flags the image runs with (its young generation is part of what RSS keeps).
    pf = PilotfishProcess.start(['serve', '--config-dir', dir, '--xds-address', '127.0.0.1:0', '--http-address', '127.0.0.1:0'],
      { NODE_OPTIONS: NODE_FLAGS.join(' ') });
    ({ xdsAddress: xds, httpAddress: http } = await pf.serving());
    pid = pf.child.pid!;
    // Idle: served one proxy, so the protos and the first push are part of it.
    const c = await AdsClient.connect(xds, { id: 'warm-up', metadata: { NAMESPACE: 'probe' } });
    await c.fetch(CLUSTER);
    c.close();
    idle = rssOf(pid);
  });

  afterEach(async () => {
    await pf?.stop();
  });

  after(async () => {
    if (figures.length > 0) console.log(figures.map((f) => `      ${f}`).join('\n'));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Runs `probe` with clients, then checks the RSS bound during it and the return after they left. */
  async function measure(name: string, probe: (conns: RawGrpcConnection[]) => Promise<void>): Promise<void> {
    const before = rssOf(pid);
    const watch = new RssWatch(pid);
    const conns: RawGrpcConnection[] = [];
    try {
      await probe(conns);
    } finally {
      for (const c of conns) c.close();
    }
    // The server still serves a well-behaved proxy.
    const good = await AdsClient.connect(xds, { id: 'good', metadata: { NAMESPACE: 'probe' } });
    assert.ok((await good.fetch(CLUSTER)).names.length > 0, 'a well-behaved proxy is still served');
    good.close();
    watch.stop();
    const after = await backNearIdle(pid, idle, NEAR_IDLE);
    figures.push(`${name}: idle ${mb(idle)}, before ${mb(before)}, peak ${mb(watch.peak)} (+${mb(watch.peak - idle)} over idle), after ${mb(after)} (+${mb(after - idle)})`);
    assert.ok(watch.peak - idle <= BOUND_ABOVE_IDLE, `${name}: peak RSS ${mb(watch.peak)} is more than ${mb(BOUND_ABOVE_IDLE)} above idle ${mb(idle)}`);
    assert.ok(after - idle <= NEAR_IDLE, `${name}: RSS ${mb(after)} did not come back within ${mb(NEAR_IDLE)} of idle ${mb(idle)}`);
    assert.equal(pf.whenExited !== undefined && pf.child.exitCode, null, 'the server is still running');
  }

  it('unfinished messages on many streams: buffered bytes stay within the budgets', async () => {
    await measure('unfinished messages (16 connections x 4 streams x 15 MiB)', async (conns) => {
      const junk = Buffer.alloc(15 * MiB, 0x0a);
      const streams: Array<{ s: RawGrpcStream; sent: Promise<unknown> }> = [];
      for (let i = 0; i < 16; i++) {
        const conn = await RawGrpcConnection.connect(xds);
        conns.push(conn);
        for (let j = 0; j < 4; j++) {
          const s = conn.call(SOTW);
          streams.push({ s, sent: s.write(Buffer.concat([grpcPrefix(16 * MiB - 1), junk])).catch(() => undefined) });
        }
      }
      // Each stream either got all its bytes in (held, within the budgets) or was refused.
      await Promise.all(streams.map(({ s, sent }) => Promise.race([sent, s.ended])));
      const refused = (await Promise.all(streams.map(({ s }) => (s.closed ? s.ended : undefined)))).filter((e) => e?.status === 8).length;
      assert.ok(refused >= 64 - 128 / 15, `${refused} of 64 streams refused with RESOURCE_EXHAUSTED`);
    });
    // Each refusal is counted where operators look.
    const metrics = parsePrometheusText(await (await fetch(`http://${http}/metrics`)).text());
    const hits = (limit: string): number => sampleValue(metrics, 'pilotfish_xds_limit_hits_total', 'pilotfish_xds_limit_hits_total', { limit }) ?? 0;
    assert.ok(hits('connectionBufferedBytes') + hits('processBufferedBytes') >= 56,
      `limit hits in /metrics: connection ${hits('connectionBufferedBytes')}, process ${hits('processBufferedBytes')}`);
  });

  it('huge name lists, then close: lists and names are released', async () => {
    await measure('huge name lists (4 streams x 3.6 MiB of EDS names, then 4 x 15 MiB refused)', async (conns) => {
      const names = (n: number, tag: string): string[] =>
        Array.from({ length: n }, (_, i) => `outbound|8080||svc-${i}.ns-${tag}-${i % 50}.svc.cluster.local`);
      const accepted: RawGrpcStream[] = [];
      for (let i = 0; i < 4; i++) {
        const conn = await RawGrpcConnection.connect(xds);
        conns.push(conn);
        const s = conn.call(SOTW);
        // ~52 bytes a name: 70,000 names is ~3.6 MiB, within the 4 MiB subscribed-name budget.
        await s.write(grpcFrame(encodeSotwRequest({
          node: { id: `lists-${i}`, metadata: { NAMESPACE: 'probe' } }, typeUrl: ENDPOINT, resourceNames: names(70_000, String(i)),
        })));
        await s.firstData;
        accepted.push(s);
      }
      for (let i = 0; i < 4; i++) {
        const conn = await RawGrpcConnection.connect(xds);
        conns.push(conn);
        const s = conn.call(SOTW);
        await s.write(grpcFrame(encodeSotwRequest({
          node: { id: `too-many-${i}`, metadata: { NAMESPACE: 'probe' } }, typeUrl: ENDPOINT, resourceNames: names(280_000, `big${i}`),
        })));
        const end = await s.ended;
        assert.equal(end.status, 8, `a 15 MiB list is refused: ${end.message}`);
      }
      assert.ok(accepted.every((s) => !s.closed), 'streams within the budget are served and stay open');
    });
  });

  it('gzip bombs on many streams: inflated by streaming, stopped at the message limit', async () => {
    const bomb = gzipSync(Buffer.alloc(256 * MiB));
    await measure(`gzip bombs (16 connections x 2 streams, ${(bomb.length / 1024).toFixed(0)} KiB each inflating to 256 MiB)`, async (conns) => {
      const streams: RawGrpcStream[] = [];
      for (let i = 0; i < 16; i++) {
        const conn = await RawGrpcConnection.connect(xds);
        conns.push(conn);
        for (let j = 0; j < 2; j++) {
          const s = conn.call(SOTW, { 'grpc-encoding': 'gzip' });
          void s.write(grpcFrame(bomb, true)).catch(() => undefined);
          streams.push(s);
        }
      }
      const ends = await Promise.all(streams.map((s) => s.ended));
      assert.ok(ends.every((e) => e.status === 8), `every bomb refused: ${[...new Set(ends.map((e) => e.message))].join('; ')}`);
    });
  });
});
