// Writes status.conditions of Kubernetes objects: generic (it knows nothing about routing), leader
// only, and only when something changed. The desired state is level-triggered: callers replace the
// whole desired set whenever they like; one worker compares it with the live objects and patches
// the differences, one at a time, retrying failures with backoff.
import { SerialPasses } from './serial-passes.js';
import type { Logger } from '../logging.js';
import { Backoff, type BackoffOptions } from '../kube/backoff.js';
import { errorCode, errorText, KubeApiError, MERGE_PATCH, type KubeRest } from '../kube/rest.js';
import type { ApiVerb } from '../kube/api-permission.js';

type ConditionStatusValue = 'True' | 'False' | 'Unknown';

/** A metav1.Condition without lastTransitionTime (the writer maintains that). */
export interface DesiredCondition {
  readonly type: string;
  readonly status: ConditionStatusValue;
  readonly reason: string;
  readonly message: string;
  readonly observedGeneration?: number;
}

export interface WrittenCondition extends DesiredCondition {
  readonly lastTransitionTime: string;
}

/** Which object: enough to build its /status path. */
interface StatusTarget {
  /** group/version, e.g. routing.pilotfish.io/v1alpha1 */
  readonly apiVersion: string;
  readonly kind: string;
  /** Resource name in the URL, e.g. trafficroutes. */
  readonly plural: string;
  readonly namespace: string;
  readonly name: string;
}

export interface DesiredStatus {
  readonly target: StatusTarget;
  /** When set, the live object must have this uid (a deleted and re-created object waits for its own result). */
  readonly uid?: string;
  readonly observedGeneration?: number;
  readonly conditions: readonly DesiredCondition[];
}

/** What the writer reads of the object as the cluster has it now (a raw Kubernetes object fits). */
interface LiveObject {
  readonly metadata?: { readonly uid?: string; readonly resourceVersion?: string };
  readonly status?: unknown;
}

interface StatusClient {
  /** With `resourceVersion`, the write fails (409) when the object changed since it was read. */
  patchStatus(target: StatusTarget, status: Record<string, unknown>, resourceVersion?: string): Promise<void>;
}

/**
 * How a writer turns its desired state into the object's status. The default writes
 * status.conditions (nextStatus); the Gateway API's per-parent status plugs in its own
 * (leader/gateway-status.ts).
 */
export interface StatusRenderer<D extends DesiredStatus> {
  next(desired: D, existing: unknown, now: Date): Record<string, unknown>;
  same(a: unknown, b: unknown): boolean;
  /** One line for the log. */
  summary(status: Record<string, unknown>): string;
  /**
   * Whether writes carry the resourceVersion they were based on: needed when the status holds
   * entries other writers own (a merge patch replaces lists whole).
   */
  readonly precondition: boolean;
}

export interface StatusWriterOptions<D extends DesiredStatus> {
  readonly client: StatusClient;
  /** Default: status.conditions. */
  readonly renderer?: StatusRenderer<D>;
  /** The live object (from an informer cache), undefined when it does not exist (any more). */
  readonly live: (target: StatusTarget) => LiveObject | undefined;
  readonly isLeader: () => boolean;
  /** Condition types this writer manages; conditions of other types on the object are kept as they are. */
  readonly ownedTypes: readonly string[];
  readonly logger: Logger;
  readonly now?: () => Date;
  readonly backoff?: BackoffOptions;
}

interface Written {
  readonly uid: string | undefined;
  /** The resourceVersion the write was based on: while the cache still shows it, the cache is stale. */
  readonly basedOn: string | undefined;
  readonly status: Record<string, unknown>;
}

interface StatusShape {
  observedGeneration?: number;
  conditions: WrittenCondition[];
  [key: string]: unknown;
}

function targetKey(t: StatusTarget): string {
  return `${t.kind}/${t.namespace}/${t.name}`;
}

