// Semantic validation of the routing CRDs against the mesh: which TrafficRoutes and
// TrafficPolicies are applied, and the status conditions each object should carry.
//
// Pure: objects + a service lookup + the previously applied set in, statuses + the next applied
// set out. An object whose current generation cannot be applied (invalid, unresolved references,
// weights that route nothing, or a host another, older object already claims) keeps its last
// applied generation, so one bad edit never takes traffic down. Objects that disappeared from the
// input disappear from the applied set.
//
// Conflicts: one TrafficRoute and one TrafficPolicy per host (Service). The older object (by
// creationTimestamp, then namespace/name; objects without a timestamp, such as files, count as
// newest) wins; the other gets Accepted=False, reason Conflict, naming the winner. A VirtualService
// counts as a TrafficRoute and a DestinationRule as a TrafficPolicy here, whatever mix claims a host.
import type { Endpoint, Service } from '../model/mesh.js';
import type { CustomObject } from '../model/k8s-object.js';
import { serviceKey } from '../model/mesh.js';
import { formatFieldError, type FieldError } from '../api/routing/v1alpha1/openapi.js';
import { parsePolicyObject, parseRouteObject, policyKindOf, routeKindOf, type RoutingParse } from './route-parsers.js';
import { routeDestinations, routingObjectKey, subsetMatches, type Destination, type RoutingKind, type RoutingObjectMeta, type TrafficPolicy, type TrafficRoute } from '../model/routing.js';
import { formatIgnored, proxylessIgnored } from './proxyless.js';
import { validateGatewayRoutes } from './gateway-validate.js';
import type { IgnoredField } from '../model/proxyless.js';
import {
  NOTHING_APPLIED, REASONS, type AppliedRouting, type Reason, type RoutingCondition, type RoutingObjectStatus,
} from '../model/routing-status.js';

// The result types live in model/ because snapshots carry them; re-exported for existing callers.

// ---------------------------------------------------------------------------------------------
// Input

/** What validation needs to know about one Service. */
export interface ServiceInfo {
  /** The Service's port numbers. */
  readonly ports: readonly number[];
  /** The Service's port names, in the order of `ports` (a Gateway API sectionName names a port). */
  readonly portNames?: readonly string[];
  /** Pod labels of the Service's endpoints, one entry per endpoint. */
  readonly endpointLabels: readonly Readonly<Record<string, string>>[];
}

export interface ServiceLookup {
  service(namespace: string, name: string): ServiceInfo | undefined;
}

/** A lookup over the snapshot's maps (keys `name.namespace`, as MeshSnapshot uses them). */
export function serviceLookupFromMaps(services: ReadonlyMap<string, Service>,
  endpoints: ReadonlyMap<string, readonly Endpoint[]>): ServiceLookup {
  return {
    service(namespace, name) {
      const key = serviceKey(namespace, name);
      const svc = services.get(key);
      if (!svc) return undefined;
      return {
        ports: svc.ports.map((p) => p.port), portNames: svc.ports.map((p) => p.name),
        endpointLabels: (endpoints.get(key) ?? []).map((e) => e.labels),
      };
    },
  };
}

export interface RoutingValidationInput {
  /** TrafficRoutes and VirtualServices. */
  readonly trafficRoutes: readonly CustomObject[];
  /** TrafficPolicies and DestinationRules. */
  readonly trafficPolicies: readonly CustomObject[];
  /** HTTPRoutes and GRPCRoutes (routing/gateway-validate.ts). */
  readonly gatewayRoutes?: readonly CustomObject[];
  readonly services: ServiceLookup;
  /** The `applied` of the previous call; NOTHING_APPLIED at start. */
  readonly previousApplied?: AppliedRouting;
}

// ---------------------------------------------------------------------------------------------
// Output

interface RoutingValidationResult {
  /** One per input object, policies first, each kind in the order objects were considered (oldest first). */
  readonly statuses: readonly RoutingObjectStatus[];
  readonly applied: AppliedRouting;
}

// ---------------------------------------------------------------------------------------------

interface Problem {
  readonly reason: Reason;
  readonly message: string;
}

