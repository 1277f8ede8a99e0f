// The status each TrafficRoute / TrafficPolicy should carry: the validation conditions (Accepted,
// ResolvedRefs) plus Programmed, which says whether connected proxies accept the configuration the
// object produced (a NACK names the count of rejecting proxies and the first error).
import { ROUTING_API_VERSION } from '../api/routing/v1alpha1/crd.js';
import { routingObjectKey } from '../model/routing.js';
import type { RoutingObjectStatus } from '../model/routing-status.js';
import type { NackSummary } from './nack-tracker.js';
import type { DesiredCondition, DesiredStatus } from './status-writer.js';

const PROGRAMMED = 'Programmed';
export const ROUTING_CONDITION_TYPES: readonly string[] = ['Accepted', 'ResolvedRefs', PROGRAMMED];

/** Keeps a proxy's error message from swamping the object (the CRD allows 32 KiB per message). */
const MAX_ERROR_CHARS = 1024;

const PLURAL = { TrafficRoute: 'trafficroutes', TrafficPolicy: 'trafficpolicies' } as const;

function isOwnKind(s: RoutingObjectStatus): s is RoutingObjectStatus & { kind: keyof typeof PLURAL } {
  return Object.hasOwn(PLURAL, s.kind);
}

function typeName(typeUrl: string): string {
  return typeUrl.slice(typeUrl.lastIndexOf('.') + 1) || typeUrl;
}

export function programmedCondition(nack: NackSummary | undefined, generation: number | undefined): DesiredCondition {
  const gen = generation === undefined ? {} : { observedGeneration: generation };
  if (!nack) {
    return { type: PROGRAMMED, status: 'True', reason: 'Programmed', message: 'No connected proxy rejects the configuration built from this object.', ...gen };
  }
  const error = nack.firstError.length > MAX_ERROR_CHARS ? `${nack.firstError.slice(0, MAX_ERROR_CHARS)}…` : nack.firstError;
  const who = nack.proxies === 1 ? '1 proxy rejects' : `${nack.proxies} proxies reject`;
  return {
    type: PROGRAMMED, status: 'False', reason: 'RejectedByProxies',
    message: `${who} the ${typeName(nack.typeUrl)} configuration built from this object. First error (from ${nack.firstProxy}): ${error}`,
    ...gen,
  };
}

/**
 * Desired status of every routing object validation looked at. Programmed is only set on objects
 * that are applied (now or in an earlier generation): an object that shapes nothing cannot be rejected.
 */
export function routingStatuses(statuses: readonly RoutingObjectStatus[], nacks: ReadonlyMap<string, NackSummary>): DesiredStatus[] {
  // Only pilotfish's own kinds: Istio's objects carry Istio's status (pilotfish reports on them with
  // Events, istio-events.ts); Gateway API routes carry theirs per parent (leader/gateway-status.ts).
  return statuses.filter(isOwnKind).flatMap((s) => {
    const conditions: DesiredCondition[] = [...s.conditions];
    if (s.applied !== 'none') conditions.push(programmedCondition(nacks.get(routingObjectKey(s)), s.generation));
    return [{
      target: { apiVersion: ROUTING_API_VERSION, kind: s.kind, plural: PLURAL[s.kind], namespace: s.namespace, name: s.name },
      ...(s.uid !== undefined ? { uid: s.uid } : {}),
      ...(s.generation !== undefined ? { observedGeneration: s.generation } : {}),
      conditions,
    }];
  });
}
