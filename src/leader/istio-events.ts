// Tells the owners of Istio objects what pilotfish did with them. Their status belongs to Istio (and
// to whoever else reads these CRDs), so pilotfish writes none: the lease holder records a Kubernetes
// Event on the object instead — `kubectl describe virtualservice NAME` shows it — when fields are
// left out (reason UnsupportedFields) or when the object is not applied (reason NotApplied). One
// Event per object, reason and content: an unchanged object is not reported again, a new
// generation or a new finding is. A new leader reports what is current once more (its memory
// starts empty), which costs one Event per finding per failover.
import { SerialPasses } from './serial-passes.js';
import type { Logger } from '../logging.js';
import { Backoff } from '../kube/backoff.js';
import { errorText, type KubeRest } from '../kube/rest.js';
import type { ApiPermission } from '../kube/api-permission.js';
import { routingObjectKey } from '../model/routing.js';
import type { RoutingObjectStatus } from '../model/routing-status.js';
import { formatIgnored } from '../routing/proxyless.js';
import { ISTIO_NETWORKING_API_VERSION } from '../api/istio/networking/v1/kinds.js';

export const ISTIO_EVENT_PERMISSIONS: readonly ApiPermission[] = [{
  group: '', resource: 'events', verbs: ['create'], scope: 'cluster',
  why: 'Istio event reporter: Events on VirtualServices and DestinationRules (fields left out, not applied)',
}];

/**
 * An Event's message is cut to this many characters: Kubernetes keeps messages of up to 1 KiB in
 * events.k8s.io (and kubectl shows no more), and the findings quote object content.
 */
export const MAX_EVENT_MESSAGE = 1024;

const COMPONENT = 'pilotfish';

interface IstioEvent {
  readonly namespace: string;
  readonly kind: 'VirtualService' | 'DestinationRule';
  readonly name: string;
  readonly uid?: string;
  readonly reason: 'UnsupportedFields' | 'NotApplied';
  readonly message: string;
}

interface EventClient {
  createEvent(event: IstioEvent, reporter: string, now: Date): Promise<void>;
}

/** Creates core/v1 Events through the API server. */
export class KubeEventClient implements EventClient {
  constructor(private readonly rest: KubeRest) {}

  async createEvent(e: IstioEvent, reporter: string, now: Date): Promise<void> {
    const time = now.toISOString().replace(/\.\d+Z$/, 'Z');
    await this.rest.request('POST', `/api/v1/namespaces/${encodeURIComponent(e.namespace)}/events`, {
      body: {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { generateName: `${e.name}.`, namespace: e.namespace },
        involvedObject: {
          apiVersion: ISTIO_NETWORKING_API_VERSION, kind: e.kind, name: e.name, namespace: e.namespace,
          ...(e.uid !== undefined ? { uid: e.uid } : {}),
        },
        reason: e.reason,
        message: e.message,
        type: 'Warning',
        source: { component: COMPONENT },
        reportingComponent: COMPONENT,
        reportingInstance: reporter.slice(0, 128),
        firstTimestamp: time,
        lastTimestamp: time,
        count: 1,
      },
    });
  }
}

function cut(text: string): string {
  return text.length > MAX_EVENT_MESSAGE ? `${text.slice(0, MAX_EVENT_MESSAGE - 1)}…` : text;
}

/** The Events the Istio objects among `statuses` call for. Pure. */
function istioEvents(statuses: readonly RoutingObjectStatus[]): IstioEvent[] {
  const out: IstioEvent[] = [];
  for (const s of statuses) {
    if (s.kind !== 'VirtualService' && s.kind !== 'DestinationRule') continue;
    const who = { namespace: s.namespace, kind: s.kind, name: s.name, ...(s.uid !== undefined ? { uid: s.uid } : {}) };
    const gen = s.generation === undefined ? '' : ` (generation ${s.generation})`;
    if (s.unsupported !== undefined) {
      out.push({ ...who, reason: 'UnsupportedFields', message: cut(`pilotfish leaves out fields it does not support${gen}: ${formatIgnored(s.unsupported)}`) });
    }
    const accepted = s.conditions.find((c) => c.type === 'Accepted');
    if (accepted !== undefined && accepted.status !== 'True') {
      const refs = s.conditions.find((c) => c.type === 'ResolvedRefs');
      const detail = refs?.status === 'False' ? `${refs.message} ${accepted.message}` : accepted.message;
      out.push({ ...who, reason: 'NotApplied', message: cut(`pilotfish does not apply this ${s.kind}${gen} (${accepted.reason}): ${detail}`) });
    }
  }
  return out;
}

interface IstioEventReporterOptions {
  readonly client: EventClient;
  readonly isLeader: () => boolean;
  readonly logger: Logger;
  /** The reporting instance (the replica's identity). */
  readonly identity: string;
  readonly now?: () => Date;
}

function eventKey(e: IstioEvent): string {
  return `${routingObjectKey(e)}/${e.reason}`;
}

function fingerprint(e: IstioEvent): string {
  return `${e.uid ?? ''}\n${e.message}`;
}

export class IstioEventReporter {
  private desired: readonly IstioEvent[] = [];
  private statuses: readonly RoutingObjectStatus[] | undefined;
  /** What was reported, by object and reason: only objects still in `desired` are kept. */
  private reported = new Map<string, string>();
  private readonly passes = new SerialPasses(() => this.pass());
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly backoff = new Backoff({ initialMs: 1000, maxMs: 60_000 });
  private readonly log: Logger;
  private readonly now: () => Date;
  readonly stats = { created: 0, failures: 0 };

  constructor(private readonly opts: IstioEventReporterOptions) {
    this.log = opts.logger.child({ component: 'istio-events' });
    this.now = opts.now ?? (() => new Date());
  }

  /** New validation results. */
  update(statuses: readonly RoutingObjectStatus[]): void {
    // The store keeps the array while no status changes.
    if (statuses === this.statuses) return;
    this.statuses = statuses;
    this.desired = istioEvents(statuses);
    const keys = new Set(this.desired.map(eventKey));
    for (const k of [...this.reported.keys()]) if (!keys.has(k)) this.reported.delete(k);
    this.kick();
  }

  /** Reports what is pending, if this replica leads. */
  kick(): void {
    if (this.opts.isLeader()) this.passes.kick();
  }

  /** Resolves once nothing is being sent (for tests and shutdown). */
  async idle(): Promise<void> {
    await this.passes.idle();
  }

  async stop(): Promise<void> {
    clearTimeout(this.retryTimer);
    await this.passes.stop();
  }

  private async pass(): Promise<void> {
    for (const e of this.desired) {
      if (this.passes.stopped || !this.opts.isLeader()) return;
      const key = eventKey(e);
      const print = fingerprint(e);
      if (this.reported.get(key) === print) continue;
      try {
        await this.opts.client.createEvent(e, this.opts.identity, this.now());
        this.reported.set(key, print);
        this.stats.created++;
        this.backoff.reset();
      } catch (err) {
        this.stats.failures++;
        const delayMs = this.backoff.next();
        this.log.warn('could not record an Event on an Istio object; retrying', {
          object: `${e.kind} ${e.namespace}/${e.name}`, reason: errorText(err).slice(0, 512), delayMs,
        });
        clearTimeout(this.retryTimer);
        this.retryTimer = setTimeout(() => this.kick(), delayMs);
        this.retryTimer.unref();
        return;
      }
    }
  }
}
