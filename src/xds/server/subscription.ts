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
    if (this.sharedCurrent) {
      this.current = new Set(this.current);
      this.sharedCurrent = false;
    }
    if (first && subscribe.length === 0 && unsubscribe.length === 0 && !this.everNamed) {
      this.wildcard = this.wildcardCapable;
    }
    const added: string[] = [];
    const removed: string[] = [];
    for (const raw of subscribe) {
      const n = internName(raw);
      this.everNamed = true;
      if (n === WILDCARD && this.wildcardCapable) this.wildcard = true;
      else {
        // Even a name already subscribed counts as added: the client may have forgotten it,
        // and the protocol says a re-subscribed resource must be sent again.
        this.names.add(n);
        added.push(n);
      }
    }
    for (const n of unsubscribe) {
      if (n === WILDCARD && this.wildcardCapable) this.wildcard = false;
      else if (this.names.delete(n)) removed.push(n);
    }
    return { added, removed, wildcardAdded: this.wildcard && !wasWildcard };
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
