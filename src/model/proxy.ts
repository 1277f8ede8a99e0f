// Who is asking for configuration. Derived from the xDS node once per stream.

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

/** The subset of an xDS Node that identity parsing needs. */
export interface NodeInfo {
  readonly id: string;
  readonly cluster?: string;
  readonly metadata?: Readonly<Record<string, unknown>>;
}

/** Metadata keys a proxy may send (the injector and `pilotfish bootstrap` set them). */
export const META_KIND = 'PILOTFISH_KIND';
export const META_NAMESPACE = 'NAMESPACE';
export const META_POD_NAME = 'POD_NAME';
export const META_LABELS = 'LABELS';
export const META_INSTANCE_IP = 'INSTANCE_IP';
export const META_SERVICE_ACCOUNT = 'SERVICE_ACCOUNT';

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function labelsOf(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
      if (typeof val === 'string') out[k] = val;
    }
  }
  return out;
}

/**
 * Node ids follow Istio's `<kind>~<ip>~<pod>.<namespace>~<namespace>.svc.cluster.local` when a
 * proxy was injected; any other id is accepted too and then metadata (or defaults) decide.
 * Metadata always wins over what the id says, because it is what the injector sets explicitly.
 */
export function proxyIdentityFromNode(node: NodeInfo): ProxyIdentity {
  const meta = node.metadata ?? {};
  const parts = node.id.split('~');
  let idKind: string | undefined;
  let idIp: string | undefined;
  let idPod: string | undefined;
  let idNs: string | undefined;
  if (parts.length === 4) {
    idKind = parts[0];
    idIp = parts[1] || undefined;
    const dot = parts[2].lastIndexOf('.');
    if (dot > 0) {
      idPod = parts[2].slice(0, dot);
      idNs = parts[2].slice(dot + 1);
    }
  }
  const metaKind = str(meta[META_KIND]) ?? str(meta['GENERATOR']);
  const kindText = metaKind ?? idKind;
  const kind: ProxyKind = kindText === 'sidecar' ? 'sidecar' : 'grpc';
  const identity: ProxyIdentity = {
    id: node.id,
    kind,
    namespace: str(meta[META_NAMESPACE]) ?? idNs ?? 'default',
    labels: labelsOf(meta[META_LABELS]),
    podName: str(meta[META_POD_NAME]) ?? idPod,
    ip: str(meta[META_INSTANCE_IP]) ?? idIp,
    serviceAccount: str(meta[META_SERVICE_ACCOUNT]),
  };
  return identity;
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
