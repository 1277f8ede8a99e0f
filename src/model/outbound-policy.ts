// What a sidecar does with outbound traffic to destinations the mesh does not know (Istio's
// outboundTrafficPolicy.mode): ALLOW_ANY passes it through to its original destination,
// REGISTRY_ONLY drops it. A mesh-wide default comes from a flag; a Namespace annotation overrides
// it for the sidecars in that namespace.

export type OutboundTrafficPolicy = 'ALLOW_ANY' | 'REGISTRY_ONLY';

export const OUTBOUND_TRAFFIC_POLICIES: readonly OutboundTrafficPolicy[] = ['ALLOW_ANY', 'REGISTRY_ONLY'];

/** Namespace annotation: `pilotfish.io/outbound-traffic-policy: REGISTRY_ONLY`. */
export const OUTBOUND_POLICY_ANNOTATION = 'pilotfish.io/outbound-traffic-policy';

export const DEFAULT_OUTBOUND_TRAFFIC_POLICY: OutboundTrafficPolicy = 'ALLOW_ANY';

export function isOutboundTrafficPolicy(v: unknown): v is OutboundTrafficPolicy {
  return typeof v === 'string' && (OUTBOUND_TRAFFIC_POLICIES as readonly string[]).includes(v);
}