/** Orders objects so the older one wins a conflict. */
function ageKey(meta: { namespace: string; name: string; creationTimestamp?: string }): [number, string] {
  const t = meta.creationTimestamp === undefined ? Number.NaN : Date.parse(meta.creationTimestamp);
  return [Number.isNaN(t) ? Number.POSITIVE_INFINITY : t, `${meta.namespace}/${meta.name}`];
}

function olderFirst(a: { namespace: string; name: string; creationTimestamp?: string },
  b: { namespace: string; name: string; creationTimestamp?: string }): number {
  const [ta, na] = ageKey(a);
  const [tb, nb] = ageKey(b);
  if (ta !== tb) return ta < tb ? -1 : 1;
  return na < nb ? -1 : na > nb ? 1 : 0;
}

/** Identity of an object as far as it can be read, even when it is invalid. */
function rawMeta(obj: CustomObject, kind: RoutingKind): RoutingObjectMeta {
  const md = (typeof obj === 'object' && obj !== null && typeof obj.metadata === 'object' && obj.metadata !== null
    ? obj.metadata : { name: '' }) as CustomObject['metadata'];
  // Informers hand over a Date although the type says string.
  const ts: unknown = md.creationTimestamp;
  const creationTimestamp = ts instanceof Date ? ts.toISOString() : typeof ts === 'string' ? ts : undefined;
  return {
    kind,
    namespace: typeof md.namespace === 'string' && md.namespace !== '' ? md.namespace : 'default',
    name: typeof md.name === 'string' ? md.name : '',
    ...(typeof md.generation === 'number' ? { generation: md.generation } : {}),
    ...(typeof md.uid === 'string' ? { uid: md.uid } : {}),
    ...(creationTimestamp !== undefined ? { creationTimestamp } : {}),
  };
}

const MAX_LISTED = 10;

function listProblems(items: readonly string[]): string {
  const shown = items.slice(0, MAX_LISTED).join('; ');
  return items.length > MAX_LISTED ? `${shown}; and ${items.length - MAX_LISTED} more` : shown;
}

function describeObject(meta: Pick<RoutingObjectMeta, 'kind' | 'namespace' | 'name'>): string {
  return `${meta.kind} ${meta.namespace}/${meta.name}`;
}

function checkDestination(d: Destination, path: string, services: ServiceLookup,
  policyByHost: ReadonlyMap<string, TrafficPolicy>, out: Problem[]): void {
  const svc = services.service(d.service.namespace, d.service.name);
  if (!svc) {
    out.push({ reason: REASONS.ServiceNotFound, message: `${path}.host: service ${d.service.key} (${JSON.stringify(d.service.host)}) not found` });
    return;
  }
  if (d.port !== undefined && !svc.ports.includes(d.port)) {
    out.push({ reason: REASONS.PortNotFound, message: `${path}.port: service ${d.service.key} has no port ${d.port} (ports: ${svc.ports.join(', ') || 'none'})` });
  } else if (d.port === undefined && svc.ports.length !== 1) {
    out.push({
      reason: REASONS.PortNotFound,
      message: `${path}.port: required because service ${d.service.key} has ${svc.ports.length === 0 ? 'no ports' : `several ports (${svc.ports.join(', ')})`}`,
    });
  }
  if (d.subset !== undefined) {
    const policy = policyByHost.get(d.service.key);
    if (!policy) {
      out.push({ reason: REASONS.SubsetNotFound, message: `${path}.subset: no TrafficPolicy for ${d.service.key} defines subset ${JSON.stringify(d.subset)}` });
    } else if (!policy.subsets.some((s) => s.name === d.subset)) {
      out.push({
        reason: REASONS.SubsetNotFound,
        message: `${path}.subset: ${describeObject(policy.meta)} defines no subset ${JSON.stringify(d.subset)} (subsets: ${policy.subsets.map((s) => s.name).join(', ') || 'none'})`,
      });
    }
  }
}

function routeRefProblems(route: TrafficRoute, services: ServiceLookup, policyByHost: ReadonlyMap<string, TrafficPolicy>): Problem[] {
  const out: Problem[] = [];
  for (const h of route.hosts) {
    if (!services.service(h.namespace, h.name)) {
      out.push({ reason: REASONS.ServiceNotFound, message: `spec.hosts: service ${h.key} (${JSON.stringify(h.host)}) not found` });
    }
  }
  for (const { path, destination } of routeDestinations(route)) checkDestination(destination, path, services, policyByHost, out);
  return out;
}

