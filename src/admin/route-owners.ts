// Which TrafficRoute each virtual host of a proxy's RouteConfigurations comes from, for the route
// table of `pilotfish proxy-config route`. A virtual host serves one Service (its domains are that
// Service's names), and all its routes are the rules of the TrafficRoute applied to the Service.
// Read from the current snapshot: it names what applies now, which the sent config follows.
import { serviceFqdn, serviceKey } from '../model/mesh.js';
import { routingObjectKey } from '../model/routing.js';
import type { MeshSnapshot } from '../model/snapshot.js';
import type { SentResource } from './sent-config.js';

/** Route configuration name -> virtual host name -> `TrafficRoute/ns/name` (hosts without one are left out). */
type RouteOwners = Record<string, Record<string, string>>;

export function routeOwners(snapshot: MeshSnapshot, routeConfigs: readonly SentResource[]): RouteOwners {
  const byFqdn = new Map<string, string>();
  for (const svc of snapshot.services.values()) byFqdn.set(serviceFqdn(svc.namespace, svc.name), serviceKey(svc.namespace, svc.name));
  const out: RouteOwners = {};
  for (const rc of routeConfigs) {
    const vhosts = rc.resource.virtual_hosts;
    if (!Array.isArray(vhosts)) continue;
    for (const vh of vhosts as Array<Record<string, unknown>>) {
      const domains = Array.isArray(vh.domains) ? vh.domains.map(String) : [];
      const key = domains.map((d) => byFqdn.get(d.replace(/:\d+$/, ''))).find((k) => k !== undefined);
      const route = key === undefined ? undefined : snapshot.routing.applied.routeByHost.get(key);
      if (route === undefined || typeof vh.name !== 'string') continue;
      (out[rc.name] ??= {})[vh.name] = routingObjectKey(route.meta);
    }
  }
  return out;
}
