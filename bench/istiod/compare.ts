// pilotfish and istiod side by side, in one run: the same workload (as each server's files), the
// same simulated proxies (Istio-looking nodes, which both servers read) in the same worker
// processes, the same changes made the same way (a namespace's file rewritten in place), one
// server after the other at each proxy count. pilotfish's REST registry path is measured too.
import { writeFileSync } from 'node:fs';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CLUSTER, ENDPOINT, LISTENER, ROUTE } from '../../src/xds/types.js';
import type { WatchResult } from '../protocol.js';
import { ServerProcess } from '../server-process.js';
import { now, type ProxySpec } from '../sim-proxy.js';
import { median, round, summarize, sum, type Summary } from '../stats.js';
import { WorkerPool } from '../workers.js';
import { clusterName, generateProxies, generateWorkload, serviceOfListener, type ProxyMix, type Workload, type WorkloadService } from '../workload.js';
import { IstiodProcess } from './istiod-process.js';
import { MeshFiles, type Flavour } from './mesh-files.js';

export type ServerName = 'pilotfish' | 'istiod';

export interface CompareOptions {
  readonly proxyCounts: readonly number[];
  readonly services: number;
  readonly namespaces: number;
  readonly endpointsPerService: number;
  readonly routeEvery: number;
  /** Endpoint changes per level and path. */
  readonly reps: number;
  readonly workers: number;
  readonly mix: ProxyMix;
  readonly quietMs: number;
  readonly istiodBinary: string;
  readonly istiodMaxRequestsPerSecond: number;
  readonly log: (line: string) => void;
  /** Called with what is known after every level, so a run stopped early keeps its results. */
  readonly onProgress?: (partial: CompareResult) => Promise<void>;
  /** Which servers run (default both); the istiod binary is not needed without istiod. */
  readonly servers?: readonly ServerName[];
  /** Only the endpoint change by file at each level (no registry path, no full push). */
  readonly fileEditsOnly?: boolean;
}

/** One change, per subscribed proxy and overall. */
export interface ChangeResult {
  readonly reps: number;
  readonly subscribed: number;
  /** Write (or registry call) -> the server starts the push. */
  readonly writeToPushStart: Summary;
  /**
   * pilotfish only, split at the moment the server saw the change (the push log's changedAt, whole
   * ms): write -> seen (the file event), and seen -> push start (debounce, reading, snapshot).
   */
  readonly writeToChangeSeen?: Summary;
  readonly changeSeenToPushStart?: Summary;
  /** Push start -> ACK of the response carrying the change, per subscribed proxy. */
  readonly pushStartToAck: Summary;
  /** Write -> that ACK. */
  readonly writeToAck: Summary;
  /** Write -> each subscribed proxy's last ACK of the change's cascade (full push). */
  readonly writeToLastAck: Summary;
  readonly cpuSecondsPerChange: number;
  readonly bytesPerChange: number;
  readonly responsesPerChange: number;
  /** Per change: proxies sent something they did not need (not subscribed, or not the change). */
  readonly unneededProxiesPerChange: number;
  readonly unneededResponsesPerChange: number;
  readonly missing: number;
}

export interface LevelRun {
  readonly server: ServerName;
  readonly proxies: number;
  readonly failed?: string;
  readonly initial?: {
    readonly totalMs: number;
    readonly perProxy: Summary;
    readonly failures: number;
    readonly reconnects: number;
    readonly cpuSeconds: number;
    readonly clientCpuSeconds: number;
    readonly bytes: number;
    /** Bytes per proxy and type (cds, eds, lds, rds) during initial convergence. */
    readonly bytesPerProxy: Readonly<Record<string, number>>;
  };
  readonly memory?: { readonly rssBytes: number; readonly peakRssBytes: number };
  readonly endpointFile?: ChangeResult;
  readonly endpointRegistry?: ChangeResult;
  readonly fullPush?: ChangeResult;
}

export interface CompareResult {
  readonly workload: {
    readonly services: number; readonly endpoints: number; readonly clusters: number; readonly namespaces: number;
    readonly routes: number; readonly endpointsPerService: number;
  };
  readonly mix: ProxyMix;
  readonly debounceMs: number;
  readonly levels: readonly LevelRun[];
  readonly startup: Readonly<Record<ServerName, { readonly ms: number; readonly idleRssBytes: number }>>;
  readonly warnings: Readonly<Record<ServerName, readonly string[]>>;
}

