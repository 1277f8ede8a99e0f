// Leader election against the fake API server's Leases over real HTTP.
import assert from 'node:assert/strict';
import { LeaderElector } from '../../src/leader/leader-election.js';
import { KubeLeaseStore, type LeaseSpec, type LeaseStore, type StoredLease } from '../../src/leader/lease-store.js';
import { KubeRest } from '../../src/kube/rest.js';
import { silentLogger } from '../../src/logging.js';
import { startFakeKubeApi, type FakeKubeApi } from '../support/fake-kube-api.js';

const NS = 'pilotfish-system';
const LEASE = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', name: 'pilotfish-leader', namespace: NS };

/** A store that can "die" like a killed process: from then on nothing it sends gets an answer. */
class KillableStore implements LeaseStore {
  dead = false;
  constructor(private readonly inner: LeaseStore) {}
  get description(): string {
    return this.inner.description;
  }
  private guard<T>(f: () => Promise<T>): Promise<T> {
    return this.dead ? Promise.reject(new Error('process is gone')) : f();
  }
  get(): Promise<StoredLease | undefined> { return this.guard(() => this.inner.get()); }
  create(spec: LeaseSpec): Promise<StoredLease> { return this.guard(() => this.inner.create(spec)); }
  update(spec: LeaseSpec, rv: string): Promise<StoredLease> { return this.guard(() => this.inner.update(spec, rv)); }
}

function becomes(elector: LeaderElector, leading: boolean): Promise<void> {
  if (elector.isLeader() === leading) return Promise.resolve();
  return new Promise((resolve) => {
    const off = elector.onChange((l) => {
      if (l === leading) {
        off();
        resolve();
      }
    });
  });
}

describe('controller/kube LeaderElector', function () {
  this.timeout(20_000);
  let api: FakeKubeApi;
  const electors: LeaderElector[] = [];

  beforeEach(async () => {
    api = await startFakeKubeApi({ namespaces: ['default', NS] });
  });

  afterEach(async () => {
    for (const e of electors.splice(0)) await e.stop();
    await api.close();
  });

  function elector(identity: string, store?: LeaseStore, leaseDurationMs = 1000): LeaderElector {
    const e = new LeaderElector({
      store: store ?? new KubeLeaseStore(new KubeRest(api.kubeConfig()), NS, LEASE.name, 500),
      identity, leaseDurationMs, logger: silentLogger(),
    });
    electors.push(e);
    return e;
  }

  function lease(): LeaseSpec {
    return api.get<{ apiVersion: string; kind: string; metadata: Record<string, unknown>; spec: LeaseSpec }>(LEASE).spec;
  }

  it('creates the Lease, renews it with MicroTime timestamps, and keeps a second candidate out', async () => {
    // A 3 s lease: a leader that cannot renew within 2/3 of it rightly steps down, and a 1 s lease
    // left a starved test process (a loaded CI machine) 667 ms, which it sometimes overran.
    const a = elector('a', undefined, 3000);
    a.start();
    await becomes(a, true);
    const first = lease();
    assert.equal(first.holderIdentity, 'a');
    assert.equal(first.leaseDurationSeconds, 3);
    assert.match(first.renewTime!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    const b = elector('b', undefined, 3000);
    b.start();
    // Several renewals of a, and several attempts of b in between.
    await api.waitForRequests({ verb: 'update', resource: 'leases' }, 4);
    await api.waitForRequests({ verb: 'get', resource: 'leases' }, 8);
    assert.equal(a.isLeader(), true);
    assert.equal(b.isLeader(), false);
    assert.equal(b.holder(), 'a');
    assert.equal(lease().holderIdentity, 'a');
    assert.notEqual(lease().renewTime, first.renewTime, 'renewed');
    assert.equal(lease().acquireTime, first.acquireTime, 'renewal keeps acquireTime');
  });

  it('two candidates starting together: exactly one leads', async () => {
    // The 3 s lease of the first test, for the same reason.
    const a = elector('a', undefined, 3000);
    const b = elector('b', undefined, 3000);
    a.start();
    b.start();
    await Promise.race([becomes(a, true), becomes(b, true)]);
    await api.waitForRequests({ verb: 'get', resource: 'leases' }, 6);
    assert.equal([a.isLeader(), b.isLeader()].filter(Boolean).length, 1);
  });

  it('releases the Lease on stop, and the other candidate takes over at its next attempt', async () => {
    const a = elector('a');
    a.start();
    await becomes(a, true);
    const b = elector('b');
    b.start();
    await api.waitForRequests({ verb: 'get', resource: 'leases' }, 3);
    const bLeads = becomes(b, true);
    await a.stop();
    assert.equal(a.isLeader(), false);
    assert.equal(lease().holderIdentity === '' || lease().holderIdentity === 'b', true);
    await bLeads;
    const after = lease();
    assert.equal(after.holderIdentity, 'b');
    assert.equal(after.leaseDurationSeconds, 1);
    assert.equal(a.stats.releases, 1);
  });

  it('a leader that disappears without releasing is replaced after the lease expires, never before it stopped leading', async () => {
    const dying = new KillableStore(new KubeLeaseStore(new KubeRest(api.kubeConfig()), NS, LEASE.name, 500));
    const a = elector('a', dying);
    a.start();
    await becomes(a, true);
    const b = elector('b');
    b.start();
    await api.waitForRequests({ verb: 'get', resource: 'leases' }, 4);
    assert.equal(b.isLeader(), false);
    let aLeadingWhenBTookOver: boolean | undefined;
    const aStopped = becomes(a, false);
    const bLeads = new Promise<void>((resolve) => b.onChange((l) => {
      if (l) {
        aLeadingWhenBTookOver = a.isLeader();
        resolve();
      }
    }));
    const renewBeforeDeath = lease().renewTime!;
    dying.dead = true;
    await aStopped;
    await bLeads;
    assert.equal(aLeadingWhenBTookOver, false, 'the old leader had given up before the new one took over');
    const after = lease();
    assert.equal(after.holderIdentity, 'b');
    assert.equal(after.leaseTransitions, 1);
    assert.ok(Date.parse(after.acquireTime!) - Date.parse(renewBeforeDeath) >= 1000, 'not before the lease duration ran out');
  });

  it('a renewal that fails for longer than the renew deadline ends leadership even without a rival', async () => {
    const dying = new KillableStore(new KubeLeaseStore(new KubeRest(api.kubeConfig()), NS, LEASE.name, 500));
    const a = elector('a', dying);
    a.start();
    await becomes(a, true);
    dying.dead = true;
    await becomes(a, false);
    dying.dead = false;
    // Its own, still valid record: it takes the Lease straight back.
    await becomes(a, true);
    assert.equal(lease().holderIdentity, 'a');
  });
});
