// The REST registry's state on disk, so a restart (even after kill -9 or a power cut) keeps every
// registration. A change is a line appended to a journal (`<file>.journal`); changes are written in
// groups: every change that arrived while the previous group was being written goes in the next
// write, with one fdatasync for all of them, and only then is each applied (in order) and its
// request answered. So what the registry holds is always exactly what is on disk, and a burst of N
// concurrent registrations costs a few syncs rather than N. Once the journal outgrows the state,
// the whole state is written to `<file>` (a new file, synced, renamed over it, the directory
// synced) and the journal emptied, between two groups. Replaying a journal onto a state that
// already holds it is harmless (each line sets or removes one key), which makes the crash between
// the rename and the truncation safe.
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../../logging.js';

/** One journal line. */
export type StateChange =
  | { readonly put: unknown }
  | { readonly del: { readonly address: string; readonly port: number; readonly service: string; readonly namespace: string } }
  | { readonly drop: { readonly service: string; readonly namespace: string } };

/** Bound on either file when read back (100,000 registrations take about 20 MiB). */
const MAX_STATE_FILE_BYTES = 64 * 1024 * 1024;
const FORMAT_VERSION = 1;

/** Registrations written per write call while compacting, so no one task stringifies them all. */
const COMPACTION_CHUNK = 1000;

interface Pending {
  readonly line: string;
  readonly apply: () => void;
  readonly fail: (err: Error) => void;
}

export class RegistryStateFile {
  private journal: FileHandle | undefined;
  /** The journal's length after the last complete group: a failed write is cut back to it. */
  private journalBytes = 0;
  private journalLines = 0;
  private queue: Pending[] = [];
  /** Changes of the group being written. */
  private inFlight = 0;
  private writing = false;
  /** Set when the journal could not be brought back to a known state: every change is refused. */
  private broken: Error | undefined;

  /**
   * `live` counts the registrations the registry holds and `current` lists them (as stored), for
   * compaction; both are read between groups, when the registry holds exactly what is on disk.
   */
  constructor(readonly path: string, private readonly log: Logger,
    private readonly live: () => number, private readonly current: () => readonly unknown[]) {}

  get journalPath(): string {
    return `${this.path}.journal`;
  }

  /** Changes written or waiting to be (a registry counts waiting registrations against its bound). */
  get waiting(): number {
    return this.queue.length + this.inFlight;
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

  /** Opens the journal for appending and folds it into the state file (after `load`). */
  async open(): Promise<void> {
    this.journal ??= await fsp.open(this.journalPath, 'a', 0o600);
    await this.compact();
  }

  /**
   * Queues a change; once it is on disk `apply` runs (in the order changes were queued, before any
   * later group is written) and the promise resolves. Rejects, without applying, when it cannot be
   * written.
   */
  append(change: StateChange, apply: () => void): Promise<void> {
    if (this.broken !== undefined) return Promise.reject(this.broken);
    if (this.journal === undefined) return Promise.reject(new Error('the registry journal is not open'));
    return new Promise<void>((resolve, reject) => {
      const applyThenResolve = (): void => {
        try {
          apply();
          resolve();
        } catch (err) {
          reject(err as Error);
        }
      };
      this.queue.push({ line: `${JSON.stringify(change)}\n`, apply: applyThenResolve, fail: reject });
      if (!this.writing) void this.writeGroups();
    });
  }

  /** Writes the queue a group at a time until it is empty. */
  private async writeGroups(): Promise<void> {
    this.writing = true;
    try {
      while (this.queue.length > 0) {
        const group = this.queue;
        this.queue = [];
        this.inFlight = group.length;
        const written = await this.writeGroup(group);
        this.inFlight = 0;
        if (!written) continue;
        for (const p of group) p.apply();
        if (this.journalLines > 1000 + 2 * this.live()) await this.compactOrBreak();
      }
    } finally {
      this.writing = false;
    }
  }

  private async writeGroup(group: readonly Pending[]): Promise<boolean> {
    const journal = this.journal;
    let text = '';
    for (const p of group) text += p.line;
    try {
      if (this.broken !== undefined || journal === undefined) throw this.broken ?? new Error('the journal is closed');
      const bytes = Buffer.from(text);
      const { bytesWritten } = await journal.write(bytes, 0, bytes.length, this.journalBytes);
      if (bytesWritten !== bytes.length) throw new Error(`wrote ${bytesWritten} of ${bytes.length} bytes`);
      await journal.datasync();
      this.journalBytes += bytes.length;
      this.journalLines += group.length;
      return true;
    } catch (err) {
      this.log.error('cannot write the registry journal', { file: this.journalPath, changes: group.length, reason: (err as Error).message });
      // Part of the group may have reached the file: cut it off, or no later change can be trusted.
      try {
        await journal?.truncate(this.journalBytes);
      } catch (cut) {
        this.broken = new Error(`registry journal ${this.journalPath} is in an unknown state (${(cut as Error).message}); restart to reload it`);
        this.log.error('registry journal unusable: refusing changes', { file: this.journalPath, reason: (cut as Error).message });
      }
      for (const p of group) p.fail(err as Error);
      return false;
    }
  }

  private async compactOrBreak(): Promise<void> {
    try {
      await this.compact();
    } catch (err) {
      // The journal still holds every change: a failed compaction costs only disk space.
      this.log.error('cannot compact the registry state', { file: this.path, reason: (err as Error).message });
    }
  }

  /** Writes the whole state durably in place of the state file, then empties the journal. */
  private async compact(): Promise<void> {
    const registrations = this.current();
    const tmp = `${this.path}.tmp-${process.pid}`;
    await fsp.rm(tmp, { force: true });
    const file = await fsp.open(tmp, 'wx', 0o600);
    try {
      await file.write(`{"version":${FORMAT_VERSION},"registrations":[`);
      for (let i = 0; i < registrations.length; i += COMPACTION_CHUNK) {
        const chunk = registrations.slice(i, i + COMPACTION_CHUNK).map((r) => JSON.stringify(r)).join(',');
        await file.write(i === 0 ? chunk : `,${chunk}`);
      }
      await file.write(']}');
      await file.sync();
    } finally {
      await file.close();
    }
    await fsp.rename(tmp, this.path);
    await syncDirectory(path.dirname(this.path));
    await this.journal?.truncate(0);
    await this.journal?.datasync();
    this.journalBytes = 0;
    this.journalLines = 0;
  }

  async close(): Promise<void> {
    const journal = this.journal;
    this.journal = undefined;
    await journal?.close();
  }
}

/** Makes a rename in `dir` durable. */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await fsp.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
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
