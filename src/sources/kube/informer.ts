// One kind, listed and watched with client-node's informer (ListWatch), under supervision.
//
// client-node 1.3's ListWatch handles a clean end of the watch (re-watch from its last
// resourceVersion) and 410 Gone (re-list) by itself, but (see test/support/README.md):
//  - any other failure fires `error` and the informer stops for good;
//  - it applies no backoff anywhere, asks for no bookmarks and no server-side timeout;
//  - a watch that stays open but delivers nothing is never noticed;
//  - its list has no timeout.
// So this module gives it a list function of its own (paged, with a timeout, raw JSON, pruned) and
// a Watch of its own (bookmarks, a randomised server-side timeout, an idle deadline that aborts a
// silent watch), restarts it after `error` with exponential backoff and jitter, and damps a watch
// that keeps ending cleanly at once.
import {
  ListWatch, Watch, type KubeConfig, type KubernetesListObject, type KubernetesObject,
} from '@kubernetes/client-node';
import type { Logger } from '../../logging.js';
import { Backoff, type BackoffOptions } from '../../kube/backoff.js';
import { pruneObject, type RawObject, type WatchedKind } from './kinds.js';
import { errorCode, errorText, type KubeRest } from '../../kube/rest.js';

export interface InformerTuning {
  /** Items per list page; default 500. */
  readonly listPageSize: number;
  /** Deadline of each list page request; default 30 s. */
  readonly requestTimeoutMs: number;
  /**
   * Server-side end of each watch (spread over [t, 2t) so informers do not reconnect together);
   * default 300 s. A clean end is cheap: the informer resumes from its resourceVersion.
   */
  readonly watchTimeoutSeconds: number;
  /**
   * A watch that delivers nothing at all (no event, no bookmark) for this long is taken for stuck,
   * aborted and resumed. The API server sends bookmarks about once a minute to watches that ask,
   * so a healthy quiet watch never trips it. Default 180 s.
   */
  readonly stallTimeoutMs: number;
  /** A watch that ends cleanly sooner than this, having delivered nothing, counts as a failure. Default 1 s. */
  readonly minWatchMs: number;
  readonly backoff: BackoffOptions;
}

export const DEFAULT_TUNING: InformerTuning = {
  listPageSize: 500,
  requestTimeoutMs: 30_000,
  watchTimeoutSeconds: 300,
  stallTimeoutMs: 180_000,
  minWatchMs: 1_000,
  backoff: { initialMs: 500, maxMs: 30_000, factor: 2, jitter: 0.2 },
};

export interface InformerStats {
  /** Completed lists (the first one included). */
  lists: number;
  /** Watch requests opened. */
  watches: number;
  /** Failures that stopped the informer (list or watch), each followed by a restart. */
  errors: number;
  /** Watches aborted for being silent too long. */
  stalls: number;
  /** 410 Gone seen (as an ERROR event or an HTTP answer): each leads to a re-list. */
  expired: number;
}

/** Where informers count what they do (PilotfishMetrics fits; kept structural so controller/ needs no admin/ import). */
export interface InformerMetricsSink {
  readonly informerEvents: { inc(labels: { kind: string; event: string }): void };
  readonly informerRelists: { inc(labels: { kind: string }): void };
}

type WatchCallback = (phase: string, apiObj: unknown, watchObj?: unknown) => void;
type DoneCallback = (err: unknown) => void;
type QueryParams = Record<string, string | number | boolean | undefined>;

interface WatchState {
  readonly startedAt: number;
  lastEventAt: number;
  productive: boolean;
  ended: boolean;
  cleanEnd: boolean;
  stalled: boolean;
  controller?: AbortController;
  timer?: NodeJS.Timeout;
}

interface RawList {
  metadata?: { resourceVersion?: string; continue?: string };
  items?: RawObject[];
}

/** client-node's Watch, with the supervising informer deciding how each watch is opened. */
class SupervisedWatch extends Watch {
  constructor(kc: KubeConfig, private readonly owner: SupervisedInformer) {
    super(kc);
  }

  override watch(path: string, query: QueryParams, callback: WatchCallback, done: DoneCallback): Promise<AbortController> {
    return this.owner.openWatch(path, query, callback, done, (p, q, cb, d) => super.watch(p, q, cb, d));
  }
}

