// Runs the BUILT pilotfish binary as a child process, as a user would, and reads the addresses
// it actually bound from its structured log (so tests can ask for port 0 without races).
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import readline from 'node:readline';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const PILOTFISH_BIN = path.join(REPO_ROOT, 'dist/src/cli/main.js');

export interface LogLine {
  level: string;
  message: string;
  [key: string]: unknown;
}

export class PilotfishProcess {
  readonly logs: LogLine[] = [];
  private readonly waiters: Array<{ pred: (l: LogLine) => boolean; resolve: (l: LogLine) => void }> = [];
  private exitCode: number | null | undefined;
  private readonly exited: Promise<number | null>;

  private constructor(readonly child: ChildProcess) {
    const rl = readline.createInterface({ input: child.stderr! });
    rl.on('line', (line) => {
      let parsed: LogLine;
      try {
        parsed = JSON.parse(line) as LogLine;
      } catch {
        parsed = { level: 'raw', message: line };
      }
      this.logs.push(parsed);
      for (const w of [...this.waiters]) {
        if (w.pred(parsed)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(parsed);
        }
      }
    });
    this.exited = new Promise((resolve) => child.on('exit', (code) => {
      this.exitCode = code;
      resolve(code);
    }));
  }

  static start(args: string[], env: NodeJS.ProcessEnv = {}): PilotfishProcess {
    const child = spawn(process.execPath, [PILOTFISH_BIN, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new PilotfishProcess(child);
  }

  /** Resolves with the first log line (past or future) matching pred; rejects if the process exits first. */
  waitForLog(pred: (l: LogLine) => boolean, what = 'log line'): Promise<LogLine> {
    const seen = this.logs.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      this.waiters.push({ pred, resolve });
      void this.exited.then((code) => reject(new Error(
        `pilotfish exited (code ${code}) before ${what}; last logs:\n${this.logs.slice(-15).map((l) => JSON.stringify(l)).join('\n')}`)));
    });
  }

  /** Like waitForLog, but only lines logged after the first `since` lines count. */
  waitForLogAfter(since: number, pred: (l: LogLine) => boolean, what = 'log line'): Promise<LogLine> {
    let index = 0;
    return this.waitForLog((l) => {
      const i = this.logs.indexOf(l, index);
      if (i >= 0) index = i;
      return i >= since && pred(l);
    }, what);
  }

  /** Count of log lines matching pred so far. */
  count(pred: (l: LogLine) => boolean): number {
    return this.logs.filter(pred).length;
  }

  async serving(): Promise<{ xdsAddress: string; httpAddress: string; xdsTlsAddress?: string }> {
    const l = await this.waitForLog((x) => x.message === 'serving', 'the "serving" line');
    return {
      xdsAddress: String(l.xdsAddress), httpAddress: String(l.httpAddress),
      ...(l.xdsTlsAddress !== undefined ? { xdsTlsAddress: String(l.xdsTlsAddress) } : {}),
    };
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.exitCode !== undefined) return this.exitCode;
    this.child.kill(signal);
    return this.exited;
  }

  whenExited(): Promise<number | null> {
    return this.exited;
  }
}

/** Runs the binary to completion and returns its output (for config-dump, bootstrap, inject). */
export function runPilotfish(args: string[], input?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [PILOTFISH_BIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}
