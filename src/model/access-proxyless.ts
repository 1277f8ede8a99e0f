// What proxyless gRPC servers (gRFC A41 in @grpc/grpc-js-xds 1.14) cannot do of what an
// AccessPolicy asks, so its status can say so instead of leaving users to guess. Everything else
// of the API they enforce like Envoy: principals and namespaces (the peer certificate's URI SAN),
// ports, paths, methods and request headers.
import type { AccessPolicy } from './access-policy.js';
import type { IgnoredField } from './proxyless.js';

export function proxylessIgnoredInAccessPolicy(policy: AccessPolicy): IgnoredField[] {
  const out: IgnoredField[] = [];
  if (policy.action === 'AUDIT') {
    out.push({ path: 'spec.action', reason: 'gRPC servers cannot audit (they refuse the RBAC LOG action); proxyless servers do not see this policy' });
    return out;
  }
  for (const rule of policy.rules) {
    const at = `spec.rules[${rule.index}]`;
    rule.to.forEach((t, j) => {
      if (t.methods.some((m) => m !== 'POST')) {
        out.push({ path: `${at}.to[${j}].operation.methods`, reason: 'every gRPC call is a POST; other methods never match on gRPC servers' });
      }
    });
    rule.when.forEach((c, j) => {
      if (c.header.endsWith('-bin')) {
        out.push({ path: `${at}.when[${j}]`, reason: 'gRPC servers never match binary (-bin) headers' });
      }
    });
  }
  return out;
}
