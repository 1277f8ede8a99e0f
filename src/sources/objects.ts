// The Kubernetes objects every source produces. Files, the REST registry and the API server all
// speak in these, so one translation (translate.ts) turns any mix of them into the model.
import type {
  V1Namespace, V1Service, V1EndpointSlice, V1Pod,
} from '@kubernetes/client-node';
import type { CustomObject } from '../model/k8s-object.js';

export type { V1Namespace, V1Service, V1EndpointSlice, V1Pod };
export type { CustomObject };

export interface ObjectSet {
  readonly namespaces: readonly V1Namespace[];
  readonly services: readonly V1Service[];
  readonly endpointSlices: readonly V1EndpointSlice[];
  readonly pods: readonly V1Pod[];
  readonly trafficRoutes: readonly CustomObject[];
  readonly trafficPolicies: readonly CustomObject[];
  readonly peerAuthentications: readonly CustomObject[];
  readonly accessPolicies: readonly CustomObject[];
  /** Istio's networking.istio.io VirtualServices, translated into TrafficRoutes' model. */
  readonly virtualServices: readonly CustomObject[];
  /** Istio's networking.istio.io DestinationRules, translated into TrafficPolicies' model. */
  readonly destinationRules: readonly CustomObject[];
  readonly trafficScopes: readonly CustomObject[];
  /** Gateway API HTTPRoutes and GRPCRoutes. */
  readonly httpRoutes: readonly CustomObject[];
  readonly grpcRoutes: readonly CustomObject[];
}

export type ObjectSetKey = keyof ObjectSet;

/** One list of an ObjectSet: the kind of its objects and what every source needs to know of it. */
interface ObjectKindInfo {
  readonly key: ObjectSetKey;
  readonly kind: string;
  readonly clusterScoped: boolean;
  /**
   * Mesh configuration users write (routes, policies, scopes): the controller writes its status,
   * which the model never reads, so sources drop `status` before reporting it.
   */
  readonly config: boolean;
}

// A Record, so that a field added to ObjectSet without its kind here does not compile.
const KIND_OF: Readonly<Record<ObjectSetKey, Omit<ObjectKindInfo, 'key'>>> = {
  namespaces: { kind: 'Namespace', clusterScoped: true, config: false },
  services: { kind: 'Service', clusterScoped: false, config: false },
  endpointSlices: { kind: 'EndpointSlice', clusterScoped: false, config: false },
  pods: { kind: 'Pod', clusterScoped: false, config: false },
  trafficRoutes: { kind: 'TrafficRoute', clusterScoped: false, config: true },
  trafficPolicies: { kind: 'TrafficPolicy', clusterScoped: false, config: true },
  peerAuthentications: { kind: 'PeerAuthentication', clusterScoped: false, config: true },
  accessPolicies: { kind: 'AccessPolicy', clusterScoped: false, config: true },
  virtualServices: { kind: 'VirtualService', clusterScoped: false, config: true },
  destinationRules: { kind: 'DestinationRule', clusterScoped: false, config: true },
  trafficScopes: { kind: 'TrafficScope', clusterScoped: false, config: true },
  httpRoutes: { kind: 'HTTPRoute', clusterScoped: false, config: true },
  grpcRoutes: { kind: 'GRPCRoute', clusterScoped: false, config: true },
};

/** Every list of an ObjectSet, in its field order: the one place a new kind is added. */
export const OBJECT_KINDS: readonly ObjectKindInfo[] = Object.freeze(
  (Object.keys(KIND_OF) as ObjectSetKey[]).map((key) => Object.freeze({ key, ...KIND_OF[key] })),
);

/** A fresh set of empty, writable lists, one per ObjectSet field, for a source to fill. */
export function emptyObjectLists<T>(): Record<ObjectSetKey, T[]> {
  return Object.fromEntries(OBJECT_KINDS.map(({ key }) => [key, [] as T[]])) as Record<ObjectSetKey, T[]>;
}

/** The ObjectSet field objects of this kind go to; undefined for a kind no ObjectSet holds. */
export function objectSetKeyOf(kind: string): ObjectSetKey | undefined {
  return OBJECT_KINDS.find((k) => k.kind === kind)?.key;
}

export const EMPTY_OBJECTS: ObjectSet = Object.freeze(emptyObjectLists<never>());

/** Label that ties an EndpointSlice to its Service (set by the EndpointSlice controller). */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

/** Annotation on Services the REST registry invents: a real Service of the same name wins. */
export const SYNTHETIC_ANNOTATION = 'pilotfish.io/synthetic';

/**
 * Annotation on the REST registry's EndpointSlices: which port of the Service its endpoints
 * serve (a number or a port name; empty means the Service's first port). Needed because the
 * registry cannot know the port names of a real Service another source defines.
 */
export const SERVICE_PORT_ANNOTATION = 'pilotfish.io/service-port';

// Defined once, next to the CRDs they name.
