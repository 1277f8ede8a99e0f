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

  describe('held changes (content reported after the change was seen)', () => {
    it('counts the quiet period from when the change was seen, not from when its content arrived', () => {
      const { timers, d, fired } = setup();
      d.hold('files');
      timers.advance(80);
      assert.deepEqual(fired, [], 'waits for the content');
      assert.equal(d.release('files', true), true);
      timers.advance(19);
      assert.deepEqual(fired, []);
      timers.advance(1);
      assert.deepEqual(fired, [100], 'seen at 0 + 100 ms quiet; a trigger at 80 would run at 180');
    });

    it('waits for held content that arrives after the quiet period, then runs at once', () => {
      const { timers, d, fired } = setup();
      d.hold('files');
      timers.advance(150);
      assert.deepEqual(fired, [], 'the quiet period is over but the content is not there');
      d.release('files', true);
      timers.advance(0);
      assert.deepEqual(fired, [150]);
    });

    it('a held change that turns out to be nothing lets other changes run on their own schedule', () => {
      const { timers, d, fired } = setup();
      d.hold('files');
      timers.advance(30);
      d.trigger();
      timers.advance(200);
      assert.deepEqual(fired, [], 'the registry change waits behind the held file');
      assert.equal(d.release('files', false), true);
      timers.advance(0);
      assert.deepEqual(fired, [230]);
      assert.equal(d.release('files', false), false, 'nothing is held any more');
    });

    it('gives up on a hold after holdLimitMs; content arriving later is a change of its own', () => {
      const timers = new ManualTimers();
      const fired: number[] = [];
      const d = new Debouncer(() => fired.push(timers.now()), { quietMs: 100, maxDelayMs: 10_000, holdLimitMs: 500, timers });
      d.hold('stuck');
      timers.advance(499);
      assert.deepEqual(fired, []);
      timers.advance(1);
      assert.deepEqual(fired, [500], 'a source that never reports cannot stall publication');
      assert.equal(d.release('stuck', true), false, 'the hold was dropped');
      d.trigger();
      timers.advance(100);
      assert.deepEqual(fired, [500, 600]);
    });

    it('content released after the action already ran (maximum delay) still gets a run', () => {
      const timers = new ManualTimers();
      const fired: number[] = [];
      const d = new Debouncer(() => fired.push(timers.now()), { quietMs: 100, maxDelayMs: 300, holdLimitMs: 1_000, timers });
      d.hold('files');
      timers.advance(300);
      assert.deepEqual(fired, [300], 'the maximum delay is not extended by a hold');
      d.release('files', true);
      timers.advance(0);
      assert.deepEqual(fired, [300, 300], 'the held content is published as soon as it arrives');
    });

    it('cancel drops holds too', () => {
      const { timers, d, fired } = setup();
      d.hold('files');
      d.cancel();
      assert.equal(d.release('files', true), false);
      timers.advance(20_000);
      assert.deepEqual(fired, []);
    });
  });
});
