// AccessPolicies (model/access-policy.ts) as Envoy RBAC filters: the HTTP filter
// (envoy.filters.http.rbac) for HTTP chains and proxyless gRPC servers (gRFC A41), the network
// filter (envoy.filters.network.rbac) for TCP chains. One filter per action, in the order the
// semantics need: AUDIT (action LOG: marks the request for the access log, never denies), then
// DENY, then ALLOW (only when an ALLOW policy applies; with no policy of its own it denies all).
//
// Each rule becomes one RBAC policy named `<namespace>/<name>/rules[<i>]`: its `from` entries are
// the policy's principals (OR), its `to` entries its permissions (OR), each AND-ed with every
// `when` condition. Principals and namespaces match the peer certificate's URI SAN
// (`authenticated.principal_name`), which a plaintext connection does not have: such rules never
// match it. No matcher built here matches an empty string, because gRPC applies the principal
// matcher to "" when there is no certificate.
//
// TCP cannot see methods, paths or headers. Like Istio, a rule that needs them is dropped from
// ALLOW and AUDIT (it cannot match: fail closed) and loses them in DENY (it then denies more:
// fail closed too).
import type {
  AccessCondition, AccessOperation, AccessPattern, AccessPolicy, AccessRule, AccessSource, WorkloadAccess,
} from '../../model/access-policy.js';
import type {
  envoy_config_listener_v3_Filter as Filter, envoy_config_rbac_v3_Permission as Permission,
  envoy_config_rbac_v3_Policy as Policy, envoy_config_rbac_v3_Principal as Principal,
  envoy_config_rbac_v3_RBAC_Action as RbacAction, envoy_config_route_v3_HeaderMatcher as HeaderMatcher,
  envoy_extensions_filters_network_http_connection_manager_v3_HttpFilter as HttpFilter,
  envoy_type_matcher_v3_StringMatcher as StringMatcher,
} from '../envoy-types.js';
import { typed } from './proto-helpers.js';

const HTTP_RBAC_FILTER = 'envoy.filters.http.rbac';
export const HTTP_RBAC_TYPE = 'envoy.extensions.filters.http.rbac.v3.RBAC';
const NETWORK_RBAC_FILTER = 'envoy.filters.network.rbac';
const NETWORK_RBAC_TYPE = 'envoy.extensions.filters.network.rbac.v3.RBAC';

type Layer = 'http' | 'tcp';

const SPIFFE = 'spiffe://';

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** `any` is what `*` means where the pattern is used: no matcher matches "anything" by itself. */
function stringMatcher(p: AccessPattern, any: StringMatcher): StringMatcher {
  switch (p.match) {
    case 'any': return any;
    case 'prefix': return { prefix: p.value };
    case 'suffix': return { suffix: p.value };
    case 'exact': return { exact: p.value };
  }
}

/** Header values are never empty, so `*` is "the header is present". */
const ANY_VALUE: StringMatcher = { safe_regex: { regex: '.+' } };

function principalMatcher(p: AccessPattern): Principal {
  return { authenticated: { principal_name: stringMatcher(p, { prefix: SPIFFE }) } };
}

/** The namespace in `spiffe://<trust domain>/ns/<namespace>/sa/<account>`. */
function namespaceMatcher(p: AccessPattern, trustDomain: string): Principal {
  const base = `${SPIFFE}${trustDomain}/ns/`;
  let matcher: StringMatcher;
  switch (p.match) {
    case 'any': matcher = { prefix: base }; break;
    case 'prefix': matcher = { prefix: `${base}${p.value}` }; break;
    case 'exact': matcher = { prefix: `${base}${p.value}/sa/` }; break;
    case 'suffix': matcher = { safe_regex: { regex: `${escapeRegex(base)}[^/]*${escapeRegex(p.value)}/sa/[^/]+` } }; break;
  }
  return { authenticated: { principal_name: matcher } };
}

function anyOfIds(ids: readonly Principal[]): Principal {
  return ids.length === 1 && ids[0] !== undefined ? ids[0] : { or_ids: { ids } };
}

function allOfIds(ids: readonly Principal[]): Principal {
  if (ids.length === 0) return { any: true };
  return ids.length === 1 && ids[0] !== undefined ? ids[0] : { and_ids: { ids } };
}

function anyOf(rules: readonly Permission[]): Permission {
  return rules.length === 1 && rules[0] !== undefined ? rules[0] : { or_rules: { rules } };
}

function allOf(rules: readonly Permission[]): Permission {
  if (rules.length === 0) return { any: true };
  return rules.length === 1 && rules[0] !== undefined ? rules[0] : { and_rules: { rules } };
}

function sourcePrincipal(s: AccessSource, trustDomain: string): Principal {
  const parts: Principal[] = [];
  if (s.principals.length > 0) parts.push(anyOfIds(s.principals.map(principalMatcher)));
  if (s.namespaces.length > 0) parts.push(anyOfIds(s.namespaces.map((n) => namespaceMatcher(n, trustDomain))));
  return allOfIds(parts);
}

