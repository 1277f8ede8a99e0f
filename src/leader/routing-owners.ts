// Which routing objects shaped which xDS resource, derived from the snapshot's applied routing and
// the resource naming rules (xds/generate/names.ts). Used to put a proxy's NACK on the object that
// caused it. Interim: once generation records the objects behind each resource it emits, this
// index should come from there instead of re-deriving names here.
import type { ResourceOwners } from './nack-tracker.js';
import { serviceFqdn } from '../model/mesh.js';
import { routingObjectKey } from '../model/routing.js';
import type { MeshSnapshot } from '../model/snapshot.js';
import { clusterName, grpcRouteName, outboundListenerName, sidecarRouteName } from '../xds/generate/resource-names.js';
import { CLUSTER, ENDPOINT, LISTENER, ROUTE } from '../xds/types.js';

/** Owned by the status loop that attributes NACKs: each snapshot's index is built once, for it alone. */
export class RoutingResourceOwners {
  // Weak: an index lives as long as its snapshot, which NACKs arriving late may still ask about.
  private readonly bySnapshot = new WeakMap<MeshSnapshot, ResourceOwners>();

  of(snapshot: MeshSnapshot): ResourceOwners {
    let owners = this.bySnapshot.get(snapshot);
    if (!owners) {
      owners = buildOwners(snapshot);
      this.bySnapshot.set(snapshot, owners);
    }
    return owners;
  }
}

function buildOwners(snapshot: MeshSnapshot): ResourceOwners {
  const index = new Map<string, Map<string, Set<string>>>();
  const add = (typeUrl: string, name: string, owner: string): void => {
    let byName = index.get(typeUrl);
    if (!byName) index.set(typeUrl, (byName = new Map()));
    let set = byName.get(name);
    if (!set) byName.set(name, (set = new Set()));
    set.add(owner);
  };
  const { applied } = snapshot.routing;
  for (const [host, route] of applied.routeByHost) {
    const svc = snapshot.services.get(host);
    if (!svc) continue;
    const owner = routingObjectKey(route.meta);
    for (const port of svc.ports) {
      add(ROUTE, grpcRouteName(svc, port), owner);
      add(ROUTE, sidecarRouteName(port.port), owner);
      add(LISTENER, outboundListenerName(port.port), owner);
      for (const h of [serviceFqdn(svc.namespace, svc.name), `${svc.name}.${svc.namespace}`, svc.name]) {
        add(LISTENER, `${h}:${port.port}`, owner);
      }
    }
  }
  for (const [host, policy] of applied.policyByHost) {
    const svc = snapshot.services.get(host);
    if (!svc) continue;
    const owner = routingObjectKey(policy.meta);
    for (const port of svc.ports) {
      for (const subset of ['', ...policy.subsets.map((s) => s.name)]) {
        const name = clusterName(svc.namespace, svc.name, port.port, subset);
        add(CLUSTER, name, owner);
        add(ENDPOINT, name, owner);
      }
    }
  }
  return {
    owners: (typeUrl, name) => [...(index.get(typeUrl)?.get(name) ?? [])],
    ownedNames: (typeUrl) => index.get(typeUrl)?.keys() ?? [],
  };
}
