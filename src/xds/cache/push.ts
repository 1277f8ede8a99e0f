// One push: a new snapshot brought to every proxy class, and the proxies told which types
// changed for them. The server then decides per stream what to send. A push keeps the event loop
// only for a bounded time at once (YIELD_EVERY_MS), so streams and timers keep running while a
// large mesh is regenerated class by class.
import type { MeshSnapshot } from '../../model/snapshot.js';
import type { ChangeCause } from '../proxy-view.js';
import { CLUSTER, ENDPOINT, LISTENER, ROUTE } from '../types.js';
import type { ClassMember, ClassState, ProxyClasses, SnapshotChange } from './proxy-classes.js';
import { Pacer } from './pacer.js';
import type { PushSummary } from './push-summary.js';

/**
 * How long a push may keep the event loop before letting I/O and timers run. Every yield lets
 * the ACKs of the proxies served so far be read before the rest are served, and a proxy's ACK
 * (tens of kilobytes restating its EDS names) costs the server more than its response: so the
 * streams are served in as few slices as the process's liveness allows. An endpoint push only
 * hands shared maps to the streams (~50 µs each, ~100 ms for 2,000); a config push regenerates
 * per class as well, so it yields more often.
 */
const YIELD_EVERY_MS = { endpoints: 250, config: 50 } as const;

/**
 * The proxies a scoped change is for are handed it in slices of up to 150 ms: between slices the
 * ACKs and follow-up requests of those already served are read, so serving them in
 * 50 ms slices put the last in-scope proxy behind all of that work (300-600 ms into the push at
 * 10,000 proxies, instead of ~60 ms), while the workers that simulate them had nothing to do.
 */
const IN_SCOPE_YIELD_EVERY_MS = 150;

/**
 * Once the proxies a scoped change is for have been handed it, the classes outside its scope are
 * only refreshed (they get nothing): in short slices, so the first proxies' ACKs and follow-up
 * requests (their EDS for a new cluster) are answered between them instead of after them.
 */
const OUT_OF_SCOPE_YIELD_EVERY_MS = 5;

/**
 * An endpoint change in a scoped mesh: once the sidecars whose scope holds the service have it,
 * the others (proxyless clients, a few of which may hold it too) in slices short enough that the
 * first ones' writes go out meanwhile, instead of after every proxyless stream looked.
 */
const OTHERS_ENDPOINTS_YIELD_EVERY_MS = 20;

/**
 * How long generating and encoding the endpoints may keep the event loop: no proxy waits on a
 * yield here, so it can be short; one service of 10,000 endpoints takes ~100 ms in all.
 */
const ENDPOINTS_YIELD_EVERY_MS = 10;

/**
 * Applies `snapshot` to `classes` and notifies their proxies. `rematch` matches proxies to the
 * snapshot's Pods again and returns those that moved to another class: they get every per-class
 * type anew.
 */
export async function push<V extends ClassMember>(classes: ProxyClasses<V>, snapshot: MeshSnapshot, rematch: () => V[]): Promise<PushSummary> {
  // A task of its own: the store's publish that led here has just held the event loop for a while.
  await new Promise<void>((resolve) => setImmediate(resolve));
  const started = performance.now();
  classes.pushStarted();
  let left = false;
  try {
    const encoding = new Pacer(ENDPOINTS_YIELD_EVERY_MS);
    const change = await classes.advance(snapshot, () => encoding.pause());
    const shared = new Set<string>(change.endpointsChanged ? [ENDPOINT] : []);
    // Proxies are matched to Pods: with the same Pods (an endpoint change), nothing can move.
    const moved = snapshot.pods === change.prev.pods ? [] : rematch();
    const changedTypes = new Set<string>(shared);
    const cause: ChangeCause = { since: snapshot.changedAt ?? Date.now(), reason: change.configChanged ? 'config' : 'endpoints' };
    let proxies = 0;
    const plan = servingOrder(classes, change);
    let serving = new Pacer(plan.firstSliceMs);
    let served = 0;
    let scopedServedMs: number | undefined;
    for (const state of plan.ordered) {
      if (served++ === plan.first && plan.first > 0) {
        scopedServedMs = performance.now() - started;
        serving = new Pacer(plan.restSliceMs);
      }
      const types = new Set<string>(shared);
      for (const t of classes.refresh(state, change)) types.add(t);
      // After refresh: it brings the class's scope up to this snapshot.
      if (change.endpointsChanged && !classes.seesEndpointChanges(state, change)) types.delete(ENDPOINT);
      for (const t of types) changedTypes.add(t);
      if (types.size > 0) {
        for (const v of state.views) {
          v.notify(types, cause);
          proxies++;
        }
      }
      // Large meshes have many classes: let streams and timers run now and then.
      await serving.pause();
    }
    if (plan.first > 0) scopedServedMs ??= performance.now() - started;
    for (const v of moved) {
      const types = new Set<string>([...shared, LISTENER, ROUTE, CLUSTER]);
      v.notify(types, cause);
      for (const t of types) changedTypes.add(t);
    }
    left = change.configChanged || moved.length > 0;
    return {
      snapshotVersion: snapshot.version,
      trigger: change.configChanged ? 'config' : changedTypes.size > 0 ? 'endpoints' : 'none',
      changedTypes: [...changedTypes],
      classes: classes.size,
      proxies,
      durationMs: performance.now() - started,
      ...(scopedServedMs !== undefined ? { scopedServedMs } : {}),
      at: new Date().toISOString(),
      ...(snapshot.changedAt !== undefined ? { changedAt: snapshot.changedAt } : {}),
    };
  } finally {
    classes.pushEnded(left);
  }
}

/**
 * The order a push serves classes in, and how long it may hold the event loop at once. In a
 * scoped mesh the classes a change is for come first: the sidecars whose scope's clusters a
 * config change changed, or whose scope holds a service whose endpoints changed. Their ACKs and
 * follow-up requests then overlap with the rest (classes outside the scope, which are only
 * refreshed, and proxyless clients, which look at their own subscriptions). Without such a first
 * group (an unscoped mesh) every class is served alike, in creation order.
 */
function servingOrder<V extends ClassMember>(classes: ProxyClasses<V>, change: SnapshotChange): {
  readonly ordered: readonly ClassState<V>[];
  /** How many of `ordered` are the first group. */
  readonly first: number;
  readonly firstSliceMs: number;
  readonly restSliceMs: number;
} {
  const all = classes.all();
  const kind = change.configChanged ? 'config' : 'endpoints';
  const first = new Set(all.filter((s) => (change.configChanged
    ? classes.scopedClustersChanged(s, change)
    : change.endpointsChanged && s.scope !== undefined && classes.seesEndpointChanges(s, change))));
  if (first.size === 0) return { ordered: all, first: 0, firstSliceMs: YIELD_EVERY_MS[kind], restSliceMs: YIELD_EVERY_MS[kind] };
  return {
    ordered: [...first, ...all.filter((s) => !first.has(s))],
    first: first.size,
    firstSliceMs: change.configChanged ? IN_SCOPE_YIELD_EVERY_MS : YIELD_EVERY_MS.endpoints,
    restSliceMs: change.configChanged ? OUT_OF_SCOPE_YIELD_EVERY_MS : OTHERS_ENDPOINTS_YIELD_EVERY_MS,
  };
}
