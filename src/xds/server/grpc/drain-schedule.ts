// How a shutting-down server lets its connections go. Ending every connection at once sends all
// of this replica's proxies to the others in the same instant: each reconnect costs its new
// replica a full push, so the survivors take the whole share as one spike. Instead connections
// are let go in batches, spread over a window, and a replica with few connections (where there
// is no spike to spread) is done at once.

/** One batch every this often. */
export const DRAIN_TICK_MS = 100;
/**
 * The smallest batch: at 100 ms a tick, 100 reconnects a second, which any replica absorbs; a
 * server with at most this many connections drains in one go.
 */
export const MIN_DRAIN_BATCH = 10;

/** Connections to let go each tick so that `count` of them are gone within `windowMs`. */
export function drainBatchSize(count: number, windowMs: number): number {
  if (windowMs <= DRAIN_TICK_MS) return Math.max(count, 1);
  const ticks = Math.floor(windowMs / DRAIN_TICK_MS);
  return Math.max(MIN_DRAIN_BATCH, Math.ceil(count / ticks));
}
