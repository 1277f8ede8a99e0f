// Runs the built webhook command as a separate process and reads its JSON log lines.
// Until `pilotfish webhook` is wired into dist/src/cli/main.js this runs the exported
// runWebhookCommand through `node -e`; afterwards set USE_MAIN_BINARY to run the binary itself.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from './golden.js';

const USE_MAIN_BINARY = true;

export interface LogLine { level: string; message: string; [key: string]: unknown }

export class WebhookProcess {
  readonly logs: LogLine[] = [];
  private waiters: Array<{ pred: (l: LogLine) => boolean; resolve: (l: LogLine) => void; reject: (e: Error) => void; from: number }> = [];
  private stderrTail: string[] = [];
  readonly exited: Promise<number | null>;

  private constructor(readonly child: ChildProcess) {
    readline.createInterface({ input: child.stderr! }).on('line', (line) => {
      let parsed: LogLine;
      try {
        parsed = JSON.parse(line) as LogLine;
      } catch {
        parsed = { level: 'raw', message: line };
      }
      this.stderrTail = [...this.stderrTail.slice(-20), line];
      this.logs.push(parsed);
      for (const w of [...this.waiters]) {
        if (this.logs.length - 1 >= w.from && w.pred(parsed)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(parsed);
        }
      }
    });
    this.exited = new Promise((resolve) => child.on('exit', (code) => {
      for (const w of this.waiters) w.reject(new Error(`webhook process exited (${code}) before the awaited log line:\n${this.stderrTail.join('\n')}`));
      this.waiters = [];
      resolve(code);
    }));
  }

  static start(args: string[]): WebhookProcess {
    const argv = USE_MAIN_BINARY
      ? [path.join(REPO_ROOT, 'dist/src/cli/main.js'), 'webhook', ...args]
      : ['-e', `import(${JSON.stringify(pathToFileURL(path.join(REPO_ROOT, 'dist/src/cli/webhook-command.js')).href)})`
        + '.then((m) => m.runWebhookCommand(process.argv.slice(1)))'
        + '.catch((e) => { process.stderr.write(String(e && e.stack || e) + "\\n"); process.exit(1); })', '--', ...args];
    return new WebhookProcess(spawn(process.execPath, argv, { stdio: ['ignore', 'ignore', 'pipe'] }));
  }

  mark(): number {
    return this.logs.length;
  }

  waitForLog(pred: (l: LogLine) => boolean, from = 0): Promise<LogLine> {
    const seen = this.logs.slice(from).find(pred);
    if (seen) return Promise.resolve(seen);
    if (this.child.exitCode !== null) return Promise.reject(new Error(`webhook process already exited:\n${this.stderrTail.join('\n')}`));
    return new Promise((resolve, reject) => this.waiters.push({ pred, resolve, reject, from }));
  }

  async stop(): Promise<number | null> {
    if (this.child.exitCode === null) this.child.kill('SIGTERM');
    return this.exited;
  }
}
