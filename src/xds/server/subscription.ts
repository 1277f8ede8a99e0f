// What one stream subscribed to for one resource type, with the xDS wildcard rules:
// "*" subscribes to everything, and (legacy) so does never having named anything at all;
// once any name was given, an empty list means "nothing", not "everything".
import { isFullState } from '../types.js';
import type { ResourceMap, XdsResource } from './config-source.js';
import { internName } from './intern.js';

export const WILDCARD = '*';

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The sets made from long, shared lists (the codec hands every sidecar of a class the same frozen
 * list of thousands of EDS names): one Set per list, shared by the streams restating it, instead
 * of a Set of thousands of entries per stream. Keyed by wildcard capability, which decides "*".
 */
const sharedSets = [new WeakMap<readonly string[], { wildcard: boolean; names: Set<string> }>(),
  new WeakMap<readonly string[], { wildcard: boolean; names: Set<string> }>()];

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
 * Delta subscriptions with the same content share one Set. Delta clients build their lists
 * name by name, so there is no shared list to key on as with SotW; instead each subscription
 * keeps a sum of random per-name weights (a multiset hash, updated per name) and finds an equal
 * Set by it. A sidecar subscribed to every EDS cluster otherwise holds a Set of thousands of
 * names of its own (about 50 kB each, most of the heap a thousand Delta sidecars need).
 */
const deltaSets = new Map<string, WeakRef<Set<string>>>();
const forgetDeltaSet = new FinalizationRegistry<string>((key) => {
  if (deltaSets.get(key)?.deref() === undefined) deltaSets.delete(key);
});

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const n of a) if (!b.has(n)) return false;
  return true;
}

export class Subscription {
  wildcard = false;
  private current = new Set<string>();
  private everNamed = false;
  /** `current` is shared with other streams (see sharedSets): copy it before changing it. */
  private sharedCurrent = false;
  /** The list of the last SotW request that changed anything (its strings are the ones in `names`). */
  private lastList: readonly string[] = [];
  /** Only LDS and CDS have wildcard subscriptions; for RDS/EDS "*" is just a name. */
  readonly wildcardCapable: boolean;
  /** Delta: the sum of the weights of `current`'s names (see deltaSets). */
  private key = 0;

  constructor(typeUrl: string) {
    this.wildcardCapable = isFullState(typeUrl);
  }

  /** The subscribed names (besides the wildcard). */
  get names(): Set<string> {
    return this.current;
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
    this.lastList = Object.isFrozen(list) ? list : list.map(internName);
    const wasWildcard = this.wildcard;
    const before = this.current;
    let next: Set<string>;
    if (list.length === 0 && !this.everNamed) {
      this.wildcard = this.wildcardCapable;
      next = new Set<string>();
      this.sharedCurrent = false;
    } else {
      this.everNamed = true;
      const cache = Object.isFrozen(list) ? sharedSets[this.wildcardCapable ? 1 : 0] : undefined;
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
    const added: string[] = [];
    for (const n of next) if (!before.has(n)) added.push(n);
    return { added, wildcardAdded: this.wildcard && !wasWildcard };
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
      const n = internName(raw);
      this.everNamed = true;
      if (n === WILDCARD && this.wildcardCapable) this.wildcard = true;
      else {
        if (!this.current.has(n)) {
          this.own().add(n);
          this.key = (this.key + weightOf(n)) % KEY_MOD;
          changed = true;
        }
        // Even a name already subscribed counts as added: the client may have forgotten it,
        // and the protocol says a re-subscribed resource must be sent again.
        added.push(n);
      }
    }
    for (const n of unsubscribe) {
      if (n === WILDCARD && this.wildcardCapable) this.wildcard = false;
      else if (this.current.has(n)) {
        this.own().delete(n);
        this.key = (this.key - weightOf(n) + KEY_MOD) % KEY_MOD;
        removed.push(n);
        changed = true;
      }
    }
    if (changed) this.share();
    return { added, removed, wildcardAdded: this.wildcard && !wasWildcard };
  }

  /** `current`, copied first if it is shared with other streams. */
  private own(): Set<string> {
    if (this.sharedCurrent) {
      this.current = new Set(this.current);
      this.sharedCurrent = false;
    }
    return this.current;
  }

  /** Swaps a large Delta set for an equal shared one, or offers it for sharing. */
  private share(): void {
    if (this.current.size < SHARE_MIN) return;
    const key = `${this.current.size}:${this.key}`;
    const found = deltaSets.get(key)?.deref();
    if (found && found !== this.current && sameSet(found, this.current)) {
      this.current = found;
    } else if (!found) {
      deltaSets.set(key, new WeakRef(this.current));
      forgetDeltaSet.register(this.current, key);
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
