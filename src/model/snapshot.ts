// The one immutable, versioned model of the mesh that every consumer reads.
import type { Endpoint, Service } from './mesh.js';
import type { CustomObject } from './k8s-object.js';

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
   * validated (model/routing does that). A change bumps configGeneration.
   */
  readonly routingObjects: RoutingObjects;
}

export interface RoutingObjects {
  readonly trafficRoutes: readonly CustomObject[];
  readonly trafficPolicies: readonly CustomObject[];
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
  routingObjects: Object.freeze({ trafficRoutes: [], trafficPolicies: [] }),
});