export class SupervisedInformer {
  readonly stats: InformerStats = { lists: 0, watches: 0, errors: 0, stalls: 0, expired: 0 };
  /** Resolves after the first complete list (or, for an optional kind, once it is known to be absent). */
  readonly synced: Promise<void>;
  private resolveSynced!: () => void;
  private isSynced = false;
  private readonly informer: ListWatch<KubernetesObject>;
  private readonly backoff: Backoff;
  private readonly log: Logger;
  private stopped = true;
  private restartTimer: NodeJS.Timeout | undefined;
  private delayTimer: { timer: NodeJS.Timeout; resolve: () => void } | undefined;
  private current: WatchState | undefined;
  /** The watch now failing was aborted by us for stalling: resume at once, not after a backoff. */
  private abortedForStall = false;
  private expiredPending = false;
  private absentLogged = false;
  private listedOnce = false;

  constructor(
    kc: KubeConfig,
    private readonly rest: KubeRest,
    readonly kind: WatchedKind,
    logger: Logger,
    private readonly tuning: InformerTuning,
    onChange: () => void,
    private readonly random: () => number = Math.random,
    private readonly metrics?: InformerMetricsSink,
  ) {
    this.log = logger.child({ informer: kind.kind });
    this.backoff = new Backoff({ ...tuning.backoff, random });
    this.synced = new Promise((resolve) => { this.resolveSynced = resolve; });
    this.informer = new ListWatch<KubernetesObject>(kind.path, new SupervisedWatch(kc, this), () => this.list(), false);
    for (const event of ['add', 'update', 'delete'] as const) {
      this.informer.on(event, () => {
        this.metrics?.informerEvents.inc({ kind: kind.kind, event });
        onChange();
      });
    }
    this.informer.on('error', (err: unknown) => this.failed(err));
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    if (this.delayTimer) {
      clearTimeout(this.delayTimer.timer);
      this.delayTimer.resolve();
    }
    if (this.current?.timer) clearTimeout(this.current.timer);
    await this.informer.stop();
  }

  /** The cached objects (raw JSON, pruned). */
  objects(): readonly RawObject[] {
    return this.informer.list() as readonly RawObject[];
  }

  get(namespace: string | undefined, name: string): RawObject | undefined {
    return this.informer.get(name, namespace) as RawObject | undefined;
  }

  private run(): void {
    this.informer.start().catch((err: unknown) => this.failed(err));
  }

  private markSynced(): void {
    if (this.isSynced) return;
    this.isSynced = true;
    this.resolveSynced();
  }

  private async list(): Promise<KubernetesListObject<KubernetesObject>> {
    if (this.stats.lists > 0) {
      this.log.info('re-listing', {
        reason: this.expiredPending ? 'resourceVersion expired (410 Gone)' : 'restart without a resourceVersion',
      });
    }
    this.expiredPending = false;
    const items: RawObject[] = [];
    let resourceVersion = '';
    let cont: string | undefined;
    do {
      const page = await this.rest.request<RawList>('GET', this.kind.path, {
        query: { limit: this.tuning.listPageSize, continue: cont }, timeoutMs: this.tuning.requestTimeoutMs,
      });
      for (const item of page.items ?? []) items.push(pruneObject(this.kind, item));
      // Later pages belong to the first page's snapshot; its resourceVersion is the list's.
      if (resourceVersion === '') resourceVersion = page.metadata?.resourceVersion ?? '';
      cont = page.metadata?.continue || undefined;
    } while (cont !== undefined);
    this.stats.lists++;
    this.metrics?.informerRelists.inc({ kind: this.kind.kind });
    this.backoff.reset();
    // A kind whose absence is normal says when it is there: at the first list, or once it appears.
    if (this.absentLogged || (this.kind.absent !== undefined && !this.listedOnce)) {
      this.log.info(`the ${this.kind.kind} API is served${this.absentLogged ? ' now' : ''}; watching it`, { path: this.kind.path, items: items.length });
      this.absentLogged = false;
    }
    this.listedOnce = true;
    this.log.debug('listed', { items: items.length, resourceVersion });
    return { metadata: { resourceVersion }, items: items as KubernetesObject[] };
  }

