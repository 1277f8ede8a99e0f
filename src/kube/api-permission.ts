// How code that calls the Kubernetes API declares what it may do (ApiPermission, next to the calls),
// and how such declarations become RBAC rules; cli/permissions.ts holds the union of them. The Helm chart's ClusterRole and Role must grant exactly this
// (test/helm/rbac.test.ts), and each module's declaration is checked against the requests it
// really makes (test/permissions/). Nothing here talks to the API.
//
// GET /version (the native-sidecar decision) needs no rule: it is a non-resource URL that the
// built-in ClusterRoles system:discovery / system:public-info-viewer grant to every authenticated
// user, service accounts included.

export type ApiVerb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete';

/** Objects the code addresses by a configured name: RBAC can pin those rules with resourceNames. */
type NamedObject = 'webhookConfig' | 'tlsSecret' | 'lease' | 'caSecret';

export interface ApiPermission {
  /** API group; '' for the core group. */
  readonly group: string;
  /** Plural resource, `resource/subresource` for a subresource ("trafficroutes/status"). */
  readonly resource: string;
  readonly verbs: readonly ApiVerb[];
  /** 'cluster' for every namespace or cluster-scoped (ClusterRole), 'namespace' for pilotfish's own namespace only (Role). */
  readonly scope: 'cluster' | 'namespace';
  /** Only the one object of this configured name; when absent, every object (create cannot be pinned). */
  readonly resourceName?: NamedObject;
  /** Which code makes the calls and why; shown by the tests when something does not match. */
  readonly why: string;
}

/** The concrete names the deployment configures for the NamedObjects. */
export type ObjectNames = Readonly<Record<NamedObject, string>>;

/** One RBAC PolicyRule as a Role or ClusterRole lists it, in a canonical order. */
export interface RbacRule {
  readonly apiGroups: readonly string[];
  readonly resources: readonly string[];
  readonly resourceNames?: readonly string[];
  readonly verbs: readonly string[];
}

const VERB_ORDER: readonly ApiVerb[] = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'];

/** One (group, resource, verb, name) grant per entry: the unit two rule sets are compared in. */
export function grantKey(group: string, resource: string, verb: string, resourceName: string | undefined): string {
  return `${group === '' ? 'core' : group} ${resource} ${verb}${resourceName === undefined ? '' : ` name=${resourceName}`}`;
}

/** The grants of a permission list for one scope, with names resolved. */
export function grants(perms: readonly ApiPermission[], scope: ApiPermission['scope'], names: ObjectNames): Set<string> {
  const out = new Set<string>();
  for (const p of perms) {
    if (p.scope !== scope) continue;
    for (const v of p.verbs) out.add(grantKey(p.group, p.resource, v, p.resourceName && names[p.resourceName]));
  }
  return out;
}

/** The grants of rendered RBAC rules (every combination a rule allows). */
export function ruleGrants(rules: readonly RbacRule[]): Set<string> {
  const out = new Set<string>();
  for (const r of rules) {
    for (const g of r.apiGroups) {
      for (const res of r.resources) {
        for (const v of r.verbs) {
          if (r.resourceNames && r.resourceNames.length > 0) {
            for (const n of r.resourceNames) out.add(grantKey(g, res, v, n));
          } else {
            out.add(grantKey(g, res, v, undefined));
          }
        }
      }
    }
  }
  return out;
}

/**
 * Compact RBAC rules for one scope: one rule per (group, resource set, name) with its verbs,
 * resources that need the same verbs folded together. Deterministic, so the chart can be compared
 * with it and documentation generated from it.
 */
export function rbacRules(perms: readonly ApiPermission[], scope: ApiPermission['scope'], names: ObjectNames): RbacRule[] {
  const byTarget = new Map<string, { group: string; resource: string; name?: string; verbs: Set<ApiVerb> }>();
  for (const p of perms) {
    if (p.scope !== scope) continue;
    const name = p.resourceName && names[p.resourceName];
    const key = `${p.group}\0${p.resource}\0${name ?? ''}`;
    const entry = byTarget.get(key) ?? { group: p.group, resource: p.resource, name, verbs: new Set<ApiVerb>() };
    for (const v of p.verbs) entry.verbs.add(v);
    byTarget.set(key, entry);
  }
  const folded = new Map<string, { group: string; resources: string[]; name?: string; verbs: ApiVerb[] }>();
  for (const e of byTarget.values()) {
    const verbs = VERB_ORDER.filter((v) => e.verbs.has(v));
    const key = `${e.group}\0${e.name ?? ''}\0${verbs.join(',')}`;
    const f = folded.get(key) ?? { group: e.group, resources: [], name: e.name, verbs };
    f.resources.push(e.resource);
    folded.set(key, f);
  }
  return [...folded.values()]
    .map((f) => ({
      apiGroups: [f.group],
      resources: f.resources.sort(),
      ...(f.name === undefined ? {} : { resourceNames: [f.name] }),
      verbs: f.verbs,
    }))
    .sort((a, b) => `${a.apiGroups[0]} ${a.resources[0]} ${a.resourceNames?.[0] ?? ''}`
      .localeCompare(`${b.apiGroups[0]} ${b.resources[0]} ${b.resourceNames?.[0] ?? ''}`));
}

