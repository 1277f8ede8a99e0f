// Leader election on a coordination.k8s.io/v1 Lease, with client-go's semantics: every replica
// serves xDS, only the holder of the Lease writes status.
//
// - A Lease held by someone else counts as expired when its record has not changed for
//   leaseDuration as measured on OUR clock since we first saw that record (not by comparing its
//   renewTime with our clock), so clock skew between replicas cannot cause two leaders.
// - The leader renews every renewInterval; if it cannot renew for renewDeadline (< leaseDuration)
//   it stops leading before anyone else may take over.
// - On shutdown the leader releases the Lease (empty holder, 1 s duration) so a successor takes
//   over at its next attempt instead of waiting out the lease.
import type { Logger } from '../logging.js';
import { LeaseConflict, microTime, type LeaseSpec, type LeaseStore, type StoredLease } from './lease-store.js';
import { errorText } from '../kube/rest.js';

interface LeaderElectorOptions {
  readonly store: LeaseStore;
  /** This replica's name in the Lease (the Pod name in a cluster). */
  readonly identity: string;
  readonly leaseDurationMs: number;
  /** How often the leader renews; default leaseDuration / 3. */
  readonly renewIntervalMs?: number;
  /** The leader gives up after failing to renew for this long; default 2/3 of leaseDuration. */
  readonly renewDeadlineMs?: number;
  /** How often a non-leader tries to acquire (plus up to 20 % jitter); default leaseDuration / 3. */
  readonly retryIntervalMs?: number;
  readonly logger: Logger;
  readonly now?: () => number;
  readonly random?: () => number;
}

type LeadershipListener = (leading: boolean) => void;

export class LeaderElector {
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly renewIntervalMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryIntervalMs: number;
  private readonly leaseSeconds: number;
  private leading = false;
  private lastRenewAt = 0;
  private observedRecord = '';
  private observedAt = 0;
  private observedHolder: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private running = false;
  private readonly listeners = new Set<LeadershipListener>();
  /** Counts, for tests and metrics. */
  readonly stats = { acquisitions: 0, renewals: 0, failures: 0, releases: 0 };

  constructor(private readonly opts: LeaderElectorOptions) {
    if (opts.leaseDurationMs < 1000) throw new Error('lease duration must be at least 1 s');
    this.log = opts.logger.child({ component: 'leader-election', lease: opts.store.description, identity: opts.identity });
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? Math.random;
    this.leaseSeconds = Math.max(1, Math.round(opts.leaseDurationMs / 1000));
    this.renewIntervalMs = opts.renewIntervalMs ?? Math.floor(opts.leaseDurationMs / 3);
    this.renewDeadlineMs = opts.renewDeadlineMs ?? Math.floor((opts.leaseDurationMs * 2) / 3);
    this.retryIntervalMs = opts.retryIntervalMs ?? Math.floor(opts.leaseDurationMs / 3);
    if (this.renewDeadlineMs >= opts.leaseDurationMs) throw new Error('the renew deadline must be shorter than the lease duration');
  }

  get identity(): string {
    return this.opts.identity;
  }

  /** True while we hold the Lease and renewed it recently enough that nobody else can hold it. */
  isLeader(): boolean {
    return this.leading && this.now() - this.lastRenewAt < this.renewDeadlineMs;
  }

  /** The holder we last saw in the Lease ('' when released, undefined before the first read). */
  holder(): string | undefined {
    return this.observedHolder;
  }

  /** Called with true on becoming leader and false on losing or giving up leadership. */
  onChange(listener: LeadershipListener): () => void {
    this.listeners.add(listener);
    return () => { this.listeners.delete(listener); };
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(0);
  }

