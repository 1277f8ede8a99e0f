// Coalesces bursts of changes: the action runs once things have been quiet for `quietMs`, but no
// later than `maxDelayMs` after the first change it has not yet covered, so a steady trickle of
// changes cannot postpone publication forever. Time is injected so tests drive it by hand.

export interface Timers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: Timers = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

interface DebounceOptions {
  readonly quietMs: number;
  readonly maxDelayMs: number;
  readonly timers?: Timers;
}

export class Debouncer {
  private readonly timers: Timers;
  private handle: unknown;
  private firstChangeAt: number | undefined;

  constructor(private readonly action: () => void, private readonly options: DebounceOptions) {
    this.timers = options.timers ?? realTimers;
  }

  /** True while a change waits for the action. */
  get pending(): boolean {
    return this.firstChangeAt !== undefined;
  }

  /** Records a change: (re)starts the quiet period, bounded by the maximum delay. */
  trigger(): void {
    const now = this.timers.now();
    this.firstChangeAt ??= now;
    if (this.handle !== undefined) this.timers.clearTimeout(this.handle);
    const deadline = this.firstChangeAt + this.options.maxDelayMs;
    const delay = Math.max(0, Math.min(this.options.quietMs, deadline - now));
    this.handle = this.timers.setTimeout(() => this.fire(), delay);
  }

  /** Runs the action now if a change is pending. */
  flush(): void {
    if (this.pending) this.fire();
  }

  /** Drops a pending change without running the action. */
  cancel(): void {
    if (this.handle !== undefined) this.timers.clearTimeout(this.handle);
    this.handle = undefined;
    this.firstChangeAt = undefined;
  }

  private fire(): void {
    this.cancel();
    this.action();
  }
}
