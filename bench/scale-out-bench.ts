// The scale-out level: N replicas of `pilotfish serve` on the same files (a shortened maximum
// connection age), the simulated proxies spread over them by a least-connections choice per
// connection (sim-proxy.ts ConnectionPool); one replica killed mid-run (SIGKILL: its proxies
// reconverge on the others — time, lost streams and refused connections reported) and brought
// back on its address (the maximum age alone rebalances: the distribution over time reported).
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ServerProcess } from './server-process.js';
import { now, type ProxySpec } from './sim-proxy.js';
import { round, sum } from './stats.js';
import { WorkerPool } from './workers.js';
import { generateProxies, generateWorkload, PILOTFISH_MIX } from './workload.js';

export interface ScaleOutOptions {
  readonly replicas: number;
  readonly proxies: number;
  readonly services: number;
  readonly namespaces: number;
  readonly endpointsPerService: number;
  /** The replicas' --xds-max-connection-age, shortened so the run stays short. */
  readonly maxAgeSeconds: number;
  readonly workers: number;
  readonly log: (line: string) => void;
}

export interface ScaleOutResult {
  readonly replicas: number;
  readonly proxies: number;
  readonly services: number;
  readonly endpoints: number;
  readonly maxAgeSeconds: number;
  /** Connected proxies per replica once all converged. */
  readonly initialShares: readonly number[];
  readonly kill: {
    /** Proxies the killed replica had. */
    readonly victimProxies: number;
    /** From the kill to the last of its proxies converged again on the others. */
    readonly reconvergedMs: number;
    /** Streams lost (not asked to reconnect): the proxies' failed xDS streams. */
    readonly lostStreams: number;
    /** Connection attempts the dead replica refused before the proxies avoided it. */
    readonly refusedConnections: number;
    /** Proxies still without a stream, or that gave up, when the reconvergence was measured. */
    readonly proxiesWithoutStream: number;
  };
  /** After the replica came back: connected proxies per replica, sampled every second. */
  readonly rebalance: readonly { readonly atSeconds: number; readonly shares: readonly number[] }[];
  /** When every replica's share was first within ±15 % of even (seconds after the return). */
  readonly evenAfterSeconds?: number;
}

const TOLERANCE = 0.15;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function shares(servers: readonly ServerProcess[]): Promise<number[]> {
  return Promise.all(servers.map(async (s) => (await s.metricSum('pilotfish_xds_connected_proxies')) ?? 0));
}

function even(s: readonly number[], total: number): boolean {
  const target = total / s.length;
  return s.every((n) => Math.abs(n - target) <= TOLERANCE * target);
}

export async function runScaleOutBench(o: ScaleOutOptions): Promise<ScaleOutResult> {
  const w = generateWorkload({ namespaces: o.namespaces, services: o.services, endpointsPerService: o.endpointsPerService, routeEvery: 20, seed: 42 });
  o.log(`scale-out: ${o.replicas} replicas of pilotfish serve, ${o.proxies} proxies, ${w.services.length} services, ${w.endpoints} endpoints, ` +
    `max connection age ${o.maxAgeSeconds} s`);
  const dir = await mkdtemp(path.join(tmpdir(), 'pilotfish-scaleout-'));
  for (const [rel, text] of w.files) {
    await mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
    await writeFile(path.join(dir, rel), text);
  }
  const args = ['--xds-max-connection-age', `${o.maxAgeSeconds}s`];
  const start = (xdsAddress?: string): Promise<ServerProcess> =>
    ServerProcess.start({ configDir: dir, logLevel: 'info', args, ...(xdsAddress ? { xdsAddress } : {}) });
  const servers: ServerProcess[] = [];
  const pool = await WorkerPool.start(o.workers);
  try {
    for (let i = 0; i < o.replicas; i++) servers.push(await start());
    const addresses = servers.map((s) => s.xdsAddress);
    const specs = generateProxies(w, o.proxies, { mix: PILOTFISH_MIX });
    const parts: ProxySpec[][] = Array.from({ length: pool.size }, () => []);
    specs.forEach((s, i) => parts[i % parts.length].push(s));
    const connected = await pool.all('connected', (i) => ({
      op: 'connect', address: addresses[0], addresses, perConnection: 1, proxies: parts[i], quietMs: 0, timeoutMs: 240_000,
      maxReconnects: Number.MAX_SAFE_INTEGER,
    }));
    const failed = sum(connected.map((c) => c.results.filter((r) => r.failure !== undefined).length));
    const initialShares = await shares(servers);
    o.log(`  all converged (${failed} failed); connected per replica ${initialShares.join(' / ')}`);

    const victim = o.replicas - 1;
    const victimProxies = initialShares[victim];
    const refusedBefore = sum(connected.map((c) => c.stats.refusedConnections));
    const killedAt = now();
    await servers[victim].kill();
    const recovered = await pool.all('recovered', () => ({ op: 'recover', timeoutMs: 120_000 }));
    const results = recovered.flatMap((r) => r.results);
    const recoveredAts = results.map((r) => r.recoveredAt).filter((t): t is number => t !== undefined && t >= killedAt);
    const kill = {
      victimProxies,
      reconvergedMs: recoveredAts.length ? Math.max(...recoveredAts) - killedAt : NaN,
      lostStreams: sum(results.map((r) => r.lost)),
      refusedConnections: sum(recovered.map((r) => r.stats.refusedConnections)) - refusedBefore,
      proxiesWithoutStream: results.filter((r) => r.stillLost || r.failure !== undefined).length,
    };
    o.log(`  killed replica ${victim} (${victimProxies} proxies): all reconverged on the others in ${round(kill.reconvergedMs, 0)} ms; ` +
      `${kill.lostStreams} streams lost, ${kill.refusedConnections} connections refused by the dead replica, ${kill.proxiesWithoutStream} proxies without a stream`);

    servers[victim] = await start(addresses[victim]);
    const returnedAt = now();
    const rebalance: { atSeconds: number; shares: number[] }[] = [];
    let evenAfterSeconds: number | undefined;
    const until = returnedAt + 2.2 * o.maxAgeSeconds * 1000;
    while (now() < until) {
      await sleep(1000);
      const s = await shares(servers);
      const atSeconds = round((now() - returnedAt) / 1000, 1);
      rebalance.push({ atSeconds, shares: s });
      if (evenAfterSeconds === undefined && even(s, o.proxies)) evenAfterSeconds = atSeconds;
    }
    o.log(`  replica ${victim} back: shares every second ${rebalance.map((r) => r.shares.join('/')).join('  ')}; ` +
      `within ±15 % of even after ${evenAfterSeconds ?? 'never'} s`);
    await pool.all('disconnected', () => ({ op: 'disconnect' }));
    return {
      replicas: o.replicas, proxies: o.proxies, services: w.services.length, endpoints: w.endpoints, maxAgeSeconds: o.maxAgeSeconds,
      initialShares, kill, rebalance, ...(evenAfterSeconds !== undefined ? { evenAfterSeconds } : {}),
    };
  } finally {
    await pool.stop();
    await Promise.all(servers.map((s) => s.stop()));
    await rm(dir, { recursive: true, force: true });
  }
}
