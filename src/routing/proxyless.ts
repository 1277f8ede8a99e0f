// What proxyless gRPC clients (xds:/// targets) cannot do of what a routing object asks, so status
// can tell users "ignored for proxyless gRPC: ..." instead of leaving them to guess.
//
// Sources: the gRPC xDS proposals (A27 load balancing, A28 routing, A31 timeouts, A32 circuit
// breaking, A33 fault injection, A42 ring hash, A44 retries, A50 outlier detection) and the
// feature table in grpc/grpc doc/grpc_xds_features.md. In short, gRPC clients support path and
// header matching, weighted clusters, timeouts (as max_stream_duration), retries on gRPC status
// codes, fault injection, ROUND_ROBIN and header-based ring hash, and circuit breaking on
// max_requests. Everything below is ignored by them (or, for the load balancers, would be NACKed:
// the generator must send ROUND_ROBIN to gRPC clients instead).
import type { HttpRule, PolicyFields, TrafficPolicy, TrafficRoute } from '../model/routing.js';
import { GRPC_RETRY_ON, type IgnoredField } from '../model/proxyless.js';


export function formatIgnored(fields: readonly IgnoredField[]): string {
  return fields.map((f) => (f.path === '' ? f.reason : `${f.path} (${f.reason})`)).join('; ');
}

function ruleIgnored(rule: HttpRule, out: IgnoredField[]): void {
  const at = `spec.http[${rule.index}]`;
  rule.match.forEach((m, j) => {
    if (m.method !== undefined) {
      out.push({ path: `${at}.match[${j}].method`, reason: 'gRPC clients cannot match on the HTTP method; every RPC is a POST' });
    }
    if (m.queryParams.length > 0) {
      out.push({ path: `${at}.match[${j}].queryParams`, reason: 'RPCs have no query parameters; gRPC clients skip this rule' });
    }
    for (const h of m.headers) {
      if (h.name.endsWith('-bin')) {
        out.push({ path: `${at}.match[${j}].headers[${h.name}]`, reason: 'gRPC clients ignore matchers on binary (-bin) headers' });
      }
    }
  });
  if (rule.action.type === 'redirect') {
    out.push({ path: `${at}.redirect`, reason: 'gRPC clients cannot follow redirects; matching RPCs fail with UNAVAILABLE' });
  }
  if (rule.retries?.perTryTimeoutMs !== undefined) {
    out.push({ path: `${at}.retries.perTryTimeout`, reason: 'gRPC clients have no per-try timeout' });
  }
  const httpOnly = rule.retries?.retryOn.filter((c) => !GRPC_RETRY_ON.includes(c)) ?? [];
  if (httpOnly.length > 0) {
    out.push({
      path: `${at}.retries.retryOn`,
      reason: `gRPC clients retry only on ${GRPC_RETRY_ON.join(', ')}; ignored: ${httpOnly.join(', ')}`,
    });
  }
  if (rule.mirror) out.push({ path: `${at}.mirror`, reason: 'gRPC clients cannot mirror requests' });
  if (rule.rewrite?.uriPrefix !== undefined) out.push({ path: `${at}.rewrite.uri`, reason: 'gRPC clients cannot rewrite the path' });
  if (rule.rewrite?.authority !== undefined) out.push({ path: `${at}.rewrite.authority`, reason: 'gRPC clients cannot rewrite the authority' });
  for (const [side, ops] of [['request', rule.requestHeaders], ['response', rule.responseHeaders]] as const) {
    for (const op of ['add', 'set', 'remove'] as const) {
      if (ops[op].length > 0) {
        out.push({ path: `${at}.headers.${side}.${op}`, reason: `gRPC clients cannot change ${side} headers` });
      }
    }
  }
}

/** Fields of a TrafficRoute that proxyless gRPC clients ignore. Empty when everything applies. */
export function proxylessIgnoredInRoute(route: TrafficRoute): IgnoredField[] {
  const out: IgnoredField[] = [];
  for (const rule of route.http) ruleIgnored(rule, out);
  return out;
}

function fieldsIgnored(f: PolicyFields, at: string, out: IgnoredField[]): void {
  const lb = f.loadBalancer;
  if (lb?.type === 'simple' && lb.algorithm !== 'ROUND_ROBIN') {
    out.push({ path: `${at}.loadBalancer.simple`, reason: `gRPC clients do not implement ${lb.algorithm}; they use ROUND_ROBIN` });
  }
  if (lb?.type === 'consistentHash' && lb.hashKey.type !== 'header') {
    const field = lb.hashKey.type === 'cookie' ? 'httpCookie' : 'useSourceIp';
    out.push({
      path: `${at}.loadBalancer.consistentHash.${field}`,
      reason: 'gRPC clients can hash only on a header; each RPC gets a random hash instead',
    });
  }
  const tcp = f.connectionPool?.tcp;
  if (tcp?.maxConnections !== undefined) out.push({ path: `${at}.connectionPool.tcp.maxConnections`, reason: 'gRPC clients limit only concurrent requests (http2MaxRequests)' });
  if (tcp?.connectTimeoutMs !== undefined) out.push({ path: `${at}.connectionPool.tcp.connectTimeout`, reason: 'gRPC clients use their own connect timeout' });
  const http = f.connectionPool?.http;
  for (const k of ['http1MaxPendingRequests', 'maxRequestsPerConnection', 'maxRetries'] as const) {
    if (http?.[k] !== undefined) out.push({ path: `${at}.connectionPool.http.${k}`, reason: 'gRPC clients limit only concurrent requests (http2MaxRequests)' });
  }
  const od = f.outlierDetection;
  for (const k of ['consecutive5xxErrors', 'consecutiveGatewayErrors'] as const) {
    if (od?.[k] !== undefined) {
      out.push({ path: `${at}.outlierDetection.${k}`, reason: 'gRPC clients eject endpoints only by success rate or failure percentage' });
    }
  }
  if (f.healthCheck) out.push({ path: `${at}.healthCheck`, reason: 'gRPC clients do not run active health checks' });
  if (f.localRateLimit) out.push({ path: `${at}.localRateLimit`, reason: 'proxyless gRPC servers have no local rate limiting' });
}

/** Fields of a TrafficPolicy that proxyless gRPC clients ignore. Empty when everything applies. */
export function proxylessIgnoredInPolicy(policy: TrafficPolicy): IgnoredField[] {
  const out: IgnoredField[] = [];
  const settings = (s: TrafficPolicy['trafficPolicy'], at: string): void => {
    fieldsIgnored(s, at, out);
    s.portLevelSettings.forEach((p, i) => fieldsIgnored(p, `${at}.portLevelSettings[${i}]`, out));
  };
  settings(policy.trafficPolicy, 'spec.trafficPolicy');
  policy.subsets.forEach((s, i) => {
    if (s.trafficPolicy) settings(s.trafficPolicy, `spec.subsets[${i}].trafficPolicy`);
  });
  return out;
}

export function proxylessIgnored(model: TrafficRoute | TrafficPolicy): IgnoredField[] {
  return 'hosts' in model ? proxylessIgnoredInRoute(model) : proxylessIgnoredInPolicy(model);
}