function weightProblems(route: TrafficRoute): string[] {
  const out: string[] = [];
  for (const rule of route.http) {
    if (rule.action.type !== 'route') continue;
    if (rule.action.destinations.reduce((sum, d) => sum + d.weight, 0) === 0) {
      out.push(`spec.http[${rule.index}].route: the weights add up to 0, so no request could be routed; give at least one destination a positive weight`);
    }
  }
  return out;
}

interface PolicyCheck {
  readonly problems: Problem[];
  /** Harmless findings worth telling (subsets that select nothing right now). */
  readonly notes: string[];
}

function policyRefProblems(policy: TrafficPolicy, services: ServiceLookup): PolicyCheck {
  const problems: Problem[] = [];
  const notes: string[] = [];
  const svc = services.service(policy.host.namespace, policy.host.name);
  if (!svc) {
    problems.push({ reason: REASONS.ServiceNotFound, message: `spec.host: service ${policy.host.key} (${JSON.stringify(policy.host.host)}) not found` });
    return { problems, notes };
  }
  const checkPorts = (ports: readonly { port: number }[], at: string) => ports.forEach((p, i) => {
    if (!svc.ports.includes(p.port)) {
      problems.push({ reason: REASONS.PortNotFound, message: `${at}[${i}].port: service ${policy.host.key} has no port ${p.port} (ports: ${svc.ports.join(', ') || 'none'})` });
    }
  });
  checkPorts(policy.trafficPolicy.portLevelSettings, 'spec.trafficPolicy.portLevelSettings');
  policy.subsets.forEach((s, i) => {
    if (s.trafficPolicy) checkPorts(s.trafficPolicy.portLevelSettings, `spec.subsets[${i}].trafficPolicy.portLevelSettings`);
    if (!svc.endpointLabels.some((labels) => subsetMatches(s, labels))) {
      notes.push(`subset ${s.name} selects no endpoints of ${policy.host.key} at the moment`);
    }
  });
  return { problems, notes };
}

interface Decision {
  readonly status: RoutingObjectStatus;
  /** The generation to apply, if any. */
  readonly apply?: TrafficRoute | TrafficPolicy;
}

interface Outcome {
  readonly meta: RoutingObjectMeta;
  readonly parseErrors?: readonly FieldError[];
  readonly invalidWeights: readonly string[];
  readonly conflict?: string;
  readonly refProblems: readonly Problem[];
  readonly notes: readonly string[];
  readonly ignored: readonly IgnoredField[];
  readonly unsupported: readonly IgnoredField[];
  readonly applied: 'current' | 'previous' | 'none';
  readonly previousGeneration?: number;
}

function conditionsFor(o: Outcome): RoutingCondition[] {
  const gen = o.meta.generation === undefined ? {} : { observedGeneration: o.meta.generation };
  let fallback = ' Nothing of this object is applied.';
  if (o.applied === 'previous') {
    // Same generation: the object did not change, the mesh did (a Service went away, say).
    fallback = o.previousGeneration !== undefined && o.previousGeneration === o.meta.generation
      ? ' It stays applied as it was last accepted.'
      : ` The previously accepted ${o.previousGeneration === undefined ? 'version' : `generation ${o.previousGeneration}`} stays applied.`;
  }
  let accepted: RoutingCondition;
  if (o.parseErrors) {
    accepted = { type: 'Accepted', status: 'False', reason: REASONS.Invalid, message: `Invalid: ${listProblems(o.parseErrors.map(formatFieldError))}.${fallback}`, ...gen };
  } else if (o.invalidWeights.length) {
    accepted = { type: 'Accepted', status: 'False', reason: REASONS.InvalidWeights, message: `${listProblems(o.invalidWeights)}.${fallback}`, ...gen };
  } else if (o.conflict) {
    accepted = { type: 'Accepted', status: 'False', reason: REASONS.Conflict, message: `${o.conflict}.${fallback}`, ...gen };
  } else if (o.refProblems.length) {
    accepted = {
      type: 'Accepted', status: 'False', reason: REASONS.UnresolvedRefs,
      message: `Not applied until its references resolve (see ResolvedRefs).${fallback}`, ...gen,
    };
  } else {
    const ignored = o.ignored.length ? ` Ignored for proxyless gRPC: ${formatIgnored(o.ignored)}.` : '';
    const unsupported = o.unsupported.length ? ` Left out, not supported by pilotfish: ${formatIgnored(o.unsupported)}.` : '';
    accepted = { type: 'Accepted', status: 'True', reason: REASONS.Accepted, message: `Applied.${unsupported}${ignored}`, ...gen };
  }
  let resolved: RoutingCondition;
  if (o.parseErrors) {
    resolved = { type: 'ResolvedRefs', status: 'Unknown', reason: REASONS.NotChecked, message: 'References are checked once the object is valid.', ...gen };
  } else if (o.refProblems.length) {
    resolved = {
      type: 'ResolvedRefs', status: 'False', reason: o.refProblems[0].reason,
      message: `${listProblems(o.refProblems.map((p) => p.message))}.`, ...gen,
    };
  } else {
    const notes = o.notes.length ? ` Note: ${listProblems(o.notes)}.` : '';
    resolved = { type: 'ResolvedRefs', status: 'True', reason: REASONS.ResolvedRefs, message: `All references resolved.${notes}`, ...gen };
  }
  return [accepted, resolved];
}