/** Both servers wait this long for quiet before pushing (pilotfish's debounce, istiod's PILOT_DEBOUNCE_AFTER). */
export const DEBOUNCE_MS = 100;
const STEADY_STATE_WAIT_MS = 3000;
const TYPE_KEYS: ReadonlyArray<readonly [string, string]> = [[CLUSTER, 'cds'], [ENDPOINT, 'eds'], [LISTENER, 'lds'], [ROUTE, 'rds']];

/** What the comparison needs of a server. */
interface Target {
  readonly name: ServerName;
  readonly xdsAddress: string;
  cpuSeconds(): number;
  memory(): { rss: number; peakRss: number };
  /** A mark before a change; pushStartAfter resolves with the epoch ms of the next push's start. */
  pushMark(): number;
  pushStartAfter(mark: number, kind: 'endpoints' | 'config'): Promise<{ readonly at: number; readonly changeSeenAt?: number }>;
  warnings(): readonly string[];
  stop(): Promise<void>;
}

function pilotfishTarget(s: ServerProcess): Target {
  return {
    name: 'pilotfish', xdsAddress: s.xdsAddress,
    cpuSeconds: () => s.cpuSeconds(), memory: () => s.memory(),
    pushMark: () => s.pushes.length,
    pushStartAfter: async (mark, kind) => {
      const p = await s.nextPush(mark, (x) => (kind === 'endpoints' ? x.changedTypes.includes(ENDPOINT) : x.trigger === 'config'), 60_000);
      return { at: p.finishedAt - p.durationMs, ...(p.changedAt !== undefined ? { changeSeenAt: p.changedAt } : {}) };
    },
    warnings: () => s.warnings,
    stop: () => s.stop(),
  };
}

