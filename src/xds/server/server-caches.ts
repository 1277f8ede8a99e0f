// The caches one xDS server's streams share, owned by the server (not by modules): two servers
// in one process share nothing, and everything goes when the server does.
import { BodyCache } from './body-cache.js';
import { DeltaChanges } from './delta-changes.js';
import { NameInterner } from './intern.js';
import { MapDiffs } from './map-diff.js';
import { NameLists } from './name-lists.js';
import { SotwShares } from './sotw-shares.js';
import { SubscriptionSets } from './subscription.js';
import { MapVersions, Nonces } from './version.js';

export interface ServerCacheLimits {
  /** Bytes of long SotW name lists kept for the streams that hold them (see NameLists). */
  readonly maxNameListBytes: number;
  /** Bytes of interned resource names (see NameInterner). */
  readonly maxInternedNameBytes: number;
}

/**
 * 16 MiB of response bodies holds what one push to a large mesh shares (per kind and namespace:
 * cluster runs, route configurations, the endpoint set); a bigger cache only kept bodies of
 * superseded maps alive (and the maps with them) until evicted.
 */
const BODY_CACHE_BYTES = 16 * 1024 * 1024;

export class ServerCaches {
  readonly bodies = new BodyCache(BODY_CACHE_BYTES);
  readonly names: NameInterner;
  readonly lists: NameLists;
  readonly subscriptions: SubscriptionSets;
  readonly diffs = new MapDiffs();
  readonly versions = new MapVersions();
  readonly nonces = new Nonces();
  readonly sotw = new SotwShares();
  readonly deltaChanges = new DeltaChanges();

  /**
   * @param onListBudgetFull told each time a long list is not kept for want of budget
   * @param onListDropped told of the bytes of a list dropped when its last stream let go
   */
  constructor(limits: ServerCacheLimits, onListBudgetFull: () => void = () => undefined,
    onListDropped: (bytes: number) => void = () => undefined) {
    this.names = new NameInterner(limits.maxInternedNameBytes);
    this.lists = new NameLists(this.names, limits.maxNameListBytes, onListBudgetFull, onListDropped);
    this.subscriptions = new SubscriptionSets(this.names);
  }
}
