// The validated model of one Gateway API route (HTTPRoute or GRPCRoute) used for the mesh (GAMMA):
// its parentRefs as written, and its rules already expressed in the routing model's pieces
// (RequestMatch, RuleAction, HeaderOperations, ...), so merging the routes attached to a Service
// into one TrafficRoute (routing/gateway-merge.ts) is only a matter of ordering.
//
// Produced by api/gateway/v1/parse-route.ts; which parents a route attaches to, and whether its
// backends resolve, is decided against the mesh by routing/gateway-validate.ts.
import { serviceKey } from './mesh.js';
import type { Destination, HeaderOperations, RequestMatch, RoutingObjectMeta, RuleAction } from './routing.js';

export type GatewayRouteKind = 'HTTPRoute' | 'GRPCRoute';

/** spec.parentRefs[i] as written, defaults filled in (group gateway.networking.k8s.io, kind Gateway). */
export interface GatewayParentRef {
  /** Position in spec.parentRefs. */
  readonly index: number;
  readonly group: string;
  readonly kind: string;
  /** Defaults to the route's namespace. */
  readonly namespace: string;
  readonly name: string;
  readonly port?: number;
  readonly sectionName?: string;
  /** Whether the namespace was written (status echoes the reference as written). */
  readonly namespaceWritten: boolean;
}

/** A backendRef (or a RequestMirror's backendRef) and what it resolves to when it names a Service. */
export interface GatewayBackend {
  /** API-server style path, for messages. */
  readonly path: string;
  readonly group: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly port?: number;
  /** Relative weight (default 1). */
  readonly weight: number;
}

/** One entry of a rule's matches, with what orders it among every match of the Service's routes. */
export interface GatewayMatch {
  /** Position in the rule's matches. */
  readonly index: number;
  /**
   * The match as routing-model blocks, each becoming its own rule: a PathPrefix is split into an
   * exact match and a prefix match ending in "/" (the spec matches whole path elements).
   */
  readonly blocks: readonly { readonly match: RequestMatch; readonly rewritePrefix?: string }[];
  /** Compared element-wise, larger first: the spec's precedence criteria for this kind of route. */
  readonly precedence: readonly number[];
}

export interface GatewayRule {
  /** Position in spec.rules. */
  readonly index: number;
  readonly name?: string;
  /** At least one (an omitted matches list is the spec's default match). */
  readonly matches: readonly GatewayMatch[];
  /**
   * Route (to the backends that name a Service of the route's namespace; the others are left out
   * and reported by ResolvedRefs), or redirect.
   */
  readonly action: RuleAction;
  readonly backends: readonly GatewayBackend[];
  readonly timeoutMs?: number;
  readonly mirror?: { readonly backend: GatewayBackend; readonly percentage: number };
  /** URLRewrite's hostname (its path rewrite is carried by each match block). */
  readonly rewriteAuthority?: string;
  readonly requestHeaders: HeaderOperations;
  readonly responseHeaders: HeaderOperations;
}

export interface GatewayRoute {
  readonly meta: RoutingObjectMeta & { readonly kind: GatewayRouteKind };
  readonly parentRefs: readonly GatewayParentRef[];
  readonly rules: readonly GatewayRule[];
}

/** The Service a backend names (kind Service of the core group), for the routing model. */
export function backendDestination(b: GatewayBackend): Destination | undefined {
  if (b.group !== '' || b.kind !== 'Service') return undefined;
  return {
    service: { name: b.name, namespace: b.namespace, key: serviceKey(b.namespace, b.name), host: `${b.name}.${b.namespace}` },
    ...(b.port !== undefined ? { port: b.port } : {}),
  };
}

/** A parentRef pilotfish serves: a Service (core group). */
export function isServiceParent(p: GatewayParentRef): boolean {
  return p.group === '' && p.kind === 'Service';
}
