// A service's endpoints in the order the model lists them, kept so that a change re-sorts only
// what it changed. The model's order is a stable sort of the service's slices' endpoints (slices
// by namespace/name, endpoints in slice order) by address, ports, health and Pod name; a stable
// sort is a sort by that key followed by the position in the input, so every endpoint carries its
// position as (slice name, index) and the order becomes total. Then the list of a changed service
// is the previous list without the endpoints of slices that changed, merged with the sorted
// endpoints of the new slices: linear in the service, plus a sort of what changed.
import type { Endpoint } from '../../model/mesh.js';

/** An endpoint where it stands in its service's list. */
export interface Placed<From> {
  /** Address, NUL, ports: compared as text, it compares the address and then the ports. */
  readonly key: string;
  readonly endpoint: Endpoint;
  /** The translation of the slice it came from: an entry is reusable while that translation is. */
  readonly from: From;
  readonly sliceName: string;
  readonly index: number;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Healthier first, so the duplicate kept is the one that can take traffic. */
function rank(e: Endpoint): number {
  return (e.ready ? 2 : 0) + (e.serving ? 1 : 0);
}

/** The model's order, made total by the position in the input. */
function comparePlaced<F>(a: Placed<F>, b: Placed<F>): number {
  return compareText(a.key, b.key) || rank(b.endpoint) - rank(a.endpoint)
    || compareText(a.endpoint.podName ?? '', b.endpoint.podName ?? '')
    || compareText(a.sliceName, b.sliceName) || a.index - b.index;
}

/** One slice's endpoints (each with its key: address, NUL, ports), placed and sorted. */
export function placeSlice<F>(endpoints: readonly Endpoint[], keys: readonly string[], from: F, sliceName: string): Placed<F>[] {
  return endpoints.map((endpoint, index) => ({ key: keys[index] ?? '', endpoint, from, sliceName, index })).sort(comparePlaced);
}

/** Two sorted lists as one. */
function mergePlaced<F>(a: readonly Placed<F>[], b: readonly Placed<F>[]): Placed<F>[] {
  const out: Placed<F>[] = new Array<Placed<F>>(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length) {
    const x = a[i] as Placed<F>;
    const y = b[j] as Placed<F>;
    if (comparePlaced(x, y) <= 0) { out[k++] = x; i++; } else { out[k++] = y; j++; }
  }
  while (i < a.length) out[k++] = a[i++] as Placed<F>;
  while (j < b.length) out[k++] = b[j++] as Placed<F>;
  return out;
}

/** A service's endpoints in order, and the slice translations they come from. */
export interface ServiceOrder<F> {
  readonly from: readonly F[];
  readonly placed: readonly Placed<F>[];
}

/**
 * The order of a service whose slices now translate to `current` (in slice order), given an
 * earlier one: its entries from translations still current are kept in place, the others
 * dropped, and the new translations' entries sorted and merged in.
 */
export function placeService<F extends { readonly placed: readonly Placed<F>[] }>(current: readonly F[],
  earlier: ServiceOrder<F> | undefined): ServiceOrder<F> {
  const earlierFrom = new Set<F>(earlier?.from);
  const kept = new Set<F>();
  const fresh: (readonly Placed<F>[])[] = [];
  for (const t of current) {
    if (earlierFrom.has(t)) kept.add(t);
    else fresh.push(t.placed);
  }
  const added = fresh.length === 1 ? (fresh[0] ?? []) : fresh.flat().sort(comparePlaced);
  if (earlier === undefined || kept.size === 0) return { from: current, placed: added };
  const base = kept.size === earlierFrom.size ? earlier.placed : earlier.placed.filter((p) => kept.has(p.from));
  return { from: current, placed: added.length === 0 ? base : mergePlaced(base, added) };
}

/** The endpoints in order, each address and ports once: the first (the healthiest) is kept. */
export function uniqueEndpoints<F>(placed: readonly Placed<F>[]): Endpoint[] {
  const out: Endpoint[] = [];
  let previous: string | undefined;
  for (const p of placed) {
    if (p.key !== previous) out.push(p.endpoint);
    previous = p.key;
  }
  return out;
}
