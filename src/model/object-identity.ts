// Who a custom object is, as the model carries it so status can be written back and conflicts
// decided (the oldest object wins).
export interface ObjectIdentity {
  readonly namespace: string;
  readonly name: string;
  /** metadata.generation; absent for objects from files. Conditions report it as observedGeneration. */
  readonly generation?: number;
  readonly uid?: string;
  readonly resourceVersion?: string;
  /**
   * metadata.creationTimestamp as RFC 3339; absent for objects from files. When two objects claim
   * the same thing the older one wins; objects without a timestamp count as newest.
   */
  readonly creationTimestamp?: string;
}

function createdAt(meta: ObjectIdentity): number {
  const t = meta.creationTimestamp === undefined ? Number.NaN : Date.parse(meta.creationTimestamp);
  return Number.isNaN(t) ? Number.POSITIVE_INFINITY : t;
}

/** Oldest first; equal (or missing) timestamps by name, then namespace, so the order is total. */
function olderFirst(a: { readonly meta: ObjectIdentity }, b: { readonly meta: ObjectIdentity }): number {
  const ta = createdAt(a.meta);
  const tb = createdAt(b.meta);
  if (ta !== tb) return ta < tb ? -1 : 1;
  if (a.meta.name !== b.meta.name) return a.meta.name < b.meta.name ? -1 : 1;
  if (a.meta.namespace !== b.meta.namespace) return a.meta.namespace < b.meta.namespace ? -1 : 1;
  return 0;
}

/** The oldest object of `list` (olderFirst), the one that wins when several claim the same thing. */
export function oldest<T extends { readonly meta: ObjectIdentity }>(list: readonly T[]): T | undefined {
  let best: T | undefined;
  for (const p of list) if (best === undefined || olderFirst(p, best) < 0) best = p;
  return best;
}
