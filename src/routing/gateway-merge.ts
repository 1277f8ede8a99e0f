// The Gateway API routes attached to one Service, merged into the one TrafficRoute generation
// reads for it. Pure.
//
// The Gateway API orders matches across every rule of every route attached to a parent, not
// route by route, so each match becomes its own rule, sorted by the spec's precedence:
//   HTTPRoute: an Exact path, then (pilotfish's choice for the implementation-specific case) a
//   RegularExpression path, then the longest PathPrefix; then a method match; then the most header
//   matches; then the most query parameter matches.
//   GRPCRoute: the most characters of the matched service, then of the method, then the most
//   header matches.
// Ties go to the oldest route (creationTimestamp), then the first by "namespace/name", then the
// first rule of that route, then its first match. Envoy and gRPC take the first route that
// matches, so this order is the precedence.
import type { GatewayBackend, GatewayMatch, GatewayRoute, GatewayRule } from '../model/gateway-route.js';
import { backendDestination } from '../model/gateway-route.js';
import type { Destination, HttpRule, ServiceRef, TrafficRoute } from '../model/routing.js';

/** One route attached to the Service, on some of its ports (undefined: all). */
export interface Attachment {
  readonly route: GatewayRoute;
  readonly ports?: readonly number[];
}

interface Entry {
  readonly age: number;
  readonly rule: GatewayRule;
  readonly match: GatewayMatch;
  readonly ports?: readonly number[];
}

/** Larger precedence first, element by element. */
function byPrecedence(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (b[i] ?? 0) - (a[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

function compareEntries(a: Entry, b: Entry): number {
  return byPrecedence(a.match.precedence, b.match.precedence)
    || a.age - b.age
    || a.rule.index - b.rule.index
    || a.match.index - b.match.index;
}

function mirrorDestination(b: GatewayBackend, namespace: string): Destination | undefined {
  return b.namespace === namespace ? backendDestination(b) : undefined;
}

/**
 * The TrafficRoute for `service`, from its attachments ordered oldest first (the caller orders
 * them by creationTimestamp, then namespace/name). Its meta is the oldest route's.
 */
export function mergeGatewayRoutes(service: ServiceRef, attachments: readonly Attachment[]): TrafficRoute {
  const entries: Entry[] = [];
  attachments.forEach((a, age) => {
    for (const rule of a.route.rules) {
      for (const match of rule.matches) entries.push({ age, rule, match, ...(a.ports ? { ports: a.ports } : {}) });
    }
  });
  entries.sort(compareEntries);
  const http: HttpRule[] = [];
  for (const e of entries) {
    const r = e.rule;
    const ns = attachments[e.age].route.meta.namespace;
    const mirror = r.mirror && mirrorDestination(r.mirror.backend, ns);
    for (const block of e.match.blocks) {
      const rewrite = {
        ...(block.rewritePrefix !== undefined ? { uriPrefix: block.rewritePrefix } : {}),
        ...(r.rewriteAuthority !== undefined ? { authority: r.rewriteAuthority } : {}),
      };
      http.push({
        index: http.length,
        match: [block.match],
        action: r.action,
        requestHeaders: r.requestHeaders,
        responseHeaders: r.responseHeaders,
        ...(r.timeoutMs !== undefined ? { timeoutMs: r.timeoutMs } : {}),
        ...(r.mirror && mirror ? { mirror: { destination: mirror, percentage: r.mirror.percentage } } : {}),
        ...(Object.keys(rewrite).length > 0 ? { rewrite } : {}),
        ...(e.ports ? { ports: e.ports } : {}),
      });
    }
  }
  return { meta: attachments[0].route.meta, hosts: [service], http };
}
