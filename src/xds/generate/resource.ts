// What a generator hands on: an Envoy resource of the generated types (../envoy-types.ts) that
// carries its name. The protos leave every field optional, names included; resources are keyed
// and sent by name, so a generator that forgot one would make a resource no proxy can ask for.
// Requiring it here makes that a compile error instead.
import type { Cluster, ClusterLoadAssignment, Listener, RouteConfiguration } from '../envoy-types.js';

/** A message with its `name` set. */
export type Named<T extends { name?: string }> = T & { readonly name: string };

/** A ClusterLoadAssignment with its `cluster_name` set (it has no `name`: that is its key). */
export type NamedLoadAssignment = ClusterLoadAssignment & { readonly cluster_name: string };

/** Every resource type the generators make, as they make it. */
export type EnvoyResource = Named<Cluster> | Named<Listener> | Named<RouteConfiguration> | NamedLoadAssignment;

/** The name a resource is keyed and sent by. */
export function resourceName(r: EnvoyResource): string {
  return 'cluster_name' in r ? r.cluster_name : r.name;
}
