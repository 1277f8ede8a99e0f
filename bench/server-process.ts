// The built `pilotfish serve` as a child process: started on free ports, its JSON log read for
// the bound addresses and the push summaries, its CPU time and memory read from /proc, and its
// REST registry and /metrics called over HTTP.
import { spawn, type ChildProcess } from 'node:child_process';
import { NODE_FLAGS } from '../src/cli/node-flags.js';
import { procCpuSeconds, procMemory } from './proc-stats.js';
import path from 'node:path';
import readline from 'node:readline';
import { LogWaiters } from './log-waiters.js';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const PILOTFISH_BIN = path.join(REPO_ROOT, 'dist/src/cli/main.js');

export interface LogLine {
  readonly level: string;
  readonly message: string;
  readonly timestamp?: string;
  readonly [key: string]: unknown;
}

export interface PushLog {
  readonly snapshotVersion: number;
  readonly trigger: string;
  readonly changedTypes: readonly string[];
  readonly durationMs: number;
  /** A scoped change: push start -> every proxy it is for handed it (ms), when the server reports it. */
  readonly scopedServedMs?: number;
  readonly proxies: number;
  /** Epoch ms the push finished, from the log timestamp. */
  readonly finishedAt: number;
  /** Epoch ms of the source change, when the server reports it. */
  readonly changedAt?: number;
  /** Resources encoded for this push, when the server reports it. */
  readonly encoded?: number;
}

export interface ServerOptions {
  readonly configDir: string;
  readonly cpuProfDir?: string;
  readonly logLevel?: string;
  readonly maxOldSpaceMb?: number;
  /** Where xDS listens (default a free port): a replica brought back on its old address. */
  readonly xdsAddress?: string;
  /** More `pilotfish serve` flags (the scoped level: `--default-scope namespace`; scale-out: a shortened maximum connection age). */
  readonly args?: readonly string[];
  /** `--registry-state-file`: the registry's changes are durable before they are answered. */
  readonly registryStateFile?: string;
}

export class ServerProcess {
  private readonly logs: LogLine[] = [];
  readonly pushes: PushLog[] = [];
  private readonly waiters = new LogWaiters(
    () => (this.exitCode !== undefined ? `pilotfish exited (code ${this.exitCode})` : undefined), () => this.tail());
  private readonly exited: Promise<number | null>;
  private exitCode: number | null | undefined;
  xdsAddress = '';
  httpAddress = '';
  streamsOpened = 0;
  streamsClosed = 0;
  warnings: string[] = [];

  private constructor(readonly child: ChildProcess) {
    const rl = readline.createInterface({ input: child.stderr! });
    rl.on('line', (text) => this.line(text));
    this.exited = new Promise((resolve) => child.on('exit', (code) => {
      this.exitCode = code;
      resolve(code);
      this.waiters.wake();
    }));
  }

