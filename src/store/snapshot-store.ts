// Merges what every source reports and publishes immutable MeshSnapshots, debounced
// (100 ms quiet, at most 10 s late). Unchanged parts keep their identity across snapshots so
// consumers can memoise on references: an unchanged service's endpoint array is the same array,
// configGeneration moves only when something other than endpoints changed.
//
// A debounced publish whose translation would hold the event loop (thousands of new endpoints,
// such as a registration burst into one service) first translates the changed slices a few at a
// time, giving the loop back between them (Translator.prepare), and then publishes at once from
// the objects as they are by then: one consistent snapshot, built in one short task. A change
// that has been quiet a while has its snapshot built during the quiet period itself (warm()); the
// publish at the deadline then only stamps and commits it, unless anything moved since.
import type { Logger } from '../logging.js';
import type { Endpoint, Service } from '../model/mesh.js';
import { EMPTY_SNAPSHOT, type MeshSnapshot, type NamespaceInfo, type PodInfo, type ObjectRejection, type RoutingObjects } from '../model/snapshot.js';
import { Debouncer, realTimers, type Timers } from './debounce.js';
import { deepEqual } from '../deep-equal.js';
import { ObjectSetMerger } from './merge.js';
import { EMPTY_OBJECTS, type CustomObject, type ObjectSet } from '../sources/objects.js';
import type { Source, SourceSink } from '../sources/source.js';
import { Translator, type TranslatedMesh, type TranslateOptions, type TranslatorHooks } from './translate/translate.js';
import { nextRoutingState, rejectionLines } from '../routing/state.js';
import { formatIgnored } from '../routing/proxyless.js';
import { nextSecurityState } from './peer-authentications.js';
import { nextAccessState } from './access-policies.js';
import type { AccessState } from '../model/access-status.js';
import { nextScopeState } from './traffic-scopes.js';
import { DiscoveryFilter } from './discovery-filter.js';
import type { LabelSelector } from '../model/label-selector.js';
import type { RoutingState } from '../model/routing-status.js';

interface SnapshotStoreOptions {
  readonly logger: Logger;
  /** Publish after this long without further changes (default 100 ms). */
  readonly quietMs?: number;
  /** ...but no later than this after the first unpublished change (default 10 s). */
  readonly maxDelayMs?: number;
  readonly timers?: Timers;
  /** Observes translation work (tests count per-service translations with it). */
  readonly translatorHooks?: TranslatorHooks;
  /** How objects become the model (config files derive endpoints from Pods; a cluster does not). */
  readonly translate?: TranslateOptions;
  /** Only namespaces whose labels match are read (discovery-filter.ts); absent: every namespace. */
  readonly discoverySelector?: LabelSelector;
  /** How long preparing a large translation may hold the event loop at once (default PREPARE_SLICE_MS; tests: 0). */
  readonly prepareSliceMs?: number;
  /** Called whenever the next snapshot is computed, by the warm-up or a publish (tests count them). */
  readonly onBuild?: () => void;
}

type SnapshotListener = (snapshot: MeshSnapshot) => void;

/** Every source's objects merged, and the conflicts the merge resolved by precedence. */
interface TranslationInput { readonly objects: ObjectSet; readonly conflicts: readonly string[] }

/**
 * How long preparing a translation may hold the event loop at once, and how many endpoints it
 * translates or sorts before it may give the loop back. A publish whose preparation fits in either runs in
 * the same task, as it would without one (so small changes publish exactly as before, whatever the
 * machine's load); /healthz and xDS streams wait about PREPARE_SLICE_MS behind a large one.
 */
const PREPARE_SLICE_MS = 10;
const PREPARE_MIN_ENDPOINTS = 1000;
/**
 * A change that has been quiet this long is translated, and its snapshot built, while its quiet
 * period still runs (warm()): a file edit's content arrives tens of milliseconds before the period
 * ends, and doing that work then (the translation, comparing 10k endpoints with the last snapshot,
 * revalidating routing when endpoints a TrafficPolicy reads moved: up to ~30 ms) takes it, and the
 * collections it causes, off the path from the deadline to the push.
 */
const WARM_AFTER_MS = 10;

