import assert from 'node:assert/strict';
import { SerialPasses } from '../../src/leader/serial-passes.js';

describe('leader/SerialPasses', () => {
  it('runs one pass at a time; kicks during a pass run exactly one more after it', async () => {
    let running = 0;
    let maxRunning = 0;
    let passes = 0;
    let release: () => void = () => undefined;
    const p = new SerialPasses(async () => {
      passes++;
      running++;
      maxRunning = Math.max(maxRunning, running);
      if (passes === 1) await new Promise<void>((r) => { release = r; });
      running--;
    });
    p.kick();
    p.kick();
    p.kick();
    p.kick();
    release();
    await p.idle();
    assert.equal(passes, 2);
    assert.equal(maxRunning, 1);
  });

  it('a kick from inside the last pass is not lost', async () => {
    let passes = 0;
    const p = new SerialPasses(async () => {
      passes++;
      // Arrives after the loop has looked at its flag for this pass.
      if (passes === 1) queueMicrotask(() => queueMicrotask(() => p.kick()));
    });
    p.kick();
    await p.idle();
    await new Promise((r) => setImmediate(r));
    await p.idle();
    assert.equal(passes, 2);
  });

  it('after stop(), a kick runs nothing', async () => {
    let passes = 0;
    const p = new SerialPasses(async () => { passes++; });
    await p.stop();
    p.kick();
    await p.idle();
    assert.equal(passes, 0);
    assert.equal(p.stopped, true);
  });
});