  static async start(o: ServerOptions): Promise<ServerProcess> {
    // The flags the image runs with (src/cli/node-flags.ts), so what is measured is what ships.
    const nodeArgs: string[] = [...NODE_FLAGS];
    if (o.cpuProfDir) nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${o.cpuProfDir}`);
    if (o.maxOldSpaceMb) nodeArgs.push(`--max-old-space-size=${o.maxOldSpaceMb}`);
    const child = spawn(process.execPath, [
      ...nodeArgs, PILOTFISH_BIN, 'serve', '--config-dir', o.configDir,
      '--xds-address', o.xdsAddress ?? '127.0.0.1:0', '--http-address', '127.0.0.1:0', '--log-level', o.logLevel ?? 'info',
      // The bench changes endpoints of the Services its files define through the registry.
      '--registry-allow-defined-services',
      ...(o.args ?? []),
      ...(o.registryStateFile !== undefined ? ['--registry-state-file', o.registryStateFile] : []),
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    const s = new ServerProcess(child);
    const serving = await s.waitFor(() => s.logs.find((l) => l.message === 'serving'), 120_000, 'the "serving" log line');
    s.xdsAddress = String(serving.xdsAddress);
    s.httpAddress = String(serving.httpAddress);
    return s;
  }

  get pid(): number {
    return this.child.pid!;
  }

  private line(text: string): void {
    let l: LogLine;
    try {
      l = JSON.parse(text) as LogLine;
    } catch {
      l = { level: 'raw', message: text };
    }
    if (l.message === 'push') {
      const finishedAt = typeof l.at === 'string' ? Date.parse(l.at) : Date.parse(String(l.timestamp));
      this.pushes.push({
        snapshotVersion: Number(l.snapshotVersion), trigger: String(l.trigger),
        changedTypes: Array.isArray(l.changedTypes) ? (l.changedTypes as string[]) : [],
        durationMs: Number(l.durationMs), proxies: Number(l.proxies), finishedAt,
        ...(typeof l.scopedServedMs === 'number' ? { scopedServedMs: l.scopedServedMs } : {}),
        changedAt: typeof l.changedAt === 'number' ? l.changedAt : undefined,
        encoded: typeof l.encoded === 'number' ? l.encoded : typeof l.resourcesEncoded === 'number' ? l.resourcesEncoded : undefined,
      });
    } else if (l.message === 'xDS stream opened') {
      this.streamsOpened++;
    } else if (l.message === 'xDS stream closed') {
      this.streamsClosed++;
    } else {
      // Stream open/close lines would swamp memory at thousands of proxies; keep the rest.
      this.logs.push(l);
      if ((l.level === 'warn' || l.level === 'error') && this.warnings.length < 50) this.warnings.push(`${l.message}: ${JSON.stringify(l)}`.slice(0, 400));
    }
    this.waiters.wake();
  }


  /** Resolves with the first truthy value of `probe`, re-evaluated after every log line. */
  waitFor<T>(probe: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    return this.waiters.waitFor(probe, timeoutMs, what);
  }

  /** The first push logged after `afterIndex` pushes that matches. */
  nextPush(afterIndex: number, pred: (p: PushLog) => boolean, timeoutMs: number): Promise<PushLog> {
    return this.waitFor(() => this.pushes.slice(afterIndex).find(pred), timeoutMs, 'a push');
  }

  tail(n = 15): string {
    return this.logs.slice(-n).map((l) => JSON.stringify(l).slice(0, 500)).join('\n');
  }

  /** utime + stime of the server process, in seconds. */
  cpuSeconds(): number {
    return procCpuSeconds(this.pid);
  }

  /** VmRSS and VmHWM (peak) in bytes. */
  memory(): { rss: number; peakRss: number } {
    return procMemory(this.pid);
  }

  /** Node heap from /metrics (prom-client default metrics), if the server exposes them. */
  async heap(): Promise<{ used: number; total: number; external?: number } | undefined> {
    const text = await this.metricsText();
    if (text === undefined) return undefined;
    const value = (name: string): number | undefined => {
      const m = new RegExp(`^${name}(?:\\{[^}]*\\})?\\s+([0-9.eE+-]+)`, 'm').exec(text);
      return m ? Number(m[1]) : undefined;
    };
    const used = value('nodejs_heap_size_used_bytes');
    const total = value('nodejs_heap_size_total_bytes');
    const external = value('nodejs_external_memory_bytes');
    return used !== undefined && total !== undefined ? { used, total, ...(external !== undefined ? { external } : {}) } : undefined;
  }

  async metricsText(): Promise<string | undefined> {
    try {
      const res = await fetch(`http://${this.httpAddress}/metrics`);
      if (!res.ok) return undefined;
      return await res.text();
    } catch {
      return undefined;
    }
  }

  /** A counter or gauge summed over its label sets, from /metrics. */
  async metricSum(name: string): Promise<number | undefined> {
    const text = await this.metricsText();
    if (text === undefined) return undefined;
    let sum: number | undefined;
    for (const m of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})?\\s+([0-9.eE+-]+)`, 'gm'))) sum = (sum ?? 0) + Number(m[1]);
    return sum;
  }

  async registerEndpoint(body: Record<string, unknown>): Promise<void> {
    const res = await fetch(`http://${this.httpAddress}/registry/endpoints`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`registry POST ${JSON.stringify(body)}: ${res.status} ${await res.text()}`);
  }

  /** SIGKILL: the replica dies without closing anything, as on a node failure. */
  async kill(): Promise<void> {
    if (this.exitCode !== undefined) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }

  async stop(): Promise<void> {
    if (this.exitCode !== undefined) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    await this.exited;
    clearTimeout(timer);
  }
}
