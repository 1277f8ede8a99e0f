import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { MemoryReclaimer } from '../../../src/xds/server/grpc/memory-reclaimer.js';

/** A stand-in for V8's full collection: holds the thread for `pauseMs` as one does, and records when. */
class FakeGc {
  readonly starts: number[] = [];
  readonly ends: number[] = [];
  private waiter: { count: number; resolve: () => void } | undefined;

  constructor(private readonly pauseMs: number) {}

  readonly gc = (): void => {
    const start = performance.now();
    this.starts.push(start);
    while (performance.now() - start < this.pauseMs) { /* a collection's pause */ }
    this.ends.push(performance.now());
    if (this.waiter && this.ends.length >= this.waiter.count) this.waiter.resolve();
  };

  /** Resolves once `count` collections have run. */
  ran(count: number): Promise<void> {
    if (this.ends.length >= count) return Promise.resolve();
    return new Promise((resolve) => { this.waiter = { count, resolve }; });
  }
}

describe('xDS server: memory reclaimer', () => {
  it('collects after a large release, and keeps forced collections to their share of the time', async () => {
    const fake = new FakeGc(20);
    let cachesCleared = 0;
    const reclaimer = new MemoryReclaimer(() => { cachesCleared++; },
      { thresholdBytes: 100, settleMs: 5, maxDelayMs: 10_000, pauseShare: 0.25, minIntervalMs: 0 }, fake.gc);
    try {
      reclaimer.release(60);
      reclaimer.release(60);
      // One collection, and its follow-up once freed buffers are gone.
      await fake.ran(2);
      assert.equal(cachesCleared, 1, 'caches that only save work start over first');
      const lastEnd = fake.ends[1];
      reclaimer.release(200);
      await fake.ran(3);
      // The last one paused 20 ms; at a quarter of the time, the next waits at least 80 ms (a
      // lower bound: a timer never fires early, however busy the machine).
      const gap = fake.starts[2] - lastEnd;
      assert.ok(gap >= 78, `the next collection began ${gap.toFixed(0)} ms after the last ended; at least 80 expected`);
    } finally {
      reclaimer.stop();
    }
  });
});
