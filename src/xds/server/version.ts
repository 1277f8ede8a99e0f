// Content-derived response versions and per-response nonces.
import { createHash, randomBytes } from 'node:crypto';
import type { ResourceMap, XdsResource } from './config-source.js';

function hashOf(resources: Iterable<XdsResource>): string {
  // Sorted by name so the same set gives the same version whatever order it was built in.
  const list = [...resources].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const h = createHash('sha256');
  for (const r of list) h.update(r.name).update('\0').update(r.version).update('\n');
  return h.digest('hex').slice(0, 16);
}

// Every wildcard stream of a proxy class carries the very same map; hash it once per map.
const wholeMapVersions = new WeakMap<ResourceMap, string>();

/** The version_info of a SotW response: a hash over the (name, version) pairs it carries. */
export function setVersion(resources: Iterable<XdsResource>): string {
  return hashOf(resources);
}

/** setVersion of a whole map, computed once per map. */
export function mapVersion(whole: ResourceMap): string {
  let v = wholeMapVersions.get(whole);
  if (v === undefined) {
    v = hashOf(whole.values());
    wholeMapVersions.set(whole, v);
  }
  return v;
}

/** A version for a delta response: what it sends and what it removes. */
export function deltaVersion(resources: readonly XdsResource[], removed: readonly string[]): string {
  const h = createHash('sha256');
  h.update(setVersion(resources));
  for (const name of [...removed].sort()) h.update('-').update(name).update('\n');
  return h.digest('hex').slice(0, 16);
}

// A per-process prefix keeps nonces from a restarted server distinct from the old one's.
const noncePrefix = randomBytes(4).toString('hex');
let nonceCounter = 0;

export function nextNonce(): string {
  nonceCounter += 1;
  return `${noncePrefix}-${nonceCounter.toString(36)}`;
}
