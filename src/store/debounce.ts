// Coalesces bursts of changes: the action runs once things have been quiet for `quietMs`, but no
// later than `maxDelayMs` after the first change it has not yet covered, so a steady trickle of
// changes cannot postpone publication forever. Time is injected so tests drive it by hand.
//
// A change can also be *held*: a source saw it happen (a file event) but reports its content only
// later (once the file has settled). The quiet period counts from when the change was seen, so the
// settling and the debounce overlap instead of adding up; the action waits for the held content
// (release), at most `holdLimitMs`, so a source that never reports cannot stall publication.

export interface Timers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The process's clock and timers. */
export const realTimers: Timers = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

interface DebounceOptions {
  readonly quietMs: number;
  readonly maxDelayMs: number;
  /** How long a held change may keep the action waiting for its content (default 2 s). */
  readonly holdLimitMs?: number;
  readonly timers?: Timers;
}

const DEFAULT_HOLD_LIMIT_MS = 2000;

export class Debouncer {
  private readonly timers: Timers;
  private readonly holdLimitMs: number;
  private handle: unknown;
  private firstChangeAt: number | undefined;
  private lastChangeAt = -Infinity;
  /** Held changes by key: when each was (last) seen. */
  private readonly holds = new Map<string, number>();

  constructor(private readonly action: () => void, private readonly options: DebounceOptions) {
    this.timers = options.timers ?? realTimers;
    this.holdLimitMs = options.holdLimitMs ?? DEFAULT_HOLD_LIMIT_MS;
  }

  /** True while a change waits for the action. */
  get pending(): boolean {
    return this.firstChangeAt !== undefined;
  }

  /** Records a change now: (re)starts the quiet period, bounded by the maximum delay. */
  trigger(): void {
    this.changeAt(this.timers.now());
  }

  /** Records a change seen now whose content `key` reports later (see release). */
  hold(key: string): void {
    const now = this.timers.now();
    this.holds.set(key, now);
    this.changeAt(now);
  }

  /**
   * The content of `key`'s held change arrived (`changed`: it differs, so it needs the action) or
   * turned out to be nothing. The quiet period still counts from when the change was seen.
   * False when `key` held nothing.
   */
  release(key: string, changed: boolean): boolean {
    const seenAt = this.holds.get(key);
    if (seenAt === undefined) return false;
    this.holds.delete(key);
    // The action may have run meanwhile (maximum delay, hold limit): the content still needs one.
    if (changed) this.changeAt(seenAt);
    else this.schedule();
    return true;
  }

  /** Runs the action now if a change is pending. */
  flush(): void {
    if (this.pending) this.fire();
  }

  /** Drops a pending change (and every hold) without running the action. */
  cancel(): void {
    this.clearPending();
    this.holds.clear();
  }

  private changeAt(at: number): void {
    this.firstChangeAt ??= at;
    this.lastChangeAt = Math.max(this.lastChangeAt, at);
    this.schedule();
  }

  private schedule(): void {
    if (this.handle !== undefined) this.timers.clearTimeout(this.handle);
    this.handle = undefined;
    if (this.firstChangeAt === undefined) return;
    let due = this.lastChangeAt + this.options.quietMs;
    for (const seenAt of this.holds.values()) due = Math.max(due, seenAt + this.holdLimitMs);
    due = Math.min(due, this.firstChangeAt + this.options.maxDelayMs);
    this.handle = this.timers.setTimeout(() => this.fire(), Math.max(0, due - this.timers.now()));
  }

  private clearPending(): void {
    if (this.handle !== undefined) this.timers.clearTimeout(this.handle);
    this.handle = undefined;
    this.firstChangeAt = undefined;
    this.lastChangeAt = -Infinity;
  }

  private fire(): void {
    this.clearPending();
    // A hold past its limit is given up on: its content, if it ever comes, is a change of its own.
    const now = this.timers.now();
    for (const [key, seenAt] of this.holds) if (now >= seenAt + this.holdLimitMs) this.holds.delete(key);
    this.action();
  }
}