  /** Stops trying; a leader releases the Lease first. */
  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    await this.inFlight;
    if (!this.leading) return;
    try {
      const current = await this.opts.store.get();
      if (current && current.spec.holderIdentity === this.opts.identity) {
        const now = microTime(this.now());
        await this.opts.store.update({
          holderIdentity: '', leaseDurationSeconds: 1, acquireTime: now, renewTime: now,
          leaseTransitions: current.spec.leaseTransitions ?? 0,
        }, current.resourceVersion);
        this.stats.releases++;
        this.log.info('released the lease');
      }
    } catch (err) {
      this.log.warn('could not release the lease; a successor takes over when it expires', { error: errorText(err) });
    }
    this.setLeading(false, 'shutting down');
  }

  private schedule(ms: number): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      this.inFlight = this.attempt().finally(() => { this.inFlight = undefined; });
    }, ms);
  }

  private async attempt(): Promise<void> {
    try {
      const held = await this.tryAcquireOrRenew();
      if (!held && this.leading) this.setLeading(false, `the lease is now held by ${this.observedHolder || 'nobody'}`);
    } catch (err) {
      this.stats.failures++;
      if (this.leading && this.now() - this.lastRenewAt >= this.renewDeadlineMs) {
        this.setLeading(false, `could not renew for ${this.renewDeadlineMs} ms: ${errorText(err)}`);
      } else {
        this.log.warn(this.leading ? 'renewing the lease failed; retrying' : 'reading the lease failed; retrying', { error: errorText(err) });
      }
    }
    if (this.leading) this.schedule(this.renewIntervalMs);
    else this.schedule(Math.round(this.retryIntervalMs * (1 + 0.2 * this.random())));
  }

  /** One round: true when we hold the Lease afterwards. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const me = this.opts.identity;
    const current = await this.opts.store.get();
    const now = this.now();
    if (!current) {
      try {
        const created = await this.opts.store.create({
          holderIdentity: me, leaseDurationSeconds: this.leaseSeconds,
          acquireTime: microTime(now), renewTime: microTime(now), leaseTransitions: 0,
        });
        this.observe(created, now);
        this.renewed(now, true);
        return true;
      } catch (err) {
        if (err instanceof LeaseConflict) return false;
        throw err;
      }
    }
    this.observe(current, now);
    const holder = current.spec.holderIdentity ?? '';
    const durationMs = (current.spec.leaseDurationSeconds ?? this.leaseSeconds) * 1000;
    if (holder !== '' && holder !== me && now < this.observedAt + durationMs) return false;

    const taking = holder !== me;
    const spec: LeaseSpec = {
      holderIdentity: me,
      leaseDurationSeconds: this.leaseSeconds,
      acquireTime: taking || !current.spec.acquireTime ? microTime(now) : current.spec.acquireTime,
      renewTime: microTime(now),
      leaseTransitions: (current.spec.leaseTransitions ?? 0) + (taking && holder !== '' ? 1 : 0),
    };
    try {
      const updated = await this.opts.store.update(spec, current.resourceVersion);
      this.observe(updated, now);
      this.renewed(now, taking);
      return true;
    } catch (err) {
      // Someone else wrote the Lease between our read and write: they won this round.
      if (err instanceof LeaseConflict) return false;
      throw err;
    }
  }

  private observe(lease: StoredLease, now: number): void {
    const record = JSON.stringify(lease.spec);
    if (record !== this.observedRecord) {
      this.observedRecord = record;
      this.observedAt = now;
    }
    const holder = lease.spec.holderIdentity ?? '';
    if (holder !== this.observedHolder) {
      if (holder !== this.opts.identity) this.log.info('leader observed', { holder: holder || '(none: released)' });
      this.observedHolder = holder;
    }
  }

  private renewed(now: number, acquired: boolean): void {
    this.lastRenewAt = now;
    if (acquired) this.stats.acquisitions++;
    else this.stats.renewals++;
    if (!this.leading) this.setLeading(true, acquired ? 'acquired the lease' : 'already held the lease');
  }

  private setLeading(leading: boolean, reason: string): void {
    if (this.leading === leading) return;
    this.leading = leading;
    if (leading) this.log.info('started leading', { reason });
    else this.log.warn('stopped leading', { reason });
    for (const l of [...this.listeners]) {
      try {
        l(leading);
      } catch (err) {
        this.log.error('leadership listener failed', { error: (err as Error).stack ?? String(err) });
      }
    }
  }
}
