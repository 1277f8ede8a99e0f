// The REST registry's state on disk, so a restart (even after kill -9) keeps every registration.
// A change appends one line to a journal (`<file>.journal`) before the request is answered, so it
// costs the size of the change; once the journal outgrows the state, the whole state is written to
// `<file>` atomically (temp file, then rename) and the journal emptied. Replaying a journal onto a
// state that already holds it is harmless (each line sets or removes one key), which makes the
// crash between the rename and the truncation safe.
import { closeSync, ftruncateSync, openSync, promises as fsp, renameSync, writeFileSync, writeSync } from 'node:fs';
import type { Logger } from '../../logging.js';

/** One journal line. */
export type StateChange =
  | { readonly put: unknown }
  | { readonly del: { readonly address: string; readonly port: number; readonly service: string; readonly namespace: string } }
  | { readonly drop: { readonly service: string; readonly namespace: string } };

/** Bound on either file when read back (100,000 registrations take about 20 MiB). */
const MAX_STATE_FILE_BYTES = 64 * 1024 * 1024;
const FORMAT_VERSION = 1;

export class RegistryStateFile {
  private fd: number | undefined;
  private journalLines = 0;

  constructor(readonly path: string, private readonly log: Logger) {}

  get journalPath(): string {
    return `${this.path}.journal`;
  }

  /**
   * The saved registrations (as stored: the caller validates them) followed by the journal's
   * changes, in order. Throws with a clear reason when the state file is unreadable or malformed,
   * rather than starting empty and overwriting it.
   */
  async load(): Promise<{ registrations: unknown[]; changes: StateChange[] }> {
    const registrations: unknown[] = [];
    const state = await readBounded(this.path);
    if (state !== undefined) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(state);
      } catch (err) {
        throw new Error(`registry state file ${this.path} is not valid JSON (${(err as Error).message}); move it away to start empty`);
      }
      if (typeof parsed !== 'object' || parsed === null || (parsed as { version?: unknown }).version !== FORMAT_VERSION
        || !Array.isArray((parsed as { registrations?: unknown }).registrations)) {
        throw new Error(`registry state file ${this.path} is not a version ${FORMAT_VERSION} registry state; move it away to start empty`);
      }
      registrations.push(...(parsed as { registrations: unknown[] }).registrations);
    }
    const changes: StateChange[] = [];
    const journal = await readBounded(this.journalPath);
    if (journal !== undefined) {
      const lines = journal.split('\n');
      lines.forEach((line, i) => {
        if (line === '') return;
        try {
          const change = JSON.parse(line) as unknown;
          if (isChange(change)) { changes.push(change); return; }
        } catch {
          // fall through
        }
        // The last line may be cut short by a crash mid-write; anything else is damage.
        const last = i === lines.length - 1 || (i === lines.length - 2 && lines[lines.length - 1] === '');
        this.log[last ? 'info' : 'warn']('registry journal line ignored', { file: this.journalPath, line: i + 1, reason: last ? 'incomplete last line' : 'not a registry change' });
      });
    }
    return { registrations, changes };
  }

  /** Opens the journal for appending. */
  open(): void {
    this.fd ??= openSync(this.journalPath, 'a', 0o600);
  }

  /** Appends one change; returns once the operating system has it (it survives the process being killed). */
  append(change: StateChange): void {
    if (this.fd === undefined) return;
    writeSync(this.fd, `${JSON.stringify(change)}\n`);
    this.journalLines++;
  }

  /** Whether the journal has grown past the state it describes (time to compact). */
  wantsCompaction(live: number): boolean {
    return this.journalLines > 1000 + 2 * live;
  }

  /** Writes the whole state atomically and empties the journal. */
  compact(registrations: readonly unknown[]): void {
    const tmp = `${this.path}.tmp-${process.pid}`;
    writeFileSync(tmp, JSON.stringify({ version: FORMAT_VERSION, registrations }), { mode: 0o600 });
    renameSync(tmp, this.path);
    if (this.fd !== undefined) ftruncateSync(this.fd, 0);
    this.journalLines = 0;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

function isChange(v: unknown): v is StateChange {
  if (typeof v !== 'object' || v === null) return false;
  const keys = Object.keys(v);
  return keys.length === 1 && (keys[0] === 'put' || keys[0] === 'del' || keys[0] === 'drop');
}

async function readBounded(file: string): Promise<string | undefined> {
  let size: number;
  try {
    size = (await fsp.stat(file)).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read registry state ${file}: ${(err as Error).message}`);
  }
  if (size > MAX_STATE_FILE_BYTES) throw new Error(`registry state ${file} is ${size} bytes, over the limit of ${MAX_STATE_FILE_BYTES}`);
  return fsp.readFile(file, 'utf8');
}