  /** Called by ListWatch (via SupervisedWatch) each time it (re)opens its watch; the list, if any, is applied by then. */
  async openWatch(path: string, query: QueryParams, callback: WatchCallback, done: DoneCallback,
    open: (path: string, query: QueryParams, callback: WatchCallback, done: DoneCallback) => Promise<AbortController>,
  ): Promise<AbortController> {
    this.markSynced();
    this.abortedForStall = false;
    const previous = this.current;
    if (previous && previous.cleanEnd && !previous.productive && Date.now() - previous.startedAt < this.tuning.minWatchMs) {
      // The server keeps ending the watch at once: without this, ListWatch would spin.
      const delay = this.backoff.next();
      this.log.warn('watch ends as soon as it opens; backing off', { delayMs: delay, attempt: this.backoff.attempts });
      await this.sleep(delay);
    }
    if (this.stopped) return new AbortController();

    const now = Date.now();
    const state: WatchState = { startedAt: now, lastEventAt: now, productive: false, ended: false, cleanEnd: false, stalled: false };
    this.current = state;
    this.stats.watches++;
    const t = this.tuning.watchTimeoutSeconds;
    const timeoutSeconds = Math.max(1, Math.floor(t + this.random() * t));

    const stallCheck = (): void => {
      if (state.ended || this.stopped) return;
      const idle = Date.now() - state.lastEventAt;
      if (idle < this.tuning.stallTimeoutMs) {
        state.timer = setTimeout(stallCheck, this.tuning.stallTimeoutMs - idle);
        return;
      }
      state.stalled = true;
      this.stats.stalls++;
      this.abortedForStall = true;
      this.log.warn('watch stalled: nothing received, not even a bookmark; restarting it', {
        idleMs: idle, resourceVersion: this.informer.latestResourceVersion(),
      });
      state.controller?.abort();
    };
    state.timer = setTimeout(stallCheck, this.tuning.stallTimeoutMs);

    const onEvent: WatchCallback = (phase, obj, raw) => {
      state.lastEventAt = Date.now();
      if (phase === 'ERROR') {
        const status = obj as { code?: number; message?: string } | undefined;
        if (status?.code === 410) this.noteExpired();
        else this.log.warn('watch reported an error', { code: status?.code, reason: status?.message });
        callback(phase, obj, raw);
        return;
      }
      state.productive = true;
      this.backoff.reset();
      if (phase === 'BOOKMARK') callback(phase, obj, raw);
      else callback(phase, pruneObject(this.kind, obj as RawObject), raw);
    };
    const onDone: DoneCallback = (err) => {
      state.ended = true;
      state.cleanEnd = !err;
      clearTimeout(state.timer);
      if (errorCode(err) === 410) this.noteExpired();
      done(err);
    };
    const controller = await open(path, { ...query, allowWatchBookmarks: true, timeoutSeconds }, onEvent, onDone);
    state.controller = controller;
    if (state.stalled && !state.ended) controller.abort();
    return controller;
  }

  private noteExpired(): void {
    this.stats.expired++;
    this.expiredPending = true;
    this.log.info('resourceVersion expired (410 Gone); the informer re-lists', { resourceVersion: this.informer.latestResourceVersion() });
  }

  /** The informer stopped after an error: restart it, at once after a stall, else after a backoff. */
  private failed(err: unknown): void {
    if (this.stopped) return;
    clearTimeout(this.restartTimer);
    if (this.abortedForStall) {
      this.abortedForStall = false;
      this.restartTimer = setTimeout(() => this.run(), 0);
      return;
    }
    this.stats.errors++;
    const code = errorCode(err);
    if (code === 404 && this.kind.optional) {
      if (!this.absentLogged) {
        this.absentLogged = true;
        if (this.kind.absent !== undefined) this.log.info(this.kind.absent, { path: this.kind.path });
        else {
          this.log.warn(`the ${this.kind.kind} API is not served (is its CRD installed? ${this.kind.installHint ?? 'kubectl apply -f crds/'}); treating it as empty and retrying`,
            { path: this.kind.path });
        }
      }
      this.markSynced();
    }
    let delay = this.backoff.next();
    const retryAfter = (err as { retryAfterSeconds?: unknown } | null)?.retryAfterSeconds;
    if (typeof retryAfter === 'number') delay = Math.max(delay, retryAfter * 1000);
    if (code !== 404 || !this.kind.optional || this.backoff.attempts <= 1) {
      this.log.warn('list/watch failed; restarting after a backoff', {
        error: errorText(err), code, delayMs: delay, attempt: this.backoff.attempts,
      });
    }
    this.restartTimer = setTimeout(() => this.run(), delay);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => { this.delayTimer = undefined; resolve(); }, ms);
      this.delayTimer = { timer, resolve };
    });
  }
}
