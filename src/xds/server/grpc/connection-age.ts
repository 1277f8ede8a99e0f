// How long one connection may live before the server asks its client to reconnect. Proxies keep
// an xDS connection for days, so without an age limit a rollout or a scale-up never evens the
// load out: every proxy stays on whichever replica it reached first. Each connection gets its own
// age, spread around the maximum, so connections made together (after a restart) do not all
// expire together and come back as one storm.

export interface ConnectionAgeOptions {
  /** The mean age; undefined or 0: connections live as long as their clients keep them. */
  readonly maxAgeMs?: number;
  /**
   * Each connection's age is maxAgeMs times a factor drawn uniformly from [1 - jitter, 1 + jitter]
   * (gRPC's servers use ±10 %). Between 0 and 1.
   */
  readonly jitter?: number;
  /**
   * Between the GOAWAY (no new streams on this connection) and ending the streams still on it
   * with UNAVAILABLE: a client that reads the GOAWAY (the pod agent) opens its next connection in
   * this time, so its streams move to a connection that is already up.
   */
  readonly graceMs?: number;
}

const DEFAULT_CONNECTION_AGE_JITTER = 0.1;
/** Long enough for a TLS handshake on a busy node; short next to any sensible maximum age. */
export const DEFAULT_CONNECTION_AGE_GRACE_MS = 5_000;

/** One connection's age in ms, or undefined when ages are off. `random` returns [0, 1). */
export function connectionAge(opts: ConnectionAgeOptions, random: () => number): number | undefined {
  const max = opts.maxAgeMs ?? 0;
  if (max <= 0) return undefined;
  const jitter = opts.jitter ?? DEFAULT_CONNECTION_AGE_JITTER;
  if (!(jitter >= 0 && jitter <= 1)) throw new Error(`connection age jitter must be between 0 and 1 (got ${jitter})`);
  return Math.max(1, Math.round(max * (1 - jitter + 2 * jitter * random())));
}