export class SnapshotStore implements SourceSink {
  /** Resolves with the first snapshot, published once every source's start() has resolved. */
  readonly ready: Promise<MeshSnapshot>;
  private resolveReady!: (s: MeshSnapshot) => void;
  private rejectReady!: (err: Error) => void;
  private readonly log: Logger;
  private readonly debouncer: Debouncer;
  private readonly sets = new Map<string, ObjectSet>();
  /** Source names in precedence order: the order given to start(), then first report. */
  private order: string[] = [];
  private sources: readonly Source[] = [];
  private startCalled = false;
  private live = false;
  private stopped = false;
  private snapshot: MeshSnapshot = EMPTY_SNAPSHOT;
  private mergedCache: ObjectSet | undefined;
  /** translationInput() until a source reports again: the warm-up, the preparation and the publish share one merge. */
  private input: TranslationInput | undefined;
  private readonly merger = new ObjectSetMerger();
  private readonly discovery: DiscoveryFilter | undefined;
  private readonly translator: Translator;
  /** The translation the current snapshot was built from: maps the translator reused need no comparing. */
  private translated: TranslatedMesh | undefined;
  private readonly listeners = new Set<SnapshotListener>();
  private loggedConflicts = new Set<string>();
  private loggedWarnings = new Set<string>();
  /** Rejected routing objects as last logged, by object key, so each problem is logged once. */
  private loggedRouting = new Map<string, string>();
  /** What was logged as left out of each Istio object, by object key. */
  private loggedUnsupported = new Map<string, string>();
  /** Rejected AccessPolicies as last logged (key -> message), so each problem is logged once. */
  private loggedAccess = new Map<string, string>();
  /** Rejected PeerAuthentications and TrafficScopes as last logged (kind -> key -> reason), so each problem is logged once. */
  private readonly loggedRejections = new Map<string, Map<string, string>>();
  /** Wall-clock time of the first change not yet covered by a published snapshot. */
  private pendingSince: number | undefined;
  /** Set while a large translation is being prepared in steps: its publish covers every change until it ends. */
  private preparing = false;
  /** Set while flush() runs: the publish it causes happens now, whatever its size. */
  private flushing = false;
  private readonly timers: Timers;
  private readonly prepareSliceMs: number;
  private warmTimer: unknown;
  /** Moves with every change: a warm-up that sees it move stops (a newer one is scheduled). */
  private changeGeneration = 0;
  /**
   * The snapshot the warm-up built ahead of the publish, and what it was built from: the publish
   * commits it only if all three are still current (replace() drops it at once).
   */
  private candidate: { input: TranslationInput; prev: MeshSnapshot; last: TranslatedMesh | undefined; built: Built } | undefined;
  private readonly onBuild: (() => void) | undefined;

