// The validated model of the PeerAuthentication CRD (security.pilotfish.io/v1alpha1) and the one
// question generation asks of it: which mTLS mode applies to a workload's port.
//
// Scopes follow Istio's PeerAuthentication. A policy without a selector in pilotfish's own
// namespace (the "root namespace") is mesh-wide; without a selector elsewhere it covers its
// namespace; with a selector it covers the matching workloads of its namespace and may also set
// modes per port. The most specific scope that says something wins:
//
//   port-level (of the workload policy) > workload > namespace > mesh > PERMISSIVE
//
// UNSET at any level means "inherit from the next one down". When several policies share a scope
// (two namespace-wide ones, or two selectors matching the same workload), the oldest wins —
// creationTimestamp, then name — as Istio does, so adding a newer conflicting policy changes nothing.
//
// Parsing: parsePeerAuthentication (api/security/v1alpha1/parse.ts) returns `{ ok }` or `{ errors }`.
import { oldest, type ObjectIdentity } from './object-identity.js';

export type MtlsMode = 'PERMISSIVE' | 'STRICT' | 'DISABLE' | 'UNSET';

/** What a port ends up with: never UNSET. */
export type EffectiveMtlsMode = Exclude<MtlsMode, 'UNSET'>;

export const MTLS_MODES: readonly MtlsMode[] = ['PERMISSIVE', 'STRICT', 'DISABLE', 'UNSET'];

/** When no policy says anything: accept mTLS and plaintext, so meshing a workload never breaks its callers. */
export const DEFAULT_MTLS_MODE: EffectiveMtlsMode = 'PERMISSIVE';

/** pilotfish's own namespace, where a policy without selector is mesh-wide (configurable). */
export const DEFAULT_ROOT_NAMESPACE = 'pilotfish-system';

/** Identity of a PeerAuthentication, carried by its model so status can be written back. */
export interface PeerAuthenticationMeta extends ObjectIdentity {
  readonly kind: 'PeerAuthentication';
}

export interface PortMtls {
  /** The port the workload receives on (the container port, not the Service port), as in Istio. */
  readonly port: number;
  readonly mode: MtlsMode;
}

export interface PeerAuthentication {
  readonly meta: PeerAuthenticationMeta;
  /** Pod labels a workload must have (all of them); undefined for a namespace- or mesh-wide policy. */
  readonly selector?: Readonly<Record<string, string>>;
  /** UNSET when spec.mtls or its mode is absent. */
  readonly mode: MtlsMode;
  /** Sorted by port; only ever non-empty with a selector (the CRD refuses it otherwise). */
  readonly portLevelMtls: readonly PortMtls[];
}

/** What resolution needs to know about a workload. */
export interface MtlsWorkload {
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
}

export type MtlsLevel = 'port' | 'workload' | 'namespace' | 'mesh' | 'default';

export interface ResolvedMtls {
  readonly mode: EffectiveMtlsMode;
  /** The level that decided; 'default' when every level was absent or UNSET. */
  readonly level: MtlsLevel;
  /** The policy that decided, `<namespace>/<name>`; absent for the default. */
  readonly policy?: string;
}

/** Whether a workload with `labels` has every label of `selector`. */
export function selects(selector: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>>): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

function policyKey(p: PeerAuthentication): string {
  return `${p.meta.namespace}/${p.meta.name}`;
}

/**
 * The mTLS mode of `port` of `workload`, with the level and policy that decided it. `policies`
 * may hold every PeerAuthentication of the mesh; only those of the workload's namespace and of
 * the root namespace are considered.
 */
export function resolveMtls(policies: readonly PeerAuthentication[], workload: MtlsWorkload, port: number,
  rootNamespace: string = DEFAULT_ROOT_NAMESPACE): ResolvedMtls {
  const mesh = oldest(policies.filter((p) => p.meta.namespace === rootNamespace && p.selector === undefined));
  const namespace = oldest(policies.filter((p) => p.meta.namespace === workload.namespace && p.selector === undefined));
  const selected = oldest(policies.filter((p) => p.meta.namespace === workload.namespace && p.selector !== undefined
    && selects(p.selector, workload.labels)));
  const portMode = selected?.portLevelMtls.find((pm) => pm.port === port)?.mode;
  const levels: [MtlsLevel, PeerAuthentication | undefined, MtlsMode | undefined][] = [
    ['port', selected, portMode],
    ['workload', selected, selected?.mode],
    // In the root namespace the namespace-wide policy is the mesh-wide one: it decides as 'mesh'.
    ['namespace', workload.namespace === rootNamespace ? undefined : namespace, namespace?.mode],
    ['mesh', mesh, mesh?.mode],
  ];
  for (const [level, policy, mode] of levels) {
    if (policy !== undefined && mode !== undefined && mode !== 'UNSET') return { mode, level, policy: policyKey(policy) };
  }
  return { mode: DEFAULT_MTLS_MODE, level: 'default' };
}

/** Just the mode: see resolveMtls. */
export function effectiveMtlsMode(policies: readonly PeerAuthentication[], workload: MtlsWorkload, port: number,
  rootNamespace: string = DEFAULT_ROOT_NAMESPACE): EffectiveMtlsMode {
  return resolveMtls(policies, workload, port, rootNamespace).mode;
}

// ---------------------------------------------------------------------------------------------
// What a server port accepts, and what a client therefore sends

/** How the workload behind an endpoint receives traffic. */
export type ServerKind = 'sidecar' | 'proxyless' | 'none';

/** What a server port will take: only mTLS, either, or only plaintext. */
export type MtlsAcceptance = 'required' | 'optional' | 'refused';

/**
 * A sidecar terminates mTLS unless DISABLE and also takes plaintext under PERMISSIVE (its
 * listener tells the two apart with a TLS inspector). A proxyless gRPC server picks its filter
 * chain by addresses only (gRFC A36: it cannot see whether a connection starts with TLS), so it
 * serves either mTLS or plaintext on a port: mTLS under STRICT, plaintext otherwise — PERMISSIVE
 * means "callers may still use plaintext", which only plaintext keeps true. A workload without
 * either cannot do mTLS at all.
 */
export function mtlsAcceptance(server: ServerKind, mode: EffectiveMtlsMode): MtlsAcceptance {
  if (server === 'none' || mode === 'DISABLE') return 'refused';
  if (server === 'proxyless') return mode === 'STRICT' ? 'required' : 'refused';
  return mode === 'STRICT' ? 'required' : 'optional';
}

/**
 * Whether a proxyless gRPC client sends mTLS to a cluster. gRPC has no per-endpoint transport
 * socket matching (gRFC A29), so one answer covers every endpoint: mTLS when any endpoint
 * requires it (plaintext would fail there, and security wins over the misconfigured rest) or when
 * every endpoint can take it; plaintext otherwise, and for a cluster without endpoints.
 */
export function clientSendsMtls(endpoints: readonly MtlsAcceptance[]): boolean {
  if (endpoints.length === 0) return false;
  if (endpoints.includes('required')) return true;
  return endpoints.every((a) => a !== 'refused');
}
