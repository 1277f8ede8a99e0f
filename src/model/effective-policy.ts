// A TrafficPolicy's settings resolved for every port and subset at once (mesh -> host -> subset
// -> port, as effectivePolicy in routing.ts defines the order), when the policy is first read.
// Clusters, the hash policy of routes and a workload's rate limit all ask the same questions of
// a policy; resolving the precedence here, once per TrafficPolicy object, leaves the generators
// to look answers up. Plain data.
import { effectivePolicy, type PolicyFields, type TrafficPolicy } from './routing.js';

interface PortSettings {
  /** For traffic to the port in no subset. */
  readonly service: PolicyFields;
  /** By subset name. */
  readonly subsets: ReadonlyMap<string, PolicyFields>;
}

export interface EffectivePolicy {
  readonly policy: TrafficPolicy;
  /** The ports some level of the policy names in its portLevelSettings. */
  readonly ports: ReadonlyMap<number, PortSettings>;
  /** Every other port: only the port-independent levels apply. */
  readonly otherPorts: PortSettings;
}

/** A port number no portLevelSettings can name (they are 1-65535). */
const NO_PORT = 0;

function settingsAt(policy: TrafficPolicy, port: number): PortSettings {
  return {
    service: effectivePolicy(policy, port),
    subsets: new Map(policy.subsets.map((s) => [s.name, effectivePolicy(policy, port, s.name)])),
  };
}

export function resolvePolicy(policy: TrafficPolicy): EffectivePolicy {
  const numbers = new Set<number>(policy.trafficPolicy.portLevelSettings.map((p) => p.port));
  for (const s of policy.subsets) for (const p of s.trafficPolicy?.portLevelSettings ?? []) numbers.add(p.port);
  return { policy, ports: new Map([...numbers].map((n) => [n, settingsAt(policy, n)])), otherPorts: settingsAt(policy, NO_PORT) };
}

/** The settings for traffic to `port` (in `subset`; an unknown subset is the service's own). */
export function policyFields(resolved: EffectivePolicy, port: number, subset?: string): PolicyFields {
  const settings = resolved.ports.get(port) ?? resolved.otherPorts;
  return (subset === undefined ? undefined : settings.subsets.get(subset)) ?? settings.service;
}
