// The flags that spread proxies over replicas, shared by every command serving xDS: a maximum
// connection age (proxies reconnect gradually, so load evens out after a rollout or a scale-up)
// and the drain window on SIGTERM (this replica's proxies reach the others gradually).
import { parseDuration } from '../api/routing/v1alpha1/duration.js';
import type { FlagSpecs } from './command-line.js';
import { UsageError } from './flags.js';

export const xdsConnectionFlags = {
  'xds-max-connection-age': {
    type: 'string', arg: 'DURATION', default: '30m',
    help: 'each xDS connection is asked to reconnect (GOAWAY, then UNAVAILABLE) after about this long (±10 %), '
      + 'so proxies spread over replicas after a rollout or a scale-up; 0 turns it off',
  },
  'xds-drain-window': {
    type: 'string', arg: 'DURATION', default: '10s',
    help: 'on SIGTERM, xDS connections are let go in batches spread over this long (at least 10 every 100 ms), '
      + 'so the other replicas take this one\'s proxies gradually; 0: all at once',
  },
} as const satisfies FlagSpecs;

export interface XdsConnectionSettings {
  /** 0: off. */
  readonly maxConnectionAgeMs: number;
  /** Between the GOAWAY of an aged connection and the end of its streams. */
  readonly connectionAgeGraceMs: number;
  readonly drainWindowMs: number;
}

/** A tenth of the age, at most 5 s: time for the pod agent to open its next session first. */
const MAX_AGE_GRACE_MS = 5_000;

function durationFlag(text: string, name: string, command: string, minMs: number): number {
  const ms = text === '0' ? 0 : parseDuration(text);
  if (ms === undefined || (ms !== 0 && ms < minMs)) {
    throw new UsageError(`pilotfish ${command}: --${name} must be 0 or a duration of at least ${minMs} ms, like "30m", "90s" or "1h" (got "${text}")`);
  }
  return ms;
}

export function xdsConnectionSettings(v: { 'xds-max-connection-age'?: string; 'xds-drain-window'?: string }, command: string): XdsConnectionSettings {
  // Below a second a proxy would spend more time reconnecting than connected.
  const maxConnectionAgeMs = durationFlag(v['xds-max-connection-age'] ?? '30m', 'xds-max-connection-age', command, 1000);
  return {
    maxConnectionAgeMs,
    connectionAgeGraceMs: Math.min(MAX_AGE_GRACE_MS, Math.floor(maxConnectionAgeMs / 10)),
    drainWindowMs: durationFlag(v['xds-drain-window'] ?? '10s', 'xds-drain-window', command, 0),
  };
}
