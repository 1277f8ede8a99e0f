// istiod's pilot-discovery as a child process for the comparison: file config only (no
// Kubernetes), every port on loopback, JSON logs read for readiness and for when each push
// starts, CPU time and memory read from /proc like pilotfish's (server-process.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import readline from 'node:readline';
import { LogWaiters } from '../log-waiters.js';
import { procCpuSeconds, procMemory } from '../proc-stats.js';

export interface IstiodOptions {
  readonly binary: string;
  readonly configDir: string;
  /**
   * Streams istiod admits per second (PILOT_MAX_REQUESTS_PER_SECOND). Its default (25/s) makes a
   * connect storm of thousands a test of its rate limit, which drops proxies that give up
   * after a few reconnects; pilotfish has no such limit, so the comparison lifts it.
   */
  readonly maxRequestsPerSecond: number;
}

/** A free TCP port on loopback (closed again before istiod binds it). */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** Log lines kept for error messages (istiod logs a line per stream at info). */
const KEPT_LINES = 200;
/** Longest log line kept (a config dump in a line must not fill memory). */
const MAX_LINE = 2000;

export class IstiodProcess {
  /** Epoch ms of every "Push debounce stable" line: the moment a push starts. */
  readonly pushStarts: number[] = [];
  private readonly lines: string[] = [];
  private readonly waiters = new LogWaiters(
    () => (this.exitCode !== undefined ? `istiod exited (code ${this.exitCode})` : undefined), () => this.tail());
  private readonly exited: Promise<number | null>;
  private exitCode: number | null | undefined;
  private ready = false;
  xdsAddress = '';
  warnings: string[] = [];

  private constructor(readonly child: ChildProcess) {
    for (const stream of [child.stdout!, child.stderr!]) readline.createInterface({ input: stream }).on('line', (l) => this.line(l));
    this.exited = new Promise((resolve) => child.on('exit', (code) => {
      this.exitCode = code;
      resolve(code);
      this.waiters.wake();
    }));
  }

  static async start(o: IstiodOptions): Promise<IstiodProcess> {
    const [grpc, http, monitoring, ctrlz] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const child = spawn(o.binary, [
      'discovery', '--registries', '', '--configDir', o.configDir,
      '--grpcAddr', `127.0.0.1:${grpc}`, '--httpAddr', `127.0.0.1:${http}`, '--monitoringAddr', `127.0.0.1:${monitoring}`,
      '--secureGRPCAddr', '', '--httpsAddr', '', '--ctrlz_address', '127.0.0.1', '--ctrlz_port', String(ctrlz),
      '--log_as_json', '--log_output_level', 'default:info',
      // Its keepalive (a ping every 30 s, the connection dropped if unanswered in 10 s) closed
      // most streams at 500 proxies here: the simulated proxies answer pings from busy Node
      // workers on a saturated machine. On loopback a ping proves nothing; pilotfish sends none.
      '--keepaliveInterval', '1h', '--keepaliveTimeout', '1h',
    ], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        // Without a cluster: no CA, no webhooks to patch.
        ENABLE_CA_SERVER: 'false', INJECTION_WEBHOOK_CONFIG_NAME: '', VALIDATION_WEBHOOK_CONFIG_NAME: '',
        PILOT_MAX_REQUESTS_PER_SECOND: String(o.maxRequestsPerSecond),
        // The same quiet window as pilotfish's debounce (istiod's default too, stated so it stays so).
        PILOT_DEBOUNCE_AFTER: '100ms',
      },
    });
    const s = new IstiodProcess(child);
    s.xdsAddress = `127.0.0.1:${grpc}`;
    // /ready stays 503 without Kubernetes; this log line is when it serves.
    await s.waitFor(() => s.ready || undefined, 180_000, 'istiod to mark itself ready');
    return s;
  }

  get pid(): number {
    return this.child.pid!;
  }

  private line(text: string): void {
    let msg = text;
    let time: number | undefined;
    let level = '';
    try {
      const l = JSON.parse(text) as { msg?: unknown; time?: unknown; level?: unknown };
      msg = typeof l.msg === 'string' ? l.msg : text;
      time = typeof l.time === 'string' ? Date.parse(l.time) : undefined;
      level = typeof l.level === 'string' ? l.level : '';
    } catch {
      // Not JSON (Go runtime output): kept as it is.
    }
    if (msg.startsWith('Push debounce stable')) this.pushStarts.push(time ?? Date.now());
    else if (msg.includes('marking server ready')) this.ready = true;
    if ((level === 'warn' || level === 'error') && this.warnings.length < 50) this.warnings.push(msg.slice(0, 400));
    this.lines.push(text.slice(0, MAX_LINE));
    if (this.lines.length > KEPT_LINES) this.lines.shift();
    this.waiters.wake();
  }


  /** Resolves with the first truthy value of `probe`, re-evaluated after every log line. */
  waitFor<T>(probe: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    return this.waiters.waitFor(probe, timeoutMs, what);
  }

  tail(n = 15): string {
    return this.lines.slice(-n).join('\n');
  }

  cpuSeconds(): number {
    return procCpuSeconds(this.pid);
  }

  memory(): { rss: number; peakRss: number } {
    return procMemory(this.pid);
  }

  async stop(): Promise<void> {
    if (this.exitCode !== undefined) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    await this.exited;
    clearTimeout(timer);
  }
}
