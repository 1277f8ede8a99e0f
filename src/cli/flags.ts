// Flags and checks of flag values shared by the commands: a bad value is a user error with a clear
// message and exit code 2, never a stack trace.
import { splitHostPort } from '../host-port.js';
import { isLogLevel, LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from '../log-options.js';
import { isOutboundTrafficPolicy, OUTBOUND_TRAFFIC_POLICIES, type OutboundTrafficPolicy } from '../model/outbound-policy.js';
import { DEFAULT_SCOPE, DEFAULT_SCOPES, isDefaultScope, type DefaultScope } from '../model/traffic-scope.js';
import { parseLabelSelector, type LabelSelector } from '../model/label-selector.js';
import { DEFAULT_TRUST_DOMAIN, isKubernetesNamespace, trustDomainProblem } from '../security/spiffe.js';
import type { FlagSpecs } from './command-line.js';
import { UsageError } from './failure.js';

export { UsageError } from './failure.js';

/** --log-level and --log-format, for every command that serves. */
export const logFlags = {
  'log-level': { type: 'string', arg: 'LEVEL', choices: LOG_LEVELS, default: 'info', help: 'least severe entry logged; debug also prints the stack of a failure' },
  'log-format': { type: 'string', arg: 'FORMAT', choices: LOG_FORMATS, default: 'json', help: 'json: one object per line, for collectors; text: one readable line, for a terminal' },
} as const satisfies FlagSpecs;

export function logLevelFlag(value: string | undefined): LogLevel {
  const v = value ?? 'info';
  if (!isLogLevel(v)) throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')} (got "${v}")`);
  return v;
}

export function logFormatFlag(value: string | undefined): LogFormat {
  const v = value ?? 'json';
  const format = LOG_FORMATS.find((f) => f === v);
  if (format === undefined) throw new UsageError(`--log-format must be one of ${LOG_FORMATS.join(', ')} (got "${v}")`);
  return format;
}

export function requireFlag(value: string | undefined, name: string, command: string): string {
  if (value === undefined || value === '') throw new UsageError(`pilotfish ${command}: --${name} is required`);
  return value;
}

/** `--default-scope`: what a sidecar no TrafficScope covers is sent. */
export function defaultScopeFlag(value: string | undefined): DefaultScope {
  const v = value ?? DEFAULT_SCOPE;
  if (!isDefaultScope(v)) throw new UsageError(`--default-scope must be one of ${DEFAULT_SCOPES.join(', ')} (got "${v.slice(0, 100)}")`);
  return v;
}

/** `--discovery-selector`: which namespaces pilotfish reads at all; undefined: every one. */
export function discoverySelectorFlag(value: string | undefined, command: string): LabelSelector | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  try {
    return parseLabelSelector(value);
  } catch (err) {
    throw new UsageError(`pilotfish ${command}: --discovery-selector: ${(err as Error).message}`);
  }
}

/** `--outbound-traffic-policy`: what sidecars do with traffic to destinations outside the mesh. */
export function outboundPolicyFlag(value: string | undefined): OutboundTrafficPolicy {
  const v = value ?? 'ALLOW_ANY';
  if (!isOutboundTrafficPolicy(v)) {
    throw new UsageError(`--outbound-traffic-policy must be one of ${OUTBOUND_TRAFFIC_POLICIES.join(', ')} (got "${v}")`);
  }
  return v;
}

/** `--trust-domain`: the trust domain of every SPIFFE ID the mesh issues and checks. */
export function trustDomainFlag(value: string | undefined, command: string): string {
  const v = value ?? DEFAULT_TRUST_DOMAIN;
  const problem = trustDomainProblem(v);
  if (problem !== undefined) throw new UsageError(`pilotfish ${command}: --trust-domain: ${problem} (got "${v.slice(0, 100)}")`);
  return v;
}

/** `--mesh-root-namespace`: where a PeerAuthentication without selector applies mesh-wide. */
export function rootNamespaceFlag(value: string | undefined, fallback: string, command: string): string {
  const v = value ?? fallback;
  if (!isKubernetesNamespace(v)) throw new UsageError(`pilotfish ${command}: --mesh-root-namespace must be a namespace name (got "${v.slice(0, 100)}")`);
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

/** `--labels app=web,version=v1` -> labels. */
export function parseLabels(text: string | undefined, command: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!text) return out;
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new UsageError(`pilotfish ${command}: --labels must look like "app=web,version=v1" (got "${part}")`);
    out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}
