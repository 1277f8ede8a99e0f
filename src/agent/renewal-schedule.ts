// When to renew and when to retry. Renewal at about half the lifetime leaves the other half for
// retries, so an outage of the CA shorter than that costs no workload its certificate; the jitter
// spreads the pods that started together (a rollout) over time instead of a thundering herd.

export interface ScheduleOptions {
  /** Part of the lifetime after which to renew; default 0.5. */
  readonly renewFraction?: number;
  /** Uniform jitter around renewFraction, as a part of the lifetime; default 0.1 (renew between 40 % and 60 %). */
  readonly jitterFraction?: number;
  /** First retry delay after a failure; default 1 s. */
  readonly initialBackoffMs?: number;
  /** Longest retry delay; default 60 s. */
  readonly maxBackoffMs?: number;
}

const DEFAULT_SCHEDULE: Required<ScheduleOptions> = {
  renewFraction: 0.5, jitterFraction: 0.1, initialBackoffMs: 1000, maxBackoffMs: 60_000,
};

/** Milliseconds from `issuedAtMs` until renewal of a certificate valid until `notAfterMs`. */
export function renewalDelayMs(issuedAtMs: number, notAfterMs: number, random: () => number, options: ScheduleOptions = {}): number {
  const fraction = options.renewFraction ?? DEFAULT_SCHEDULE.renewFraction;
  const jitter = options.jitterFraction ?? DEFAULT_SCHEDULE.jitterFraction;
  const lifetime = Math.max(0, notAfterMs - issuedAtMs);
  const part = Math.min(1, Math.max(0, fraction + (random() * 2 - 1) * jitter));
  return Math.floor(lifetime * part);
}

/**
 * Delay before retry number `attempt` (0 for the first): exponential with jitter, and never more
 * than a quarter of the time the current certificate has left, so several retries still happen
 * before it expires.
 */
export function retryDelayMs(attempt: number, remainingMs: number | undefined, random: () => number, options: ScheduleOptions = {}): number {
  const initial = options.initialBackoffMs ?? DEFAULT_SCHEDULE.initialBackoffMs;
  const max = options.maxBackoffMs ?? DEFAULT_SCHEDULE.maxBackoffMs;
  const exponential = Math.min(max, initial * 2 ** Math.min(attempt, 30));
  const capped = remainingMs === undefined ? exponential : Math.min(exponential, Math.max(initial, remainingMs / 4));
  return Math.floor(capped * (0.5 + random() * 0.5));
}