function sameObject(prev: RoutingObjectMeta, meta: RoutingObjectMeta): boolean {
  // A recreated object (new uid) starts over: the old one's last good generation is not its own.
  return prev.uid === undefined || meta.uid === undefined || prev.uid === meta.uid;
}

function decide<T extends TrafficRoute | TrafficPolicy>(
  obj: CustomObject,
  kind: RoutingKind,
  parse: (o: CustomObject) => RoutingParse<T>,
  hostsOf: (m: T) => readonly string[],
  check: (m: T) => { problems: Problem[]; notes: string[]; invalidWeights: string[] },
  previous: ReadonlyMap<string, T>,
  claims: Map<string, RoutingObjectMeta>,
): Decision {
  const parsed = parse(obj);
  const meta = parsed.ok?.meta ?? rawMeta(obj, kind);
  const key = routingObjectKey(meta);
  const prevRaw = previous.get(key);
  const prev = prevRaw && sameObject(prevRaw.meta, meta) ? prevRaw : undefined;
  const conflictWith = (m: T): string | undefined => {
    for (const h of hostsOf(m)) {
      const owner = claims.get(h);
      if (owner && routingObjectKey(owner) !== key) {
        const kinds = owner.kind === kind ? kind : `${owner.kind} or ${kind}`;
        return `Host ${h} is already configured by ${describeObject(owner)}, which is older; only one ${kinds} may configure a host`;
      }
    }
    return undefined;
  };

  let outcome: Omit<Outcome, 'applied' | 'previousGeneration'>;
  let current: T | undefined;
  if (parsed.errors || !parsed.ok) {
    outcome = { meta, parseErrors: parsed.errors ?? [], invalidWeights: [], refProblems: [], notes: [], ignored: [], unsupported: parsed.unsupported ?? [] };
  } else {
    const model = parsed.ok;
    const c = check(model);
    const conflict = conflictWith(model);
    outcome = {
      meta, invalidWeights: c.invalidWeights, refProblems: c.problems, notes: c.notes, ignored: proxylessIgnored(model),
      unsupported: parsed.unsupported ?? [],
      ...(conflict ? { conflict } : {}),
    };
    if (!c.invalidWeights.length && !conflict && !c.problems.length) current = model;
  }

  let apply: T | undefined;
  let applied: Outcome['applied'] = 'none';
  if (current) {
    apply = current;
    applied = 'current';
  } else if (prev && !conflictWith(prev)) {
    apply = prev;
    applied = 'previous';
  }
  if (apply) for (const h of hostsOf(apply)) claims.set(h, apply.meta);

  const full: Outcome = {
    ...outcome, applied,
    ...(applied === 'previous' && apply?.meta.generation !== undefined ? { previousGeneration: apply.meta.generation } : {}),
  };
  return {
    status: {
      kind, namespace: meta.namespace, name: meta.name,
      ...(meta.uid !== undefined ? { uid: meta.uid } : {}),
      ...(meta.generation !== undefined ? { generation: meta.generation } : {}),
      conditions: conditionsFor(full),
      applied,
      proxylessIgnored: outcome.ignored,
      ...(outcome.unsupported.length > 0 ? { unsupported: outcome.unsupported } : {}),
    },
    ...(apply ? { apply } : {}),
  };
}

