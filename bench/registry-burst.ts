// The registry burst: 10,000 registrations into one service over HTTP from several concurrent
// clients (registry-client.ts, in its own process), against `pilotfish serve` with a registry
// state file (every answer waits for its change to be on disk). Reported: the total time, the
// server's CPU, and /healthz latency sampled every 10 ms from the start of the burst until the
// push of the last snapshot (all 10,000 endpoints) is done: a long task anywhere in the
// registry, the store or the push shows up as a slow /healthz. The server's own measure of it is
// read off /metrics too: the most a 10 ms timer was late over the same span (prom-client's
// monitorEventLoopDelay, reset by each scrape), which waiting for a core inflates less.
import { spawn } from 'node:child_process';
import http from 'node:http';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClientReport } from './registry-client.js';
import { ServerProcess } from './server-process.js';
import { summarize, type Summary } from './stats.js';

export interface RegistryBurstResult {
  readonly registrations: number;
  readonly clients: number;
  /** First registration sent → last one answered. */
  readonly totalMs: number;
  readonly failures: number;
  readonly serverCpuSeconds: number;
  /** Snapshots pushed while the burst ran and until the last one (the debounce coalesces the rest). */
  readonly pushes: number;
  readonly healthzMs: Summary;
  /** nodejs_eventloop_lag_max_seconds over the burst, in ms (undefined if /metrics has none). */
  readonly loopDelayMaxMs?: number;
}

export interface RegistryBurstOptions {
  readonly registrations: number;
  readonly clients: number;
  readonly log: (line: string) => void;
  readonly cpuProfDir?: string;
}

const SAMPLE_EVERY_MS = 10;

/** GET /healthz every SAMPLE_EVERY_MS on one keep-alive connection, until stopped; the latencies. */
function sampleHealthz(address: string): { stop: () => Promise<number[]> } {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
  const samples: number[] = [];
  let running = true;
  const once = (): Promise<void> => new Promise((resolve, reject) => {
    const t = performance.now();
    http.get({ agent, host, port, path: '/healthz' }, (res) => {
      res.resume();
      res.on('end', () => {
        if (res.statusCode !== 200) { reject(new Error(`/healthz answered ${res.statusCode}`)); return; }
        samples.push(performance.now() - t);
        resolve();
      });
    }).on('error', reject);
  });
  const loop = (async () => {
    while (running) {
      await once();
      await new Promise((resolve) => setTimeout(resolve, SAMPLE_EVERY_MS));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      agent.destroy();
      return samples;
    },
  };
}

function runClients(httpAddress: string, registrations: number, clients: number): Promise<ClientReport> {
  const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'registry-client.js');
  const child = spawn(process.execPath, [script, httpAddress, String(registrations), String(clients)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) { reject(new Error(`registry client exited with ${code}`)); return; }
      resolve(JSON.parse(out) as ClientReport);
    });
  });
}

async function modelVersionWith(httpAddress: string, service: string, endpoints: number, server: ServerProcess): Promise<number> {
  for (;;) {
    const model = await (await fetch(`http://${httpAddress}/debug/model`)).json() as { version: number; services: Array<{ key: string; endpoints: number }> };
    if (model.services.some((s) => s.key === service && s.endpoints === endpoints)) return model.version;
    const pushes = server.pushes.length;
    // The next push means a new snapshot: look again then.
    await server.waitFor(() => server.pushes.length > pushes, 60_000, `a snapshot with ${endpoints} endpoints in ${service}`);
  }
}

export async function runRegistryBurst(o: RegistryBurstOptions): Promise<RegistryBurstResult> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pilotfish-bench-registry-'));
  const configDir = path.join(dir, 'config');
  const stateDir = path.join(dir, 'state');
  await Promise.all([mkdir(configDir), mkdir(stateDir)]);
  const server = await ServerProcess.start({
    // The state file beside the config directory, not in it: its journal, written thousands of
    // times, would otherwise be a directory event (and a rescan) for the file source every time.
    configDir, registryStateFile: path.join(stateDir, 'registry-state.json'),
    ...(o.cpuProfDir !== undefined ? { cpuProfDir: o.cpuProfDir } : {}),
  });
  try {
    o.log(`registry burst: ${o.registrations} registrations into one service from ${o.clients} clients`);
    const pushesBefore = server.pushes.length;
    // A scrape resets the server's event-loop delay histogram: the next one covers the burst.
    await server.metricsText();
    const cpuBefore = server.cpuSeconds();
    const healthz = sampleHealthz(server.httpAddress);
    const clients = await runClients(server.httpAddress, o.registrations, o.clients);
    const version = await modelVersionWith(server.httpAddress, 'burst.default', o.registrations, server);
    await server.waitFor(() => server.pushes.some((p) => p.snapshotVersion >= version), 60_000, `the push of snapshot ${version}`);
    const samples = await healthz.stop();
    const serverCpuSeconds = server.cpuSeconds() - cpuBefore;
    const loopDelayMax = await server.metricSum('nodejs_eventloop_lag_max_seconds');
    const result: RegistryBurstResult = {
      registrations: o.registrations, clients: o.clients, totalMs: clients.totalMs, failures: clients.failures,
      serverCpuSeconds, pushes: server.pushes.length - pushesBefore, healthzMs: summarize(samples),
      ...(loopDelayMax !== undefined ? { loopDelayMaxMs: loopDelayMax * 1000 } : {}),
    };
    o.log(`  ${(result.totalMs / 1000).toFixed(2)} s, server CPU ${result.serverCpuSeconds.toFixed(2)} s, ${result.pushes} pushes; ` +
      `/healthz max ${result.healthzMs.max.toFixed(1)} ms, p99 ${result.healthzMs.p99.toFixed(1)} ms (${result.healthzMs.n} samples); ` +
      `server event-loop delay max ${result.loopDelayMaxMs?.toFixed(1) ?? '?'} ms`);
    return result;
  } finally {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
