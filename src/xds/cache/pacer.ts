// Long synchronous work in a push gives the event loop back once it has held it for a budget, so
// health checks, streams and timers keep being served while a large mesh, or one service of
// thousands of endpoints, is generated and encoded. The budget is what one task may take.

export class Pacer {
  private since = performance.now();

  constructor(private readonly budgetMs: number) {}

  /** Resolves at once while the budget lasts; otherwise after I/O and timers had their turn. */
  async pause(): Promise<void> {
    if (performance.now() - this.since < this.budgetMs) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.since = performance.now();
  }
}
