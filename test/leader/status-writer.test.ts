// StatusWriter against the fake API server, reading live objects from a real informer cache
// (which lags behind the writer's own writes, as in a cluster).
import assert from 'node:assert/strict';
import { TRAFFIC_ROUTES } from '../../src/sources/kube/kinds.js';
import { KubeSource } from '../../src/sources/kube/kube-source.js';
import { KubeRest } from '../../src/kube/rest.js';
import {
  KubeStatusClient, nextStatus, StatusWriter, type DesiredCondition, type DesiredStatus, type WrittenCondition,
} from '../../src/leader/status-writer.js';
import { silentLogger } from '../../src/logging.js';
import { startFakeKubeApi, type FakeKubeApi, type KubeObject } from '../support/fake-kube-api.js';
import { RecordingSink } from '../support/kube-helpers.js';

const API = 'routing.pilotfish.io/v1alpha1';
const STATUS_WRITES = { verb: 'patch' as const, resource: 'trafficroutes', subresource: 'status' };

function desired(name: string, conditions: DesiredCondition[], generation = 1, uid?: string): DesiredStatus {
  return {
    target: { apiVersion: API, kind: 'TrafficRoute', plural: 'trafficroutes', namespace: 'default', name },
    observedGeneration: generation, conditions, ...(uid ? { uid } : {}),
  };
}

const accepted = (status: 'True' | 'False', reason = status === 'True' ? 'Accepted' : 'Invalid'): DesiredCondition =>
  ({ type: 'Accepted', status, reason, message: `${reason}.`, observedGeneration: 1 });

