// The xDS part of the benchmark. One `pilotfish serve` per endpoint scale, fed generated files
// (and the REST registry for endpoint changes); for each proxy count the simulated proxies all
// connect at once, converge, and then live through endpoint changes and new services while
// every proxy's ACK is timed.
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CLUSTER, ENDPOINT } from '../src/xds/types.js';
import type { WatchResult, WorkerStats } from './protocol.js';
import { ServerProcess, type PushLog } from './server-process.js';
import { now, type ProxyKind, type ProxySpec } from './sim-proxy.js';
import { median, round, summarize, sum, type Summary } from './stats.js';
import { WorkerPool } from './workers.js';
import {
  clusterName, clustersSeenFrom, describeMix, generateProxies, generateWorkload, newService, serviceOfListener, type ProxyMix, type Workload,
  type WorkloadService,
} from './workload.js';

/** The server's debounce: publish after 100 ms without further changes (controller/store.ts). */
export const DEBOUNCE_MS = 100;
/** How long after convergence memory is read. */
export const STEADY_STATE_WAIT_MS = 3000;

export interface XdsBenchOptions {
  readonly proxyCounts: readonly number[];
  /** Endpoints per service, one server per value. */
  readonly endpointsPerService: readonly number[];
  readonly services: number;
  readonly namespaces: number;
  readonly routeEvery: number;
  readonly edsReps: number;
  readonly newServiceReps: number;
  readonly streamsPerConnection: number;
  readonly workers: number;
  readonly quietMs: number;
  /** Shares of the proxy kinds at every level. */
  readonly mix: ProxyMix;
  /**
   * One more level after the others, on the scale with this many endpoints per service: the
   * same proxy count with another mix (the SotW-heavy stress case of the full matrix).
   */
  readonly extraLevel?: { readonly endpointsPerService: number; readonly proxies: number; readonly mix: ProxyMix };
  readonly cpuProfDir?: string;
  /** The proxy workers' nice value (WorkerPool.start); 0 unless given. */
  readonly proxyNice?: number;
  readonly log: (line: string) => void;
  /**
   * The scoped level, on a server of its own: every namespace's TrafficScope names its own
   * Services and two shared ones, the server runs with `--default-scope namespace`.
   */
  readonly scoped?: {
    readonly proxyCounts: readonly number[];
    readonly endpointsPerService: number;
    readonly mix: ProxyMix;
    /** Once more at the largest count with this mix (the SotW-heavy stress case). */
    readonly stressMix?: ProxyMix;
  };
}

export interface ChangeFigures {
  readonly reps: number;
  /** Proxies subscribed to the changed resource, per change (average). */
  readonly subscribed: number;
  /** Per proxy and change: trigger -> ACK of the response carrying the change. */
  readonly ack: Summary;
  /** Same, minus the debounce window the server waits on purpose. */
  readonly beyondDebounce: Summary;
  /** Same, from the moment generation started (after debounce and snapshot building). */
  readonly fromGeneration: Summary;
  /** Median of trigger -> generation start, minus the debounce window: what the controller spent. */
  readonly controllerMs: number;
  /** Median time the server spent generating and handing the push to the streams. */
  readonly generationMs: number;
  readonly cpuSecondsPerPush: number;
  /** CPU the proxy workers spent per push (receiving, ACKing, following subscriptions). */
  readonly clientCpuSecondsPerPush: number;
  /** The proxy workers' GC pauses per push, summed over the workers (ms, median). */
  readonly clientGcMsPerPush: number;
  /** Scoped changes: push start -> every proxy the change is for handed it (ms, median), as the server reports it. */
  readonly scopedServedMs?: number;
  readonly bytesPerPush: number;
  /** Per proxy kind and type (CDS, EDS, LDS, RDS): bytes a proxy of that kind got for the push (median over pushes of the mean over proxies). */
  readonly bytesPerProxyByType?: Readonly<Record<string, Readonly<Record<string, number>>>>;
  readonly responsesPerPush: number;
  /** Proxies that were sent something they do not subscribe to (should be 0). */
  readonly unexpectedPushes: number;
  /** Subscribed proxies that never ACKed the change (should be 0). */
  readonly missing: number;
  readonly encodedPerPush?: number;
  /** Sampled proxies that decoded the change and found it correct / all sampled subscribed proxies. */
  readonly verified: { readonly ok: number; readonly of: number };
}

