// The one immutable, versioned model of the mesh that every consumer reads.
import type { Endpoint, Service } from './mesh.js';
import type { CustomObject } from './k8s-object.js';
import type { OutboundTrafficPolicy } from './outbound-policy.js';
import type { PeerAuthentication } from './peer-authentication.js';
import { EMPTY_ACCESS, type AccessState } from './access-status.js';
import { EMPTY_ROUTING, type RoutingState } from './routing-status.js';
import type { TrafficScope } from './traffic-scope.js';

export interface PodInfo {
  readonly name: string;
  readonly namespace: string;
  readonly ip?: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly serviceAccount?: string;
}

export interface NamespaceInfo {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  /** From the `pilotfish.io/outbound-traffic-policy` annotation; absent: the mesh default. */
  readonly outboundTrafficPolicy?: OutboundTrafficPolicy;
}

export interface MeshSnapshot {
  /** Increases by one with every published snapshot. */
  readonly version: number;
  /**
   * Bumped only when something other than endpoints changed (services, routing, namespaces).
   * Generators key their memo on it, so endpoint churn regenerates EDS alone.
   */
  readonly configGeneration: number;
  /** Bumped when any endpoint changed. */
  readonly endpointsGeneration: number;
  /**
   * Epoch ms of the first source change this snapshot covers (the start of its debounce window),
   * so pushes can be timed from the event that caused them. Absent on EMPTY_SNAPSHOT.
   */
  readonly changedAt?: number;
  /** By service key (`name.namespace`), sorted by key. */
  readonly services: ReadonlyMap<string, Service>;
  /**
   * By service key. An unchanged service keeps the identical array across snapshots, so
   * consumers may memoise on the array reference.
   */
  readonly endpoints: ReadonlyMap<string, readonly Endpoint[]>;
  readonly namespaces: ReadonlyMap<string, NamespaceInfo>;
  /**
   * By `namespace/name`. Pods coming and going alone do not bump configGeneration (they come
   * with endpoint changes); a label change of an existing pod does.
   */
  readonly pods: ReadonlyMap<string, PodInfo>;
  /** Service keys whose endpoints differ from the previous snapshot. */
  readonly changedEndpoints: ReadonlySet<string>;
  /**
   * The routing CRD objects of every source, merged, sorted by namespace/name, spec not yet
   * validated (see `routing`).
   */
  readonly routingObjects: RoutingObjects;
  /**
   * routingObjects validated against this snapshot's services: what is applied, and the status of
   * every object. configGeneration bumps when `applied` changes (not when only statuses do).
   */
  readonly routing: RoutingState;
  /** PeerAuthentication policies. configGeneration bumps when the applied ones change. */
  readonly security: SecurityState;
  /** AccessPolicies: what applies and the status of each. configGeneration bumps when the applied ones change. */
  readonly access: AccessState;
  /** TrafficScopes. configGeneration bumps when the applied ones change. */
  readonly scopes: ScopeState;
}

/** A custom object (PeerAuthentication, TrafficScope) that is not applied as written. */
export interface ObjectRejection {
  /** `<Kind> <namespace>/<name>`. */
  readonly object: string;
  /** The parse errors, `path: message; ...` (bounded). */
  readonly reason: string;
  /** Whether the last accepted version stays applied, or nothing of the object is. */
  readonly applied: 'previous' | 'none';
}

export interface SecurityState {
  /** The PeerAuthentication objects of every source, merged, sorted by namespace/name, unvalidated. */
  readonly objects: readonly CustomObject[];
  /** What applies: every valid object, and the last accepted version of an invalid one. */
  readonly peerAuthentications: readonly PeerAuthentication[];
  /** Invalid objects by `namespace/name`. */
  readonly rejections: ReadonlyMap<string, ObjectRejection>;
}

const EMPTY_SECURITY: SecurityState = Object.freeze({ objects: [], peerAuthentications: [], rejections: new Map() });

export interface ScopeState {
  /** The TrafficScope objects of every source, merged, sorted by namespace/name, unvalidated. */
  readonly objects: readonly CustomObject[];
  /** What applies: every valid object, and the last accepted version of an invalid one. */
  readonly scopes: readonly TrafficScope[];
  /** Invalid objects by `namespace/name`. */
  readonly rejections: ReadonlyMap<string, ObjectRejection>;
}

export const EMPTY_SCOPES: ScopeState = Object.freeze({ objects: [], scopes: [], rejections: new Map() });

export interface RoutingObjects {
  readonly trafficRoutes: readonly CustomObject[];
  readonly trafficPolicies: readonly CustomObject[];
  /** HTTPRoutes and GRPCRoutes (Gateway API). */
  readonly gatewayRoutes: readonly CustomObject[];
}

export const EMPTY_SNAPSHOT: MeshSnapshot = Object.freeze({
  version: 0,
  configGeneration: 0,
  endpointsGeneration: 0,
  services: new Map(),
  endpoints: new Map(),
  namespaces: new Map(),
  pods: new Map(),
  changedEndpoints: new Set<string>(),
  routingObjects: Object.freeze({ trafficRoutes: [], trafficPolicies: [], gatewayRoutes: [] }),
  routing: EMPTY_ROUTING,
  security: EMPTY_SECURITY,
  access: EMPTY_ACCESS,
  scopes: EMPTY_SCOPES,
});
