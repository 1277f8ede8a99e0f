// Exponential backoff with jitter. Jitter matters here: after an API server restart every replica
// (and every informer in each) fails at the same moment, and without it they would all come back
// in lockstep.

export interface BackoffOptions {
  /** First delay; default 500 ms. */
  readonly initialMs?: number;
  /** Largest delay before jitter; default 30 s. */
  readonly maxMs?: number;
  /** Growth per failure; default 2. */
  readonly factor?: number;
  /** Each delay is spread uniformly over ±jitter of itself; default 0.2. */
  readonly jitter?: number;
  /** Uniform in [0, 1); injectable so tests can pin the spread. */
  readonly random?: () => number;
}

export class Backoff {
  private failures = 0;
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly factor: number;
  private readonly jitter: number;
  private readonly random: () => number;

  constructor(opts: BackoffOptions = {}) {
    this.initialMs = opts.initialMs ?? 500;
    this.maxMs = opts.maxMs ?? 30_000;
    this.factor = opts.factor ?? 2;
    this.jitter = Math.min(Math.max(opts.jitter ?? 0.2, 0), 1);
    this.random = opts.random ?? Math.random;
  }

  /** Consecutive failures so far. */
  get attempts(): number {
    return this.failures;
  }

  /** The delay before the next attempt; each call counts one more failure. */
  next(): number {
    const base = Math.min(this.maxMs, this.initialMs * this.factor ** this.failures);
    this.failures++;
    return Math.max(0, Math.round(base * (1 - this.jitter + 2 * this.jitter * this.random())));
  }

  /** After a success: the next failure starts from the initial delay again. */
  reset(): void {
    this.failures = 0;
  }
}
