// The per-admission log line ("sidecar injected" / "sidecar not injected"), the one line the webhook
// writes for every Pod. Through winston it cost more than the injection itself (a child logger's
// metadata merge, a stream pipeline, a key-sorting serialiser, and one write to stderr per line), so
// the command writes it with JsonLinesAdmissionLog: the same JSON line winston's format gives (same
// keys, sorted, same timestamp), built directly and written once per event-loop turn with the lines
// of every other admission answered in that turn.
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

/** The same lines as `createLogger(level, stream).child({ component })` writes, cheaply. */
export class JsonLinesAdmissionLog implements AdmissionLog {
  private readonly enabled: boolean;
  private pending: string[] = [];
  private scheduled = false;

  constructor(private readonly stream: NodeJS.WritableStream, private readonly component: string, level: LogLevel) {
    this.enabled = LOG_LEVELS.indexOf(level) >= LOG_LEVELS.indexOf('info');
  }

  record(r: AdmissionRecord): void {
    if (!this.enabled) return;
    // Keys in the order winston's JSON format sorts them.
    const line: Record<string, unknown> = { component: this.component, level: 'info', message: messageOf(r), name: r.name, namespace: r.namespace };
    if (r.operations !== undefined) line.operations = r.operations;
    line.reason = r.reason;
    if (r.reinjected !== undefined) line.reinjected = r.reinjected;
    line.result = r.result;
    line.timestamp = new Date().toISOString();
    line.uid = r.uid;
    if (r.warnings !== undefined) line.warnings = r.warnings;
    this.pending.push(`${JSON.stringify(line)}\n`);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Writes what is pending now (also done at the end of every event-loop turn that logged). */
  flush(): void {
    this.scheduled = false;
    if (this.pending.length === 0) return;
    const text = this.pending.join('');
    this.pending = [];
    this.stream.write(text);
  }
}
