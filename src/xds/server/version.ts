// Content-derived response versions and per-response nonces.
import { createHash, randomBytes } from 'node:crypto';
import type { ResourceMap, XdsResource } from '../proxy-view.js';
import { MergedResourceMap } from '../merged-map.js';

function hashOf(resources: Iterable<XdsResource>): string {
  // Sorted by name so the same set gives the same version whatever order it was built in.
  const list = [...resources].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  // One update with the whole text: the same bytes as one update per field, a fraction of the calls.
  let text = '';
  for (const r of list) text += `${r.name}\0${r.version}\n`;
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** The version_info of a SotW response: a hash over the (name, version) pairs it carries. */
export function setVersion(resources: Iterable<XdsResource>): string {
  return hashOf(resources);
}

/**
 * setVersion of a whole map, computed once per map: every wildcard stream of a proxy class
 * carries the very same map. A merged map (a kind's shared resources plus a class's own) is
 * versioned by its parts' versions, so the shared part is hashed once for all classes; its
 * version is still a function of the content, just not the same string as for the same
 * resources in a plain map.
 */
export class MapVersions {
  private readonly versions = new WeakMap<ResourceMap, string>();

  of(whole: ResourceMap): string {
    let v = this.versions.get(whole);
    if (v === undefined) {
      v = whole instanceof MergedResourceMap && whole.overlap === 0
        ? createHash('sha256').update(`merged\0${this.of(whole.base)}\0${this.of(whole.extra)}`).digest('hex').slice(0, 16)
        : hashOf(whole.values());
      this.versions.set(whole, v);
    }
    return v;
  }
}

/** A version for a delta response: what it sends and what it removes. */
export function deltaVersion(resources: readonly XdsResource[], removed: readonly string[]): string {
  const h = createHash('sha256');
  h.update(setVersion(resources));
  for (const name of [...removed].sort()) h.update('-').update(name).update('\n');
  return h.digest('hex').slice(0, 16);
}

/** Response nonces: a random prefix per server keeps a restarted server's distinct from the old one's. */
export class Nonces {
  private readonly prefix = randomBytes(4).toString('hex');
  private counter = 0;

  next(): string {
    this.counter += 1;
    return `${this.prefix}-${this.counter.toString(36)}`;
  }
}