export interface NewServiceFigures extends ChangeFigures {
  /** Per proxy: trigger -> ACK of its last response of the cascade (CDS, EDS, LDS, RDS). */
  readonly converged: Summary;
}

export interface LevelResult {
  readonly proxies: number;
  readonly mix: ProxyMix;
  readonly kinds: Readonly<Record<ProxyKind, number>>;
  readonly connections: number;
  readonly initial: {
    readonly totalMs: number;
    readonly perProxy: Summary;
    readonly failures: number;
    readonly failureSamples: readonly string[];
    /** Streams that broke and reconnected (as real proxies do) before converging. */
    readonly reconnects: number;
    readonly reconnectReasons: readonly string[];
    readonly bytes: number;
    readonly responses: number;
    readonly cpuSeconds: number;
    /** CPU the proxy workers spent meanwhile (they share the machine with the server). */
    readonly clientCpuSeconds: number;
    readonly timedOut: boolean;
  };
  readonly memory: {
    readonly rssBytes: number;
    readonly peakRssBytes: number;
    readonly heapUsedBytes?: number;
    readonly rssPerProxyBytes: number;
    readonly heapPerProxyBytes?: number;
    /** A /metrics scrape at rest, request to last byte, median of five (the server renders it on its event loop). */
    readonly metricsScrapeMs?: number;
  };
  readonly endpointChange: ChangeFigures;
  readonly newService: NewServiceFigures;
  readonly checks: {
    readonly sampled: number;
    readonly responses: number;
    readonly resources: number;
    readonly failures: number;
    readonly errors: readonly string[];
  };
  readonly clientCpuSeconds: number;
}

export interface ScaleResult {
  readonly endpointsPerService: number;
  readonly endpoints: number;
  readonly services: number;
  readonly clusters: number;
  readonly namespaces: number;
  readonly trafficRoutes: number;
  readonly trafficPolicies: number;
  readonly startupMs: number;
  readonly baseline: { readonly rssBytes: number; readonly heapUsedBytes?: number };
  readonly levels: readonly LevelResult[];
  readonly serverWarnings: readonly string[];
  /** The scoped level (XdsBenchOptions.scoped). */
  readonly scoped?: boolean;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function mergeStats(stats: readonly WorkerStats[]): LevelResult['checks'] & { cpu: number } {
  return {
    sampled: sum(stats.map((s) => s.sampled)),
    responses: sum(stats.map((s) => s.checkedResponses)),
    resources: sum(stats.map((s) => s.checkedResources)),
    failures: sum(stats.map((s) => s.checkFailures)),
    errors: stats.flatMap((s) => s.checkErrors).slice(0, 10),
    cpu: sum(stats.map((s) => s.cpuUserMs + s.cpuSystemMs)) / 1000,
  };
}

let addressCounter = 0;
function freshAddress(): string {
  addressCounter++;
  return `10.250.${(addressCounter >> 8) & 255}.${(addressCounter & 255)}`;
}

interface Trial {
  readonly t0: number;
  readonly push: PushLog;
  readonly results: readonly WatchResult[];
  readonly cpuSeconds: number;
  readonly clientCpuSeconds: number;
  readonly clientGcMs: number;
  readonly encoded?: number;
}

/** Per proxy kind and type: the mean bytes a proxy that got anything got, median over the trials. */
function bytesPerProxyByType(trials: readonly Trial[]): Record<string, Record<string, number>> {
  const perTrial = trials.map((t) => {
    const out = new Map<string, { proxies: number; bytes: Map<string, number> }>();
    for (const r of t.results) {
      if (r.responses === 0) continue;
      let k = out.get(r.kind);
      if (!k) out.set(r.kind, (k = { proxies: 0, bytes: new Map() }));
      k.proxies++;
      for (const [type, b] of Object.entries(r.bytesByType)) k.bytes.set(type, (k.bytes.get(type) ?? 0) + b);
    }
    return out;
  });
  const kinds = new Set(perTrial.flatMap((m) => [...m.keys()]));
  const result: Record<string, Record<string, number>> = {};
  for (const kind of kinds) {
    const types = new Set(perTrial.flatMap((m) => [...(m.get(kind)?.bytes.keys() ?? [])]));
    result[kind] = Object.fromEntries([...types].sort().map((type) => [type, Math.round(median(perTrial.map((m) => {
      const k = m.get(kind);
      return k ? (k.bytes.get(type) ?? 0) / k.proxies : 0;
    })))]));
  }
  return result;
}

function formatBytesByType(byKind: Readonly<Record<string, Readonly<Record<string, number>>>> | undefined): string {
  if (byKind === undefined) return '–';
  return Object.entries(byKind).map(([kind, types]) =>
    `${kind} ${Object.entries(types).map(([t, b]) => `${t} ${(b / 1024).toFixed(1)} KiB`).join(', ')}`).join('; ');
}

class Scale {
  private readonly added: WorkloadService[] = [];

