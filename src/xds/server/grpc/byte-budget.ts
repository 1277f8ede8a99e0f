// Bytes of incoming messages held in memory before they are complete, bounded per connection
// and per process: an unauthenticated client can otherwise open many streams and leave a large
// message unfinished on each (8 such streams once took the server from 99 to 550 MiB).

/** Which budget refused a charge. */
export type BudgetScope = 'connection' | 'process';

export class ByteBudget {
  private usedBytes = 0;

  /** `onAbandoned` (on the process budget) hears of bytes let go because their stream was cut off. */
  constructor(readonly limit: number, readonly scope: BudgetScope, private readonly parent?: ByteBudget,
    private readonly onAbandoned?: (bytes: number) => void) {}

  get used(): number {
    return this.usedBytes;
  }

  /** Takes `n` bytes from this budget and its parent; returns the scope that refused, if any (then nothing is taken). */
  take(n: number): BudgetScope | undefined {
    if (this.usedBytes + n > this.limit) return this.scope;
    if (this.parent) {
      const refused = this.parent.take(n);
      if (refused) return refused;
    }
    this.usedBytes += n;
    return undefined;
  }

  give(n: number): void {
    this.usedBytes -= n;
    this.parent?.give(n);
  }

  /** Gives `n` back for a message that will never complete (see MemoryReclaimer). */
  abandon(n: number): void {
    this.give(n);
    this.report(n);
  }

  private report(n: number): void {
    if (this.parent) this.parent.report(n);
    else this.onAbandoned?.(n);
  }
}

/** One stream's share of its connection's budget: what it holds now, given back at once when it ends. */
export class BudgetCharge {
  private held = 0;

  constructor(private readonly budget: ByteBudget) {}

  /** Sets the bytes held to `n`; returns the refusing scope (then the charge is unchanged). */
  set(n: number): BudgetScope | undefined {
    if (n > this.held) {
      const refused = this.budget.take(n - this.held);
      if (refused) return refused;
    } else if (n < this.held) this.budget.give(this.held - n);
    this.held = n;
    return undefined;
  }

  release(): void {
    this.set(0);
  }

  /** Like release, for bytes of a message that will never complete: worth reclaiming. */
  abandon(): void {
    if (this.held > 0) this.budget.abandon(this.held);
    this.held = 0;
  }

  get bytes(): number {
    return this.held;
  }
}
