// The status each AccessPolicy should carry: its Accepted condition as validation decided it
// (store/access-policies.ts), with what proxyless gRPC servers ignore in the message. Written by
// the leader through the same generic status writer as the routing objects' conditions.
import { ACCESS_POLICY_KIND, ACCESS_POLICY_PLURAL } from '../api/security/v1alpha1/access-policy-crd.js';
import { SECURITY_API_VERSION } from '../api/security/v1alpha1/crd.js';
import type { AccessPolicyStatus } from '../model/access-status.js';
import type { DesiredStatus } from './status-writer.js';

export const ACCESS_CONDITION_TYPES: readonly string[] = ['Accepted'];

export function accessStatuses(statuses: readonly AccessPolicyStatus[]): DesiredStatus[] {
  return statuses.map((s) => ({
    target: { apiVersion: SECURITY_API_VERSION, kind: ACCESS_POLICY_KIND, plural: ACCESS_POLICY_PLURAL, namespace: s.namespace, name: s.name },
    ...(s.uid !== undefined ? { uid: s.uid } : {}),
    ...(s.generation !== undefined ? { observedGeneration: s.generation } : {}),
    conditions: s.conditions,
  }));
}