  constructor(options: SnapshotStoreOptions) {
    this.log = options.logger.child({ component: 'store' });
    this.translator = new Translator(options.translatorHooks, options.translate);
    this.discovery = options.discoverySelector ? new DiscoveryFilter(options.discoverySelector) : undefined;
    this.timers = options.timers ?? realTimers;
    this.prepareSliceMs = options.prepareSliceMs ?? PREPARE_SLICE_MS;
    this.onBuild = options.onBuild;
    this.debouncer = new Debouncer(() => this.publishPrepared(), {
      quietMs: options.quietMs ?? 100,
      maxDelayMs: options.maxDelayMs ?? 10_000,
      ...(options.timers !== undefined ? { timers: options.timers } : {}),
    });
    this.ready = new Promise<MeshSnapshot>((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    // start() hands the same rejection to its caller; this only stops it counting as unhandled.
    this.ready.catch(() => undefined);
  }

  /**
   * Starts the sources (in precedence order: an earlier source wins a duplicate object) and
   * publishes the first snapshot when all have reported their initial content. Rejects with the
   * first source's start error.
   */
  start(sources: readonly Source[]): Promise<MeshSnapshot> {
    if (this.startCalled) return Promise.reject(new Error('SnapshotStore.start() called twice'));
    this.startCalled = true;
    const names = sources.map((s) => s.name);
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    if (dup !== undefined) {
      const err = new Error(`two sources are named "${dup}"`);
      this.rejectReady(err);
      return this.ready;
    }
    this.sources = sources;
    this.order = [...names, ...this.order.filter((n) => !names.includes(n))];
    this.mergedCache = undefined;
    this.input = undefined;
    Promise.all(sources.map(async (s) => {
      await s.start(this);
      this.log.info('source started', { source: s.name });
    })).then(() => {
      if (this.stopped) return;
      this.live = true;
      this.debouncer.cancel();
      this.publish(true);
      this.resolveReady(this.snapshot);
    }, (err: Error) => {
      this.log.error('a source failed to start', { reason: err.message });
      this.rejectReady(err);
    });
    return this.ready;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.candidate = undefined;
    this.debouncer.cancel();
    if (this.warmTimer !== undefined) this.timers.clearTimeout(this.warmTimer);
    await Promise.allSettled(this.sources.map((s) => s.stop()));
  }

  replace(source: string, objects: ObjectSet): void {
    if (this.stopped) return;
    if (!this.order.includes(source)) this.order.push(source);
    this.sets.set(source, objects);
    this.mergedCache = undefined;
    this.input = undefined;
    this.candidate = undefined;
    this.pendingSince ??= Date.now();
    // Content announced by changeComing: its quiet period already runs from when it was seen.
    if (this.live && !this.debouncer.release(source, true)) this.debouncer.trigger();
    if (this.live) this.scheduleWarm();
  }

  private scheduleWarm(): void {
    this.changeGeneration++;
    if (this.warmTimer !== undefined) this.timers.clearTimeout(this.warmTimer);
    const generation = this.changeGeneration;
    this.warmTimer = this.timers.setTimeout(() => {
      this.warmTimer = undefined;
      void this.warm(generation);
    }, WARM_AFTER_MS);
  }

  /**
   * Translates what has arrived while the publish still waits for its quiet period, in steps that
   * give the loop back, then builds the snapshot it would publish, and publishes nothing: the
   * publish at the deadline then only stamps and commits that candidate (takeCandidate), or, if
   * anything arrived since, finds the translations prepared (Translator.prepare keeps what it did)
   * and builds again. Stops when anything moved meanwhile: a newer change, a publish, a
   * preparation, stop().
   */
  private async warm(generation: number): Promise<void> {
    const moved = (): boolean => this.stopped || this.preparing || generation !== this.changeGeneration || !this.debouncer.pending;
    if (moved()) return;
    try {
      const steps = this.translator.prepare(this.translationInput().objects);
      while (!this.runFor(steps, 0)) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (moved()) return;
      }
      // The build in a task of its own: the last step may have used the whole slice.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (moved()) return;
      const input = this.translationInput();
      const prev = this.snapshot;
      const last = this.translated;
      this.candidate = { input, prev, last, built: this.build(false) };
    } catch {
      // The publish translates again and reports what failed.
    }
  }

  changeComing(source: string): void {
    if (this.stopped || !this.live) return;
    this.pendingSince ??= Date.now();
    this.debouncer.hold(source);
  }

  nothingChanged(source: string): void {
    if (this.live) this.debouncer.release(source, false);
  }

  /** The latest published snapshot (EMPTY_SNAPSHOT before the first). */
  current(): MeshSnapshot {
    return this.snapshot;
  }

  /** Calls the listener with every snapshot published from now on; returns the unsubscribe function. */
  subscribe(listener: SnapshotListener): () => void {
    this.listeners.add(listener);
    return () => { this.listeners.delete(listener); };
  }

  /** The next published snapshot that satisfies the predicate (for waiting on a change). */
  next(predicate: (s: MeshSnapshot) => boolean = () => true): Promise<MeshSnapshot> {
    return new Promise((resolve) => {
      const off = this.subscribe((s) => {
        if (!predicate(s)) return;
        off();
        resolve(s);
      });
    });
  }

  /** The merged objects of all sources, as last reported (for debug endpoints and config dumps). */
  merged(): ObjectSet {
    this.mergedCache ??= this.order.length === 0
      ? EMPTY_OBJECTS
      : this.merger.merge(this.order.filter((n) => this.sets.has(n))
        .map((source) => ({ source, objects: this.sets.get(source) ?? EMPTY_OBJECTS }))).objects;
    return this.mergedCache;
  }

  /** Publishes pending changes now instead of waiting for the debounce. */
  flush(): void {
    if (!this.live) return;
    const pending = this.debouncer.pending;
    this.flushing = true;
    try {
      this.debouncer.flush();
    } finally {
      this.flushing = false;
    }
    // What a running preparation would publish is published now; its own publish then finds nothing new.
    if (!pending && this.preparing) this.publish(false);
  }

  /**
   * The debounced publish: prepares the translation in steps while it takes longer than
   * PREPARE_SLICE_MS, then publishes. While a preparation runs, a further debounced publish has
   * nothing to do: the one that ends it reads every source's objects as they are by then.
   */
  private publishPrepared(): void {
    if (this.flushing) {
      this.publish(false);
      return;
    }
    if (this.preparing) return;
    // The warm-up built this very publish: nothing to prepare.
    if (this.readyCandidate(false) !== undefined) {
      this.publish(false);
      return;
    }
    let steps: Iterator<number, void, undefined>;
    try {
      steps = this.translator.prepare(this.translationInput().objects);
      if (this.runFor(steps, PREPARE_MIN_ENDPOINTS)) {
        this.publish(false);
        return;
      }
    } catch {
      // publish() translates again, and reports what failed.
      this.publish(false);
      return;
    }
    this.preparing = true;
    void this.finishPreparing(steps);
  }

  private async finishPreparing(steps: Iterator<number, void, undefined>): Promise<void> {
    try {
      let done = false;
      while (!done) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (this.stopped) return;
        done = this.runFor(steps, 0);
      }
      // The publish in a task of its own: the last step may have used the whole slice.
      await new Promise<void>((resolve) => setImmediate(resolve));
    } catch {
      // Translation failed part-way: publish() translates again, and reports what failed.
    } finally {
      this.preparing = false;
    }
    if (!this.stopped) this.publish(false);
  }

