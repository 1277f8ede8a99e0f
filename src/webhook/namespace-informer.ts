// The webhook's own Namespace cache: one supervised list/watch of Namespaces (the controller's
// informer machinery, with its stall detection and backoff), kept as name -> labels.
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../logging.js';
import { KubeRest } from '../kube/rest.js';
import { DEFAULT_TUNING, SupervisedInformer, type InformerTuning } from '../sources/kube/informer.js';
import { NAMESPACES } from '../sources/kube/kinds.js';
import { CachedNamespaceLabels, type NamespaceCache } from './namespace-cache.js';
import { KubeNamespaceLabels } from './kube-client.js';

export class InformerNamespaceCache implements NamespaceCache {
  private readonly informer: SupervisedInformer;
  private isSynced = false;

  /** `onChange` runs after each Namespace event (lookups read the store, so nothing else needs it). */
  constructor(kc: KubeConfig, logger: Logger, tuning: InformerTuning = DEFAULT_TUNING, onChange: () => void = () => undefined) {
    const rest = new KubeRest(kc, tuning.requestTimeoutMs);
    this.informer = new SupervisedInformer(kc, rest, NAMESPACES, logger, tuning, onChange);
    void this.informer.synced.then(() => { this.isSynced = true; });
  }

  start(): void {
    this.informer.start();
  }

  /** Resolves after the first complete list. */
  get whenSynced(): Promise<void> {
    return this.informer.synced;
  }

  synced(): boolean {
    return this.isSynced;
  }

  labels(namespace: string): Readonly<Record<string, string>> | undefined {
    const ns = this.informer.get(undefined, namespace);
    if (!ns) return undefined;
    return ns.metadata?.labels ?? {};
  }

  async stop(): Promise<void> {
    await this.informer.stop();
  }
}

/**
 * Namespace labels from a Namespace informer started here, falling back to a GET until it has
 * synced and for namespaces it does not know yet. close() stops the informer.
 */
export function watchedNamespaceLabels(kc: KubeConfig, logger: Logger): CachedNamespaceLabels {
  const cache = new InformerNamespaceCache(kc, logger.child({ component: 'namespace-cache' }));
  cache.start();
  return new CachedNamespaceLabels(cache, new KubeNamespaceLabels(kc), () => cache.stop());
}
