// What validation of the AccessPolicies decided, as every MeshSnapshot carries it: the policies
// that apply (each valid object, and the last accepted version of an invalid one) and the
// condition each object should carry, written back by the leader (leader/access-conditions.ts).
import type { CustomObject } from './k8s-object.js';
import type { AccessPolicy } from './access-policy.js';
import type { RoutingObjectStatus } from './routing-status.js';

/**
 * A routing object's status without the kind: only an Accepted condition, `applied` says which
 * version is enforced, `proxylessIgnored` what proxyless gRPC servers ignore.
 */
export type AccessPolicyStatus = Omit<RoutingObjectStatus, 'kind'>;

export interface AccessState {
  /** The AccessPolicy objects of every source, merged, sorted by namespace/name, unvalidated. */
  readonly objects: readonly CustomObject[];
  /** What applies. Keeps its identity while it stays the same, so consumers compare it by reference. */
  readonly policies: readonly AccessPolicy[];
  /** One per object, in object order. Keeps its identity while no status changes. */
  readonly statuses: readonly AccessPolicyStatus[];
}

export const EMPTY_ACCESS: AccessState = Object.freeze({ objects: [], policies: [], statuses: [] });