  /**
   * Runs steps (each says how much work it did) until they are done, true, or until both the
   * slice's time has passed and `minWork` was done, false.
   */
  private runFor(steps: Iterator<number, void, undefined>, minWork: number): boolean {
    const until = this.timers.now() + this.prepareSliceMs;
    let work = 0;
    for (;;) {
      const step = steps.next();
      if (step.done === true) return true;
      work += step.value;
      if (work >= minWork && this.timers.now() >= until) return false;
    }
  }

  /** Every source's objects merged (precedence, conflicts) and, with discovery selectors, filtered. */
  private translationInput(): TranslationInput {
    if (this.input !== undefined) return this.input;
    const inputs = this.order.filter((n) => this.sets.has(n)).map((source) => ({ source, objects: this.sets.get(source) ?? EMPTY_OBJECTS }));
    const { objects, conflicts } = this.merger.merge(inputs);
    this.mergedCache = objects;
    this.input = { objects: this.discovery ? this.discovery.apply(objects) : objects, conflicts };
    return this.input;
  }

  private publish(first: boolean): void {
    try {
      this.publishUnsafe(first);
    } catch (err) {
      // A bug in translation must not take the control plane down: keep serving the last snapshot.
      this.log.error('building a snapshot failed; keeping the previous one', { reason: (err as Error).stack ?? String(err) });
    }
  }

  /** Logs routing objects that became rejected (with the reason) or accepted again. */
  private logRouting(routing: RoutingState): void {
    const now = new Map<string, string>();
    for (const [key, line] of rejectionLines(routing.statuses)) {
      now.set(key, line.message);
      if (this.loggedRouting.get(key) === line.message) continue;
      this.log.warn('routing object not applied', {
        object: line.object, reason: line.reason, detail: line.message,
        serving: line.applied === 'previous' ? 'the last accepted version' : 'nothing of it',
      });
    }
    for (const key of this.loggedRouting.keys()) {
      const s = routing.statuses.find((x) => `${x.kind}/${x.namespace}/${x.name}` === key);
      if (!now.has(key) && s) this.log.info('routing object accepted', { object: `${s.kind} ${s.namespace}/${s.name}` });
    }
    this.loggedRouting = now;
    this.logUnsupported(routing);
  }

  /** Logs, once per change, the fields of Istio objects pilotfish leaves out. */
  private logUnsupported(routing: RoutingState): void {
    const now = new Map<string, string>();
    for (const s of routing.statuses) {
      if (s.unsupported === undefined) continue;
      const key = `${s.kind}/${s.namespace}/${s.name}`;
      const detail = formatIgnored(s.unsupported);
      now.set(key, detail);
      if (this.loggedUnsupported.get(key) === detail) continue;
      this.log.warn('fields of an Istio object are not supported and are left out', { object: `${s.kind} ${s.namespace}/${s.name}`, detail });
    }
    this.loggedUnsupported = now;
  }

