// What one stream subscribed to for one resource type, with the xDS wildcard rules:
// "*" subscribes to everything, and (legacy) so does never having named anything at all;
// once any name was given, an empty list means "nothing", not "everything".
import { sameSet } from '../../deep-equal.js';
import { isFullState } from '../types.js';
import type { ResourceMap, XdsResource } from '../proxy-view.js';
import type { NameInterner } from './intern.js';

export const WILDCARD = '*';

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const KEY_MOD = 2 ** 52;

/** A name's weight in the content key of Delta subscriptions (two FNV-1a hashes, 52 bits). */
function weightOf(name: string): number {
  let a = 0x811c9dc5;
  let b = 0x01000193;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    a = Math.imul(a ^ c, 16777619);
    b = Math.imul(b ^ c, 2246822519);
  }
  return ((a >>> 0) % 2 ** 20) * 2 ** 32 + (b >>> 0);
}

/** Below this size a Delta subscription keeps its own Set: sharing would save little. */
const SHARE_MIN = 64;

/**
 * Changes to a shared set are kept beside it, up to this many, before the stream makes a set of
 * its own: a new service adds one EDS name to every Delta sidecar, and copying a shared set of
 * thousands per sidecar for it cost more than the rest of the push.
 */
const LAYER_MAX = 32;
const EMPTY_SET: ReadonlySet<string> = new Set();

/** A shared set seen through one stream's changes to it (added: not in base; removed: in base). */
class LayeredSet implements ReadonlySet<string> {
  constructor(private readonly base: ReadonlySet<string>, private readonly added: ReadonlySet<string>,
    private readonly removed: ReadonlySet<string>) {}

  get size(): number {
    return this.base.size - this.removed.size + this.added.size;
  }

  has(name: string): boolean {
    return this.added.has(name) || (this.base.has(name) && !this.removed.has(name));
  }

  *values(): SetIterator<string> {
    for (const n of this.base) if (!this.removed.has(n)) yield n;
    yield* this.added;
  }

  keys(): SetIterator<string> {
    return this.values();
  }

  *entries(): SetIterator<[string, string]> {
    for (const n of this.values()) yield [n, n];
  }

  [Symbol.iterator](): SetIterator<string> {
    return this.values();
  }

  forEach(fn: (value: string, key: string, set: ReadonlySet<string>) => void, thisArg?: unknown): void {
    for (const n of this.values()) fn.call(thisArg, n, n, this);
  }
}

/** Shared list sets: made from one frozen list, keyed by wildcard capability (which decides "*"). */
type ListSets = WeakMap<readonly string[], { wildcard: boolean; names: Set<string> }>;

/**
 * What the subscriptions of one server share, so that equal subscriptions cost memory once.
 *
 * - The sets made from long, shared lists (the codec hands every sidecar of a class the same
 *   frozen list of thousands of EDS names): one Set per list, shared by the streams restating
 *   it, instead of a Set of thousands of entries per stream.
 * - Delta subscriptions with the same content share one Set. Delta clients build their lists
 *   name by name, so there is no shared list to key on as with SotW; instead each subscription
 *   keeps a sum of random per-name weights (a multiset hash, updated per name) and finds an equal
 *   Set by it. A sidecar subscribed to every EDS cluster otherwise holds a Set of thousands of
 *   names of its own (about 50 kB each, most of the heap a thousand Delta sidecars need).
 * - What a new shared list adds to an old one is the same for every stream moving between them
 *   (every SotW sidecar, when a new service adds a cluster): worked out once per pair.
 *
 * Everything is held weakly (by the lists and sets the streams hold), so it goes with them.
 */
export class SubscriptionSets {
  readonly listSets: readonly [ListSets, ListSets] = [new WeakMap(), new WeakMap()];
  private readonly deltaSets = new Map<string, WeakRef<Set<string>>>();
  private readonly forgetDeltaSet = new FinalizationRegistry<string>((key) => {
    if (this.deltaSets.get(key)?.deref() === undefined) this.deltaSets.delete(key);
  });
  private readonly addedBetween = new WeakMap<ReadonlySet<string>, WeakMap<ReadonlySet<string>, readonly string[]>>();
  /** Total name length of shared (frozen) lists: every SotW sidecar of a class restates the same one. */
  private readonly lengths = new WeakMap<readonly string[], number>();

