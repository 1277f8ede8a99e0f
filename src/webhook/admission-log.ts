// The per-admission log line ("sidecar injected" / "sidecar not injected"), the one line the webhook
// writes for every Pod. Through winston it cost more than the injection itself (a child logger's
// metadata merge, a stream pipeline, a key-sorting serialiser, and one write to stderr per line), so
// the command writes it with JsonLinesAdmissionLog: the same JSON line winston's format gives (same
// keys, sorted, same timestamp), built directly and written with the lines of the admissions around
// it, at most ADMISSION_LOG_FLUSH_MS later (each write to the log pipe wakes its reader, which cost
// more per admission than building the line).
import type { Logger } from '../logging.js';
import { LOG_LEVELS, type LogLevel } from '../logging.js';

export interface AdmissionRecord {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly result: 'injected' | 'skipped';
  readonly reason: string;
  /** Injected only. */
  readonly reinjected?: boolean;
  readonly operations?: number;
  /** What the AdmissionReview answer warned about (injected, or skipped against the labels' request). */
  readonly warnings?: readonly string[];
}

export interface AdmissionLog {
  /** Logged at info: the result of every Pod admission the webhook decided on. */
  record(r: AdmissionRecord): void;
}

function messageOf(r: AdmissionRecord): string {
  return r.result === 'injected' ? 'sidecar injected' : 'sidecar not injected';
}

/** Through the process logger (winston); what tests and embedders get by default. */
export function loggerAdmissionLog(logger: Logger): AdmissionLog {
  return {
    record(r) {
      logger.info(messageOf(r), { ...r });
    },
  };
}

/** How long a line may wait to be written with the next ones. */
const ADMISSION_LOG_FLUSH_MS = 100;

/** Pending text that is written at once, without waiting (bounds the memory lines wait in). */
const FLUSH_BYTES = 64 * 1024;

/** The same lines as `createLogger(level, stream).child({ component })` writes, cheaply. */
export class JsonLinesAdmissionLog implements AdmissionLog {
  private readonly enabled: boolean;
  /** The line up to its message, which is the same for every line. */
  private readonly start: string;
  private pending: string[] = [];
  private pendingLength = 0;
  private timer: NodeJS.Timeout | undefined;
  /** The timestamp's text up to the milliseconds, for the second it was made for. */
  private second = NaN;
  private secondText = '';

  constructor(private readonly stream: NodeJS.WritableStream, component: string, level: LogLevel, private readonly flushMs = ADMISSION_LOG_FLUSH_MS) {
    this.enabled = LOG_LEVELS.indexOf(level) >= LOG_LEVELS.indexOf('info');
    this.start = `{"component":${JSON.stringify(component)},"level":"info","message":`;
  }

  record(r: AdmissionRecord): void {
    if (!this.enabled) return;
    // Written as JSON.stringify writes an object with these keys, in the order winston's JSON
    // format sorts them; only the strings from the Pod need escaping.
    let line = `${this.start}${JSON.stringify(messageOf(r))},"name":${JSON.stringify(r.name)},"namespace":${JSON.stringify(r.namespace)}`;
    if (r.operations !== undefined) line += `,"operations":${JSON.stringify(r.operations)}`;
    line += `,"reason":${JSON.stringify(r.reason)}`;
    if (r.reinjected !== undefined) line += `,"reinjected":${r.reinjected}`;
    line += `,"result":"${r.result}","timestamp":"${this.timestamp()}","uid":${JSON.stringify(r.uid)}`;
    if (r.warnings !== undefined) line += `,"warnings":${JSON.stringify(r.warnings)}`;
    line += '}\n';
    this.pending.push(line);
    this.pendingLength += line.length;
    if (this.pendingLength >= FLUSH_BYTES) this.flush();
    // Not keeping the process alive for a log line: whoever stops it calls flush() first.
    else this.timer ??= setTimeout(() => this.flush(), this.flushMs).unref();
  }

  /**
   * Now as Date#toISOString writes it. Formatting a Date cost more than the rest of the line;
   * the text up to the second is made once a second, the milliseconds appended.
   */
  private timestamp(): string {
    const now = Date.now();
    const second = Math.floor(now / 1000);
    if (second !== this.second) {
      this.second = second;
      this.secondText = new Date(second * 1000).toISOString().slice(0, 20);
    }
    const ms = now - second * 1000;
    return `${this.secondText}${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}Z`;
  }

  /** Writes what is pending now (done at most ADMISSION_LOG_FLUSH_MS after a line; call it before exiting). */
  flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0) return;
    const text = this.pending.join('');
    this.pending = [];
    this.pendingLength = 0;
    this.stream.write(text);
  }
}
