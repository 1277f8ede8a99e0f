// SPIFFE IDs (spiffe.io SPIFFE-ID standard, section 2) and the workload form pilotfish issues:
// spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>. Parsing is strict because the ID
// is compared as a string wherever it is checked (CSR, certificate SAN, peer authorization):
// two spellings of one identity must not exist.

export const DEFAULT_TRUST_DOMAIN = 'cluster.local';

/** The standard's bound on the whole ID, in bytes. */
export const MAX_SPIFFE_ID_BYTES = 2048;
/** The standard's bound on the trust domain name (a DNS name's length). */
const MAX_TRUST_DOMAIN_LENGTH = 255;

const SCHEME = 'spiffe://';
const TRUST_DOMAIN_CHARS = /^[a-z0-9._-]+$/;
const SEGMENT_CHARS = /^[a-zA-Z0-9._-]+$/;
// Kubernetes names: a namespace is a DNS-1123 label, a service account a DNS-1123 subdomain.
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export class SpiffeIdError extends Error {
  override readonly name = 'SpiffeIdError';
}

interface SpiffeId {
  readonly trustDomain: string;
  /** The path segments, without slashes; empty for the trust domain's own ID. */
  readonly segments: readonly string[];
}

/** A Kubernetes workload's identity: who a projected service account token says it is. */
export interface WorkloadIdentity {
  readonly trustDomain: string;
  readonly namespace: string;
  readonly serviceAccount: string;
}

/** The reason a trust domain name is invalid, or undefined when it is valid. */
export function trustDomainProblem(name: string): string | undefined {
  if (name.length === 0) return 'the trust domain is empty';
  if (name.length > MAX_TRUST_DOMAIN_LENGTH) return `the trust domain is longer than ${MAX_TRUST_DOMAIN_LENGTH} characters`;
  if (!TRUST_DOMAIN_CHARS.test(name)) return 'the trust domain may contain only lowercase letters, digits, ".", "-" and "_"';
  return undefined;
}

export function isKubernetesNamespace(name: string): boolean {
  return name.length <= 63 && DNS_LABEL.test(name);
}

export function isKubernetesServiceAccount(name: string): boolean {
  return name.length <= 253 && DNS_SUBDOMAIN.test(name);
}

function segmentProblem(segment: string): string | undefined {
  if (segment.length === 0) return 'the path has an empty segment';
  if (segment === '.' || segment === '..') return `the path has a "${segment}" segment`;
  if (!SEGMENT_CHARS.test(segment)) return 'a path segment may contain only letters, digits, ".", "-" and "_"';
  return undefined;
}

/** Parses any SPIFFE ID; throws SpiffeIdError naming what is wrong. `uri` is never echoed (it is peer-supplied). */
export function parseSpiffeId(uri: string): SpiffeId {
  if (Buffer.byteLength(uri, 'utf8') > MAX_SPIFFE_ID_BYTES) {
    throw new SpiffeIdError(`a SPIFFE ID is at most ${MAX_SPIFFE_ID_BYTES} bytes`);
  }
  // The scheme must be exactly lowercase "spiffe"; userinfo, port, query and fragment are not allowed,
  // and their delimiters are outside every allowed character set below.
  if (!uri.startsWith(SCHEME)) throw new SpiffeIdError('a SPIFFE ID starts with "spiffe://"');
  const rest = uri.slice(SCHEME.length);
  const slash = rest.indexOf('/');
  const trustDomain = slash === -1 ? rest : rest.slice(0, slash);
  const problem = trustDomainProblem(trustDomain);
  if (problem) throw new SpiffeIdError(problem);
  if (slash === -1) return { trustDomain, segments: [] };
  const segments = rest.slice(slash + 1).split('/');
  for (const segment of segments) {
    const bad = segmentProblem(segment);
    if (bad) throw new SpiffeIdError(bad);
  }
  return { trustDomain, segments };
}

export function formatSpiffeId(id: SpiffeId): string {
  const problem = trustDomainProblem(id.trustDomain);
  if (problem) throw new SpiffeIdError(problem);
  for (const segment of id.segments) {
    const bad = segmentProblem(segment);
    if (bad) throw new SpiffeIdError(bad);
  }
  const text = `${SCHEME}${id.trustDomain}${id.segments.map((s) => `/${s}`).join('')}`;
  if (Buffer.byteLength(text, 'utf8') > MAX_SPIFFE_ID_BYTES) {
    throw new SpiffeIdError(`a SPIFFE ID is at most ${MAX_SPIFFE_ID_BYTES} bytes`);
  }
  return text;
}

/** spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>; throws on names Kubernetes would not allow. */
export function workloadSpiffeId(identity: WorkloadIdentity): string {
  if (!isKubernetesNamespace(identity.namespace)) throw new SpiffeIdError('the namespace is not a valid Kubernetes namespace name');
  if (!isKubernetesServiceAccount(identity.serviceAccount)) {
    throw new SpiffeIdError('the service account is not a valid Kubernetes service account name');
  }
  return formatSpiffeId({ trustDomain: identity.trustDomain, segments: ['ns', identity.namespace, 'sa', identity.serviceAccount] });
}

/** Parses a workload SPIFFE ID; any other shape of path is an error. */
export function parseWorkloadSpiffeId(uri: string): WorkloadIdentity {
  const id = parseSpiffeId(uri);
  const s = id.segments;
  if (s.length !== 4 || s[0] !== 'ns' || s[2] !== 'sa') {
    throw new SpiffeIdError('a workload SPIFFE ID has the path /ns/<namespace>/sa/<service-account>');
  }
  if (!isKubernetesNamespace(s[1])) throw new SpiffeIdError('the namespace is not a valid Kubernetes namespace name');
  if (!isKubernetesServiceAccount(s[3])) throw new SpiffeIdError('the service account is not a valid Kubernetes service account name');
  return { trustDomain: id.trustDomain, namespace: s[1], serviceAccount: s[3] };
}
