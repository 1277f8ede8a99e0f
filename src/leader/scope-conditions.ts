// The status each TrafficScope should carry: Accepted, True when the object applies as written,
// False (Invalid) with the reason when it does not — its last accepted version, if any, then
// keeps applying (the message says which). Written by the same status writer as the routing
// objects' conditions.
import { ROUTING_API_VERSION, TRAFFIC_SCOPE_KIND } from '../api/routing/v1alpha1/crd.js';
import type { CustomObject } from '../model/k8s-object.js';
import type { ScopeState } from '../model/snapshot.js';
import type { DesiredStatus } from './status-writer.js';

function keyOf(o: CustomObject): string {
  return `${o.metadata.namespace ?? 'default'}/${o.metadata.name}`;
}

/** Desired status of every TrafficScope object of `state`. */
export function scopeStatuses(state: ScopeState): DesiredStatus[] {
  return state.objects.map((o) => {
    const generation = typeof o.metadata.generation === 'number' ? o.metadata.generation : undefined;
    const gen = generation === undefined ? {} : { observedGeneration: generation };
    const rejected = state.rejections.get(keyOf(o));
    const condition = rejected
      ? {
        type: 'Accepted', status: 'False' as const, reason: 'Invalid', ...gen,
        message: `${rejected.reason}; ${rejected.applied === 'previous' ? 'the last accepted version still applies' : 'nothing of it applies'}`,
      }
      : { type: 'Accepted', status: 'True' as const, reason: 'Accepted', message: 'The scope applies to the sidecars it selects.', ...gen };
    return {
      target: {
        apiVersion: ROUTING_API_VERSION, kind: TRAFFIC_SCOPE_KIND.kind, plural: TRAFFIC_SCOPE_KIND.plural,
        namespace: o.metadata.namespace ?? 'default', name: o.metadata.name,
      },
      ...(typeof o.metadata.uid === 'string' ? { uid: o.metadata.uid } : {}),
      ...gen,
      conditions: [condition],
    };
  });
}
