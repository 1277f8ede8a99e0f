// A worker process holding many simulated proxies (forked by the orchestrator). It connects
// them, waits until they converge, and during a measurement records per proxy when the change
// arrived and was ACKed; it answers with plain data over IPC.
import { PerformanceObserver } from 'node:perf_hooks';
import { discoveryTypes } from '../src/xds/server/codec.js';
import { DeriveCache, ResourceDeriveCache, SotwEdsNames } from './derive.js';
import type { FromWorker, LossResult, ProxyResult, ToWorker, WatchResult, WorkerStats } from './protocol.js';
import { ConnectionPool, now, SimProxy, type ProxyEnv } from './sim-proxy.js';

let proxies: SimProxy[] = [];
let pool: ConnectionPool | undefined;
let lastActivity = 0;
const derive = new DeriveCache<readonly string[]>();
const resources = new ResourceDeriveCache();
const sotwEdsNames = new SotwEdsNames();
const entries = new DeriveCache<readonly (readonly [string, readonly string[]])[]>();
const cpuAtStart = process.cpuUsage();

function send(msg: FromWorker): void {
  process.send?.(msg);
}

let phaseStart = process.cpuUsage();
// The simulated proxies' own pauses: when they, not the server, are what delays an ACK.
let gcMs = 0;
let phaseGcStart = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcMs += e.duration;
}).observe({ entryTypes: ['gc'] });

function stats(): WorkerStats {
  const cpu = process.cpuUsage(cpuAtStart);
  const phase = process.cpuUsage(phaseStart);
  let sampled = 0, checkedResponses = 0, checkedResources = 0, checkFailures = 0;
  const checkErrors: string[] = [];
  for (const p of proxies) {
    if (!p.checker) continue;
    sampled++;
    const c = p.checker.counters;
    checkedResponses += c.responses;
    checkedResources += c.resources;
    checkFailures += c.failures;
    for (const e of c.errors) if (checkErrors.length < 20) checkErrors.push(e);
  }
  return {
    phaseCpuMs: (phase.user + phase.system) / 1000,
    phaseGcMs: gcMs - phaseGcStart,
    cpuUserMs: cpu.user / 1000, cpuSystemMs: cpu.system / 1000, rssBytes: process.memoryUsage.rss(),
    connections: pool?.connections ?? 0, sessionErrors: pool?.errors ?? 0, refusedConnections: pool?.refused ?? 0, deriveHits: derive.hits + resources.hits + sotwEdsNames.hits,
    deriveMisses: derive.misses + resources.misses + sotwEdsNames.misses, sampled, checkedResponses, checkedResources, checkFailures, checkErrors,
  };
}

/** Resolves once `done()` holds and nothing arrived for quietMs, or after timeoutMs (true). */
function settle(done: () => boolean, quietMs: number, timeoutMs: number): Promise<boolean> {
  const deadline = now() + timeoutMs;
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      const t = now();
      if (t >= deadline) {
        clearInterval(timer);
        resolve(true);
      } else if (t - lastActivity >= quietMs && done()) {
        clearInterval(timer);
        resolve(false);
      }
    }, 20);
  });
}

const env = (p: ConnectionPool, maxReconnects?: number): ProxyEnv => ({
  ...(maxReconnects !== undefined ? { maxReconnects } : {}),
  derive,
  resources,
  sotwEdsNames,
  entries,
  pool: p,
  activity(at: number) { lastActivity = at; },
  converged() { /* polled by settle() */ },
});

async function handle(msg: ToWorker): Promise<void> {
  // A measurement spans watch + collect; everything else is its own phase.
  if (msg.op !== 'collect') {
    phaseStart = process.cpuUsage();
    phaseGcStart = gcMs;
  }
  switch (msg.op) {
    case 'connect': {
      pool?.closeAll();
      pool = new ConnectionPool(msg.addresses ?? msg.address, msg.perConnection);
      const e = env(pool, msg.maxReconnects);
      proxies = msg.proxies.map((spec) => new SimProxy(spec, e));
      lastActivity = now();
      for (const p of proxies) p.start();
      // Proxies that reconnect at every maximum age are never all converged at one instant: there,
      // each must have converged once.
      const churn = msg.maxReconnects !== undefined;
      const timedOut = await settle(
        () => proxies.every((p) => p.failure !== undefined || (churn ? p.firstConvergedAt : p.convergedAt) !== undefined), msg.quietMs, msg.timeoutMs);
      const results: ProxyResult[] = proxies.map((p) => ({
        id: p.spec.id, kind: p.spec.kind, startedAt: p.startedAt, convergedAt: p.convergedAt, failure: p.failure,
        reconnects: p.reconnects, lastError: p.lastError, bytes: p.bytes, bytesByType: p.bytesByType, responses: p.responses,
        ...(p.convergedAt === undefined ? { waitingFor: [...p.types].filter(([, st]) => st.waiting || !st.requested).map(([t]) => t.split('.').pop() ?? t) } : {}),
      }));
      send({ op: 'connected', results, timedOut, stats: stats() });
      return;
    }
    case 'watch':
      for (const p of proxies) p.beginWatch(msg.watch);
      send({ op: 'watching' });
      return;
    case 'collect': {
      const timedOut = await settle(() => proxies.every((p) => p.failure !== undefined || p.settled()), msg.quietMs, msg.timeoutMs);
      const results: WatchResult[] = [];
      for (const p of proxies) {
        const r = p.endWatch();
        if (!r || (!r.expected && r.responses === 0)) continue;
        results.push({
          kind: p.spec.kind, expected: r.expected, targetAckAt: r.targetAckAt, lastAckAt: r.lastAckAt,
          responses: r.responses, bytes: r.bytes, bytesByType: r.bytesByType, unneeded: r.unneeded, verified: r.verified, failure: p.failure, reconnects: p.reconnects,
        });
      }
      send({ op: 'collected', results, timedOut, stats: stats() });
      return;
    }
    case 'recover': {
      // The streams the change broke are noticed within milliseconds; give them a second to be.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const timedOut = await settle(() => proxies.every((p) => p.failure !== undefined || p.lostAt === undefined), 0, msg.timeoutMs);
      const results: LossResult[] = proxies.map((p) => ({
        lost: p.lost, agedOut: p.agedOut, stillLost: p.lostAt !== undefined,
        ...(p.recoveredAt !== undefined ? { recoveredAt: p.recoveredAt } : {}), ...(p.failure !== undefined ? { failure: p.failure } : {}),
      }));
      send({ op: 'recovered', results, timedOut, stats: stats() });
      return;
    }
    case 'verify':
      for (const p of proxies) p.verify(msg.expectations);
      send({ op: 'verified', stats: stats() });
      return;
    case 'disconnect':
      for (const p of proxies) p.stop();
      pool?.closeAll();
      pool = undefined;
      send({ op: 'disconnected', stats: stats() });
      proxies = [];
      return;
    case 'exit':
      pool?.closeAll();
      process.exit(0);
  }
}

process.on('message', (msg: ToWorker) => {
  handle(msg).catch((err: unknown) => send({ op: 'error', message: err instanceof Error ? err.stack ?? err.message : String(err) }));
});
process.on('disconnect', () => process.exit(0));
// Load the protos before the first measurement, not during it.
discoveryTypes();
send({ op: 'ready' });
