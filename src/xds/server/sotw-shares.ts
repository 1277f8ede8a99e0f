// What SotW streams of one server share so that the sidecars of a class, which subscribe to the
// very same thousands of EDS names, cost one version hash and one body per map, not one each.
import { createHash } from 'node:crypto';
import type { ResourceMap, XdsResource } from '../proxy-view.js';
import type { Subscription } from './subscription.js';
import { setVersion } from './version.js';

/** Name sets remembered before all are forgotten (ids are never reused: forgetting only costs hits). */
const MAX_NAME_SETS = 4096;

export class SotwShares {
  // Equal name sets get one id, so the version of "these names in this map" is hashed once per
  // map, not once per stream.
  private readonly nameSetIds = new Map<string, number>();
  private lastNameSetId = 0;
  private readonly namedVersions = new WeakMap<ResourceMap, Map<number, string>>();
  // Sidecars of a class restate the very same list object (the codec shares long lists).
  private readonly listIds = new WeakMap<readonly string[], number>();
  // ...and the same names from the same map (and, for a push, the same earlier map) make the
  // same response body: the sidecars of a class share one encoding instead of building one each.
  private readonly mapIds = new WeakMap<ResourceMap, number>();
  private lastMapId = 0;

  /** The id of the names a subscription holds. */
  nameSetIdOf(sub: Subscription): number {
    let id = this.listIds.get(sub.list);
    if (id === undefined) {
      id = this.nameSetId(sub.names);
      // Only a list that made the names exactly its elements stands for them (SotW replace).
      if (sub.list.length === sub.names.size) this.listIds.set(sub.list, id);
    }
    return id;
  }

  mapId(m: ResourceMap): number {
    let id = this.mapIds.get(m);
    if (id === undefined) this.mapIds.set(m, (id = ++this.lastMapId));
    return id;
  }

  /** The version of the named set `namesId` of `all` (`named` picks those resources out). */
  namedVersion(all: ResourceMap, namesId: number, named: () => readonly XdsResource[]): string {
    let byNames = this.namedVersions.get(all);
    if (!byNames) this.namedVersions.set(all, (byNames = new Map()));
    let v = byNames.get(namesId);
    if (v === undefined) byNames.set(namesId, (v = setVersion(named())));
    return v;
  }

  private nameSetId(names: ReadonlySet<string>): number {
    // Keyed by a hash of the names, not the names: a set of megabytes of names would otherwise be
    // kept as a key long after its stream closed.
    const key = createHash('sha256').update([...names].sort().join('\n')).digest('base64');
    let id = this.nameSetIds.get(key);
    if (id === undefined) {
      if (this.nameSetIds.size >= MAX_NAME_SETS) this.nameSetIds.clear();
      id = ++this.lastNameSetId;
      this.nameSetIds.set(key, id);
    }
    return id;
  }
}
