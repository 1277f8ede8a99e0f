// Flag parsing shared by every subcommand: unknown flags and bad values are user errors with a
// clear message and exit code 2, never a stack trace.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { splitHostPort } from '../host-port.js';
import { isLogLevel, type LogLevel } from '../logging.js';
import { isOutboundTrafficPolicy, OUTBOUND_TRAFFIC_POLICIES, type OutboundTrafficPolicy } from '../model/outbound-policy.js';

export class UsageError extends Error {}

type Options = NonNullable<ParseArgsConfig['options']>;

export function parseFlags<O extends Options>(argv: string[], options: O, command: string):
  ReturnType<typeof parseArgs<{ args: string[]; options: O; allowPositionals: true; strict: true }>> {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(`pilotfish ${command}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

export function logLevelFlag(value: string | undefined): LogLevel {
  const v = value ?? 'info';
  if (!isLogLevel(v)) throw new UsageError(`--log-level must be one of error, warn, info, debug (got "${v}")`);
  return v;
}

export function requireFlag(value: string | undefined, name: string, command: string): string {
  if (value === undefined || value === '') throw new UsageError(`pilotfish ${command}: --${name} is required`);
  return value;
}

/** `--outbound-traffic-policy`: what sidecars do with traffic to destinations outside the mesh. */
export function outboundPolicyFlag(value: string | undefined): OutboundTrafficPolicy {
  const v = value ?? 'ALLOW_ANY';
  if (!isOutboundTrafficPolicy(v)) {
    throw new UsageError(`--outbound-traffic-policy must be one of ${OUTBOUND_TRAFFIC_POLICIES.join(', ')} (got "${v}")`);
  }
  return v;
}

/** A HOST:PORT flag, checked at start so a typo is a usage error rather than a failed bind. */
export function addressFlag(text: string, name: string, command: string): string {
  try {
    splitHostPort(text);
  } catch (err) {
    throw new UsageError(`pilotfish ${command}: --${name}: ${(err as Error).message}`);
  }
  return text;
}
