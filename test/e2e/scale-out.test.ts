// Three replicas of the built `pilotfish serve` on the same config directory, and proxies that
// each pick a replica (the one with the fewest connections, skipping one they just failed to
// reach: test/support/replica-picker.ts) and move to another whenever their stream ends. Killing
// a replica moves its proxies to the others, none ever without its configuration; when it comes
// back, the maximum connection age alone brings its share back to even. Every wait is for an
// event (a proxy synced, a stream ended); the figures are printed, not asserted on time.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { NodeInfo } from '../../src/xds/node-info.js';
import { CLUSTER } from '../../src/xds/types.js';
import { AdsClient, type StreamEnd } from '../support/ads-client.js';
import { OWN_CONNECTIONS } from '../support/echo-service.js';
import { PilotfishProcess, REPO_ROOT } from '../support/pilotfish-process.js';
import { ReplicaPicker } from '../support/replica-picker.js';

const CONFIG_DIR = path.join(REPO_ROOT, 'examples', 'demo');
const REPLICAS = 3;
const PROXIES = 60;
/** Shortened for the test (the default is 30m); each connection lives 1.8-2.2 s. */
const MAX_AGE = '2s';
const TOLERANCE = 0.15;

function sidecar(i: number): NodeInfo {
  return {
    id: `sidecar~10.0.1.${i}~p-${i}.demo~demo.svc.cluster.local`, cluster: 'p.demo',
    metadata: { PILOTFISH_KIND: 'sidecar', NAMESPACE: 'demo', POD_NAME: `p-${i}`, LABELS: { app: 'p' } },
  };
}

function startReplica(xdsAddress = '127.0.0.1:0'): PilotfishProcess {
  return PilotfishProcess.start([
    'serve', '--config-dir', CONFIG_DIR, '--xds-address', xdsAddress, '--http-address', '127.0.0.1:0',
    '--xds-max-connection-age', MAX_AGE, '--log-level', 'info',
  ]);
}

/** A proxy: one ADS stream at a time, to the replica the picker gives it; reconnects when it ends. */
class HoppingProxy {
  /** The replica its stream is synced with; undefined while it reconnects. */
  replica: number | undefined;
  /** The clusters it holds: kept across reconnects, as Envoy and gRPC keep their config. */
  config: readonly string[] = [];
  /** The replica of every sync, in order. */
  readonly syncs: number[] = [];
  /** How each of its streams ended, where and when (performance.now()). */
  readonly ends: { replica: number; at: number; end: StreamEnd }[] = [];
  failedConnects = 0;
  private client: AdsClient | undefined;
  private stopped = false;
  readonly done: Promise<void>;

  constructor(private readonly node: NodeInfo, private readonly picker: ReplicaPicker, private readonly changed: () => void) {
    this.done = this.run();
  }

  /** Where it was last synced (where it is, or is leaving). */
  get last(): number | undefined {
    return this.syncs.at(-1);
  }

  private async run(): Promise<void> {
    const failed = new Set<number>();
    while (!this.stopped) {
      const i = this.picker.pick(failed);
      if (i === undefined) {
        // Every replica refused just now: start over (each attempt waited for its refusal).
        failed.clear();
        continue;
      }
      let c: AdsClient;
      try {
        c = await AdsClient.connect(this.picker.addresses[i], this.node, { failFast: true, channelOptions: OWN_CONNECTIONS });
      } catch {
        this.picker.release(i);
        this.failedConnects++;
        failed.add(i);
        continue;
      }
      failed.clear();
      if (this.stopped) {
        c.close();
        this.picker.release(i);
        break;
      }
      this.client = c;
      try {
        c.request(CLUSTER, []);
        const res = await c.next(CLUSTER);
        c.ack(res);
        this.config = res.names;
        this.replica = i;
        this.syncs.push(i);
        this.changed();
      } catch {
        // The stream ended before its first response: its end is recorded below.
      }
      const end = await c.closed;
      c.close();
      this.picker.release(i);
      this.replica = undefined;
      if (!this.stopped) this.ends.push({ replica: i, at: performance.now(), end });
      this.changed();
    }
  }

  stop(): Promise<void> {
    this.stopped = true;
    this.client?.close();
    return this.done;
  }
}

