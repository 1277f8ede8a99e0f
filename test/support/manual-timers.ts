// A clock the test moves by hand, for code that takes a Timers (debounce, store).
import type { Timers } from '../../src/store/debounce.js';

interface Pending { id: number; at: number; fn: () => void }

export class ManualTimers implements Timers {
  private time = 0;
  private nextId = 1;
  private pending: Pending[] = [];

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.pending.push({ id, at: this.time + ms, fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.pending = this.pending.filter((p) => p.id !== handle);
  }

  /** Number of timers not yet fired. */
  get scheduled(): number {
    return this.pending.length;
  }

  /** Moves time forward, firing due timers in time order (timers they set fire too if due). */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      const due = this.pending.filter((p) => p.at <= end).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (due === undefined) break;
      this.pending = this.pending.filter((p) => p !== due);
      this.time = due.at;
      due.fn();
    }
    this.time = end;
  }
}
