// Who is asking for configuration, as generation sees it: plain data, derived from the xDS node
// once per stream by xds/cache/proxy-identity.ts.

export type ProxyKind = 'sidecar' | 'grpc';

export interface ProxyIdentity {
  readonly id: string;
  readonly kind: ProxyKind;
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly podName?: string;
  readonly ip?: string;
  readonly serviceAccount?: string;
}

/**
 * Proxies of one class get byte-identical configuration, so generation runs once per class.
 * gRPC clients are per namespace. A sidecar's inbound side depends on its workload, so sidecars
 * are per namespace and label set (the replicas of a Deployment share one class), or per pod when
 * the proxy sent no labels (its Pod's labels are then looked up in the snapshot).
 */
export function proxyClassKey(p: ProxyIdentity): string {
  if (p.kind !== 'sidecar') return `${p.kind}/${p.namespace}`;
  const labels = Object.keys(p.labels).sort().map((k) => [k, p.labels[k]]);
  if (labels.length > 0) return `sidecar/${p.namespace}/${JSON.stringify(labels)}`;
  return p.podName !== undefined ? `sidecar/${p.namespace}/pod:${p.podName}` : `sidecar/${p.namespace}`;
}
