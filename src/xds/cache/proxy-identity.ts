// A connecting proxy's identity as generation needs it, parsed from its node once per stream.
import type { ProxyIdentity, ProxyKind } from '../../model/proxy.js';
import {
  META_INSTANCE_IP, META_KIND, META_LABELS, META_NAMESPACE, META_POD_NAME, META_SERVICE_ACCOUNT, type NodeInfo,
} from '../node-info.js';

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
