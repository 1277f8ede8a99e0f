// Fixed-size buffers that compressed messages are inflated into, reused from one message to the
// next. A gzip bomb is inflated up to the message limit and then thrown away: with a buffer
// allocated per message, a burst of bombs left hundreds of megabytes of garbage behind them
// before the next collection, far more than the budgets allowed to be held at once. Blocks go
// back to the pool instead, so memory stays at what the budgets charge; an idle pool is emptied.
import { IdleTimer } from '../idle-timer.js';

export class BlockPool {
  private free: Buffer[] = [];
  private readonly idle: IdleTimer;

  /** `onDropped` is told of the bytes of an idle pool let go (see MemoryReclaimer). */
  constructor(readonly blockBytes: number, idleMs = 2_000, onDropped: (bytes: number) => void = () => undefined) {
    this.idle = new IdleTimer(idleMs, () => {
      const bytes = this.free.length * this.blockBytes;
      this.free = [];
      if (bytes > 0) onDropped(bytes);
    });
  }

  take(): Buffer {
    this.idle.touch();
    return this.free.pop() ?? Buffer.allocUnsafeSlow(this.blockBytes);
  }

  /** Bytes of the blocks waiting in the pool to be taken again. */
  get freeBytes(): number {
    return this.free.length * this.blockBytes;
  }

  give(blocks: readonly Buffer[]): void {
    this.idle.touch();
    for (const b of blocks) this.free.push(b);
  }
}
