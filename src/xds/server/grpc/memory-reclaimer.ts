// Memory a misbehaving client made the server hold (unfinished messages, inflated bombs, name
// lists) is released as soon as its stream ends, but V8 only frees it at its next garbage
// collection, and a server that is idle after the attack allocates little and does not collect:
// the process kept hundreds of megabytes for as long as it stayed quiet. After a large release
// this asks for one full collection once the burst is over.
//
// How often: a forced full collection stops the process (30 ms on a quiet machine, 200-800 ms
// on a loaded one), so they are kept to a share of the time, measured: after a collection that
// paused the process for d ms, the next comes no sooner than d / pauseShare later. A fixed
// interval (10 s) either cost too much on a busy machine or, more often, made the collection
// after an attack wait for the interval to end after one made during it.
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** A full collection, if this Node can be asked for one. */
function gcFunction(): (() => void) | undefined {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed) return exposed;
  try {
    // --expose-gc only makes `gc` visible to contexts created afterwards: one is made here.
    setFlagsFromString('--expose-gc');
    const fn = runInNewContext('gc') as unknown;
    return typeof fn === 'function' ? (fn as () => void) : undefined;
  } catch {
    return undefined;
  }
}

interface ReclaimerOptions {
  /** Released bytes that make a collection worth its pause. */
  readonly thresholdBytes: number;
  /** Quiet time after the last release before collecting (the burst is over). */
  readonly settleMs: number;
  /** Releases that never stop (a busy server) do not put the collection off longer than this. */
  readonly maxDelayMs: number;
  /** The share of the time forced collections may take (see the top of this file). */
  readonly pauseShare: number;
  /** The shortest time between two collections, however short their pauses. */
  readonly minIntervalMs: number;
}

const DEFAULT_RECLAIMER_OPTIONS: ReclaimerOptions = {
  thresholdBytes: 32 << 20, settleMs: 500, maxDelayMs: 5_000, pauseShare: 0.1, minIntervalMs: 1_000,
};

export class MemoryReclaimer {
  private released = 0;
  /** When the threshold was passed, and when the last release came (ms since the epoch). */
  private passedAt = 0;
  private lastReleaseAt = 0;
  /** No collection before this time: see pauseShare. */
  private notBefore = 0;
  private timer: NodeJS.Timeout | undefined;
  /** null until first needed; undefined when this Node cannot be asked for a collection. */
  private gc: (() => void) | undefined | null;
  private stopped = false;

  /**
   * `beforeCollect` lets caches that only save work (not state) start over first. `gc` stands in
   * for V8's full collection (a test's own).
   */
  constructor(private readonly beforeCollect: () => void = () => undefined,
    private readonly opts: ReclaimerOptions = DEFAULT_RECLAIMER_OPTIONS, gc?: () => void) {
    this.gc = gc ?? null;
  }

  /** `bytes` that a client made the server hold were just let go. */
  release(bytes: number): void {
    if (this.stopped) return;
    const now = Date.now();
    this.lastReleaseAt = now;
    if (this.released < this.opts.thresholdBytes && this.released + bytes >= this.opts.thresholdBytes) this.passedAt = now;
    this.released += bytes;
    if (this.released >= this.opts.thresholdBytes && !this.timer) this.arm(this.dueAt() - now);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** When the collection is due: the burst over (or going on too long), and the last pause paid for. */
  private dueAt(): number {
    const settled = Math.min(this.lastReleaseAt + this.opts.settleMs, this.passedAt + this.opts.maxDelayMs);
    return Math.max(settled, this.notBefore);
  }

  private arm(ms: number): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      // Releases since the timer was set may have put the collection off: wait for them.
      const wait = this.dueAt() - Date.now();
      if (wait > 0) this.arm(wait);
      else this.collect();
    }, Math.max(0, ms));
    this.timer.unref();
  }

  private collect(): void {
    this.released = 0;
    this.beforeCollect();
    if (this.gc === null) this.gc = gcFunction();
    const gc = this.gc;
    if (!gc) return;
    this.timed(gc);
    // Buffers' memory is freed after the collection that found them dead, off the main thread;
    // a second one, a moment later, lets V8 see it gone and shrink its heap to match.
    setTimeout(() => {
      if (!this.stopped) this.timed(gc);
    }, this.opts.settleMs).unref();
  }

  /** Runs one collection and puts the next off in proportion to its pause. */
  private timed(gc: () => void): void {
    const start = performance.now();
    gc();
    const paused = performance.now() - start;
    this.notBefore = Math.max(this.notBefore, Date.now() + Math.max(this.opts.minIntervalMs, paused / this.opts.pauseShare));
  }
}
