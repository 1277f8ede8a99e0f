// Which parser turns a routing object into the model: pilotfish's own kinds, or the Istio kinds
// translated into the same model. Validation sees every route-like object (TrafficRoute,
// VirtualService) in one list and every policy-like one (TrafficPolicy, DestinationRule) in
// another, so one host is claimed by one object whatever its kind (the oldest wins).
import type { CustomObject } from '../model/k8s-object.js';
import type { IgnoredField } from '../model/proxyless.js';
import type { RoutingKind, TrafficPolicy, TrafficRoute } from '../model/routing.js';
import type { FieldError } from '../api/routing/v1alpha1/openapi.js';
import { parseTrafficPolicy, parseTrafficRoute } from '../api/routing/v1alpha1/parse.js';
import { parseVirtualService } from '../api/istio/networking/v1/virtual-service.js';
import { parseDestinationRule } from '../api/istio/networking/v1/destination-rule.js';

export interface RoutingParse<T> {
  readonly ok?: T;
  readonly errors?: readonly FieldError[];
  /** Fields left out of an Istio object; absent for pilotfish's own kinds. */
  readonly unsupported?: readonly IgnoredField[];
}

function kindOf(obj: CustomObject): unknown {
  return typeof obj === 'object' && obj !== null ? obj.kind : undefined;
}

/** The kind an object in the route list is (for messages even when it is invalid). */
export function routeKindOf(obj: CustomObject): RoutingKind {
  return kindOf(obj) === 'VirtualService' ? 'VirtualService' : 'TrafficRoute';
}

/** The kind an object in the policy list is. */
export function policyKindOf(obj: CustomObject): RoutingKind {
  return kindOf(obj) === 'DestinationRule' ? 'DestinationRule' : 'TrafficPolicy';
}

export function parseRouteObject(obj: CustomObject): RoutingParse<TrafficRoute> {
  return routeKindOf(obj) === 'VirtualService' ? parseVirtualService(obj) : parseTrafficRoute(obj);
}

export function parsePolicyObject(obj: CustomObject): RoutingParse<TrafficPolicy> {
  return policyKindOf(obj) === 'DestinationRule' ? parseDestinationRule(obj) : parseTrafficPolicy(obj);
}
