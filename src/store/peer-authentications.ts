// PeerAuthentication objects -> the policies generation applies (accepted-objects.ts): an invalid
// one keeps its last accepted version applied, so a typo in an edit never turns a STRICT workload
// into a PERMISSIVE one, and is reported once per reason.
import { parsePeerAuthentication } from '../api/security/v1alpha1/parse.js';
import type { CustomObject } from '../model/k8s-object.js';
import type { SecurityState } from '../model/snapshot.js';
import { acceptObjects } from './accepted-objects.js';

/**
 * The security state for `objects` (sorted by namespace/name), given the previous one. Returns
 * `previous` itself for the same objects; `peerAuthentications` keeps its identity while what is
 * applied stays the same, so consumers can compare it by reference.
 */
export function nextSecurityState(previous: SecurityState, objects: readonly CustomObject[]): SecurityState {
  if (objects === previous.objects) return previous;
  const { applied, rejections } = acceptObjects('PeerAuthentication', previous.peerAuthentications, objects, (o) => parsePeerAuthentication(o));
  return Object.freeze({ objects, peerAuthentications: applied, rejections });
}
