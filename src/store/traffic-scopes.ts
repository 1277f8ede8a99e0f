// TrafficScope objects -> the scopes generation applies (accepted-objects.ts): an invalid one
// keeps its last accepted version applied, so a typo in an edit never cuts a sidecar off from
// the Services it talks to.
import { parseTrafficScope } from '../api/routing/v1alpha1/parse-traffic-scope.js';
import type { CustomObject } from '../model/k8s-object.js';
import type { ScopeState } from '../model/snapshot.js';
import { acceptObjects } from './accepted-objects.js';

/**
 * The scope state for `objects` (sorted by namespace/name), given the previous one. Returns
 * `previous` itself for the same objects; `scopes` keeps its identity while what is applied
 * stays the same, so consumers can compare it by reference.
 */
export function nextScopeState(previous: ScopeState, objects: readonly CustomObject[]): ScopeState {
  if (objects === previous.objects) return previous;
  const { applied, rejections } = acceptObjects('TrafficScope', previous.scopes, objects, (o) => parseTrafficScope(o));
  return Object.freeze({ objects, scopes: applied, rejections });
}