describe('controller/kube StatusWriter', function () {
  this.timeout(20_000);
  let api: FakeKubeApi;
  let source: KubeSource;
  let writer: StatusWriter;
  let leader: boolean;

  beforeEach(async () => {
    api = await startFakeKubeApi();
    api.create({ apiVersion: API, kind: 'TrafficRoute', metadata: { name: 'r', namespace: 'default' }, spec: { hosts: ['web'] } } as KubeObject);
    source = new KubeSource({ kubeConfig: api.kubeConfig(), logger: silentLogger(), kinds: [TRAFFIC_ROUTES] });
    await source.start(new RecordingSink());
    leader = true;
    writer = new StatusWriter({
      client: new KubeStatusClient(new KubeRest(api.kubeConfig())),
      live: (t) => source.routingObject('TrafficRoute', t.namespace, t.name),
      isLeader: () => leader,
      ownedTypes: ['Accepted', 'ResolvedRefs'],
      logger: silentLogger(),
      backoff: { initialMs: 10, maxMs: 50 },
    });
    source.onChange(() => writer.kick());
  });

  afterEach(async () => {
    await writer.stop();
    await source.stop();
    await api.close();
  });

  function stored(): { observedGeneration?: number; conditions?: WrittenCondition[] } | undefined {
    return api.get<KubeObject & { status?: { observedGeneration?: number; conditions?: WrittenCondition[] } }>(
      { apiVersion: API, kind: 'TrafficRoute', name: 'r', namespace: 'default' }).status;
  }

  /** Until the informer cache has the stored status (the writer then compares against it). */
  async function cacheCaughtUp(): Promise<void> {
    const want = api.get({ apiVersion: API, kind: 'TrafficRoute', name: 'r', namespace: 'default' }).metadata.resourceVersion;
    while (source.routingObject('TrafficRoute', 'default', 'r')?.metadata.resourceVersion !== want) {
      await new Promise<void>((resolve) => { const off = source.onChange(() => { off(); resolve(); }); });
    }
  }

  it('writes conditions with observedGeneration once, and never again for the same desired state', async () => {
    writer.setDesired([desired('r', [accepted('True')])]);
    // Asked again before the cache has seen the write: still one write.
    writer.setDesired([desired('r', [accepted('True')])]);
    await writer.idle();
    assert.equal(api.count(STATUS_WRITES), 1);
    const s = stored()!;
    assert.equal(s.observedGeneration, 1);
    assert.equal(s.conditions?.[0].type, 'Accepted');
    assert.match(s.conditions![0].lastTransitionTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

    await cacheCaughtUp();
    writer.setDesired([desired('r', [accepted('True')])]);
    writer.kick();
    await writer.idle();
    assert.equal(api.count(STATUS_WRITES), 1, 'unchanged: nothing written');
  });

  it('a changed condition is written; lastTransitionTime moves only when the status flips; foreign conditions stay', async () => {
    api.update({
      ...api.get({ apiVersion: API, kind: 'TrafficRoute', name: 'r', namespace: 'default' }),
      status: { conditions: [{ type: 'example.com/Audited', status: 'True', reason: 'Done', message: 'by someone else', lastTransitionTime: '2020-01-01T00:00:00Z' }] },
    });
    await cacheCaughtUp();
    let now = new Date('2026-01-01T00:00:00Z');
    const w = new StatusWriter({
      client: new KubeStatusClient(new KubeRest(api.kubeConfig())),
      live: (t) => source.routingObject('TrafficRoute', t.namespace, t.name),
      isLeader: () => true, ownedTypes: ['Accepted'], logger: silentLogger(), now: () => now,
    });
    try {
      w.setDesired([desired('r', [accepted('False')])]);
      await w.idle();
      await cacheCaughtUp();
      const first = stored()!.conditions!;
      assert.deepEqual(first.map((c) => c.type), ['Accepted', 'example.com/Audited']);
      assert.equal(first[0].lastTransitionTime, '2026-01-01T00:00:00Z');

      now = new Date('2026-01-01T00:05:00Z');
      w.setDesired([desired('r', [{ ...accepted('False'), message: 'a new message, same status' }])]);
      await w.idle();
      await cacheCaughtUp();
      assert.equal(stored()!.conditions![0].lastTransitionTime, '2026-01-01T00:00:00Z', 'same status keeps its time');
      assert.equal(stored()!.conditions![0].message, 'a new message, same status');

      now = new Date('2026-01-01T00:10:00Z');
      w.setDesired([desired('r', [accepted('True')])]);
      await w.idle();
      assert.equal(stored()!.conditions![0].lastTransitionTime, '2026-01-01T00:10:00Z', 'a flip moves it');
      assert.equal(stored()!.conditions![1].message, 'by someone else');
      assert.equal(api.count(STATUS_WRITES), 3);
    } finally {
      await w.stop();
    }
  });

  it('writes nothing while not leading, and catches up when it becomes leader', async () => {
    leader = false;
    writer.setDesired([desired('r', [accepted('True')])]);
    await writer.idle();
    assert.equal(api.count(STATUS_WRITES), 0);
    leader = true;
    writer.kick();
    await writer.idle();
    assert.equal(api.count(STATUS_WRITES), 1);
  });

  it('retries a failed write with backoff; skips objects that are gone or were re-created', async () => {
    api.create({ apiVersion: API, kind: 'TrafficRoute', metadata: { name: 'r2', namespace: 'default' }, spec: { hosts: ['web'] } } as KubeObject);
    while (!source.routingObject('TrafficRoute', 'default', 'r2')) {
      await new Promise<void>((resolve) => { const off = source.onChange(() => { off(); resolve(); }); });
    }
    api.failNext(STATUS_WRITES, { status: 500, count: 2 });
    const uid = source.routingObject('TrafficRoute', 'default', 'r')!.metadata.uid!;
    writer.setDesired([desired('r', [accepted('True')], 1, uid), desired('gone', [accepted('True')]), desired('r2', [accepted('True')], 1, 'old-uid')]);
    await api.waitForRequests({ ...STATUS_WRITES, status: 200 }, 1);
    assert.equal(writer.stats.failures, 2);
    await writer.idle();
    assert.equal(api.count(STATUS_WRITES), 3, 'two failures and the write that worked; nothing for the others');
    assert.equal(api.count({ ...STATUS_WRITES, name: 'r2' }), 0, 'r2 was re-created since (other uid): not written');
  });

  it('nextStatus keeps other status fields and puts owned conditions first', () => {
    const next = nextStatus(desired('r', [accepted('True')]), {
      observedGeneration: 0, somethingElse: 1, conditions: [{ type: 'Accepted', status: 'False' }, { type: 'Other', status: 'True' }, { type: 'ResolvedRefs', status: 'True' }],
    }, ['Accepted', 'ResolvedRefs'], new Date('2026-01-01T00:00:00Z'));
    assert.equal(next.somethingElse, 1);
    assert.equal(next.observedGeneration, 1);
    assert.deepEqual(next.conditions.map((c) => c.type), ['Accepted', 'Other'], 'an owned type no longer desired is dropped');
  });
});
