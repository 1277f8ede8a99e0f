// Two resource maps seen as one, without copying: the resources every proxy of a kind shares
// (thousands of clusters) plus the few of one workload class (its inbound clusters). A mesh has
// a class per Deployment; copying the shared part into every class made every config change
// cost classes × clusters in copies, hashes and diffs. The server's version, diff and body
// helpers recognise the parts and work on them (each computed once, shared by all classes).
import type { ResourceMap, XdsResource } from './proxy-view.js';

export class MergedResourceMap implements ReadonlyMap<string, XdsResource> {
  /** Names of `extra` that also exist in `base` (extra wins, as in `new Map([...base, ...extra])`). */
  readonly overlap: number;
  readonly size: number;

  constructor(readonly base: ResourceMap, readonly extra: ResourceMap) {
    let overlap = 0;
    for (const name of extra.keys()) if (base.has(name)) overlap++;
    this.overlap = overlap;
    this.size = base.size + extra.size - overlap;
  }

  get(name: string): XdsResource | undefined {
    return this.extra.get(name) ?? this.base.get(name);
  }

  has(name: string): boolean {
    return this.extra.has(name) || this.base.has(name);
  }

  *entries(): MapIterator<[string, XdsResource]> {
    for (const e of this.base) if (this.overlap === 0 || !this.extra.has(e[0])) yield e;
    yield* this.extra;
  }

  *keys(): MapIterator<string> {
    for (const [k] of this.entries()) yield k;
  }

  *values(): MapIterator<XdsResource> {
    for (const [, v] of this.entries()) yield v;
  }

  [Symbol.iterator](): MapIterator<[string, XdsResource]> {
    return this.entries();
  }

  forEach(fn: (value: XdsResource, key: string, map: ReadonlyMap<string, XdsResource>) => void, thisArg?: unknown): void {
    for (const [k, v] of this.entries()) fn.call(thisArg, v, k, this);
  }
}

/** base + extra as one map; extra alone when base is empty, base alone when extra is. */
export function mergeResourceMaps(base: ResourceMap, extra: ResourceMap): ResourceMap {
  if (extra.size === 0) return base;
  if (base.size === 0) return extra;
  return new MergedResourceMap(base, extra);
}
