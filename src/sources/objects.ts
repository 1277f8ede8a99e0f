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

export const EMPTY_OBJECTS: ObjectSet = Object.freeze({
  namespaces: [], services: [], endpointSlices: [], pods: [], trafficRoutes: [], trafficPolicies: [], peerAuthentications: [], accessPolicies: [],
  virtualServices: [], destinationRules: [], trafficScopes: [], httpRoutes: [], grpcRoutes: [],
});

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
