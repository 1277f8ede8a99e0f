// The routing step between translation and publishing: validates the routing objects of a new
// snapshot against its services and keeps the last good generation of each object applied.
// Pure; the store calls it for every snapshot it builds. Identity is preserved wherever nothing
// changed, so the store can tell from a reference whether applied routing (and with it the proxy
// configuration) moved.
import { serviceKey, type Endpoint, type Service } from '../model/mesh.js';
import { routingObjectKey } from '../model/routing.js';
import type { AppliedRouting, RoutingObjectStatus, RoutingState } from '../model/routing-status.js';
import type { RoutingObjects } from '../model/snapshot.js';
import { deepEqual, sameSet } from '../deep-equal.js';
import { serviceLookupFromMaps, validateRouting } from './validate.js';

interface RoutingStepInput {
  readonly previous: RoutingState;
  readonly previousObjects: RoutingObjects;
  readonly objects: RoutingObjects;
  readonly services: ReadonlyMap<string, Service>;
  readonly endpoints: ReadonlyMap<string, readonly Endpoint[]>;
  /** Whether any Service was added, removed or changed since `previous` was computed. */
  readonly servicesChanged: boolean;
  readonly changedEndpoints: ReadonlySet<string>;
}

export function nextRoutingState(input: RoutingStepInput): RoutingState {
  const { previous, objects } = input;
  if (objects === input.previousObjects && !input.servicesChanged && !endpointsMatter(input)) return previous;

  const reads = new Set<string>();
  const lookup = serviceLookupFromMaps(input.services, input.endpoints);
  const result = validateRouting({
    trafficRoutes: objects.trafficRoutes,
    trafficPolicies: objects.trafficPolicies,
    gatewayRoutes: objects.gatewayRoutes,
    services: {
      service(namespace, name) {
        reads.add(serviceKey(namespace, name));
        return lookup.service(namespace, name);
      },
    },
    previousApplied: previous.applied,
  });
  const applied = sameApplied(previous.applied, result.applied) ? previous.applied : result.applied;
  const statuses = deepEqual(previous.statuses, result.statuses) ? previous.statuses : result.statuses;
  // With thousands of endpoint changes and a few policies, knowing what was read keeps an endpoint
  // change O(its service). The previous state is kept (identity tells the store nothing moved)
  // unless what was read differs where it is used (endpointsMatter ignores it without statuses).
  if (applied === previous.applied && statuses === previous.statuses
    && (statuses.length === 0 || (previous.endpointReads !== undefined && sameSet(previous.endpointReads, reads)))) return previous;
  return Object.freeze({ applied, statuses, endpointReads: reads });
}

/** Endpoints matter only to TrafficPolicies (a note when a subset selects nothing), and only those read. */
function endpointsMatter(input: RoutingStepInput): boolean {
  if (input.changedEndpoints.size === 0 || input.objects.trafficPolicies.length === 0) return false;
  const reads = input.previous.endpointReads;
  if (reads === undefined || input.previous.statuses.length === 0) return true;
  for (const key of input.changedEndpoints) if (reads.has(key)) return true;
  return false;
}

function sameMap<V>(a: ReadonlyMap<string, V>, b: ReadonlyMap<string, V>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) {
    if (!b.has(k) || !deepEqual(v, b.get(k))) return false;
  }
  return true;
}

/**
 * The TrafficRoute/TrafficPolicy host indexes follow from the objects; the routes merged from
 * Gateway API routes also depend on which Services and ports exist, so they are compared too.
 */
function sameApplied(a: AppliedRouting, b: AppliedRouting): boolean {
  return sameMap(a.routes, b.routes) && sameMap(a.policies, b.policies) && sameMap(a.gatewayRoutes, b.gatewayRoutes)
    && (a.gatewayRoutes.size === 0 && b.gatewayRoutes.size === 0 ? true : sameMap(a.routeByHost, b.routeByHost));
}

/** `TrafficRoute shop/reviews`, for logs. */
function describeStatus(s: Pick<RoutingObjectStatus, 'kind' | 'namespace' | 'name'>): string {
  return `${s.kind} ${s.namespace}/${s.name}`;
}

/**
 * One line per object that is not fully accepted: what the store logs, and what `config-dump`
 * prints. Keyed by object so a caller can log only lines that changed.
 */
export function rejectionLines(statuses: readonly RoutingObjectStatus[]): Map<string, { object: string; reason: string; message: string; applied: string }> {
  const out = new Map<string, { object: string; reason: string; message: string; applied: string }>();
  for (const s of statuses) {
    const accepted = s.conditions.find((c) => c.type === 'Accepted');
    if (!accepted || accepted.status === 'True') continue;
    const refs = s.conditions.find((c) => c.type === 'ResolvedRefs');
    const message = refs && refs.status === 'False'
      ? `${refs.message} ${accepted.message.replace(' (see ResolvedRefs)', '')}` : accepted.message;
    out.set(routingObjectKey(s), { object: describeStatus(s), reason: accepted.reason, message, applied: s.applied });
  }
  return out;
}