function byAge(objects: readonly CustomObject[], kindOf: (o: CustomObject) => RoutingKind): CustomObject[] {
  return [...objects].sort((a, b) => olderFirst(rawMeta(a, kindOf(a)), rawMeta(b, kindOf(b))));
}

/**
 * Decides, for every routing object, whether it is applied and which conditions it carries.
 * TrafficPolicies go first because a route's subsets must exist in the applied policy of their host.
 */
export function validateRouting(input: RoutingValidationInput): RoutingValidationResult {
  const previous = input.previousApplied ?? NOTHING_APPLIED;
  const statuses: RoutingObjectStatus[] = [];

  const policyClaims = new Map<string, RoutingObjectMeta>();
  const policies = new Map<string, TrafficPolicy>();
  const policyByHost = new Map<string, TrafficPolicy>();
  for (const obj of byAge(input.trafficPolicies, policyKindOf)) {
    const d = decide<TrafficPolicy>(obj, policyKindOf(obj), parsePolicyObject, (m) => [m.host.key],
      (m) => ({ ...policyRefProblems(m, input.services), invalidWeights: [] }), previous.policies, policyClaims);
    statuses.push(d.status);
    if (d.apply) {
      const p = d.apply as TrafficPolicy;
      policies.set(routingObjectKey(p.meta), p);
      policyByHost.set(p.host.key, p);
    }
  }

  const routeClaims = new Map<string, RoutingObjectMeta>();
  const routes = new Map<string, TrafficRoute>();
  const routeByHost = new Map<string, TrafficRoute>();
  for (const obj of byAge(input.trafficRoutes, routeKindOf)) {
    const d = decide<TrafficRoute>(obj, routeKindOf(obj), parseRouteObject, (m) => m.hosts.map((h) => h.key),
      (m) => ({ problems: routeRefProblems(m, input.services, policyByHost), notes: [], invalidWeights: weightProblems(m) }),
      previous.routes, routeClaims);
    statuses.push(d.status);
    if (d.apply) {
      const r = d.apply as TrafficRoute;
      routes.set(routingObjectKey(r.meta), r);
      for (const h of r.hosts) routeByHost.set(h.key, r);
    }
  }

  // Gateway API routes take the Services no TrafficRoute configures.
  const gateway = validateGatewayRoutes({
    objects: input.gatewayRoutes ?? [],
    services: input.services,
    trafficRouteByHost: routeByHost,
    previous: previous.gatewayRoutes,
    olderFirst,
    rawMeta: (obj) => rawMeta(obj, obj.kind === 'GRPCRoute' ? 'GRPCRoute' : 'HTTPRoute'),
  });
  statuses.push(...gateway.statuses);
  for (const [key, route] of gateway.routeByHost) routeByHost.set(key, route);

  return { statuses, applied: { routes, policies, routeByHost, policyByHost, gatewayRoutes: gateway.applied } };
}

// ---------------------------------------------------------------------------------------------
// Writing status

/** A condition as stored in status.conditions. */
interface StoredCondition extends RoutingCondition {
  readonly lastTransitionTime: string;
}

/**
 * Adds lastTransitionTime: kept from `existing` (the object's current status.conditions) when a
 * condition's status did not change, `now` otherwise, as metav1.Condition prescribes.
 */
export function withTransitionTimes(next: readonly RoutingCondition[], existing: unknown, now: Date): StoredCondition[] {
  const old = Array.isArray(existing) ? existing : [];
  return next.map((c) => {
    const prev: unknown = old.find((o: unknown) => typeof o === 'object' && o !== null && (o as { type?: unknown }).type === c.type);
    const p = prev as { status?: unknown; lastTransitionTime?: unknown } | undefined;
    const keep = p && p.status === c.status && typeof p.lastTransitionTime === 'string';
    return { ...c, lastTransitionTime: keep ? p.lastTransitionTime as string : now.toISOString().replace(/\.\d{3}Z$/, 'Z') };
  });
}
