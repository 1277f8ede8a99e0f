// The status of HTTPRoutes and GRPCRoutes the Gateway API way: one status.parents[] entry per
// Service parentRef, with controllerName pilotfish.io/mesh and the Accepted and ResolvedRefs
// conditions validation decided (routing/gateway-validate.ts). Entries of other controllers (a
// Gateway implementation on the same route, say) are kept as they are; because a merge patch
// replaces the list whole, every write carries the resourceVersion it was computed from, so a
// concurrent write by another controller makes ours fail (409) and be redone from the fresh object.
import { GATEWAY_API_VERSION, gatewayKindInfo, MESH_CONTROLLER_NAME } from '../api/gateway/v1/gateway-api.js';
import type { GatewayParentRef } from '../model/gateway-route.js';
import type { RoutingObjectStatus } from '../model/routing-status.js';
import { deepEqual } from '../deep-equal.js';
import { nextStatus, type DesiredCondition, type DesiredStatus, type StatusRenderer } from './status-writer.js';
import type { ApiPermission } from '../kube/api-permission.js';
import { STATUS_CLIENT_VERBS } from './status-writer.js';
import { GATEWAY_GROUP, GRPC_ROUTE_KIND, HTTP_ROUTE_KIND } from '../api/gateway/v1/gateway-api.js';

/** The CRD's bound on status.parents. */
const MAX_PARENTS = 32;

/** The leader patches the status of both route kinds. */
export const GATEWAY_STATUS_PERMISSIONS: readonly ApiPermission[] = [HTTP_ROUTE_KIND, GRPC_ROUTE_KIND].map((k) => ({
  group: GATEWAY_GROUP,
  resource: `${k.plural}/status`,
  verbs: STATUS_CLIENT_VERBS,
  scope: 'cluster',
  why: `status writer: status.parents of ${k.kind}`,
}));

interface DesiredParent {
  readonly parentRef: Readonly<Record<string, unknown>>;
  readonly conditions: readonly DesiredCondition[];
}

export interface GatewayDesiredStatus extends DesiredStatus {
  readonly parents: readonly DesiredParent[];
}

/** The parentRef as status echoes it: the Service reference as written (namespace only if written). */
function statusParentRef(p: GatewayParentRef): Record<string, unknown> {
  return {
    group: p.group, kind: p.kind, name: p.name,
    ...(p.namespaceWritten ? { namespace: p.namespace } : {}),
    ...(p.sectionName !== undefined ? { sectionName: p.sectionName } : {}),
    ...(p.port !== undefined ? { port: p.port } : {}),
  };
}

/** Desired status of every HTTPRoute/GRPCRoute validation looked at (other kinds are left out). */
export function gatewayStatuses(statuses: readonly RoutingObjectStatus[]): GatewayDesiredStatus[] {
  const out: GatewayDesiredStatus[] = [];
  for (const s of statuses) {
    if ((s.kind !== 'HTTPRoute' && s.kind !== 'GRPCRoute') || s.parents === undefined) continue;
    out.push({
      target: { apiVersion: GATEWAY_API_VERSION, kind: s.kind, plural: gatewayKindInfo(s.kind).plural, namespace: s.namespace, name: s.name },
      ...(s.uid !== undefined ? { uid: s.uid } : {}),
      ...(s.generation !== undefined ? { observedGeneration: s.generation } : {}),
      conditions: [],
      parents: s.parents.map((p) => ({ parentRef: statusParentRef(p.parentRef), conditions: p.conditions })),
    });
  }
  return out;
}

type Entry = Record<string, unknown>;

function parentsOf(status: unknown): Entry[] {
  const p = (status as { parents?: unknown } | undefined)?.parents;
  return Array.isArray(p) ? p.filter((e): e is Entry => typeof e === 'object' && e !== null && !Array.isArray(e)) : [];
}

function ours(e: Entry): boolean {
  return e.controllerName === MESH_CONTROLLER_NAME;
}

/** Core-group refs may be written with or without group ""; compare the reference itself. */
function sameRef(a: unknown, b: Readonly<Record<string, unknown>>): boolean {
  const x = (a ?? {}) as Record<string, unknown>;
  return (x.group ?? '') === (b.group ?? '') && x.kind === b.kind && x.name === b.name
    && x.namespace === b.namespace && x.sectionName === b.sectionName && x.port === b.port;
}

/**
 * The status to write: the other controllers' entries as they are, then ours (conditions keep
 * their lastTransitionTime while their status does not change); other status fields kept.
 */
export function nextGatewayStatus(desired: GatewayDesiredStatus, existing: unknown, now: Date): Record<string, unknown> {
  const live = parentsOf(existing);
  const others = live.filter((e) => !ours(e));
  const mine = desired.parents.slice(0, Math.max(0, MAX_PARENTS - others.length)).map((p) => {
    const before = live.find((e) => ours(e) && sameRef(e.parentRef, p.parentRef));
    const { conditions } = nextStatus({ target: desired.target, conditions: p.conditions }, before, [], now);
    return { parentRef: p.parentRef, controllerName: MESH_CONTROLLER_NAME, conditions };
  });
  const base = existing && typeof existing === 'object' && !Array.isArray(existing) ? { ...(existing as Record<string, unknown>) } : {};
  return { ...base, parents: [...others, ...mine] };
}

export const GATEWAY_STATUS_RENDERER: StatusRenderer<GatewayDesiredStatus> = {
  next: nextGatewayStatus,
  same: (a, b) => deepEqual(parentsOf(a), parentsOf(b)),
  summary: (status) => parentsOf(status).filter(ours).map((e) => {
    const ref = (e.parentRef ?? {}) as Record<string, unknown>;
    const conditions = Array.isArray(e.conditions) ? e.conditions as Record<string, unknown>[] : [];
    return `${String(ref.name)}: ${conditions.map((c) => `${String(c.type)}=${String(c.status)}(${String(c.reason)})`).join(' ')}`;
  }).join('; '),
  precondition: true,
};
