// Matches a connecting proxy to its Pod. What a proxy says about itself (node id, metadata) names
// the Pod; the Pod, once known, is the authority for its labels and service account. A proxy whose
// Pod is not known yet (it connected before the controller saw the Pod) keeps a provisional
// identity from its own metadata and is resolved again with every snapshot until the Pod appears.
import { type ProxyIdentity } from '../../model/proxy.js';
import { META_NAMESPACE, type NodeInfo } from '../node-info.js';
import { proxyIdentityFromNode } from './proxy-identity.js';
import type { PodInfo } from '../../model/snapshot.js';

export interface ResolvedIdentity {
  readonly identity: ProxyIdentity;
  /** `namespace/name` of the matched Pod. */
  readonly pod?: string;
  /** The proxy names a Pod (by name or IP) that is not known yet. */
  readonly provisional: boolean;
}

/**
 * Pods by IP, for the pods map of the latest snapshot: every connect and every change of Pods
 * resolves proxies against it. Owned by whoever resolves (the proxy views); built on first use.
 */
export class PodsByIp {
  private pods: ReadonlyMap<string, PodInfo> | undefined;
  private index = new Map<string, PodInfo[]>();

  of(pods: ReadonlyMap<string, PodInfo>): ReadonlyMap<string, readonly PodInfo[]> {
    if (pods !== this.pods) {
      this.pods = pods;
      this.index = new Map();
      for (const p of pods.values()) {
        if (p.ip === undefined) continue;
        const list = this.index.get(p.ip);
        if (list) list.push(p);
        else this.index.set(p.ip, [p]);
      }
    }
    return this.index;
  }
}

/** True when the node itself says which namespace it is in (metadata, or an Istio-style id). */
function namespaceGiven(node: NodeInfo): boolean {
  const meta = node.metadata?.[META_NAMESPACE];
  if (typeof meta === 'string' && meta !== '') return true;
  const parts = node.id.split('~');
  return parts.length === 4 && parts[2].lastIndexOf('.') > 0;
}

/** `base` is proxyIdentityFromNode(node), when the caller already has it; `byIp` the caller's index, if it keeps one. */
export function resolveProxyIdentity(node: NodeInfo, pods: ReadonlyMap<string, PodInfo>,
  base: ProxyIdentity = proxyIdentityFromNode(node), byIp: PodsByIp = new PodsByIp()): ResolvedIdentity {
  let pod: PodInfo | undefined;
  if (base.podName !== undefined) {
    pod = pods.get(`${base.namespace}/${base.podName}`);
  } else if (base.ip !== undefined) {
    // By IP only when exactly one Pod has it: host-network Pods share their node's IP.
    const given = namespaceGiven(node);
    const candidates = (byIp.of(pods).get(base.ip) ?? []).filter((p) => !given || p.namespace === base.namespace);
    if (candidates.length === 1) pod = candidates[0];
  }
  if (!pod) {
    return { identity: base, provisional: base.podName !== undefined || base.ip !== undefined };
  }
  const identity: ProxyIdentity = {
    ...base,
    namespace: pod.namespace,
    podName: pod.name,
    labels: pod.labels,
    ...(pod.serviceAccount !== undefined ? { serviceAccount: pod.serviceAccount } : {}),
    ...(pod.ip !== undefined ? { ip: pod.ip } : {}),
  };
  return { identity, pod: `${pod.namespace}/${pod.name}`, provisional: false };
}

/** Whether two resolutions differ in anything a consumer could see. */
export function sameResolution(a: ResolvedIdentity, b: ResolvedIdentity): boolean {
  return a.provisional === b.provisional && a.pod === b.pod && JSON.stringify(a.identity) === JSON.stringify(b.identity);
}
