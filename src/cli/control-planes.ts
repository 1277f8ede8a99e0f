// What `proxy-status` and `proxy-config` learn from every control-plane replica at once: each
// replica serves only the proxies connected to it, so all are asked and the answers merged. The
// replicas are either given (`--server A,B`) or found in the cluster: the chart's Pods in
// `--namespace`, each reached through the API server's pod proxy (no local port needed). A proxy
// may be named by its node id or, as istioctl users do, by its Pod as `name.namespace`.
import { PROXIED_AUTHORIZATION_HEADER } from '../admin/debug-access.js';
import { DebugClientError, getDebugJson } from '../admin/debug-client.js';
import type { ProxySync } from '../admin/syncz.js';
import { errorText, KubeRest } from '../kube/rest.js';
import { DEFAULT_CONTROL_PLANE_NAMESPACE } from '../webhook/injection-names.js';
import { UsageError } from './flags.js';
import { loadKubeConfig } from './kubeconfig.js';
import { PORT_CONTROL_HTTP } from '../model/ports.js';

/** One control-plane replica's debug endpoints. */
export interface Replica {
  /** Its admin URL, or its Pod's name. */
  readonly name: string;
  get<T>(path: string, query?: Record<string, string>): Promise<T>;
}

export interface ReplicaProxy {
  readonly replica: Replica;
  readonly proxy: ProxySync;
}

/** The chart's Pod labels (deploy/helm/pilotfish/templates/_helpers.tpl, selectorLabels). */
export const CONTROL_PLANE_SELECTOR = 'app.kubernetes.io/name=pilotfish,app.kubernetes.io/component=control-plane';
/** Where pilotfish serves /debug (the chart's http port). */
const ADMIN_PORT = PORT_CONTROL_HTTP;

/** The flags both commands take to find the replicas. */
interface ReplicaFlags {
  readonly server?: string;
  readonly kubeconfig?: string;
  readonly namespace?: string;
}

/**
 * `--kubeconfig` or `--namespace`: the replicas are the chart's Pods in the cluster. Otherwise
 * `--server` (comma-separated admin URLs, default the local one).
 */
export async function replicasOf(flags: ReplicaFlags, defaultServer: string, command: string): Promise<Replica[]> {
  if (flags.kubeconfig === undefined && flags.namespace === undefined) return serversOf(flags.server ?? defaultServer, command).map(direct);
  if (flags.server !== undefined) throw new UsageError(`pilotfish ${command}: --server asks replicas directly; it cannot be combined with --kubeconfig/--namespace`);
  return podReplicas(new KubeRest(await loadKubeConfig(flags.kubeconfig, process.env), 15_000), flags.namespace ?? DEFAULT_CONTROL_PLANE_NAMESPACE);
}

export function serversOf(flag: string, command: string): string[] {
  const servers = flag.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (servers.length === 0) throw new UsageError(`pilotfish ${command}: --server needs at least one URL`);
  return servers;
}

function direct(server: string): Replica {
  return { name: server, get: (path, query) => getDebugJson(server, path, query) };
}

/**
 * The chart's Pods with an address, asked through `pods/NAME:15014/proxy` — the API server
 * connects to the Pod itself. (Not pods/portforward: that goes through the kubelet, and is a
 * stream per port; the proxy is one HTTPS request per question, with the caller's RBAC.)
 */
async function podReplicas(kube: KubeRest, namespace: string): Promise<Replica[]> {
  let pods: { items?: Array<{ metadata?: { name?: string }; status?: { podIP?: string } }> };
  try {
    pods = await kube.request('GET', `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`, { query: { labelSelector: CONTROL_PLANE_SELECTOR } });
  } catch (err) {
    throw new DebugClientError(`cannot list the control plane's Pods in ${namespace} at ${kube.server}: ${errorText(err)}`);
  }
  const names = (pods.items ?? []).filter((p) => p.status?.podIP).map((p) => p.metadata?.name ?? '').filter((n) => n !== '').sort();
  if (names.length === 0) throw new DebugClientError(`no running pilotfish Pod in namespace ${namespace} (${CONTROL_PLANE_SELECTOR}); is --namespace right?`);
  // The debug endpoints want the caller's own token, and the API server keeps `authorization`
  // to itself: it goes along in pilotfish's header (admin/debug-access.ts).
  const token = await kube.bearerToken();
  const headers: Record<string, string> = token ? { [PROXIED_AUTHORIZATION_HEADER]: `Bearer ${token}` } : {};
  return names.map((pod) => ({
    name: pod,
    get: async <T>(path: string, query: Record<string, string> = {}): Promise<T> => {
      try {
        return await kube.request<T>('GET', `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod)}:${ADMIN_PORT}/proxy${path}`, { query, headers });
      } catch (err) {
        throw new DebugClientError(`pod ${namespace}/${pod} (through the API server's pod proxy): ${errorText(err)}`);
      }
    },
  }));
}

/**
 * Every replica's connected proxies, in replica order. A replica that cannot be asked is a
 * failure naming it (the proxies it serves would be missing); the rest are still returned.
 */
export async function proxiesOfAll(replicas: readonly Replica[]): Promise<{ proxies: ReplicaProxy[]; failures: string[] }> {
  const answers = await Promise.all(replicas.map(async (replica) => {
    try {
      return { replica, proxies: await replica.get<ProxySync[]>('/debug/syncz') };
    } catch (err) {
      if (!(err instanceof DebugClientError)) throw err;
      return { replica, failure: err.message };
    }
  }));
  const proxies: ReplicaProxy[] = [];
  const failures: string[] = [];
  for (const a of answers) {
    if ('failure' in a) failures.push(a.failure ?? '');
    else for (const proxy of a.proxies ?? []) proxies.push({ replica: a.replica, proxy });
  }
  return { proxies, failures };
}

/** The newest stream's connect time, to pick the replica a proxy that moved is connected to now. */
function connectedAt(p: ProxySync): string {
  return p.streams.map((s) => s.connectedAt).sort().at(-1) ?? '';
}

/**
 * The proxies `name` means: those whose node id is `name`, else those whose Pod is `name` read as
 * `pod.namespace`. One per node id (the replica it connected to last).
 */
export function resolveProxy(name: string, all: readonly ReplicaProxy[]): ReplicaProxy[] {
  let found = all.filter((r) => r.proxy.id === name);
  if (found.length === 0) found = all.filter((r) => r.proxy.pod !== undefined && `${r.proxy.pod}.${r.proxy.namespace}` === name);
  const byId = new Map<string, ReplicaProxy>();
  for (const r of found) {
    const seen = byId.get(r.proxy.id);
    if (seen === undefined || connectedAt(r.proxy) > connectedAt(seen.proxy)) byId.set(r.proxy.id, r);
  }
  return [...byId.values()];
}
