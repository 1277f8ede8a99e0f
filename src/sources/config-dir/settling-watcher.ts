// Watches the config directory's folders and reports which files changed, in two steps. A file
// with no event and an unchanged size, mtime and inode for `quietMs` is reported `early`: the
// source reads it and applies it only if its text shows it is whole (parse-file.ts endsDelimited,
// no object withdrawn), and then confirms it (settledEarly) so it is not reported again. Any
// other file is reported once unchanged for `settleMs`: an in-place rewrite (truncate, then write)
// paused mid-way is therefore read after the write, not in between; a file that never stops
// changing is read anyway after `maxSettleMs`. Events name the file, so only changed files are read.
import { promises as fsp, watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../../logging.js';

export interface SettledChanges {
  /** Config files (created, changed or removed) to read again and apply whatever they hold. */
  readonly files: ReadonlySet<string>;
  /**
   * Config files quiet for `quietMs` only, each with the token to confirm it with: apply one only
   * if its content is evidently whole, else wait for its report in `files`.
   */
  readonly early: ReadonlyMap<string, number>;
  /** A folder appeared, was renamed or went away (or a watcher failed): list the tree again. */
  readonly relist: boolean;
  /** A `..`-name changed (a ConfigMap volume swaps `..data`): every file may have new content. */
  readonly rereadAll: boolean;
}

interface SettlingWatcherOptions {
  /** A file quiet this long is reported early (at most settleMs). */
  readonly quietMs: number;
  readonly settleMs: number;
  readonly maxSettleMs: number;
  readonly log: Logger;
  readonly isConfigFile: (name: string) => boolean;
  readonly onSettled: (changes: SettledChanges) => void;
  /** Something changed and will be reported by onSettled once settled (called per event). */
  readonly onChangeSeen?: () => void;
}

interface Pending {
  firstAt: number;
  lastAt: number;
  /** Fingerprint taken at the last event; compared with a fresh one once quiet. */
  seen: string | undefined;
  seq: number;
  /** The seq last reported early: a file is reported early once per change. */
  earlySeq: number;
}

export class SettlingWatcher {
  private readonly watchers = new Map<string, FSWatcher>();
  private readonly pending = new Map<string, Pending>();
  private readonly quietMs: number;
  private relistAt: number | undefined;
  private rereadAll = false;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly root: string, private readonly opts: SettlingWatcherOptions) {
    this.quietMs = Math.min(opts.quietMs, opts.settleMs);
  }

  /** Watches exactly these folders (and the root). True when a folder was newly watched. */
  watchDirs(dirs: readonly string[]): boolean {
    if (this.closed) return false;
    const wanted = new Set(dirs);
    wanted.add(this.root);
    for (const [d, w] of this.watchers) {
      if (!wanted.has(d)) {
        w.close();
        this.watchers.delete(d);
      }
    }
    let added = false;
    for (const d of wanted) {
      if (this.watchers.has(d)) continue;
      try {
        // One non-recursive watcher per folder: Node 20's recursive mode on Linux misses files
        // renamed into place (how editors save).
        const w = watch(d, (_event, name) => this.onEvent(d, name));
        w.on('error', (err) => {
          // A removed subfolder ends its watcher; the next listing drops it for good.
          if (d === this.root) this.opts.log.error('watching the config directory failed; serving the last loaded content', { reason: err.message });
          w.close();
          this.watchers.delete(d);
          this.markRelist();
        });
        this.watchers.set(d, w);
        added = true;
      } catch (err) {
        const level = d === this.root ? 'error' : 'warn';
        this.opts.log[level]('cannot watch a config directory; its changes will not be picked up', { watched: d, reason: (err as Error).message });
      }
    }
    return added;
  }

  /**
   * The source applied `file` from its early report `token`: it needs no report once settled.
   * Ignored when the file changed again since (its next report still comes).
   */
  settledEarly(file: string, token: number): void {
    const p = this.pending.get(file);
    if (p === undefined || p.seq !== token) return;
    this.pending.delete(file);
    this.arm();
  }

  close(): void {
    this.closed = true;
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.pending.clear();
  }

  private onEvent(dir: string, name: string | Buffer | null): void {
    if (this.closed) return;
    const base = name === null ? null : name.toString();
    if (base === null) { this.markRelist(); return; }
    if (base.startsWith('..')) {
      this.rereadAll = true;
      this.markRelist();
      return;
    }
    // Editors' swap and temp files (.a.yaml.swp, .#a.yaml): never config.
    if (base.startsWith('.')) return;
    const file = path.join(dir, base);
    if (!this.opts.isConfigFile(base)) { this.otherName(file); return; }
    const now = Date.now();
    const p = this.pending.get(file) ?? { firstAt: now, lastAt: now, seen: undefined, seq: 0, earlySeq: -1 };
    p.lastAt = now;
    const seq = ++p.seq;
    this.pending.set(file, p);
    void fingerprint(file).then((fp) => { if (p.seq === seq) p.seen = fp; });
    this.arm();
    this.opts.onChangeSeen?.();
  }

  /**
   * An event for a name that is not a config file. Only a folder matters (new, renamed, removed:
   * what to list and watch changes); anything else, such as vim's `4913` probe, `a.yaml~` or the
   * `a.yaml.tmp` a writer renames onto `a.yaml` (that rename is an event for `a.yaml` too), costs
   * one stat: no listing of the tree, no read, and the store is not told a change is coming.
   */
  private otherName(full: string): void {
    // A watched folder renamed or removed no longer stats as one.
    if (this.watchers.has(full)) { this.markRelist(); return; }
    void fsp.stat(full).then((s) => s.isDirectory(), () => false).then((isDir) => {
      if (isDir && !this.closed) this.markRelist();
    });
  }

  private markRelist(): void {
    this.relistAt = Date.now();
    this.arm();
    this.opts.onChangeSeen?.();
  }

  /** When `p` is next due: its early report, else its settled one, and never after its maximum. */
  private dueAt(p: Pending): number {
    const quiet = p.lastAt + (p.earlySeq === p.seq ? this.opts.settleMs : this.quietMs);
    return Math.min(quiet, p.firstAt + this.opts.maxSettleMs);
  }

  private arm(): void {
    if (this.closed) return;
    let due = Infinity;
    for (const p of this.pending.values()) due = Math.min(due, this.dueAt(p));
    if (this.relistAt !== undefined) due = Math.min(due, this.relistAt + this.opts.settleMs);
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (due === Infinity) return;
    this.timer = setTimeout(() => { this.timer = undefined; void this.fire(); }, Math.max(0, due - Date.now()));
  }

  private async fire(): Promise<void> {
    const now = Date.now();
    const files = new Set<string>();
    const early = new Map<string, number>();
    const checks: Array<Promise<void>> = [];
    for (const [file, p] of this.pending) {
      if (now < this.dueAt(p)) continue;
      const overdue = now >= p.firstAt + this.opts.maxSettleMs;
      const settled = overdue || now >= p.lastAt + this.opts.settleMs;
      const seq = p.seq;
      checks.push(fingerprint(file).then((fp) => {
        if (this.closed || p.seq !== seq) return;
        if (fp === p.seen || overdue) {
          if (settled) {
            this.pending.delete(file);
            files.add(file);
          } else {
            p.earlySeq = seq;
            early.set(file, seq);
          }
        } else {
          // Changed without an event we saw (or while we looked): wait once more.
          p.seen = fp;
          p.lastAt = Date.now();
        }
      }));
    }
    await Promise.all(checks);
    if (this.closed) return;
    const relist = this.relistAt !== undefined && now >= this.relistAt + this.opts.settleMs;
    if (relist) this.relistAt = undefined;
    const rereadAll = relist && this.rereadAll;
    if (rereadAll) this.rereadAll = false;
    if (files.size > 0 || early.size > 0 || relist) this.opts.onSettled({ files, early, relist, rereadAll });
    this.arm();
  }
}

/** Size, mtime and inode; `gone` when the file does not exist. */
async function fingerprint(file: string): Promise<string> {
  try {
    const s = await fsp.stat(file, { bigint: true });
    return `${s.size}:${s.mtimeNs}:${s.ino}`;
  } catch {
    return 'gone';
  }
}
