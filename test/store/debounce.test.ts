import assert from 'node:assert/strict';
import { Debouncer } from '../../src/store/debounce.js';
import { ManualTimers } from '../support/manual-timers.js';

describe('Debouncer', () => {
  function setup(): { timers: ManualTimers; d: Debouncer; fired: number[] } {
    const timers = new ManualTimers();
    const fired: number[] = [];
    const d = new Debouncer(() => fired.push(timers.now()), { quietMs: 100, maxDelayMs: 10_000, timers });
    return { timers, d, fired };
  }

  it('runs once, quietMs after the last of a burst of changes', () => {
    const { timers, d, fired } = setup();
    d.trigger();
    timers.advance(50);
    d.trigger();
    timers.advance(99);
    assert.deepEqual(fired, []);
    assert.equal(d.pending, true);
    timers.advance(1);
    assert.deepEqual(fired, [150]);
    assert.equal(d.pending, false);
    timers.advance(1000);
    assert.deepEqual(fired, [150], 'no further run without a new change');
  });

  it('runs at most maxDelayMs after the first change even if changes keep coming', () => {
    const { timers, d, fired } = setup();
    for (let t = 0; t < 25_000; t += 50) {
      d.trigger();
      timers.advance(50);
    }
    // Changes every 50 ms never leave 100 ms of quiet: only the maximum delay publishes.
    assert.deepEqual(fired, [10_000, 20_000]);
  });

  it('flush runs a pending change immediately; cancel drops it', () => {
    const { timers, d, fired } = setup();
    d.flush();
    assert.deepEqual(fired, [], 'nothing pending, nothing to flush');
    d.trigger();
    timers.advance(10);
    d.flush();
    assert.deepEqual(fired, [10]);
    assert.equal(timers.scheduled, 0, 'the timer is cleared');
    d.trigger();
    d.cancel();
    timers.advance(20_000);
    assert.deepEqual(fired, [10]);
  });

  it('starts a fresh maximum-delay window after each run', () => {
    const { timers, d, fired } = setup();
    d.trigger();
    timers.advance(100);
    timers.advance(5_000);
    d.trigger();
    timers.advance(100);
    assert.deepEqual(fired, [100, 5_200]);
  });
});
