// Fixed-size buffers that incoming bytes are collected into (unfinished messages, compressed
// messages being inflated), reused from one message to the next. A gzip bomb is inflated up to
// the message limit and then thrown away, and a flood of unfinished messages is refused stream
// after stream: with buffers allocated per message, such bursts left hundreds of megabytes of
// garbage behind them before the next collection, far more than the budgets allowed to be held
// at once. Blocks go back to the pool instead, so memory stays at what the budgets charge; an
// idle pool is emptied.
import { IdleTimer } from '../idle-timer.js';

/** Blocks are cut from slabs of this size (or one block, if larger): see carve(). */
const SLAB_BYTES = 1 << 20;

/** ES2024's resizable ArrayBuffer constructor: Node 20 has it, the project's TypeScript lib (ES2023) does not. */
const ResizableArrayBuffer = ArrayBuffer as unknown as new (byteLength: number, options: { maxByteLength: number }) => ArrayBuffer;

export class BlockPool {
  private free: Buffer[] = [];
  private readonly idle: IdleTimer;
  private readonly blocksPerSlab: number;

  /** `onDropped` is told of the bytes of an idle pool let go (see MemoryReclaimer). */
  constructor(readonly blockBytes: number, idleMs = 2_000, onDropped: (bytes: number) => void = () => undefined) {
    this.blocksPerSlab = Math.max(1, Math.floor(SLAB_BYTES / blockBytes));
    this.idle = new IdleTimer(idleMs, () => {
      const bytes = this.freeBytes;
      this.free = [];
      if (bytes > 0) onDropped(bytes);
    });
  }

  take(): Buffer {
    this.idle.touch();
    if (this.free.length === 0) this.carve();
    return this.free.pop()!;
  }

  /** Bytes of the blocks waiting in the pool to be taken again. */
  get freeBytes(): number {
    return this.free.length * this.blockBytes;
  }

  give(blocks: readonly Buffer[]): void {
    this.idle.touch();
    for (const b of blocks) this.free.push(b);
  }

  /**
   * Adds one slab's blocks to the pool. A slab is a resizable ArrayBuffer because V8 takes those
   * from the OS's page allocator and unmaps them when they are collected. Blocks from the C
   * allocator (Buffer.allocUnsafeSlow) stayed resident after the pool let them go: the allocator
   * only gives memory back from the top of its heap, and blocks taken during an attack are
   * interleaved with the server's own long-lived allocations (the RSS was still +119 MiB above
   * idle 30 s after a flood of unfinished messages ended).
   */
  private carve(): void {
    const bytes = this.blocksPerSlab * this.blockBytes;
    const slab = new ResizableArrayBuffer(bytes, { maxByteLength: bytes });
    for (let i = 0; i < this.blocksPerSlab; i++) this.free.push(Buffer.from(slab, i * this.blockBytes, this.blockBytes));
  }
}
