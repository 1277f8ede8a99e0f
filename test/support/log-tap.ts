// A real winston logger whose JSON lines a test can await (instead of sleeping until something happened).
import { PassThrough } from 'node:stream';
import readline from 'node:readline';
import { createLogger, type Logger } from '../../src/logging.js';

export interface LogEntry { level: string; message: string; [key: string]: unknown }

export class LogTap {
  readonly logger: Logger;
  readonly entries: LogEntry[] = [];
  private waiters: Array<{ pred: (e: LogEntry) => boolean; resolve: (e: LogEntry) => void; from: number }> = [];

  constructor() {
    const stream = new PassThrough();
    this.logger = createLogger('debug', stream);
    readline.createInterface({ input: stream }).on('line', (line) => {
      const e = JSON.parse(line) as LogEntry;
      this.entries.push(e);
      for (const w of [...this.waiters]) {
        if (this.entries.length - 1 >= w.from && w.pred(e)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(e);
        }
      }
    });
  }

  /** Index to pass to `next` so only entries logged after this point count. */
  mark(): number {
    return this.entries.length;
  }

  /** The first entry at or after `from` matching pred, now or when it is logged. */
  next(pred: (e: LogEntry) => boolean, from = 0): Promise<LogEntry> {
    const seen = this.entries.slice(from).find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.waiters.push({ pred, resolve, from }));
  }
}
