// Which TrafficScope a proxy is generated under (model/traffic-scope.ts decides; this only finds
// the workload's labels). Sidecars only: a proxyless gRPC client asks for the names it dials and
// gets only those, so scoping it would save nothing.
import type { ProxyIdentity } from '../../model/proxy.js';
import type { MeshSnapshot } from '../../model/snapshot.js';
import { scopeFor, type ResolvedScope, type ScopeOptions } from '../../model/traffic-scope.js';
import { workloadLabels } from './workload.js';

/** The scope of `proxy`, or undefined when it gets the whole mesh. */
export function proxyScope(snapshot: MeshSnapshot, proxy: ProxyIdentity, options: ScopeOptions): ResolvedScope | undefined {
  if (proxy.kind !== 'sidecar') return undefined;
  return scopeFor(snapshot.scopes.scopes, { namespace: proxy.namespace, labels: workloadLabels(snapshot, proxy) }, options);
}