  /** Logs objects of `kind` that became rejected (object + reason) or accepted again. */
  private logRejections(kind: string, state: { objects: readonly CustomObject[]; rejections: ReadonlyMap<string, ObjectRejection> }): void {
    const logged = this.loggedRejections.get(kind) ?? new Map<string, string>();
    const now = new Map<string, string>();
    for (const [key, r] of state.rejections) {
      now.set(key, r.reason);
      if (logged.get(key) === r.reason) continue;
      this.log.warn(`${kind} not applied`, {
        object: r.object, reason: r.reason, serving: r.applied === 'previous' ? 'the last accepted version' : 'nothing of it',
      });
    }
    for (const key of logged.keys()) {
      if (!now.has(key) && state.objects.some((o) => `${o.metadata?.namespace ?? 'default'}/${o.metadata?.name ?? ''}` === key)) {
        this.log.info(`${kind} accepted`, { object: `${kind} ${key}` });
      }
    }
    this.loggedRejections.set(kind, now);
  }

  /** Logs AccessPolicies that became rejected (object + reason) or accepted again. */
  private logAccess(access: AccessState): void {
    const now = new Map<string, string>();
    for (const s of access.statuses) {
      const key = `${s.namespace}/${s.name}`;
      const condition = s.conditions[0];
      if (condition === undefined || condition.status === 'True') {
        if (this.loggedAccess.has(key)) this.log.info('AccessPolicy accepted', { object: `AccessPolicy ${key}` });
        continue;
      }
      now.set(key, condition.message);
      if (this.loggedAccess.get(key) === condition.message) continue;
      this.log.warn('AccessPolicy not applied', {
        object: `AccessPolicy ${key}`, reason: condition.message,
        serving: s.applied === 'previous' ? 'the last accepted version' : 'nothing of it',
      });
    }
    this.loggedAccess = now;
  }

  private publishUnsafe(first: boolean): void {
    const { conflicts } = this.translationInput();
    this.loggedConflicts = logNew(conflicts, this.loggedConflicts, (c) => this.log.warn('duplicate object across sources', { reason: c }));
    this.commit(this.takeCandidate(first) ?? this.build(first));
  }

  /**
   * The warm-up's snapshot if it was built for this very publish: from the same merged input,
   * against the same current snapshot and translation. Taken once; anything else is built anew.
   */
  private takeCandidate(first: boolean): Built | undefined {
    const built = this.readyCandidate(first);
    this.candidate = undefined;
    return built;
  }

  private readyCandidate(first: boolean): Built | undefined {
    const c = this.candidate;
    if (c === undefined || first || c.input !== this.input || c.prev !== this.snapshot || c.last !== this.translated) return undefined;
    return c.built;
  }

  /**
   * The next snapshot's content, from the merged input, its translation and the current snapshot:
   * logs nothing and changes nothing but the translator's memory, so it can run ahead of the
   * publish (warm()) and be dropped if something moves meanwhile.
   */
  private build(first: boolean): Built {
    this.onBuild?.();
    const { objects } = this.translationInput();
    const t = this.translator.translate(objects);
    const last = this.translated;
    const prev = this.snapshot;
    const services = shareEntries<Service>(prev.services, t.services, last?.services);
    const namespaces = shareEntries<NamespaceInfo>(prev.namespaces, t.namespaces, last?.namespaces);
    const pods = shareEntries<PodInfo>(prev.pods, t.pods, last?.pods);
    const endpoints = shareEntries<readonly Endpoint[]>(prev.endpoints, t.endpoints, last?.endpoints);
    const changedEndpoints = new Set<string>([...endpoints.changed]);
    const routingObjects: RoutingObjects = deepEqual(prev.routingObjects, t.routingObjects) ? prev.routingObjects : t.routingObjects;

    // Pods coming and going arrive with their endpoints; only relabelling changes config.
    const podLabelsChanged = [...pods.changed].some((k) => {
      const before = prev.pods.get(k);
      const after = pods.map.get(k);
      return before !== undefined && after !== undefined
        && (!deepEqual(before.labels, after.labels) || before.serviceAccount !== after.serviceAccount);
    });
    const routing = nextRoutingState({
      previous: prev.routing, previousObjects: prev.routingObjects, objects: routingObjects,
      services: services.map, endpoints: endpoints.map, servicesChanged: services.changed.size > 0, changedEndpoints,
    });
    const peerObjects = deepEqual(prev.security.objects, t.peerAuthentications) ? prev.security.objects : t.peerAuthentications;
    const security = nextSecurityState(prev.security, peerObjects);
    const accessObjects = deepEqual(prev.access.objects, t.accessPolicies) ? prev.access.objects : t.accessPolicies;
    const access = nextAccessState(prev.access, accessObjects);
    const scopeObjects = deepEqual(prev.scopes.objects, t.trafficScopes) ? prev.scopes.objects : t.trafficScopes;
    const scopes = nextScopeState(prev.scopes, scopeObjects);
    const configChanged = first || services.changed.size > 0 || namespaces.changed.size > 0 || podLabelsChanged
      || routingObjects !== prev.routingObjects || routing.applied !== prev.routing.applied
      || security.peerAuthentications !== prev.security.peerAuthentications
      || access.objects !== prev.access.objects || access.policies !== prev.access.policies || scopes.scopes !== prev.scopes.scopes;
    const endpointsChanged = first || changedEndpoints.size > 0;
    return {
      translation: t, configChanged, endpointsChanged, podsChanged: pods.changed.size > 0,
      content: {
        services: services.map, endpoints: endpoints.map, namespaces: namespaces.map, pods: pods.map,
        changedEndpoints, routingObjects, routing, security, access, scopes,
      },
    };
  }