  constructor(
    private readonly o: XdsBenchOptions,
    private readonly w: Workload,
    private readonly dir: string,
    private readonly server: ServerProcess,
    private readonly pool: WorkerPool,
  ) {}

  /** Median of five /metrics scrapes at rest, request to last byte (the first after a pause pays for a new connection). */
  private async scrapeMs(): Promise<number> {
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const start = now();
      await this.server.metricsText();
      times.push(now() - start);
    }
    return median(times);
  }

  /** Starts a measurement, makes the change, waits for the push and for every proxy to settle. */
  private async trial(watch: { typeUrl: string; name: string; address?: string; wildcard: boolean },
    change: () => Promise<void>, pushMatches: (p: PushLog) => boolean, collectTimeoutMs: number): Promise<Trial> {
    await this.pool.all('watching', () => ({ op: 'watch', watch }));
    const encodedBefore = await this.server.metricSum('pilotfish_xds_resources_encoded_total');
    const pushIndex = this.server.pushes.length;
    const cpu0 = this.server.cpuSeconds();
    const t0 = now();
    // CLOCK_MONOTONIC in µs, the clock of the server's --cpu-prof samples: the window to slice a profile to.
    const mono0 = process.hrtime.bigint() / 1000n;
    await change();
    const push = await this.server.nextPush(pushIndex, pushMatches, 60_000);
    const replies = await this.pool.all('collected', () => ({ op: 'collect', quietMs: this.o.quietMs, timeoutMs: collectTimeoutMs }));
    const cpuSeconds = this.server.cpuSeconds() - cpu0;
    const encodedAfter = await this.server.metricSum('pilotfish_xds_resources_encoded_total');
    const encoded = push.encoded ?? (encodedBefore !== undefined && encodedAfter !== undefined ? encodedAfter - encodedBefore : undefined);
    if (replies.some((r) => r.timedOut)) this.o.log(`  warning: a worker timed out waiting for proxies to settle (${watch.name})`);
    const clientCpuSeconds = sum(replies.map((r) => r.stats.phaseCpuMs)) / 1000;
    const clientGcMs = sum(replies.map((r) => r.stats.phaseGcMs));
    if (this.o.cpuProfDir !== undefined) {
      this.o.log(`  profile window of this ${watch.typeUrl.split('.').pop() ?? ''} change: ${mono0}-${process.hrtime.bigint() / 1000n} ` +
        '(node dist/bench/profile.js FILE 25 "" START-END)');
    }
    return { t0, push, results: replies.flatMap((r) => r.results), cpuSeconds, clientCpuSeconds, clientGcMs, encoded };
  }

