// The proxy worker processes, seen from the orchestrator: fork, send a command, await the answer.
import { fork, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FromWorker, ToWorker } from './protocol.js';

const WORKER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'proxy-worker.js');

type Op = FromWorker['op'];
type Reply<K extends Op> = Extract<FromWorker, { op: K }>;

class Worker {
  private readonly pending: Array<{ op: Op; resolve: (m: FromWorker) => void; reject: (e: Error) => void }> = [];
  private exited = false;

  constructor(readonly index: number, readonly child: ChildProcess) {
    child.on('message', (m: FromWorker) => {
      if (m.op === 'error') {
        for (const p of this.pending.splice(0)) p.reject(new Error(`proxy worker ${index}: ${m.message}`));
        return;
      }
      const i = this.pending.findIndex((p) => p.op === m.op);
      if (i >= 0) this.pending.splice(i, 1)[0].resolve(m);
    });
    child.on('exit', (code, signal) => {
      this.exited = true;
      for (const p of this.pending.splice(0)) p.reject(new Error(`proxy worker ${index} exited (${code ?? signal})`));
    });
  }

  expect<K extends Op>(op: K): Promise<Reply<K>> {
    if (this.exited) return Promise.reject(new Error(`proxy worker ${this.index} has exited`));
    return new Promise((resolve, reject) => {
      this.pending.push({ op, resolve: resolve as (m: FromWorker) => void, reject });
    });
  }

  send(msg: ToWorker): void {
    this.child.send(msg);
  }

  get alive(): boolean {
    return !this.exited;
  }
}

/**
 * PILOTFISH_BENCH_WORKER_PROF=DIR profiles the proxy workers too (V8 --cpu-prof into DIR): whether
 * the simulated proxies, not the server, are what a latency figure measures.
 */
function workerProfileFlags(): string[] {
  const dir = process.env.PILOTFISH_BENCH_WORKER_PROF;
  // PILOTFISH_BENCH_WORKER_FLAGS: more V8/Node flags for the workers (e.g. --trace-gc), last so they win.
  const extra = process.env.PILOTFISH_BENCH_WORKER_FLAGS?.split(/\s+/).filter((f) => f !== '') ?? [];
  return [...(dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : []), ...extra];
}

/** The proxy workers' young-generation semi-space (MiB); see WorkerPool.start. */
const WORKER_SEMI_SPACE_MB = 4;

export class WorkerPool {
  private constructor(readonly workers: readonly Worker[]) {}

  /**
   * `nice`: the workers' scheduling priority (0, as the orchestrator, unless given). Above 0 the
   * server gets the cores first whenever both want them, as a control plane on cores of its own
   * would: what is left of a latency figure is then the server's own work and the proxies'.
   */
  static async start(count: number, heapMb = 2048, nice = 0): Promise<WorkerPool> {
    // The simulated proxies are the load, not what is measured: several small heaps instead of two
    // big ones (the run's default of 4 workers), and a small young generation. Each HTTP/2 DATA
    // frame they receive is a buffer of its own, and that external memory makes V8 collect the
    // young generation early and often, whatever its size: with 64 MiB semi-spaces every such
    // collection walked tens of megabytes, and at 10,000 proxies the workers' pauses added up to
    // 0.4-0.66 s per scoped push (the bench's "GC pauses" figure); with 4 MiB, 0.1-0.15 s.
    const workers = Array.from({ length: count }, (_, i) => new Worker(i, fork(WORKER, [], {
      execArgv: [`--max-old-space-size=${heapMb}`, `--max-semi-space-size=${WORKER_SEMI_SPACE_MB}`, ...workerProfileFlags()], stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })));
    if (nice !== 0) for (const w of workers) if (w.child.pid !== undefined) os.setPriority(w.child.pid, nice);
    const pool = new WorkerPool(workers);
    await Promise.all(workers.map((w) => w.expect('ready')));
    return pool;
  }

  get size(): number {
    return this.workers.length;
  }

  /** Sends each worker its message and resolves with every reply of the given kind. */
  async all<K extends Op>(op: K, msg: (i: number) => ToWorker): Promise<Reply<K>[]> {
    const replies = this.workers.map((w) => w.expect(op));
    this.workers.forEach((w, i) => w.send(msg(i)));
    return Promise.all(replies);
  }

  async stop(): Promise<void> {
    await Promise.all(this.workers.map((w) => new Promise<void>((resolve) => {
      if (!w.alive) return resolve();
      w.child.once('exit', () => resolve());
      try {
        w.send({ op: 'exit' });
      } catch {
        w.child.kill();
      }
      setTimeout(() => { if (w.alive) w.child.kill('SIGKILL'); }, 5000).unref();
    })));
  }
}