/** metav1.Time: RFC 3339 in whole seconds. */
function metaTime(d: Date): string {
  return d.toISOString().replace(/\.\d+Z$/, 'Z');
}

function conditionsOf(status: unknown): unknown[] {
  const c = (status as { conditions?: unknown } | undefined)?.conditions;
  return Array.isArray(c) ? c : [];
}

/**
 * The status to write: desired conditions (lastTransitionTime kept when a condition's status did not
 * change, as metav1.Condition prescribes), then the foreign conditions already there; other status
 * fields are kept.
 */
export function nextStatus(desired: DesiredStatus, existing: unknown, ownedTypes: readonly string[], now: Date): StatusShape {
  const old = conditionsOf(existing) as Partial<WrittenCondition>[];
  const conditions: WrittenCondition[] = desired.conditions.map((c) => {
    const prev = old.find((o) => o?.type === c.type);
    const keep = prev !== undefined && prev.status === c.status && typeof prev.lastTransitionTime === 'string';
    const out: WrittenCondition = {
      type: c.type, status: c.status, reason: c.reason, message: c.message,
      ...(c.observedGeneration !== undefined ? { observedGeneration: c.observedGeneration } : {}),
      lastTransitionTime: keep ? prev.lastTransitionTime as string : metaTime(now),
    };
    return out;
  });
  const desiredTypes = new Set(desired.conditions.map((c) => c.type));
  for (const o of old) {
    if (typeof o?.type === 'string' && !ownedTypes.includes(o.type) && !desiredTypes.has(o.type)) conditions.push(o as WrittenCondition);
  }
  const base = existing && typeof existing === 'object' && !Array.isArray(existing) ? { ...(existing as Record<string, unknown>) } : {};
  const out: StatusShape = { ...base, conditions };
  if (desired.observedGeneration !== undefined) out.observedGeneration = desired.observedGeneration;
  return out;
}

function normalCondition(c: unknown): string {
  const o = (c ?? {}) as Partial<WrittenCondition>;
  return JSON.stringify([o.type, o.status, o.reason, o.message, o.observedGeneration, o.lastTransitionTime]);
}

function sameStatus(a: unknown, b: unknown): boolean {
  const ga = (a as { observedGeneration?: unknown } | undefined)?.observedGeneration;
  const gb = (b as { observedGeneration?: unknown } | undefined)?.observedGeneration;
  if (ga !== gb) return false;
  const ca = conditionsOf(a).map(normalCondition);
  const cb = conditionsOf(b).map(normalCondition);
  return ca.length === cb.length && ca.every((c, i) => c === cb[i]);
}

/** status.conditions, with the types in `ownedTypes` managed and others kept. */
function conditionsRenderer(ownedTypes: readonly string[]): StatusRenderer<DesiredStatus> {
  return {
    next: (d, existing, now) => nextStatus(d, existing, ownedTypes, now),
    same: sameStatus,
    summary: (status) => conditionsOf(status).map((c) => {
      const o = (c ?? {}) as Partial<WrittenCondition>;
      return `${String(o.type)}=${String(o.status)}(${String(o.reason)})`;
    }).join(' '),
    precondition: false,
  };
}

export class StatusWriter<D extends DesiredStatus = DesiredStatus> {
  private desired = new Map<string, D>();
  private readonly written = new Map<string, Written>();
  private readonly passes = new SerialPasses(() => this.pass());
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly backoff: Backoff;
  private readonly log: Logger;
  private readonly now: () => Date;
  private readonly renderer: StatusRenderer<D>;
  readonly stats = { writes: 0, failures: 0 };

  constructor(private readonly opts: StatusWriterOptions<D>) {
    this.log = opts.logger.child({ component: 'status-writer' });
    // Without a renderer D is DesiredStatus: the default renders any DesiredStatus.
    this.renderer = opts.renderer ?? (conditionsRenderer(opts.ownedTypes) as StatusRenderer<D>);
    this.backoff = new Backoff(opts.backoff ?? { initialMs: 500, maxMs: 30_000 });
    this.now = opts.now ?? (() => new Date());
  }