  private figures(trials: readonly Trial[], debounceMs: number): ChangeFigures {
    const ack: number[] = [], beyond: number[] = [], fromGen: number[] = [];
    let subscribed = 0, missing = 0, unexpected = 0, ok = 0, of = 0;
    for (const t of trials) {
      const genStart = t.push.finishedAt - t.push.durationMs;
      for (const r of t.results) {
        if (!r.expected) {
          if (r.responses > 0) unexpected++;
          continue;
        }
        subscribed++;
        if (r.targetAckAt === undefined) { missing++; continue; }
        ack.push(r.targetAckAt - t.t0);
        beyond.push(r.targetAckAt - t.t0 - debounceMs);
        fromGen.push(r.targetAckAt - genStart);
        if (r.verified !== undefined) { of++; if (r.verified) ok++; }
      }
    }
    const encoded = trials.map((t) => t.encoded).filter((e): e is number => e !== undefined);
    return {
      reps: trials.length,
      subscribed: trials.length ? subscribed / trials.length : 0,
      ack: summarize(ack), beyondDebounce: summarize(beyond), fromGeneration: summarize(fromGen),
      controllerMs: median(trials.map((t) => t.push.finishedAt - t.push.durationMs - t.t0 - debounceMs)),
      generationMs: median(trials.map((t) => t.push.durationMs)),
      cpuSecondsPerPush: median(trials.map((t) => t.cpuSeconds)),
      clientCpuSecondsPerPush: median(trials.map((t) => t.clientCpuSeconds)),
      clientGcMsPerPush: median(trials.map((t) => t.clientGcMs)),
      ...(trials.every((t) => t.push.scopedServedMs !== undefined) && trials.length > 0
        ? { scopedServedMs: median(trials.map((t) => t.push.scopedServedMs!)) } : {}),
      bytesPerPush: median(trials.map((t) => sum(t.results.map((r) => r.bytes)))),
      bytesPerProxyByType: bytesPerProxyByType(trials),
      responsesPerPush: median(trials.map((t) => sum(t.results.map((r) => r.responses)))),
      unexpectedPushes: unexpected, missing,
      ...(encoded.length === trials.length && encoded.length > 0 ? { encodedPerPush: median(encoded) } : {}),
      verified: { ok, of },
    };
  }

  async endpointChanges(specs: readonly ProxySpec[]): Promise<ChangeFigures> {
    // Alternate between services some proxyless clients dial and arbitrary ones.
    const dialed = specs.flatMap((s) => s.listeners.map((l) => serviceOfListener(this.w, l))).filter((s): s is WorkloadService => !!s);
    const trials: Trial[] = [];
    for (let r = 0; r < this.o.edsReps; r++) {
      const svc = r % 2 === 0 && dialed.length > 0
        ? dialed[(r / 2) % dialed.length]
        : this.w.services[(r * 7919 + 13) % this.w.services.length];
      const port = svc.ports[0].port;
      const address = freshAddress();
      trials.push(await this.trial(
        { typeUrl: ENDPOINT, name: clusterName(svc, port), address, wildcard: false },
        () => this.server.registerEndpoint({ address, port, service: svc.name, namespace: svc.namespace, servicePort: port }),
        (p) => p.changedTypes.includes(ENDPOINT), 30_000));
      await sleep(50);
    }
    return this.figures(trials, DEBOUNCE_MS);
  }