  constructor(readonly names: NameInterner) {}

  /** The total length of a list's names, computed once per shared list. */
  lengthOf(list: readonly string[]): number {
    if (!Object.isFrozen(list)) return totalLength(list);
    let n = this.lengths.get(list);
    if (n === undefined) this.lengths.set(list, (n = totalLength(list)));
    return n;
  }

  /** A shared Delta set with this content key, if one is alive. */
  deltaSet(key: string): Set<string> | undefined {
    return this.deltaSets.get(key)?.deref();
  }

  offerDeltaSet(key: string, set: Set<string>): void {
    this.deltaSets.set(key, new WeakRef(set));
    this.forgetDeltaSet.register(set, key);
  }

  addedNames(before: ReadonlySet<string>, next: ReadonlySet<string>, shared: boolean): string[] {
    let byNext = shared ? this.addedBetween.get(before) : undefined;
    const known = byNext?.get(next);
    if (known) return [...known];
    const added: string[] = [];
    for (const n of next) if (!before.has(n)) added.push(n);
    if (shared) {
      if (!byNext) this.addedBetween.set(before, (byNext = new WeakMap()));
      byNext.set(next, added);
    }
    return [...added];
  }
}

function totalLength(names: Iterable<string>): number {
  let n = 0;
  for (const s of names) n += s.length;
  return n;
}

export class Subscription {
  wildcard = false;
  private current = new Set<string>();
  /** Delta changes to a shared `current` (see LAYER_MAX), and the view of both. */
  private added: Set<string> | undefined;
  private removed: Set<string> | undefined;
  private layered: LayeredSet | undefined;
  private everNamed = false;
  /** `current` is shared with other streams (see SubscriptionSets): copy it before changing it. */
  private sharedCurrent = false;
  /** The list of the last SotW request that changed anything (its strings are the ones in `names`). */
  private lastList: readonly string[] = [];
  /** Only LDS and CDS have wildcard subscriptions; for RDS/EDS "*" is just a name. */
  readonly wildcardCapable: boolean;
  /** Delta: the sum of the weights of `current`'s names (see SubscriptionSets). */
  private key = 0;
  private chars = 0;

  constructor(typeUrl: string, private readonly sets: SubscriptionSets) {
    this.wildcardCapable = isFullState(typeUrl);
  }

  /** Total length of the subscribed names: what a stream is charged for them (see the server's maxSubscribedNameBytes). */
  get nameBytes(): number {
    return this.chars;
  }

  /** The subscribed names (besides the wildcard). */
  get names(): ReadonlySet<string> {
    if (!this.added && !this.removed) return this.current;
    return (this.layered ??= new LayeredSet(this.current, this.added ?? EMPTY_SET, this.removed ?? EMPTY_SET));
  }

  /** The list of the last SotW request that changed the subscription. */
  get list(): readonly string[] {
    return this.lastList;
  }

  /** SotW: the request carries the whole new list. Returns the names that were not subscribed before. */
  replace(list: readonly string[]): { added: string[]; wildcardAdded: boolean } {
    // Every ACK restates the list (thousands of EDS names for a sidecar): when it is the one last
    // applied, element for element, nothing changes and nothing is rebuilt.
    if (this.everNamed && sameList(list, this.lastList)) return { added: [], wildcardAdded: false };
    // Long lists come from the codec's cache, interned and frozen already.
    this.lastList = Object.isFrozen(list) ? list : list.map((n) => this.sets.names.intern(n));
    this.chars = this.sets.lengthOf(this.lastList);
    const wasWildcard = this.wildcard;
    const before = this.names;
    this.clearLayers();
    let next: Set<string>;
    if (list.length === 0 && !this.everNamed) {
      this.wildcard = this.wildcardCapable;
      next = new Set<string>();
      this.sharedCurrent = false;
    } else {
      this.everNamed = true;
      const cache = Object.isFrozen(list) ? this.sets.listSets[this.wildcardCapable ? 1 : 0] : undefined;
      let made = cache?.get(list);
      if (!made) {
        made = { wildcard: false, names: new Set<string>() };
        for (const n of this.lastList) {
          if (n === WILDCARD && this.wildcardCapable) made.wildcard = true;
          else made.names.add(n);
        }
        cache?.set(list, made);
      }
      this.wildcard = made.wildcard;
      next = made.names;
      this.sharedCurrent = cache !== undefined;
    }
    // The new set replaces the old one (no copy of the old, no clear-and-refill).
    this.current = next;
    return { added: this.sets.addedNames(before, next, this.sharedCurrent), wildcardAdded: this.wildcard && !wasWildcard };
  }

