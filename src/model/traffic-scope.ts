// The validated model of the TrafficScope CRD (routing.pilotfish.io/v1alpha1) and the one question
// generation asks of it: which Services a sidecar is sent configuration for.
//
// Like Istio's Sidecar `egress.hosts`: a scope lists `namespace/host` patterns, and a sidecar gets
// clusters, listeners and routes for the Services they match and for nothing else (traffic to
// the rest takes the outbound traffic policy: passthrough or blocked). Which scope applies to a
// sidecar, most specific first:
//
//   a TrafficScope of its namespace whose selector matches its labels
//   > one of its namespace without selector
//   > one without selector in pilotfish's own namespace (mesh-wide)
//   > the control plane's default (`--default-scope`): `namespace` (own namespace + pilotfish's) or `mesh`
//
// Several at one level: the oldest wins (creationTimestamp, then name), as for PeerAuthentication.
// Proxyless gRPC clients are never scoped here: they ask for the names they dial and get only those.
import { serviceFqdn, type Service } from './mesh.js';
import { oldest, type ObjectIdentity } from './object-identity.js';
import { selects } from './peer-authentication.js';

export type DefaultScope = 'namespace' | 'mesh';

export const DEFAULT_SCOPES: readonly DefaultScope[] = ['namespace', 'mesh'];

/** Today's behaviour: every sidecar sees the whole mesh. */
export const DEFAULT_SCOPE: DefaultScope = 'mesh';

export function isDefaultScope(v: string): v is DefaultScope {
  return (DEFAULT_SCOPES as readonly string[]).includes(v);
}

/** Identity of a TrafficScope, carried by its model so status can be written back. */
interface TrafficScopeMeta extends ObjectIdentity {
  readonly kind: 'TrafficScope';
}

/** One egress entry, `namespace/host` with `.` already resolved to the scope's own namespace. */
export interface EgressHost {
  /** A namespace name, or `*` for every namespace. */
  readonly namespace: string;
  /** `*` (every Service of the namespace), `*.<suffix>`, or a Service's FQDN (`name.ns.svc.cluster.local`). */
  readonly host: string;
}

export interface TrafficScope {
  readonly meta: TrafficScopeMeta;
  /** Pod labels a workload must have (all of them); undefined for a namespace- or mesh-wide scope. */
  readonly selector?: Readonly<Record<string, string>>;
  /** In the order written, duplicates removed. */
  readonly egressHosts: readonly EgressHost[];
}

/** Control-plane settings scoping depends on (flags `--default-scope`, `--namespace`). */
export interface ScopeOptions {
  /** What applies where no TrafficScope does. Default `mesh`. */
  readonly defaultScope?: DefaultScope;
  /** pilotfish's own namespace: part of the `namespace` default, and where a scope without selector is mesh-wide. Default `pilotfish-system`. */
  readonly systemNamespace?: string;
}

const DEFAULT_SYSTEM_NAMESPACE = 'pilotfish-system';

/** What one sidecar sees. Equal keys, equal visibility: the cache shares generation by key. */
export interface ResolvedScope {
  readonly key: string;
  readonly hosts: readonly EgressHost[];
  /** `TrafficScope <namespace>/<name>`, or `default (namespace)`. */
  readonly source: string;
}

/** What a sidecar needs to know of itself to find its scope. */
interface ScopedWorkload {
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** An entry that matches every Service of every namespace makes a scope the whole mesh. */
function wholeMesh(hosts: readonly EgressHost[]): boolean {
  return hosts.some((h) => h.namespace === '*' && h.host === '*');
}

function resolved(hosts: readonly EgressHost[], source: string): ResolvedScope | undefined {
  if (wholeMesh(hosts)) return undefined;
  const key = [...new Set(hosts.map((h) => `${h.namespace}/${h.host}`))].sort().join(',');
  return { key, hosts, source };
}

/**
 * The scope of a sidecar, or undefined when it sees the whole mesh (the same configuration as
 * before scoping existed). `scopes` may hold every TrafficScope of the mesh.
 */
export function scopeFor(scopes: readonly TrafficScope[], workload: ScopedWorkload, options: ScopeOptions = {}): ResolvedScope | undefined {
  const system = options.systemNamespace ?? DEFAULT_SYSTEM_NAMESPACE;
  const own = scopes.filter((s) => s.meta.namespace === workload.namespace);
  const chosen = oldest(own.filter((s) => s.selector !== undefined && selects(s.selector, workload.labels)))
    ?? oldest(own.filter((s) => s.selector === undefined))
    ?? oldest(scopes.filter((s) => s.meta.namespace === system && s.selector === undefined));
  if (chosen) return resolved(chosen.egressHosts, `TrafficScope ${chosen.meta.namespace}/${chosen.meta.name}`);
  if ((options.defaultScope ?? DEFAULT_SCOPE) === 'mesh') return undefined;
  return resolved([{ namespace: workload.namespace, host: '*' }, { namespace: system, host: '*' }], 'default (namespace)');
}

/** Whether `host` (an egress pattern's host part) names `fqdn`. */
export function hostMatches(host: string, fqdn: string): boolean {
  if (host === '*') return true;
  if (host.startsWith('*.')) return fqdn.endsWith(host.slice(1));
  return host === fqdn;
}

/** Whether a sidecar under `scope` gets configuration for `svc` (undefined: the whole mesh). */
export function scopeIncludes(scope: ResolvedScope | undefined, svc: Service): boolean {
  if (scope === undefined) return true;
  const fqdn = serviceFqdn(svc.namespace, svc.name);
  return scope.hosts.some((h) => (h.namespace === '*' || h.namespace === svc.namespace) && hostMatches(h.host, fqdn));
}
