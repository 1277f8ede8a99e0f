// SPIFFE identities of workloads: spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>, as
// Istio and Linkerd name them. The CA signs exactly these (see src/security), and generation
// writes them into the SAN checks of clients, so both sides must spell them the same way.

export const DEFAULT_TRUST_DOMAIN = 'cluster.local';

export function spiffeId(trustDomain: string, namespace: string, serviceAccount: string): string {
  return `spiffe://${trustDomain}/ns/${namespace}/sa/${serviceAccount}`;
}

/** What every identity of the trust domain starts with: the fallback check when no account is known. */
export function trustDomainPrefix(trustDomain: string): string {
  return `spiffe://${trustDomain}/`;
}