  async newServices(): Promise<NewServiceFigures> {
    const trials: Trial[] = [];
    for (let r = 0; r < this.o.newServiceReps; r++) {
      const n = newService(this.w, this.added.length);
      this.added.push(n.service);
      // Scoped: only the sidecars of the new Service's namespace may get anything.
      const namespaces = this.w.options.scoped ? { namespaces: [n.service.namespace] } : {};
      trials.push(await this.trial(
        { typeUrl: CLUSTER, name: clusterName(n.service, n.service.ports[0].port), wildcard: true, ...namespaces },
        async () => {
          await mkdir(path.dirname(path.join(this.dir, n.path)), { recursive: true });
          await writeFile(path.join(this.dir, n.path), n.text);
        },
        (p) => p.trigger === 'config', 120_000));
    }
    // The config directory reads the file while the debounce runs (its quiet period starts at the
    // file event), so a file change waits for the debounce alone, as a registry change does.
    const base = this.figures(trials, DEBOUNCE_MS);
    const converged: number[] = [];
    for (const t of trials) for (const r of t.results) if (r.expected && r.lastAckAt !== undefined) converged.push(r.lastAckAt - t.t0);
    return { ...base, converged: summarize(converged) };
  }

  async level(n: number, mix: ProxyMix): Promise<LevelResult> {
    const o = this.o;
    const specs = generateProxies(this.w, n, { mix });
    const kinds = { sotw: 0, delta: 0, grpc: 0 };
    for (const s of specs) kinds[s.kind]++;
    const parts: ProxySpec[][] = Array.from({ length: this.pool.size }, () => []);
    specs.forEach((s, i) => parts[i % parts.length].push(s));

    const openedBefore = this.server.streamsOpened;
    const cpu0 = this.server.cpuSeconds();
    const t0 = now();
    const connected = await this.pool.all('connected', (i) => ({
      op: 'connect', address: this.server.xdsAddress, perConnection: o.streamsPerConnection, proxies: parts[i],
      quietMs: o.quietMs, timeoutMs: 240_000,
    }));
    const cpuSeconds = this.server.cpuSeconds() - cpu0;
    const results = connected.flatMap((c) => c.results);
    const done = results.filter((r) => r.convergedAt !== undefined).map((r) => r.convergedAt! - t0);
    const failures = results.filter((r) => r.failure !== undefined);
    const initial = {
      totalMs: done.length ? Math.max(...done) : NaN, perProxy: summarize(done), failures: failures.length + (results.length - done.length - failures.length),
      failureSamples: failures.slice(0, 5).map((f) => `${f.id}: ${f.failure}`),
      reconnects: sum(results.map((r) => r.reconnects)),
      reconnectReasons: [...new Set(results.filter((r) => r.lastError).map((r) => r.lastError!))].slice(0, 5),
      bytes: sum(results.map((r) => r.bytes)),
      responses: sum(results.map((r) => r.responses)), cpuSeconds,
      clientCpuSeconds: sum(connected.map((c) => c.stats.phaseCpuMs)) / 1000, timedOut: connected.some((c) => c.timedOut),
    };
    o.log(`  ${n} proxies: converged in ${round(initial.totalMs, 0)} ms (p99 ${round(initial.perProxy.p99, 0)} ms), ` +
      `${(initial.bytes / 1e6).toFixed(1)} MB, CPU s: server ${cpuSeconds.toFixed(2)}, proxies ${initial.clientCpuSeconds.toFixed(2)} ` +
      `(proxy workers' RSS ${connected.map((c) => (c.stats.rssBytes / 2 ** 20).toFixed(0)).join(' + ')} MiB); ${initial.failures} failed, ` +
      `${initial.reconnects} reconnects${initial.reconnects > 0 ? ` (${initial.reconnectReasons.join('; ')})` : ''}` +
      (initial.failureSamples.length > 0 ? `\n    ${initial.failureSamples.join('\n    ')}` : ''));
    await this.server.waitFor(() => this.server.streamsOpened - openedBefore >= n - initial.failures || undefined, 30_000, 'stream open logs');

    // Steady state: past the server's per-burst caches (bodies shared during a push, kept 2 s).
    await sleep(STEADY_STATE_WAIT_MS);
    const mem = this.server.memory();
    const heap = await this.server.heap();
    const metricsScrapeMs = heap === undefined ? undefined : await this.scrapeMs();
    const memory = {
      rssBytes: mem.rss, peakRssBytes: mem.peakRss, heapUsedBytes: heap?.used,
      rssPerProxyBytes: (mem.rss - this.baselineRss) / n,
      heapPerProxyBytes: heap && this.baselineHeap !== undefined ? (heap.used - this.baselineHeap) / n : undefined,
      metricsScrapeMs,
    };
    o.log(`  memory: RSS ${(mem.rss / 2 ** 20).toFixed(0)} MiB${heap ? `, heap ${(heap.used / 2 ** 20).toFixed(0)} MiB used of ${(heap.total / 2 ** 20).toFixed(0)} MiB` +
      `${heap.external !== undefined ? `, external (buffers) ${(heap.external / 2 ** 20).toFixed(0)} MiB` : ''}` : ''}` +
      `${metricsScrapeMs !== undefined ? `; /metrics scrape ${metricsScrapeMs.toFixed(1)} ms (median of 5)` : ''}`);

    const endpointChange = await this.endpointChanges(specs);
    o.log(`  endpoint change: ACK p50 ${round(endpointChange.ack.p50)} / p99 ${round(endpointChange.ack.p99)} / max ${round(endpointChange.ack.max)} ms ` +
      `at ${round(endpointChange.subscribed, 0)} subscribed proxies (${endpointChange.missing} missing, ${endpointChange.unexpectedPushes} unexpected); ` +
      `CPU s: server ${endpointChange.cpuSecondsPerPush.toFixed(2)}, proxies ${endpointChange.clientCpuSecondsPerPush.toFixed(2)}`);
    const newServiceFig = await this.newServices();
    o.log(`  new service: CDS ACK p99 ${round(newServiceFig.ack.p99)} ms, all converged p99 ${round(newServiceFig.converged.p99)} / max ${round(newServiceFig.converged.max)} ms ` +
      `at ${round(newServiceFig.subscribed, 0)} proxies (${newServiceFig.missing} missing, ${newServiceFig.unexpectedPushes} unexpected); ` +
      `CPU s: server ${newServiceFig.cpuSecondsPerPush.toFixed(2)}, proxies ${newServiceFig.clientCpuSecondsPerPush.toFixed(2)} ` +
      `(their GC pauses ${round(newServiceFig.clientGcMsPerPush)} ms); push start -> in-scope proxies handed it ${round(newServiceFig.scopedServedMs ?? NaN)} ms; ` +
      `bytes per proxy: ${formatBytesByType(newServiceFig.bytesPerProxyByType)}`);

    const all = [...this.w.services, ...this.added];
    const verified = await this.pool.all('verified', () => ({
      op: 'verify', expectations: {
        clusters: clustersSeenFrom(this.w, all, ''),
        ...(this.w.options.scoped ? { clustersByNamespace: Object.fromEntries(this.w.namespaces.map((ns) => [ns, clustersSeenFrom(this.w, all, ns)])) } : {}),
        minEndpoints: this.w.options.endpointsPerService,
      },
    }));
    const checks = mergeStats(verified.map((v) => v.stats));
    if (checks.failures > 0) o.log(`  CHECK FAILURES: ${checks.failures}\n    ${checks.errors.join('\n    ')}`);

    const closedBefore = this.server.streamsClosed;
    const disc = await this.pool.all('disconnected', () => ({ op: 'disconnect' }));
    const connections = sum(connected.map((c) => c.stats.connections));
    await this.server.waitFor(() => this.server.streamsClosed - closedBefore >= n - initial.failures || undefined, 60_000, 'the server to drop the streams')
      .catch((err: Error) => o.log(`  warning: ${err.message.split('\n')[0]}`));
    const { cpu, ...checkFigures } = mergeStats(disc.map((d) => d.stats));
    void cpu;
    return {
      proxies: n, mix, kinds, connections, initial, memory, endpointChange, newService: newServiceFig,
      checks: { ...checkFigures, errors: checks.errors, failures: checks.failures },
      clientCpuSeconds: mergeStats(disc.map((d) => d.stats)).cpu,
    };
  }

