// Which HTTPRoutes and GRPCRoutes attach to which Services, the status each parentRef gets
// (status.parents[] the Gateway API way), and the merged TrafficRoute of every Service they
// attach to. Pure; called by validateRouting after the TrafficRoutes are decided.
//
// Rules (README "Gateway API (GAMMA)"):
// - Only parentRefs naming a Service (group "", kind Service) are pilotfish's; others are left
//   to their controllers (no status entry is written for them).
// - The parent Service must be in the route's namespace (a "producer" route); consumer routes
//   (a Service of another namespace) are refused with Accepted=False, UnsupportedValue.
// - A missing Service, port or port name (sectionName): Accepted=False, NoMatchingParent.
// - A TrafficRoute applied to the Service wins over every Gateway API route on it: they get
//   Accepted=False, Conflicted (so adding Gateway API objects never changes what an existing
//   TrafficRoute does). HTTPRoutes and GRPCRoutes are never merged on one Service (the spec
//   forbids it): the kind of the oldest route attached wins, the other kind is Conflicted.
// - Routes of one kind on one Service are merged (routing/gateway-merge.ts): the spec resolves
//   overlaps by match precedence, then the oldest route, then namespace/name.
// - A route that cannot be used (unsupported or invalid fields) gets Accepted=False,
//   UnsupportedValue, and its last accepted generation stays attached.
// - Backends are checked per route: another kind (InvalidKind), another namespace
//   (RefNotPermitted: pilotfish does not read ReferenceGrants) or a missing Service or port
//   (BackendNotFound) make ResolvedRefs=False; the route stays attached and requests for such a
//   backend fail (503 from Envoy, UNAVAILABLE for gRPC) instead of going elsewhere.
import { parseGatewayRoute } from '../api/gateway/v1/parse-route.js';
import { formatFieldError, type FieldError } from '../api/routing/v1alpha1/openapi.js';
import type { CustomObject } from '../model/k8s-object.js';
import { isServiceParent, type GatewayBackend, type GatewayParentRef, type GatewayRoute } from '../model/gateway-route.js';
import { serviceKey } from '../model/mesh.js';
import { routingObjectKey, type RoutingObjectMeta, type TrafficRoute } from '../model/routing.js';
import { GATEWAY_REASONS, type GatewayParentStatus, type Reason, type RoutingCondition, type RoutingObjectStatus } from '../model/routing-status.js';
import { mergeGatewayRoutes, type Attachment } from './gateway-merge.js';

/** What attaching needs of a Service (routing/validate.ts's ServiceLookup provides it). */
interface ServiceFacts {
  readonly ports: readonly number[];
  /** Port names, in the order of `ports` (sectionName names a port). */
  readonly portNames?: readonly string[];
}

interface ServiceLookup {
  service(namespace: string, name: string): ServiceFacts | undefined;
}

interface GatewayValidationInput {
  /** HTTPRoutes and GRPCRoutes, any order. */
  readonly objects: readonly CustomObject[];
  readonly services: ServiceLookup;
  /** TrafficRoutes applied, by service key: they win the Service. */
  readonly trafficRouteByHost: ReadonlyMap<string, TrafficRoute>;
  /** The gateway routes of the previous result, by routingObjectKey. */
  readonly previous: ReadonlyMap<string, GatewayRoute>;
  /** Orders objects oldest first (the one validate.ts uses for every kind). */
  readonly olderFirst: (a: RoutingObjectMeta, b: RoutingObjectMeta) => number;
  /** Reads an object's identity even when it is invalid. */
  readonly rawMeta: (obj: CustomObject) => RoutingObjectMeta;
}

interface GatewayValidationResult {
  /** One per object, oldest first. */
  readonly statuses: readonly RoutingObjectStatus[];
  readonly applied: ReadonlyMap<string, GatewayRoute>;
  /** The merged route of every Service at least one gateway route attaches to. */
  readonly routeByHost: ReadonlyMap<string, TrafficRoute>;
}

