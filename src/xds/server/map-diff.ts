// What differs between two resource maps a source handed out one after the other. Every stream
// moving from the same old map to the same new one needs the same answer, so it is computed once
// per pair; a stream then looks only at the few names that changed, not at thousands that did not.
import type { ResourceMap } from '../proxy-view.js';
import { MergedResourceMap } from '../merged-map.js';

export interface MapDiff {
  /** Names that are new or whose version changed. */
  readonly changed: readonly string[];
  /** Names that are gone. */
  readonly removed: readonly string[];
}

const NO_DIFF: MapDiff = Object.freeze({ changed: [], removed: [] });

/** Diffs between maps, computed once per pair; held weakly, so they go with the maps. */
export class MapDiffs {
  private readonly diffs = new WeakMap<ResourceMap, WeakMap<ResourceMap, MapDiff>>();

  diff(from: ResourceMap, to: ResourceMap): MapDiff {
    if (from === to) return NO_DIFF;
    let byTo = this.diffs.get(from);
    if (!byTo) this.diffs.set(from, (byTo = new WeakMap()));
    let d = byTo.get(to);
    if (!d && from instanceof MergedResourceMap && to instanceof MergedResourceMap && from.overlap === 0 && to.overlap === 0) {
      // Part by part: the shared part's diff is computed once for every class moving along with it.
      const a = this.diff(from.base, to.base), b = this.diff(from.extra, to.extra);
      // A name moving between the parts shows up as removed from one and changed in the other.
      const changed = new Set([...a.changed, ...b.changed]);
      d = { changed: [...changed], removed: [...a.removed, ...b.removed].filter((n) => !to.has(n)) };
      byTo.set(to, d);
    }
    if (!d) {
      const changed: string[] = [];
      const removed: string[] = [];
      for (const [name, r] of to) if (from.get(name)?.version !== r.version) changed.push(name);
      for (const name of from.keys()) if (!to.has(name)) removed.push(name);
      d = { changed, removed };
      byTo.set(to, d);
    }
    return d;
  }
}