  baselineRss = 0;
  baselineHeap: number | undefined;
}

/** One server on one generated mesh, and the proxy levels against it. */
async function runScale(o: XdsBenchOptions, pool: WorkerPool, e: number, proxyCounts: readonly number[], scoped: boolean): Promise<ScaleResult> {
  const w = generateWorkload({ namespaces: o.namespaces, services: o.services, endpointsPerService: e, routeEvery: o.routeEvery, seed: 42, scoped });
  o.log(`${scoped ? 'scoped ' : ''}mesh: ${w.services.length} services, ${w.clusters} clusters, ${w.endpoints} endpoints, ${w.namespaces.length} namespaces, ` +
    `${w.trafficRoutes} TrafficRoutes + ${w.trafficPolicies} TrafficPolicies${scoped ? `, a TrafficScope per namespace (own + ${w.shared.length} shared services)` : ''}`);
  const dir = await mkdtemp(path.join(tmpdir(), 'pilotfish-bench-'));
  for (const [rel, text] of w.files) {
    await mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
    await writeFile(path.join(dir, rel), text);
  }
  const started = now();
  const server = await ServerProcess.start({ configDir: dir, cpuProfDir: o.cpuProfDir, ...(scoped ? { args: ['--default-scope', 'namespace'] } : {}) });
  const startupMs = now() - started;
  try {
    await sleep(1500);
    const scale = new Scale(o, w, dir, server, pool);
    scale.baselineRss = server.memory().rss;
    scale.baselineHeap = (await server.heap())?.used;
    o.log(`  server up in ${round(startupMs, 0)} ms, idle RSS ${(scale.baselineRss / 2 ** 20).toFixed(0)} MiB`);
    const levels: LevelResult[] = [];
    const mix = scoped && o.scoped ? o.scoped.mix : o.mix;
    for (const n of proxyCounts) levels.push(await scale.level(n, mix));
    const stress = scoped ? o.scoped?.stressMix : undefined;
    if (stress && proxyCounts.length > 0) {
      const n = Math.max(...proxyCounts);
      o.log(`  and ${n} proxies again, ${describeMix(stress)}:`);
      levels.push(await scale.level(n, stress));
    }
    const extra = o.extraLevel;
    if (!scoped && extra && extra.endpointsPerService === e) {
      o.log(`  and ${extra.proxies} proxies again, ${describeMix(extra.mix)}:`);
      levels.push(await scale.level(extra.proxies, extra.mix));
    }
    return {
      endpointsPerService: e, endpoints: w.endpoints, services: w.services.length, clusters: w.clusters,
      namespaces: w.namespaces.length, trafficRoutes: w.trafficRoutes, trafficPolicies: w.trafficPolicies, startupMs,
      baseline: { rssBytes: scale.baselineRss, heapUsedBytes: scale.baselineHeap }, levels,
      serverWarnings: server.warnings.slice(0, 10), ...(scoped ? { scoped } : {}),
    };
  } finally {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

export async function runXdsBench(o: XdsBenchOptions): Promise<ScaleResult[]> {
  const out: ScaleResult[] = [];
  const pool = await WorkerPool.start(o.workers, undefined, o.proxyNice ?? 0);
  try {
    for (const e of o.endpointsPerService) out.push(await runScale(o, pool, e, o.proxyCounts, false));
    if (o.scoped) out.push(await runScale(o, pool, o.scoped.endpointsPerService, o.scoped.proxyCounts, true));
  } finally {
    await pool.stop();
  }
  return out;
}
