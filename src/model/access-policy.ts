// The validated model of the AccessPolicy CRD (security.pilotfish.io/v1alpha1), modelled on
// Istio's AuthorizationPolicy, and the one question generation asks of it: which policies apply
// to a workload.
//
// Scope, as Istio: a policy with a selector applies to the matching workloads of its namespace;
// without one to its whole namespace, and in pilotfish's own (root) namespace to the whole mesh.
// Unlike PeerAuthentication, nothing is overridden: every policy that applies counts.
//
// Semantics (README "AccessPolicy"), per request (HTTP, gRPC) or connection (TCP):
//   1. AUDIT policies never decide; a matching request is only marked for the access log.
//   2. Any matching DENY rule denies.
//   3. No ALLOW policy applies to the workload: allowed.
//   4. Some ALLOW policy applies: allowed only when one of their rules matches (an ALLOW policy
//      without rules therefore allows nothing).
// A rule matches when one of its `from` entries, one of its `to` entries and all of its `when`
// conditions match (an absent list matches anything). Principals and namespaces come from the
// peer certificate's URI SAN, so a rule that names them never matches a plaintext request.
//
// Parsing: parseAccessPolicy (api/security/v1alpha1/access-policy-parse.ts) returns `{ ok }` or `{ errors }`.
import type { ObjectIdentity } from './object-identity.js';
import { selects } from './peer-authentication.js';

export type AccessAction = 'ALLOW' | 'DENY' | 'AUDIT';

export const ACCESS_ACTIONS: readonly AccessAction[] = ['ALLOW', 'DENY', 'AUDIT'];

interface AccessPolicyMeta extends ObjectIdentity {
  readonly kind: 'AccessPolicy';
}

/**
 * A value with Istio's wildcard forms: `*` (anything present), `abc*` (prefix), `*abc` (suffix),
 * else exact. `value` is the text without the `*`.
 */
export interface AccessPattern {
  readonly match: 'any' | 'prefix' | 'suffix' | 'exact';
  readonly value: string;
}

export interface AccessSource {
  /** Peer SPIFFE IDs (`spiffe://` added when a value has no scheme, as Istio's `cluster.local/ns/a/sa/b`). */
  readonly principals: readonly AccessPattern[];
  /** The namespace in the peer's SPIFFE ID. */
  readonly namespaces: readonly AccessPattern[];
}

export interface AccessOperation {
  /** Ports the workload receives on (container ports, as PeerAuthentication's). */
  readonly ports: readonly number[];
  /** HTTP methods, exact. */
  readonly methods: readonly string[];
  /** URL paths without the query string; gRPC: `/package.Service/Method`. */
  readonly paths: readonly AccessPattern[];
}

export interface AccessCondition {
  /** As written: `request.headers[<name>]`. */
  readonly key: string;
  /** The header name (lower case). */
  readonly header: string;
  readonly values: readonly AccessPattern[];
}

export interface AccessRule {
  /** Position in spec.rules, for names and messages. */
  readonly index: number;
  readonly from: readonly AccessSource[];
  readonly to: readonly AccessOperation[];
  readonly when: readonly AccessCondition[];
}

export interface AccessPolicy {
  readonly meta: AccessPolicyMeta;
  /** Pod labels a workload must have (all of them); undefined for a namespace- or mesh-wide policy. */
  readonly selector?: Readonly<Record<string, string>>;
  readonly action: AccessAction;
  readonly rules: readonly AccessRule[];
}

/** The policies that apply to one workload, by action, each list ordered by namespace/name. */
export interface WorkloadAccess {
  readonly audit: readonly AccessPolicy[];
  readonly deny: readonly AccessPolicy[];
  readonly allow: readonly AccessPolicy[];
}

export const NO_ACCESS_POLICIES: WorkloadAccess = Object.freeze({ audit: [], deny: [], allow: [] });

export function accessPolicyKey(p: AccessPolicy): string {
  return `${p.meta.namespace}/${p.meta.name}`;
}

/** Whether `p` applies to a workload with `labels` in `namespace`. */
export function accessPolicyApplies(p: AccessPolicy, namespace: string, labels: Readonly<Record<string, string>>,
  rootNamespace: string): boolean {
  if (p.selector === undefined) return p.meta.namespace === namespace || p.meta.namespace === rootNamespace;
  return p.meta.namespace === namespace && selects(p.selector, labels);
}

/** The policies of `policies` (any order) that apply to the workload, by action. */
export function resolveAccess(policies: readonly AccessPolicy[], namespace: string, labels: Readonly<Record<string, string>>,
  rootNamespace: string): WorkloadAccess {
  const applying = policies.filter((p) => accessPolicyApplies(p, namespace, labels, rootNamespace))
    .sort((a, b) => (accessPolicyKey(a) < accessPolicyKey(b) ? -1 : accessPolicyKey(a) > accessPolicyKey(b) ? 1 : 0));
  if (applying.length === 0) return NO_ACCESS_POLICIES;
  return {
    audit: applying.filter((p) => p.action === 'AUDIT'),
    deny: applying.filter((p) => p.action === 'DENY'),
    allow: applying.filter((p) => p.action === 'ALLOW'),
  };
}

/** Whether a rule needs the peer's identity (and so mTLS) to match. */
export function ruleNeedsPeerIdentity(rule: AccessRule): boolean {
  return rule.from.length > 0 && rule.from.every((s) => s.principals.length > 0 || s.namespaces.length > 0);
}
