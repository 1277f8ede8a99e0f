// What validation of the routing CRDs decided, as carried by every MeshSnapshot: the generation
// of each object that serves traffic (`applied`) and the status conditions each object should
// carry (`statuses`). Plain types only; controller/routing-validate.ts computes them.
import type { IgnoredField } from './proxyless.js';
import type { RoutingKind, TrafficPolicy, TrafficRoute } from './routing.js';
import type { GatewayParentRef, GatewayRoute } from './gateway-route.js';

/** The applied generation of every routing object, with per-host indexes for generation. */
export interface AppliedRouting {
  /** By routingObjectKey. */
  readonly routes: ReadonlyMap<string, TrafficRoute>;
  /** By routingObjectKey. */
  readonly policies: ReadonlyMap<string, TrafficPolicy>;
  /** The one TrafficRoute applied for a service key. */
  readonly routeByHost: ReadonlyMap<string, TrafficRoute>;
  /** The one TrafficPolicy applied for a service key. */
  readonly policyByHost: ReadonlyMap<string, TrafficPolicy>;
  /** The generation of every HTTPRoute/GRPCRoute in use, by routingObjectKey (merged into routeByHost). */
  readonly gatewayRoutes: ReadonlyMap<string, GatewayRoute>;
}

export const NOTHING_APPLIED: AppliedRouting = Object.freeze({
  routes: new Map(), policies: new Map(), routeByHost: new Map(), policyByHost: new Map(), gatewayRoutes: new Map(),
});

type ConditionType = 'Accepted' | 'ResolvedRefs';
type ConditionStatus = 'True' | 'False' | 'Unknown';

export const REASONS = {
  /** Accepted=True. */
  Accepted: 'Accepted',
  /** Accepted=False: the object breaks the CRD's rules (only objects that bypassed the API server). */
  Invalid: 'Invalid',
  /** Accepted=False: a route's weights add up to 0. */
  InvalidWeights: 'InvalidWeights',
  /** Accepted=False: an older object already claims the host. */
  Conflict: 'Conflict',
  /** Accepted=False: see ResolvedRefs. */
  UnresolvedRefs: 'UnresolvedRefs',
  /** ResolvedRefs=True. */
  ResolvedRefs: 'ResolvedRefs',
  ServiceNotFound: 'ServiceNotFound',
  PortNotFound: 'PortNotFound',
  SubsetNotFound: 'SubsetNotFound',
  /** ResolvedRefs=Unknown: references were not checked because the object is invalid. */
  NotChecked: 'NotChecked',
} as const;

/** The Gateway API's standard route condition reasons (plus Conflicted, see routing/gateway-validate.ts). */
export const GATEWAY_REASONS = {
  Accepted: 'Accepted',
  NoMatchingParent: 'NoMatchingParent',
  UnsupportedValue: 'UnsupportedValue',
  Conflicted: 'Conflicted',
  ResolvedRefs: 'ResolvedRefs',
  RefNotPermitted: 'RefNotPermitted',
  InvalidKind: 'InvalidKind',
  BackendNotFound: 'BackendNotFound',
} as const;

export type Reason = typeof REASONS[keyof typeof REASONS] | typeof GATEWAY_REASONS[keyof typeof GATEWAY_REASONS];

/** A metav1.Condition without lastTransitionTime (see withTransitionTimes in controller/routing-validate). */
export interface RoutingCondition {
  readonly type: ConditionType;
  readonly status: ConditionStatus;
  readonly reason: Reason;
  readonly message: string;
  /** metadata.generation of the object; absent for objects without one (files). */
  readonly observedGeneration?: number;
}

export interface RoutingObjectStatus {
  readonly kind: RoutingKind;
  readonly namespace: string;
  readonly name: string;
  readonly uid?: string;
  readonly generation?: number;
  /** Accepted, then ResolvedRefs. */
  readonly conditions: readonly RoutingCondition[];
  /** Which generation serves traffic: this one, the last applied one, or none. */
  readonly applied: 'current' | 'previous' | 'none';
  /** Fields proxyless gRPC clients ignore, of the generation checked (empty if it was invalid). */
  readonly proxylessIgnored: readonly IgnoredField[];
  /**
   * Fields of an Istio object (VirtualService, DestinationRule) pilotfish left out because it has
   * no counterpart for them, of the generation checked; absent when there are none (always for
   * pilotfish's own kinds).
   */
  readonly unsupported?: readonly IgnoredField[];
  /** HTTPRoute/GRPCRoute only: the conditions of each Service parentRef (status.parents[]). */
  readonly parents?: readonly GatewayParentStatus[];
}

export interface GatewayParentStatus {
  readonly parentRef: GatewayParentRef;
  /** Accepted, then ResolvedRefs. */
  readonly conditions: readonly RoutingCondition[];
}

/** Routing as a snapshot carries it. */
export interface RoutingState {
  /** What generation uses. Keeps its identity while nothing applied changes. */
  readonly applied: AppliedRouting;
  /**
   * One per routing object of the snapshot, TrafficPolicies first, each kind oldest first.
   * Keeps its identity while no status changes, so a status writer can skip unchanged snapshots.
   */
  readonly statuses: readonly RoutingObjectStatus[];
  /**
   * The services (by key) whose endpoints the validation that produced this state looked at: an
   * endpoint change elsewhere cannot change it, so it need not be validated again. Absent when
   * unknown (validate again). Carried by the state rather than remembered beside it, so two
   * stores in one process never share it.
   */
  readonly endpointReads?: ReadonlySet<string>;
}

export const EMPTY_ROUTING: RoutingState = Object.freeze({ applied: NOTHING_APPLIED, statuses: Object.freeze([]) });