const MAX_LISTED = 10;

function listed(items: readonly string[]): string {
  const shown = items.slice(0, MAX_LISTED).join('; ');
  return items.length > MAX_LISTED ? `${shown}; and ${items.length - MAX_LISTED} more` : shown;
}

function describe(meta: Pick<RoutingObjectMeta, 'kind' | 'namespace' | 'name'>): string {
  return `${meta.kind} ${meta.namespace}/${meta.name}`;
}

interface Problem { readonly reason: Reason; readonly message: string }

function backendProblem(b: GatewayBackend, routeNamespace: string, services: ServiceLookup): Problem | undefined {
  if (b.group !== '' || b.kind !== 'Service') {
    return { reason: GATEWAY_REASONS.InvalidKind, message: `${b.path}: pilotfish routes only to Services (group "", kind Service), not ${b.group === '' ? 'core' : b.group} ${b.kind}` };
  }
  if (b.namespace !== routeNamespace) {
    return { reason: GATEWAY_REASONS.RefNotPermitted, message: `${b.path}: Service ${b.namespace}/${b.name} is in another namespace (pilotfish does not read ReferenceGrants)` };
  }
  const svc = services.service(b.namespace, b.name);
  if (!svc) return { reason: GATEWAY_REASONS.BackendNotFound, message: `${b.path}: Service ${b.namespace}/${b.name} not found` };
  if (b.port !== undefined && !svc.ports.includes(b.port)) {
    return { reason: GATEWAY_REASONS.BackendNotFound, message: `${b.path}: Service ${b.namespace}/${b.name} has no port ${b.port} (ports: ${svc.ports.join(', ') || 'none'})` };
  }
  return undefined;
}

function refsCondition(route: GatewayRoute, services: ServiceLookup, gen: { observedGeneration?: number }): RoutingCondition {
  const problems: Problem[] = [];
  for (const rule of route.rules) {
    for (const b of rule.backends) {
      const p = backendProblem(b, route.meta.namespace, services);
      if (p) problems.push(p);
    }
    if (rule.mirror) {
      const p = backendProblem(rule.mirror.backend, route.meta.namespace, services);
      if (p) problems.push(p);
    }
  }
  if (problems.length === 0) {
    return { type: 'ResolvedRefs', status: 'True', reason: GATEWAY_REASONS.ResolvedRefs, message: 'All references resolved.', ...gen };
  }
  return {
    type: 'ResolvedRefs', status: 'False', reason: problems[0].reason,
    message: `${listed(problems.map((p) => p.message))}. Requests for these backends fail.`, ...gen,
  };
}

interface ParentDecision {
  readonly ref: GatewayParentRef;
  /** Set when the parent is attached: the service key and ports. */
  readonly attach?: { readonly key: string; readonly ports?: readonly number[] };
  readonly problem?: Problem;
}

/** Whether (and on which ports) a route may attach to one of its Service parentRefs. */
function checkParent(ref: GatewayParentRef, route: GatewayRoute, services: ServiceLookup): ParentDecision {
  const at = `spec.parentRefs[${ref.index}]`;
  if (ref.namespace !== route.meta.namespace) {
    return {
      ref,
      problem: {
        reason: GATEWAY_REASONS.UnsupportedValue,
        message: `${at}: Service ${ref.namespace}/${ref.name} is in another namespace; pilotfish supports producer routes only (a route in the Service's namespace)`,
      },
    };
  }
  const svc = services.service(ref.namespace, ref.name);
  if (!svc) return { ref, problem: { reason: GATEWAY_REASONS.NoMatchingParent, message: `${at}: Service ${ref.namespace}/${ref.name} not found` } };
  let ports: number[] | undefined;
  if (ref.port !== undefined) {
    if (!svc.ports.includes(ref.port)) {
      return { ref, problem: { reason: GATEWAY_REASONS.NoMatchingParent, message: `${at}.port: Service ${ref.namespace}/${ref.name} has no port ${ref.port} (ports: ${svc.ports.join(', ') || 'none'})` } };
    }
    ports = [ref.port];
  }
  if (ref.sectionName !== undefined) {
    const i = (svc.portNames ?? []).indexOf(ref.sectionName);
    const port = i < 0 ? undefined : svc.ports[i];
    if (port === undefined || (ports !== undefined && !ports.includes(port))) {
      return {
        ref,
        problem: {
          reason: GATEWAY_REASONS.NoMatchingParent,
          message: `${at}.sectionName: Service ${ref.namespace}/${ref.name} has no port named ${JSON.stringify(ref.sectionName)}${ports ? ` with number ${ports[0]}` : ''}`,
        },
      };
    }
    ports = [port];
  }
  return { ref, attach: { key: serviceKey(ref.namespace, ref.name), ...(ports ? { ports } : {}) } };
}