function istiodTarget(s: IstiodProcess): Target {
  return {
    name: 'istiod', xdsAddress: s.xdsAddress,
    cpuSeconds: () => s.cpuSeconds(), memory: () => s.memory(),
    pushMark: () => s.pushStarts.length,
    pushStartAfter: async (mark) => ({ at: await s.waitFor(() => s.pushStarts[mark], 120_000, 'istiod to start a push') }),
    warnings: () => s.warnings,
    stop: () => s.stop(),
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Fresh endpoint addresses for the changes: 10.250.0.1 onwards, never .0 or .255. */
class AddressCounter {
  private n = 0;
  next(): string {
    const i = this.n++;
    return `10.250.${Math.floor(i / 254) % 256}.${(i % 254) + 1}`;
  }
}

interface Trial {
  readonly t0: number;
  readonly pushStart: number;
  readonly changeSeen?: number;
  readonly results: readonly WatchResult[];
  readonly cpuSeconds: number;
}

function changeResult(trials: readonly Trial[]): ChangeResult {
  const toAck: number[] = [], fromPush: number[] = [], toLast: number[] = [];
  let subscribed = 0, missing = 0;
  for (const t of trials) {
    for (const r of t.results) {
      if (!r.expected) continue;
      subscribed++;
      if (r.lastAckAt !== undefined) toLast.push(r.lastAckAt - t.t0);
      if (r.targetAckAt === undefined) { missing++; continue; }
      toAck.push(r.targetAckAt - t.t0);
      fromPush.push(r.targetAckAt - t.pushStart);
    }
  }
  const per = (f: (t: Trial) => number): number => median(trials.map(f));
  const seen = trials.flatMap((t) => (t.changeSeen !== undefined ? [{ ...t, changeSeen: t.changeSeen }] : []));
  return {
    reps: trials.length,
    subscribed: trials.length > 0 ? subscribed / trials.length : 0,
    writeToPushStart: summarize(trials.map((t) => t.pushStart - t.t0)),
    ...(seen.length === trials.length && seen.length > 0 ? {
      writeToChangeSeen: summarize(seen.map((t) => t.changeSeen - t.t0)),
      changeSeenToPushStart: summarize(seen.map((t) => t.pushStart - t.changeSeen)),
    } : {}),
    pushStartToAck: summarize(fromPush), writeToAck: summarize(toAck), writeToLastAck: summarize(toLast),
    cpuSecondsPerChange: per((t) => t.cpuSeconds),
    bytesPerChange: per((t) => sum(t.results.map((r) => r.bytes))),
    responsesPerChange: per((t) => sum(t.results.map((r) => r.responses))),
    unneededProxiesPerChange: per((t) => t.results.filter((r) => r.unneeded > 0).length),
    unneededResponsesPerChange: per((t) => sum(t.results.map((r) => r.unneeded))),
    missing,
  };
}

class LevelDriver {
  private added = 0;

  constructor(
    private readonly o: CompareOptions,
    private readonly w: Workload,
    private readonly files: MeshFiles,
    private readonly dir: string,
    private readonly target: Target,
    private readonly pool: WorkerPool,
    private readonly addresses: AddressCounter,
    private readonly pilotfish: ServerProcess | undefined,
  ) {}

  private async trial(watch: { typeUrl: string; name: string; address?: string; wildcard: boolean }, kind: 'endpoints' | 'config',
    change: () => Promise<void>): Promise<Trial> {
    await this.pool.all('watching', () => ({ op: 'watch', watch }));
    const mark = this.target.pushMark();
    const cpu0 = this.target.cpuSeconds();
    const t0 = now();
    await change();
    const push = await this.target.pushStartAfter(mark, kind);
    const replies = await this.pool.all('collected', () => ({ op: 'collect', quietMs: this.o.quietMs, timeoutMs: 120_000 }));
    if (replies.some((r) => r.timedOut)) this.o.log(`  warning: a worker timed out waiting for proxies to settle (${watch.name})`);
    return {
      t0, pushStart: push.at, ...(push.changeSeenAt !== undefined ? { changeSeen: push.changeSeenAt } : {}),
      results: replies.flatMap((r) => r.results), cpuSeconds: this.target.cpuSeconds() - cpu0,
    };
  }

  private async writeRel(rel: string, text: string): Promise<void> {
    const file = path.join(this.dir, rel);
    await mkdir(path.dirname(file), { recursive: true });
    // In place, as an editor without atomic save or `kubectl cp` would: the harder case for a watcher.
    // Synchronously: truncate and write back to back, with no hop through this process's thread
    // pool in between (on a loaded machine that alone took up to 140 ms), so the figure times the
    // server rather than the bench's own I/O scheduling.
    writeFileSync(file, text);
  }

  /** Services some proxyless clients dial, alternating with arbitrary ones (as the main bench does). */
  private changedService(specs: readonly ProxySpec[], r: number): WorkloadService {
    const dialed = specs.flatMap((s) => s.listeners.map((l) => serviceOfListener(this.w, l))).filter((s): s is WorkloadService => s !== undefined);
    return r % 2 === 0 && dialed.length > 0 ? dialed[(r / 2) % dialed.length] : this.w.services[(r * 7919 + 13) % this.w.services.length];
  }

  async endpointChanges(specs: readonly ProxySpec[], via: 'file' | 'registry'): Promise<ChangeResult> {
    const trials: Trial[] = [];
    for (let r = 0; r < this.o.reps; r++) {
      const svc = this.changedService(specs, r);
      const port = svc.ports[0].port;
      const address = this.addresses.next();
      const watch = { typeUrl: ENDPOINT, name: clusterName(svc, port), address, wildcard: false };
      if (via === 'file') {
        const edit = this.files.addEndpoint(svc, address);
        trials.push(await this.trial(watch, 'endpoints', () => this.writeRel(edit.path, edit.text)));
      } else {
        const server = this.pilotfish;
        if (server === undefined) throw new Error('the registry path is pilotfish\'s');
        trials.push(await this.trial(watch, 'endpoints',
          () => server.registerEndpoint({ address, port, service: svc.name, namespace: svc.namespace, servicePort: port })));
      }
      await sleep(50);
    }
    return changeResult(trials);
  }

  async fullPush(): Promise<ChangeResult> {
    const n = this.files.newService(this.w, this.added++);
    const t = await this.trial({ typeUrl: CLUSTER, name: n.cluster, wildcard: true }, 'config', () => this.writeRel(n.path, n.text));
    return changeResult([t]);
  }

  async level(n: number): Promise<LevelRun> {
    const o = this.o;
    const name = this.target.name;
    const specs = generateProxies(this.w, n, { mix: o.mix, istioNode: true });
    const parts: ProxySpec[][] = Array.from({ length: this.pool.size }, () => []);
    specs.forEach((s, i) => parts[i % parts.length].push(s));
    const cpu0 = this.target.cpuSeconds();
    const t0 = now();
    // istiod takes minutes to converge thousands of proxies here: a generous bound, not a target.
    const connected = await this.pool.all('connected', (i) => ({
      op: 'connect', address: this.target.xdsAddress, perConnection: 1, proxies: parts[i], quietMs: o.quietMs, timeoutMs: 1_200_000,
    }));
    const cpuSeconds = this.target.cpuSeconds() - cpu0;
    const results = connected.flatMap((c) => c.results);
    const done = results.filter((r) => r.convergedAt !== undefined).map((r) => r.convergedAt! - t0);
    const bytesPerProxy: Record<string, number> = {};
    for (const [typeUrl, key] of TYPE_KEYS) bytesPerProxy[key] = sum(results.map((r) => r.bytesByType[typeUrl] ?? 0)) / n;
    const initial = {
      totalMs: done.length > 0 ? Math.max(...done) : NaN, perProxy: summarize(done), failures: results.length - done.length,
      reconnects: sum(results.map((r) => r.reconnects)), cpuSeconds,
      clientCpuSeconds: sum(connected.map((c) => c.stats.phaseCpuMs)) / 1000,
      bytes: sum(results.map((r) => r.bytes)), bytesPerProxy,
    };
    o.log(`  ${name}, ${n} proxies: converged in ${round(initial.totalMs / 1000, 2)} s, server CPU ${initial.cpuSeconds.toFixed(1)} s, ` +
      `${(initial.bytes / 1e6).toFixed(0)} MB, ${initial.failures} not converged, ${initial.reconnects} reconnects`);
    try {
      if (initial.failures > 0) {
        const reasons = [...new Set(results.filter((r) => r.convergedAt === undefined)
          .map((r) => r.failure ?? (r.waitingFor !== undefined ? `${r.kind} waiting for ${r.waitingFor.join(', ')}` : r.lastError)))].slice(0, 3);
        // What the attempt cost is reported too: a server that does not hold a level still used it.
        const mem = this.target.memory();
        return {
          server: name, proxies: n, failed: `${initial.failures} of ${n} proxies did not converge (${reasons.join('; ')})`, initial,
          memory: { rssBytes: mem.rss, peakRssBytes: mem.peakRss },
        };
      }
      await sleep(STEADY_STATE_WAIT_MS);
      const mem = this.target.memory();
      const memory = { rssBytes: mem.rss, peakRssBytes: mem.peakRss };
      o.log(`  ${name}: RSS ${(mem.rss / 2 ** 20).toFixed(0)} MiB (peak ${(mem.peakRss / 2 ** 20).toFixed(0)} MiB)`);
      const endpointFile = await this.endpointChanges(specs, 'file');
      o.log(`  ${name}: endpoint change by file: write -> push start p50 ${round(endpointFile.writeToPushStart.p50)} ms, ` +
        `push start -> ACK p99 ${round(endpointFile.pushStartToAck.p99)} ms, write -> ACK p99 ${round(endpointFile.writeToAck.p99)} ms, ` +
        `CPU ${endpointFile.cpuSecondsPerChange.toFixed(2)} s, unneeded pushes ${endpointFile.unneededProxiesPerChange}`);
      if (o.fileEditsOnly === true) return { server: name, proxies: n, initial, memory, endpointFile };
      const endpointRegistry = this.pilotfish !== undefined ? await this.endpointChanges(specs, 'registry') : undefined;
      if (endpointRegistry) {
        o.log(`  ${name}: endpoint change by registry: push start p50 ${round(endpointRegistry.writeToPushStart.p50)} ms after the call, ` +
          `push start -> ACK p99 ${round(endpointRegistry.pushStartToAck.p99)} ms`);
      }
      const fullPush = await this.fullPush();
      o.log(`  ${name}: full push (new service): write -> all ACKed p99 ${round(fullPush.writeToLastAck.p99)} ms, CPU ${fullPush.cpuSecondsPerChange.toFixed(2)} s`);
      return { server: name, proxies: n, initial, memory, endpointFile, ...(endpointRegistry ? { endpointRegistry } : {}), fullPush };
    } finally {
      await this.pool.all('disconnected', () => ({ op: 'disconnect' }));
      // Both servers notice the closed streams; give them a moment before the next level connects.
      await sleep(2000);
    }
  }
}

async function startTarget(o: CompareOptions, flavour: Flavour, dir: string): Promise<{ target: Target; pilotfish?: ServerProcess }> {
  if (flavour === 'pilotfish') {
    const s = await ServerProcess.start({ configDir: dir });
    return { target: pilotfishTarget(s), pilotfish: s };
  }
  const s = await IstiodProcess.start({ binary: o.istiodBinary, configDir: dir, maxRequestsPerSecond: o.istiodMaxRequestsPerSecond });
  return { target: istiodTarget(s) };
}

export async function runComparison(o: CompareOptions): Promise<CompareResult> {
  const w = generateWorkload({ namespaces: o.namespaces, services: o.services, endpointsPerService: o.endpointsPerService, routeEvery: o.routeEvery, seed: 42 });
  o.log(`mesh: ${w.services.length} services, ${w.clusters} clusters, ${w.endpoints} endpoints, ${w.trafficRoutes} routes + policies`);
  const levels: LevelRun[] = [];
  const startup: Partial<Record<ServerName, { ms: number; idleRssBytes: number }>> = {};
  const warnings: Partial<Record<ServerName, readonly string[]>> = {};
  const none = { ms: NaN, idleRssBytes: NaN };
  const result = (): CompareResult => ({
    workload: {
      services: w.services.length, endpoints: w.endpoints, clusters: w.clusters, namespaces: w.namespaces.length,
      routes: w.trafficRoutes, endpointsPerService: o.endpointsPerService,
    },
    mix: o.mix, debounceMs: DEBOUNCE_MS, levels: [...levels],
    startup: { pilotfish: startup.pilotfish ?? none, istiod: startup.istiod ?? none },
    warnings: { pilotfish: warnings.pilotfish ?? [], istiod: warnings.istiod ?? [] },
  });
  const pool = await WorkerPool.start(o.workers);
  try {
    const servers = o.servers ?? ['pilotfish', 'istiod'];
    for (const flavour of (['pilotfish', 'istio'] as const).filter((f) => servers.includes(f === 'pilotfish' ? 'pilotfish' : 'istiod'))) {
      const files = new MeshFiles(w, flavour);
      const dir = await mkdtemp(path.join(tmpdir(), `pilotfish-vs-${flavour}-`));
      const addresses = new AddressCounter();
      try {
        for (const [rel, text] of files.files()) {
          await mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
          await writeFile(path.join(dir, rel), text);
        }
        const started = now();
        let up: Awaited<ReturnType<typeof startTarget>>;
        try {
          up = await startTarget(o, flavour, dir);
        } catch (err) {
          const server: ServerName = flavour === 'pilotfish' ? 'pilotfish' : 'istiod';
          const reason = `did not start: ${(err instanceof Error ? err.message : String(err)).split('\n')[0]}`;
          o.log(`${server} ${reason}`);
          for (const n of o.proxyCounts) levels.push({ server, proxies: n, failed: reason });
          continue;
        }
        const { target, pilotfish } = up;
        try {
          const ms = now() - started;
          await sleep(1500);
          startup[target.name] = { ms, idleRssBytes: target.memory().rss };
          o.log(`${target.name}: up in ${round(ms, 0)} ms, idle RSS ${(target.memory().rss / 2 ** 20).toFixed(0)} MiB`);
          const driver = new LevelDriver(o, w, files, dir, target, pool, addresses, pilotfish);
          for (const n of o.proxyCounts) {
            let run: LevelRun;
            try {
              run = await driver.level(n);
            } catch (err) {
              run = { server: target.name, proxies: n, failed: (err instanceof Error ? err.message : String(err)).split('\n')[0] };
            }
            levels.push(run);
            await o.onProgress?.(result());
            // A level the server could not hold: larger ones would not be held either.
            if (run.failed !== undefined) {
              o.log(`  ${target.name} did not hold ${n} proxies: ${run.failed}; skipping larger levels`);
              break;
            }
          }
          warnings[target.name] = target.warnings().slice(0, 10);
        } finally {
          await target.stop();
        }
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }
  } finally {
    await pool.stop();
  }
  return result();
}