  /** Replaces the whole desired set (objects not in it are left alone). */
  setDesired(list: readonly D[]): void {
    this.desired = new Map(list.map((d) => [targetKey(d.target), d]));
    for (const key of [...this.written.keys()]) if (!this.desired.has(key)) this.written.delete(key);
    this.kick();
  }

  /** Re-compares everything: after live objects changed, or on becoming leader. */
  kick(): void {
    this.passes.kick();
  }

  /** Resolves when no work is pending or running (a scheduled retry does not count). */
  async idle(): Promise<void> {
    await this.passes.idle();
  }

  async stop(): Promise<void> {
    clearTimeout(this.retryTimer);
    await this.passes.stop();
  }

  private async pass(): Promise<void> {
    if (!this.opts.isLeader()) return;
    let failed = false;
    for (const d of [...this.desired.values()]) {
      if (this.passes.stopped || !this.opts.isLeader()) return;
      if (!await this.sync(d)) failed = true;
    }
    if (failed) {
      clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => this.kick(), this.backoff.next());
    } else {
      this.backoff.reset();
    }
  }

  /** False when the write failed and should be retried. */
  private async sync(d: D): Promise<boolean> {
    const key = targetKey(d.target);
    const live = this.opts.live(d.target);
    const uid = live?.metadata?.uid;
    const resourceVersion = live?.metadata?.resourceVersion;
    if (!live || (d.uid !== undefined && uid !== undefined && uid !== d.uid)) return true;
    const next = this.renderer.next(d, live.status, this.now());
    if (this.renderer.same(next, live.status)) {
      this.written.delete(key);
      return true;
    }
    const prev = this.written.get(key);
    // Our own last write has not reached the cache yet: comparing with the cache would write twice.
    if (prev && prev.uid === uid && prev.basedOn === resourceVersion && this.renderer.same(next, prev.status)) return true;
    try {
      await this.opts.client.patchStatus(d.target, next, this.renderer.precondition ? resourceVersion : undefined);
      this.written.set(key, { uid, basedOn: resourceVersion, status: next });
      this.stats.writes++;
      this.log.info('status written', {
        object: key, observedGeneration: d.observedGeneration, conditions: this.renderer.summary(next),
      });
      return true;
    } catch (err) {
      if (errorCode(err) === 404) return true;
      this.stats.failures++;
      this.log.warn('writing status failed; will retry', { object: key, error: errorText(err) });
      return false;
    }
  }
}

/** What KubeStatusClient does to a `<plural>/status` subresource, for RBAC (src/permissions.ts). */
export const STATUS_CLIENT_VERBS: readonly ApiVerb[] = ['patch'];

/** Patches /status with a JSON merge patch (conditions are replaced as a whole list). */
export class KubeStatusClient implements StatusClient {
  constructor(private readonly rest: KubeRest, private readonly timeoutMs = 10_000) {}

  async patchStatus(t: StatusTarget, status: Record<string, unknown>, resourceVersion?: string): Promise<void> {
    const prefix = t.apiVersion.includes('/') ? `/apis/${t.apiVersion}` : `/api/${t.apiVersion}`;
    const path = `${prefix}/namespaces/${encodeURIComponent(t.namespace)}/${t.plural}/${encodeURIComponent(t.name)}/status`;
    // A resourceVersion in a merge patch is a precondition: 409 Conflict when the object moved on.
    const body = resourceVersion === undefined ? { status } : { metadata: { resourceVersion }, status };
    try {
      await this.rest.request('PATCH', path, { body, contentType: MERGE_PATCH, timeoutMs: this.timeoutMs });
    } catch (err) {
      if (err instanceof KubeApiError) throw err;
      throw new Error(`${t.kind} ${t.namespace}/${t.name}: ${errorText(err)}`);
    }
  }
}