  /** Delta: subscribe/unsubscribe lists are changes to the current set. */
  update(subscribe: readonly string[], unsubscribe: readonly string[], first: boolean): {
    added: string[]; removed: string[]; wildcardAdded: boolean;
  } {
    const wasWildcard = this.wildcard;
    if (first && subscribe.length === 0 && unsubscribe.length === 0 && !this.everNamed) {
      this.wildcard = this.wildcardCapable;
    }
    const added: string[] = [];
    const removed: string[] = [];
    let changed = false;
    for (const raw of subscribe) {
      const n = this.sets.names.intern(raw);
      this.everNamed = true;
      if (n === WILDCARD && this.wildcardCapable) this.wildcard = true;
      else {
        if (this.add(n)) {
          this.key = (this.key + weightOf(n)) % KEY_MOD;
          this.chars += n.length;
          changed = true;
        }
        // Even a name already subscribed counts as added: the client may have forgotten it,
        // and the protocol says a re-subscribed resource must be sent again.
        added.push(n);
      }
    }
    for (const n of unsubscribe) {
      if (n === WILDCARD && this.wildcardCapable) this.wildcard = false;
      else if (this.remove(n)) {
        this.key = (this.key - weightOf(n) + KEY_MOD) % KEY_MOD;
        this.chars -= n.length;
        removed.push(n);
        changed = true;
      }
    }
    if (changed) {
      if ((this.added?.size ?? 0) + (this.removed?.size ?? 0) > LAYER_MAX) this.materialize();
      if (!this.sharedCurrent) this.share();
    }
    return { added, removed, wildcardAdded: this.wildcard && !wasWildcard };
  }

  /** Adds a name; false if it was there. A shared set is not copied: the change is layered. */
  private add(n: string): boolean {
    if (this.removed?.delete(n)) {
      this.layered = undefined;
      return true;
    }
    if (this.current.has(n) || this.added?.has(n)) return false;
    if (this.sharedCurrent) {
      (this.added ??= new Set()).add(n);
      this.layered = undefined;
    } else this.current.add(n);
    return true;
  }

  private remove(n: string): boolean {
    if (this.added?.delete(n)) {
      this.layered = undefined;
      return true;
    }
    if (!this.current.has(n) || this.removed?.has(n)) return false;
    if (this.sharedCurrent) {
      (this.removed ??= new Set()).add(n);
      this.layered = undefined;
    } else this.current.delete(n);
    return true;
  }

  private clearLayers(): void {
    this.added = undefined;
    this.removed = undefined;
    this.layered = undefined;
  }

  /** Too many changes beside a shared set: make the set of our own (and offer it for sharing). */
  private materialize(): void {
    const next = new Set(this.names);
    this.clearLayers();
    this.current = next;
    this.sharedCurrent = false;
  }

  /** Swaps a large Delta set of our own for an equal shared one, or offers it for sharing. */
  private share(): void {
    if (this.current.size < SHARE_MIN) return;
    const key = `${this.current.size}:${this.key}`;
    const found = this.sets.deltaSet(key);
    if (found && found !== this.current && sameSet(found, this.current)) {
      this.current = found;
    } else if (!found) {
      this.sets.offerDeltaSet(key, this.current);
    } else if (found !== this.current) {
      return;
    }
    this.sharedCurrent = true;
  }

  /** Nothing subscribed at all: no response is owed for this type. */
  get empty(): boolean {
    return !this.wildcard && this.names.size === 0;
  }

  /** Whether a resource of this name, if it exists, belongs to this subscription. */
  covers(name: string): boolean {
    return this.wildcard || this.names.has(name);
  }

  /** The subscribed resources that exist, in a stable order. */
  select(all: ResourceMap): XdsResource[] {
    if (this.wildcard) return [...all.values()];
    const out: XdsResource[] = [];
    for (const n of this.names) {
      const r = all.get(n);
      if (r) out.push(r);
    }
    return out;
  }
}