function sameUid(a: RoutingObjectMeta, b: RoutingObjectMeta): boolean {
  return a.uid === undefined || b.uid === undefined || a.uid === b.uid;
}

interface Considered {
  readonly meta: RoutingObjectMeta;
  readonly errors?: readonly FieldError[];
  /** The generation in use: the current one when valid, else the last accepted one. */
  readonly route?: GatewayRoute;
  readonly current: boolean;
  /** The parentRefs as written now (status goes on these). */
  readonly parentRefs: readonly GatewayParentRef[];
}

export function validateGatewayRoutes(input: GatewayValidationInput): GatewayValidationResult {
  const considered: Considered[] = input.objects.map((obj) => {
    const parsed = parseGatewayRoute(obj);
    if (parsed.ok) return { meta: parsed.ok.meta, route: parsed.ok, current: true, parentRefs: parsed.ok.parentRefs };
    const meta = input.rawMeta(obj);
    const prev = input.previous.get(routingObjectKey(meta));
    return {
      meta, errors: parsed.errors, current: false, parentRefs: parsed.parentRefs ?? [],
      ...(prev && sameUid(prev.meta, meta) ? { route: prev } : {}),
    };
  });
  considered.sort((a, b) => input.olderFirst(a.meta, b.meta));

  // Attach, oldest first, so the oldest route decides which kind a Service takes.
  const kindOf = new Map<string, { kind: string; by: RoutingObjectMeta }>();
  const attachments = new Map<string, Attachment[]>();
  const parentsOf = new Map<Considered, ParentDecision[]>();
  for (const c of considered) {
    const decisions: ParentDecision[] = [];
    /** Service key -> the ports attached to ('all' when a parentRef names no port). */
    const ports = new Map<string, Set<number> | 'all'>();
    const route = c.route;
    for (const ref of route?.parentRefs ?? []) {
      if (!route || !isServiceParent(ref)) continue;
      let d = checkParent(ref, route, input.services);
      const key = d.attach?.key;
      if (d.attach && key !== undefined) {
        const tr = input.trafficRouteByHost.get(key);
        const claimed = kindOf.get(key);
        const at = `spec.parentRefs[${ref.index}]`;
        if (tr) {
          d = { ref, problem: { reason: GATEWAY_REASONS.Conflicted, message: `${at}: ${describe(tr.meta)} configures Service ${ref.namespace}/${ref.name}, and a TrafficRoute takes precedence over Gateway API routes` } };
        } else if (claimed && claimed.kind !== c.meta.kind) {
          d = { ref, problem: { reason: GATEWAY_REASONS.Conflicted, message: `${at}: ${describe(claimed.by)} is older and attached to Service ${ref.namespace}/${ref.name}; HTTPRoutes and GRPCRoutes are not merged on one Service` } };
        } else {
          if (!claimed) kindOf.set(key, { kind: c.meta.kind, by: c.meta });
          // Several parentRefs to one Service: the union of their ports (no port: all of them).
          const before = ports.get(key);
          if (d.attach.ports === undefined || before === 'all') ports.set(key, 'all');
          else ports.set(key, new Set([...(before ?? []), ...d.attach.ports]));
        }
      }
      decisions.push(d);
    }
    if (!route) {
      // Nothing readable to attach: status still goes on the Service parentRefs written now.
      for (const ref of c.parentRefs) if (isServiceParent(ref)) decisions.push({ ref });
    }
    for (const [key, p] of ports) {
      let list = attachments.get(key);
      if (!list) attachments.set(key, (list = []));
      list.push({ route: route as GatewayRoute, ...(p !== 'all' ? { ports: [...p].sort((x, y) => x - y) } : {}) });
    }
    parentsOf.set(c, decisions);
  }

  const routeByHost = new Map<string, TrafficRoute>();
  for (const [key, list] of attachments) {
    const first = list[0].route;
    const ref = first.parentRefs.find((p) => serviceKey(p.namespace, p.name) === key);
    if (!ref) continue;
    routeByHost.set(key, mergeGatewayRoutes({ name: ref.name, namespace: ref.namespace, key, host: `${ref.name}.${ref.namespace}` }, list));
  }

  const statuses: RoutingObjectStatus[] = [];
  const applied = new Map<string, GatewayRoute>();
  for (const c of considered) {
    const gen = c.meta.generation === undefined ? {} : { observedGeneration: c.meta.generation };
    if (c.route) applied.set(routingObjectKey(c.meta), c.route);
    const decisions = parentsOf.get(c) ?? [];
    const fallback = c.route && !c.current
      ? ` The previously accepted ${c.route.meta.generation === undefined ? 'version' : `generation ${c.route.meta.generation}`} stays applied.`
      : ' Nothing of this route is applied.';
    const invalid: RoutingCondition | undefined = c.errors
      ? { type: 'Accepted', status: 'False', reason: GATEWAY_REASONS.UnsupportedValue, message: `${listed(c.errors.map(formatFieldError))}.${fallback}`, ...gen }
      : undefined;
    const refs: RoutingCondition = c.current && c.route
      ? refsCondition(c.route, input.services, gen)
      : { type: 'ResolvedRefs', status: 'Unknown', reason: 'NotChecked', message: 'References are checked once the route is valid.', ...gen };
    const parents: GatewayParentStatus[] = decisions.map((d) => {
      const accepted: RoutingCondition = invalid
        ?? (d.problem
          ? { type: 'Accepted', status: 'False', reason: d.problem.reason, message: `${d.problem.message}.`, ...gen }
          : { type: 'Accepted', status: 'True', reason: GATEWAY_REASONS.Accepted, message: 'Attached to the Service.', ...gen });
      return { parentRef: d.ref, conditions: [accepted, refs] };
    });
    const firstRefused = parents.find((p) => p.conditions[0].status !== 'True');
    const attached = decisions.some((d) => d.attach !== undefined && d.problem === undefined);
    const summary: RoutingCondition = invalid
      ?? (firstRefused ? firstRefused.conditions[0]
        : decisions.length === 0
          ? { type: 'Accepted', status: 'False', reason: GATEWAY_REASONS.NoMatchingParent, message: 'No parentRef names a Service, so the mesh does not use this route.', ...gen }
          : { type: 'Accepted', status: 'True', reason: GATEWAY_REASONS.Accepted, message: 'Attached to every Service parent.', ...gen });
    statuses.push({
      kind: c.meta.kind, namespace: c.meta.namespace, name: c.meta.name,
      ...(c.meta.uid !== undefined ? { uid: c.meta.uid } : {}),
      ...(c.meta.generation !== undefined ? { generation: c.meta.generation } : {}),
      conditions: [summary, refs],
      applied: attached ? (c.current ? 'current' : 'previous') : 'none',
      proxylessIgnored: [],
      parents,
    });
  }
  return { statuses, applied, routeByHost };
}
