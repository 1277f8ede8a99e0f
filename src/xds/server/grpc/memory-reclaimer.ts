// Memory a misbehaving client made the server hold (unfinished messages, inflated bombs, name
// lists) is released as soon as its stream ends, but V8 only frees it at its next garbage
// collection, and a server that is idle after the attack allocates little and does not collect:
// the process kept hundreds of megabytes for as long as it stayed quiet. After a large release
// this asks for one full collection, once the burst is over and at most every `minIntervalMs`.
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
  readonly minIntervalMs: number;
}

const DEFAULT_RECLAIMER_OPTIONS: ReclaimerOptions = { thresholdBytes: 32 << 20, settleMs: 500, minIntervalMs: 10_000 };

export class MemoryReclaimer {
  private released = 0;
  private lastAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private gc: (() => void) | undefined | null = null;

  /** `beforeCollect` lets caches that only save work (not state) start over first. */
  constructor(private readonly beforeCollect: () => void = () => undefined,
    private readonly opts: ReclaimerOptions = DEFAULT_RECLAIMER_OPTIONS) {}

  /** `bytes` that a client made the server hold were just let go. */
  release(bytes: number): void {
    this.released += bytes;
    if (this.released < this.opts.thresholdBytes) return;
    const wait = Math.max(this.opts.settleMs, this.lastAt + this.opts.minIntervalMs - Date.now());
    if (this.timer) this.timer.refresh();
    else {
      this.timer = setTimeout(() => this.collect(), wait);
      this.timer.unref();
    }
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private collect(): void {
    this.timer = undefined;
    this.released = 0;
    this.lastAt = Date.now();
    this.beforeCollect();
    if (this.gc === null) this.gc = gcFunction();
    const gc = this.gc;
    if (!gc) return;
    gc();
    // Buffers' memory is freed after the collection that found them dead, off the main thread;
    // a second one, a moment later, lets V8 see it gone and shrink its heap to match.
    setTimeout(() => gc(), this.opts.settleMs).unref();
  }
}
