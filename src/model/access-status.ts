// What validation of the AccessPolicies decided, as every MeshSnapshot carries it: the policies
// that apply (each valid object, and the last accepted version of an invalid one) and the
// condition each object should carry, written back by the leader (leader/access-conditions.ts).
import type { CustomObject } from './k8s-object.js';
import type { AccessPolicy } from './access-policy.js';
import type { IgnoredField } from './proxyless.js';
import type { RoutingCondition } from './routing-status.js';

export interface AccessPolicyStatus {
  readonly namespace: string;
  readonly name: string;
  readonly uid?: string;
  readonly generation?: number;
  /** Accepted. */
  readonly conditions: readonly RoutingCondition[];
  /** Which version is enforced: this one, the last accepted one, or none. */
  readonly applied: 'current' | 'previous' | 'none';
  /** Fields proxyless gRPC servers ignore, of the version checked (empty if it was invalid). */
  readonly proxylessIgnored: readonly IgnoredField[];
}

export interface AccessState {
  /** The AccessPolicy objects of every source, merged, sorted by namespace/name, unvalidated. */
  readonly objects: readonly CustomObject[];
  /** What applies. Keeps its identity while it stays the same, so consumers compare it by reference. */
  readonly policies: readonly AccessPolicy[];
  /** One per object, in object order. Keeps its identity while no status changes. */
  readonly statuses: readonly AccessPolicyStatus[];
}

export const EMPTY_ACCESS: AccessState = Object.freeze({ objects: [], policies: [], statuses: [] });
