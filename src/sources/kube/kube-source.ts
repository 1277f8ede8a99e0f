// The Kubernetes API as a Source: one supervised informer per kind, cluster-wide, reported to the
// store as one ObjectSet whenever any of them changes.
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../../logging.js';
import type { CustomObject } from '../../model/k8s-object.js';
import { emptyObjectLists, OBJECT_KINDS, type ObjectSet } from '../objects.js';
import type { Source, SourceSink } from '../source.js';
import {
  DEFAULT_TUNING, SupervisedInformer, type InformerMetricsSink, type InformerStats, type InformerTuning,
} from './informer.js';
import {
  ACCESS_POLICIES, GRPC_ROUTES, HTTP_ROUTES, PEER_AUTHENTICATIONS, TRAFFIC_POLICIES, TRAFFIC_ROUTES, TRAFFIC_SCOPES, WATCHED_KINDS,
  type RawObject, type WatchedKind,
} from './kinds.js';
import { KubeRest } from '../../kube/rest.js';

interface KubeSourceOptions {
  readonly kubeConfig: KubeConfig;
  readonly logger: Logger;
  /** Overrides of the informer timings (tests make them short). */
  readonly tuning?: Partial<InformerTuning>;
  /** Default WATCHED_KINDS. */
  readonly kinds?: readonly WatchedKind[];
  /** For the watch-timeout spread and backoff jitter; default Math.random. */
  readonly random?: () => number;
  readonly metrics?: InformerMetricsSink;
}

type RoutingKindName = 'TrafficRoute' | 'TrafficPolicy' | 'TrafficScope' | 'HTTPRoute' | 'GRPCRoute';

const ROUTING_KINDS: Readonly<Record<RoutingKindName, WatchedKind>> = {
  TrafficRoute: TRAFFIC_ROUTES, TrafficPolicy: TRAFFIC_POLICIES, TrafficScope: TRAFFIC_SCOPES, HTTPRoute: HTTP_ROUTES, GRPCRoute: GRPC_ROUTES,
};

export class KubeSource implements Source {
  readonly name = 'kubernetes';
  private readonly informers: SupervisedInformer[];
  private readonly log: Logger;
  private sink: SourceSink | undefined;
  private reportScheduled = false;
  private stopped = false;
  /** Set once the initial content was reported; changes before that are part of it. */
  private live = false;
  private readonly listeners = new Set<() => void>();

  constructor(opts: KubeSourceOptions) {
    this.log = opts.logger.child({ component: 'kube-source' });
    const tuning: InformerTuning = { ...DEFAULT_TUNING, ...opts.tuning };
    const rest = new KubeRest(opts.kubeConfig, tuning.requestTimeoutMs);
    this.informers = (opts.kinds ?? WATCHED_KINDS).map((kind) =>
      new SupervisedInformer(opts.kubeConfig, rest, kind, this.log, tuning, () => this.changed(), opts.random, opts.metrics));
  }

  /** Resolves once every kind has been listed; until then nothing is reported (readiness waits). */
  async start(sink: SourceSink): Promise<void> {
    this.sink = sink;
    const started = Date.now();
    for (const informer of this.informers) informer.start();
    await Promise.all(this.informers.map((i) => i.synced));
    if (this.stopped) return;
    this.live = true;
    this.report();
    this.log.info('initial sync done', { ms: Date.now() - started, ...this.counts() });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.informers.map((i) => i.stop()));
  }

  /** Called (coalesced, after the objects were reported) whenever any watched object changed. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => { this.listeners.delete(listener); };
  }

  /** The cached routing objects as stored, status and resourceVersion included (for status writing). */
  routingObject(kind: RoutingKindName, namespace: string, name: string): CustomObject | undefined {
    const informer = this.informerFor(ROUTING_KINDS[kind]);
    return informer?.get(namespace, name) as CustomObject | undefined;
  }

  /** The cached PeerAuthentication as stored, status and resourceVersion included (for status writing). */
  peerAuthentication(namespace: string, name: string): CustomObject | undefined {
    return this.informerFor(PEER_AUTHENTICATIONS)?.get(namespace, name) as CustomObject | undefined;
  }

  /** A cached AccessPolicy as stored, status and resourceVersion included (for status writing). */
  accessPolicy(namespace: string, name: string): CustomObject | undefined {
    return this.informerFor(ACCESS_POLICIES)?.get(namespace, name) as CustomObject | undefined;
  }

  stats(): Record<string, InformerStats> {
    return Object.fromEntries(this.informers.map((i) => [i.kind.kind, { ...i.stats }]));
  }

  /** The current content, as reported to the store. */
  objects(): ObjectSet {
    const set = emptyObjectLists<RawObject>();
    for (const informer of this.informers) {
      const config = OBJECT_KINDS.find((k) => k.key === informer.kind.key)?.config === true;
      for (const obj of informer.objects()) set[informer.kind.key].push(config ? withoutStatus(obj) : obj);
    }
    return set as unknown as ObjectSet;
  }

  private informerFor(kind: WatchedKind): SupervisedInformer | undefined {
    return this.informers.find((i) => i.kind === kind);
  }

  private counts(): Record<string, number> {
    return Object.fromEntries(this.informers.map((i) => [i.kind.key, i.objects().length]));
  }

  private changed(): void {
    // A re-list fires one callback per object: report once per turn of the event loop.
    if (this.reportScheduled || !this.live) return;
    this.reportScheduled = true;
    setImmediate(() => {
      this.reportScheduled = false;
      if (!this.stopped) this.report();
    });
  }

  private report(): void {
    this.sink?.replace(this.name, this.objects());
    for (const l of [...this.listeners]) {
      try {
        l();
      } catch (err) {
        this.log.error('change listener failed', { error: (err as Error).stack ?? String(err) });
      }
    }
  }
}

/**
 * Routing objects reach the model without status and resourceVersion: the controller's own
 * status writes change exactly those, and must not look like a configuration change (each would
 * regenerate xDS for every proxy class).
 */
function withoutStatus(obj: RawObject): RawObject {
  const { status: _status, ...rest } = obj;
  const { resourceVersion: _rv, ...meta } = obj.metadata ?? {};
  return { ...rest, metadata: meta };
}