  /** Logs what the build found, and publishes it (stamped with its version and change time) if anything changed. */
  private commit(b: Built): void {
    // Taken even if nothing turns out to change, so a later change is not dated by this one.
    const changedAt = this.pendingSince ?? Date.now();
    this.pendingSince = undefined;
    const prev = this.snapshot;
    const { routing, security, access, scopes } = b.content;
    this.loggedWarnings = logNew(b.translation.warnings, this.loggedWarnings, (w) => this.log.warn('object not fully usable', { reason: w }));
    this.logRouting(routing);
    if (security !== prev.security) this.logRejections('PeerAuthentication', security);
    if (access.statuses !== prev.access.statuses) this.logAccess(access);
    if (scopes !== prev.scopes) this.logRejections('TrafficScope', scopes);
    this.translated = b.translation;
    if (!b.configChanged && !b.endpointsChanged && !b.podsChanged) return;

    this.snapshot = Object.freeze({
      version: prev.version + 1,
      configGeneration: prev.configGeneration + (b.configChanged ? 1 : 0),
      endpointsGeneration: prev.endpointsGeneration + (b.endpointsChanged ? 1 : 0),
      changedAt,
      ...b.content,
    });
    this.log.debug('snapshot published', {
      version: this.snapshot.version, configGeneration: this.snapshot.configGeneration,
      endpointsGeneration: this.snapshot.endpointsGeneration, services: b.content.services.size,
      changedEndpoints: b.content.changedEndpoints.size,
    });
    for (const listener of [...this.listeners]) {
      try {
        listener(this.snapshot);
      } catch (err) {
        this.log.error('snapshot listener failed', { reason: (err as Error).stack ?? String(err) });
      }
    }
  }
}

/** A snapshot as build() computes it: everything but its version, generations and change time. */
interface Built {
  readonly translation: TranslatedMesh;
  readonly configChanged: boolean;
  readonly endpointsChanged: boolean;
  readonly podsChanged: boolean;
  readonly content: Omit<MeshSnapshot, 'version' | 'configGeneration' | 'endpointsGeneration' | 'changedAt'>;
}

/**
 * The new map, reusing the previous value object wherever it is structurally equal, plus the
 * keys that were added, removed or changed. `nextWas` is the translation `prev` was built from:
 * when the translator handed back that very map, nothing in it changed.
 */
function shareEntries<V>(prev: ReadonlyMap<string, V>, next: ReadonlyMap<string, V>,
  nextWas: ReadonlyMap<string, V> | undefined): { map: ReadonlyMap<string, V>; changed: Set<string> } {
  if (next === nextWas) return { map: prev, changed: new Set() };
  const map = new Map<string, V>();
  const changed = new Set<string>();
  for (const [k, v] of next) {
    const old = prev.get(k);
    if (old !== undefined && deepEqual(old, v)) {
      map.set(k, old);
    } else {
      map.set(k, v);
      changed.add(k);
    }
  }
  for (const k of prev.keys()) if (!next.has(k)) changed.add(k);
  // Same content: keep the previous map itself, so consumers can skip work on identity.
  if (changed.size === 0 && map.size === prev.size) return { map: prev, changed };
  return { map, changed };
}

/** Logs lines not logged last time; returns the new set (a line that disappears may log again later). */
function logNew(lines: readonly string[], before: ReadonlySet<string>, log: (line: string) => void): Set<string> {
  const now = new Set(lines);
  for (const line of now) if (!before.has(line)) log(line);
  return now;
}
