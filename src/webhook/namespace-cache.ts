// Namespace labels for the injection decision, read from a watched cache instead of a GET per
// admission: the API server calls the webhook for every Pod it creates, and a GET each time put
// one API round trip (and one API-server request) on every Pod's creation path.
//
// The cache is behind a small interface so the controller's own Namespace informer or the
// webhook's (namespace-informer.ts) can serve it. Until the cache has synced, and for a namespace
// it does not know yet (created a moment ago, its watch event not yet here), the GET stays the
// answer: never a wrong "not labelled" because the cache lagged.
import type { NamespaceLabelSource } from './kube.js';

export interface NamespaceCache {
  /** True once the first complete list is in. */
  synced(): boolean;
  /** The namespace's labels, or undefined when the cache holds no such namespace. */
  labels(namespace: string): Readonly<Record<string, string>> | undefined;
}

/** How lookups were answered, for tests and metrics. */
interface NamespaceLookupStats {
  cached: number;
  /** Answered by the fallback because the cache had not synced. */
  notSynced: number;
  /** Answered by the fallback because the synced cache did not know the namespace. */
  missed: number;
}

export class CachedNamespaceLabels implements NamespaceLabelSource {
  readonly stats: NamespaceLookupStats = { cached: 0, notSynced: 0, missed: 0 };

  constructor(
    private readonly cache: NamespaceCache,
    private readonly fallback: NamespaceLabelSource,
    private readonly onClose?: () => Promise<void>,
  ) {}

  async labels(namespace: string): Promise<Readonly<Record<string, string>> | undefined> {
    if (!this.cache.synced()) {
      this.stats.notSynced++;
      return this.fallback.labels(namespace);
    }
    const labels = this.cache.labels(namespace);
    if (labels !== undefined) {
      this.stats.cached++;
      return labels;
    }
    this.stats.missed++;
    return this.fallback.labels(namespace);
  }

  async close(): Promise<void> {
    await this.onClose?.();
  }
}
