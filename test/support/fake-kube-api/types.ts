// Shapes the fake API server stores and serves. Kept independent of @kubernetes/client-node so the
// fake never borrows the client's own notion of the protocol: it has to meet the client on the wire.

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: unknown[];
  managedFields?: unknown[];
  [key: string]: unknown;
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [key: string]: unknown;
}

/** A stored object always has a name, uid and resourceVersion. */
export interface StoredObject extends KubeObject {
  metadata: ObjectMeta & { name: string; uid: string; resourceVersion: string; creationTimestamp: string };
}

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** One kind of resource the fake serves, as discovery would describe it. */
export interface ResourceType {
  /** '' for the core group. */
  readonly group: string;
  readonly version: string;
  /** Plural, lower case: the path segment ("services", "trafficroutes"). */
  readonly resource: string;
  readonly singular: string;
  readonly kind: string;
  readonly namespaced: boolean;
  /** Has a /status subresource: main-resource writes keep the stored status, /status writes only status. */
  readonly hasStatus: boolean;
  /** metadata.generation is kept and bumped when anything outside metadata and status changes. */
  readonly generation: boolean;
  /** Custom resources: no strategic merge patch, PUT needs a resourceVersion, list items keep kind. */
  readonly custom: boolean;
  /** DELETE answers with the deleted object rather than a Status (as Services, Pods, Namespaces do). */
  readonly returnsDeletedObject: boolean;
  /** Field selectors the real server accepts for this type, beyond metadata.name / metadata.namespace. */
  readonly extraFieldSelectors: readonly string[];
  readonly shortNames: readonly string[];
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

/** A committed change, kept in the history so watches can resume from a resourceVersion. */
export interface HistoryEvent {
  readonly rv: number;
  readonly typeKey: string;
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED';
  /** The object after the change (for DELETED: its last state, carrying the deletion's resourceVersion). */
  readonly object: StoredObject;
  /** The object before the change (absent for ADDED): selector-filtered watches need it. */
  readonly previous?: StoredObject;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: { reason?: string; message?: string; field?: string }[];
  retryAfterSeconds?: number;
}

/** metav1.Status, the body of every error response and of ERROR watch events. */
export interface StatusObject {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never> | { resourceVersion?: string };
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  details?: StatusDetails;
  code: number;
}
