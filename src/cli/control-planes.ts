// What `proxy-status` and `proxy-config` learn from every control-plane replica at once: each
// replica serves only the proxies connected to it, so all are asked (`--server A,B`) and the
// answers merged. A proxy may be named by its node id or, as istioctl users do, by its Pod as
// `name.namespace`.
import { DebugClientError, getDebugJson } from '../admin/debug-client.js';
import type { ProxySync } from '../admin/syncz.js';
import { UsageError } from './flags.js';

export interface ReplicaProxy {
  /** The replica's admin URL. */
  readonly server: string;
  readonly proxy: ProxySync;
}

/** The admin URLs of `--server` (comma-separated, one per replica). */
export function serversOf(flag: string, command: string): string[] {
  const servers = flag.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (servers.length === 0) throw new UsageError(`pilotfish ${command}: --server needs at least one URL`);
  return servers;
}

/**
 * Every replica's connected proxies, in replica order. A replica that cannot be asked is a
 * failure naming it (the proxies it serves would be missing); the rest are still returned.
 */
export async function proxiesOfAll(servers: readonly string[]): Promise<{ proxies: ReplicaProxy[]; failures: string[] }> {
  const answers = await Promise.all(servers.map(async (server) => {
    try {
      return { server, proxies: await getDebugJson<ProxySync[]>(server, '/debug/syncz') };
    } catch (err) {
      if (!(err instanceof DebugClientError)) throw err;
      return { server, failure: err.message };
    }
  }));
  const proxies: ReplicaProxy[] = [];
  const failures: string[] = [];
  for (const a of answers) {
    if ('failure' in a) failures.push(a.failure ?? '');
    else for (const proxy of a.proxies ?? []) proxies.push({ server: a.server, proxy });
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