function headerPermission(name: string, p: AccessPattern): Permission {
  const header: HeaderMatcher = p.match === 'any' ? { name, present_match: true } : { name, string_match: stringMatcher(p, ANY_VALUE) };
  return { header };
}

function operationParts(op: AccessOperation): Permission[] {
  const parts: Permission[] = [];
  if (op.ports.length > 0) parts.push(anyOf(op.ports.map((port) => ({ destination_port: port }))));
  if (op.methods.length > 0) parts.push(anyOf(op.methods.map((m) => headerPermission(':method', { match: 'exact', value: m }))));
  if (op.paths.length > 0) parts.push(anyOf(op.paths.map((p) => ({ url_path: { path: stringMatcher(p, { prefix: '/' }) } }))));
  return parts;
}

function conditionPart(c: AccessCondition): Permission {
  return anyOf(c.values.map((v) => headerPermission(c.header, v)));
}

const EVERYTHING: AccessOperation = { ports: [], methods: [], paths: [] };

function httpOnly(op: AccessOperation): boolean {
  return op.methods.length > 0 || op.paths.length > 0;
}

/** The rule as an RBAC policy on `layer`, or undefined when it cannot match there. */
function rulePolicy(rule: AccessRule, policy: AccessPolicy, layer: Layer, trustDomain: string): Policy | undefined {
  let to: readonly AccessOperation[] = rule.to;
  let when: readonly AccessCondition[] = rule.when;
  if (layer === 'tcp') {
    if (policy.action === 'DENY') {
      to = to.map((op) => ({ ...EVERYTHING, ports: op.ports }));
      when = [];
    } else {
      if (when.length > 0) return undefined;
      to = to.filter((op) => !httpOnly(op));
      if (rule.to.length > 0 && to.length === 0) return undefined;
    }
  }
  const conditions = when.map(conditionPart);
  const permissions = (to.length > 0 ? to : [EVERYTHING]).map((op) => allOf([...operationParts(op), ...conditions]));
  const principals = rule.from.length > 0 ? rule.from.map((s) => sourcePrincipal(s, trustDomain)) : [{ any: true }];
  return { permissions, principals };
}

function rbacPolicies(policies: readonly AccessPolicy[], layer: Layer, trustDomain: string): Record<string, Policy> {
  const out: Record<string, Policy> = {};
  for (const p of policies) {
    for (const rule of p.rules) {
      const built = rulePolicy(rule, p, layer, trustDomain);
      if (built) out[`${p.meta.namespace}/${p.meta.name}/rules[${rule.index}]`] = built;
    }
  }
  return out;
}

interface Enforcement {
  readonly suffix: 'audit' | 'deny' | 'allow';
  readonly action: RbacAction;
  readonly policies: Record<string, Policy>;
}

/** The filters' contents in order: AUDIT, DENY, ALLOW; each only when it can change anything. */
function enforcements(access: WorkloadAccess, layer: Layer, trustDomain: string, audit: boolean): Enforcement[] {
  const out: Enforcement[] = [];
  const auditing = audit ? rbacPolicies(access.audit, layer, trustDomain) : {};
  if (Object.keys(auditing).length > 0) out.push({ suffix: 'audit', action: 'LOG', policies: auditing });
  const denying = rbacPolicies(access.deny, layer, trustDomain);
  if (Object.keys(denying).length > 0) out.push({ suffix: 'deny', action: 'DENY', policies: denying });
  // Present even without a policy: an ALLOW policy that allows nothing denies everything.
  if (access.allow.length > 0) out.push({ suffix: 'allow', action: 'ALLOW', policies: rbacPolicies(access.allow, layer, trustDomain) });
  return out;
}

interface AccessFilterOptions {
  readonly trustDomain: string;
  /** Whether AUDIT policies become a LOG filter: Envoy yes; gRPC refuses the LOG action. */
  readonly audit: boolean;
}

/** The RBAC HTTP filters for a workload, to go before the router; none when no policy applies. */
export function accessHttpFilters(access: WorkloadAccess, o: AccessFilterOptions): HttpFilter[] {
  return enforcements(access, 'http', o.trustDomain, o.audit).map((e) => ({
    // Distinct names: gRPC refuses two HTTP filters of one name.
    name: `${HTTP_RBAC_FILTER}.${e.suffix}`,
    typed_config: typed(HTTP_RBAC_TYPE, { rules: { action: e.action, policies: e.policies }, rules_stat_prefix: `access_${e.suffix}_` }),
  }));
}

/** The network RBAC filters for a workload's TCP chain, to go before tcp_proxy (Envoy only). */
export function accessNetworkFilters(access: WorkloadAccess, o: { readonly trustDomain: string; readonly statPrefix: string }): Filter[] {
  return enforcements(access, 'tcp', o.trustDomain, true).map((e) => ({
    name: `${NETWORK_RBAC_FILTER}.${e.suffix}`,
    typed_config: typed(NETWORK_RBAC_TYPE, { stat_prefix: `${o.statPrefix}_access_${e.suffix}`, rules: { action: e.action, policies: e.policies } }),
  }));
}