describe('e2e: three replicas of pilotfish serve share the proxies (maximum connection age, failover)', function () {
  this.timeout(180_000);
  const replicas: PilotfishProcess[] = [];
  const proxies: HoppingProxy[] = [];
  const changes = new EventEmitter();
  changes.setMaxListeners(0);

  /** Resolves once `pred` holds, checked after every proxy event. */
  function until(pred: () => boolean): Promise<void> {
    if (pred()) return Promise.resolve();
    return new Promise((resolve) => {
      const check = (): void => {
        if (!pred()) return;
        changes.off('change', check);
        resolve();
      };
      changes.on('change', check);
    });
  }

  function shares(): number[] {
    const out = new Array<number>(REPLICAS).fill(0);
    for (const p of proxies) if (p.last !== undefined) out[p.last]++;
    return out;
  }

  function assertEven(what: string): void {
    const even = PROXIES / REPLICAS;
    const s = shares();
    for (const [i, n] of s.entries()) {
      assert.ok(Math.abs(n - even) <= TOLERANCE * even, `${what}: replica ${i} serves ${n} proxies, outside ${even} ± 15 % (shares ${s.join('/')})`);
    }
  }

  after(async () => {
    await Promise.all(proxies.map((p) => p.stop()));
    await Promise.all(replicas.map((r) => r.stop('SIGKILL')));
  });

  it('a killed replica\'s proxies move to the others with their config; after it returns, max age evens the shares (±15 %)', async () => {
    for (let i = 0; i < REPLICAS; i++) replicas.push(startReplica());
    const addresses = (await Promise.all(replicas.map((r) => r.serving()))).map((s) => s.xdsAddress);
    const picker = new ReplicaPicker(addresses);

    // What every proxy must hold: the demo's clusters as a sidecar in namespace demo gets them.
    const reference = await AdsClient.connect(addresses[0], sidecar(0));
    const expected = (await reference.fetch(CLUSTER)).names;
    reference.close();
    assert.ok(expected.includes('outbound|50051||greeter.demo.svc.cluster.local'), expected.join(', '));

    for (let i = 1; i <= PROXIES; i++) proxies.push(new HoppingProxy(sidecar(i), picker, () => changes.emit('change')));
    await until(() => proxies.every((p) => p.syncs.length > 0));
    console.log(`      all ${PROXIES} proxies synced; shares ${shares().join('/')}`);

    // Kill replica 2 outright: its proxies' streams break, and they reconnect elsewhere.
    const victim = REPLICAS - 1;
    const onVictim = proxies.filter((p) => p.last === victim);
    const syncsAtKill = proxies.map((p) => p.syncs.length);
    const killedAt = performance.now();
    await replicas[victim].stop('SIGKILL');
    // From here on the victim is gone: no sync can come from it.
    const syncsAfterKill = proxies.map((p) => p.syncs.length);
    await until(() => onVictim.every((p) => p.syncs.slice(syncsAtKill[proxies.indexOf(p)]).some((r) => r !== victim)));
    const movedMs = performance.now() - killedAt;
    await until(() => proxies.every((p) => p.last !== victim));
    console.log(`      killed replica ${victim}: its ${onVictim.length} proxies resynced on the others in ${movedMs.toFixed(0)} ms; ` +
      `shares ${shares().join('/')}; ${proxies.reduce((n, p) => n + p.failedConnects, 0)} connection attempts refused by the dead replica`);
    assert.ok(onVictim.length > 0, 'the victim served proxies');
    for (const [k, p] of proxies.entries()) assert.ok(!p.syncs.slice(syncsAfterKill[k]).includes(victim));

    // Back on the same address, as a replacement Pod behind the same Service.
    const returnedAt = performance.now();
    replicas[victim] = startReplica(addresses[victim]);
    assert.equal((await replicas[victim].serving()).xdsAddress, addresses[victim]);
    console.log(`      replica ${victim} serving again on ${addresses[victim]} after ${((performance.now() - returnedAt) / 1000).toFixed(1)} s`);
    for (const period of [1, 2]) {
      const mark = proxies.map((p) => p.syncs.length);
      // Every proxy's connection has aged out once more (within one max-age period and its jitter).
      await until(() => proxies.every((p, k) => p.syncs.length > mark[k]));
      console.log(`      ${period} max-age period(s) after the return (${((performance.now() - returnedAt) / 1000).toFixed(1)} s): shares ${shares().join('/')}`);
      assertEven(`after ${period} max-age period(s)`);
    }
    assert.ok(proxies.some((p) => p.syncs.slice(-1)[0] === victim), 'proxies went back to the returned replica');

    // Nobody was ever without its configuration, and every stream ended as a reconnect request
    // (UNAVAILABLE) except those the kill cut: a connection reset reads as whatever the client's
    // HTTP/2 stack makes of it (grpc-js says INTERNAL for one that had a GOAWAY), and the proxies
    // reconnected from those just the same (shown above).
    const killWindow = (e: { replica: number; at: number }): boolean => e.replica === victim && e.at >= killedAt && e.at <= returnedAt;
    for (const p of proxies) {
      assert.deepEqual(p.config, expected);
      for (const { end } of p.ends.filter((e) => !killWindow(e))) {
        assert.equal(end.code, grpc.status.UNAVAILABLE, `a stream ended ${grpc.status[end.code]}: ${end.details}`);
      }
    }
    const aged = proxies.flatMap((p) => p.ends).filter((e) => /maximum age/.test(e.end.details)).length;
    assert.ok(aged > PROXIES, `streams ended by their connection's maximum age (${aged})`);
  });
});
