// One control-plane process (etcd, kube-apiserver, kube-controller-manager) whose output goes to a
// log file rather than to memory (the API server logs a lot), with its tail at hand for errors.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';

const TAIL_LINES = 40;

/** Every child still running, so an abrupt exit of the test process (mocha --exit) takes them along. */
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export class ControlPlaneProcess {
  private exitCode: number | null | undefined;
  private exitSignal: NodeJS.Signals | null = null;
  private spawnError: Error | undefined;
  private readonly exited: Promise<void>;

  private constructor(
    readonly name: string,
    readonly logFile: string,
    private readonly child: ChildProcess,
  ) {
    running.add(child);
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        running.delete(child);
        this.exitCode = code;
        this.exitSignal = signal;
        resolve();
      });
      // A binary that cannot be started at all (EACCES, ENOENT) never emits 'exit'.
      child.on('error', (err) => {
        running.delete(child);
        this.exitCode = -1;
        this.spawnError = err;
        resolve();
      });
    });
  }

  static start(name: string, binary: string, args: readonly string[], logDir: string): ControlPlaneProcess {
    const logFile = path.join(logDir, `${name}.log`);
    const fd = openSync(logFile, 'a');
    try {
      const child = spawn(binary, [...args], { stdio: ['ignore', fd, fd], env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
      return new ControlPlaneProcess(name, logFile, child);
    } finally {
      closeSync(fd); // the child holds its own copy
    }
  }

  get hasExited(): boolean {
    return this.exitCode !== undefined;
  }

  /** Resolves when the process has exited, for whatever reason. */
  whenExited(): Promise<void> {
    return this.exited;
  }

  /** The last lines of its log, for error messages. */
  tail(lines = TAIL_LINES): string {
    try {
      return readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  /** Why it is not running, with its log tail; for errors raised when it dies too early. */
  describeExit(): string {
    const how = this.spawnError
      ? `could not be started: ${this.spawnError.message}`
      : `exited with ${this.exitSignal ? `signal ${this.exitSignal}` : `code ${this.exitCode}`}`;
    return `${this.name} ${how}; last lines of ${this.logFile}:\n${this.tail()}`;
  }

  /** SIGTERM, then SIGKILL if it has not exited after graceMs. */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.hasExited) return;
    this.child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const killed = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.child.kill('SIGKILL');
        resolve();
      }, graceMs);
    });
    await Promise.race([this.exited, killed]);
    clearTimeout(timer);
    await this.exited;
  }
}
