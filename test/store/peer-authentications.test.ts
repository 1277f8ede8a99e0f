// PeerAuthentications through the store: parsed into the snapshot, an invalid edit keeps the last
// accepted version (logged once with object and reason), and only a change of what applies moves
// configGeneration.
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import type { CustomObject } from '../../src/model/k8s-object.js';
import { createLogger } from '../../src/logging.js';
import type { MeshSnapshot } from '../../src/model/snapshot.js';
import { EMPTY_OBJECTS } from '../../src/sources/objects.js';
import { SnapshotStore } from '../../src/store/snapshot-store.js';
import { ManualTimers } from '../support/manual-timers.js';
import { StaticSource } from '../support/static-source.js';

function peerAuthentication(name: string, mode: unknown, namespace = 'shop'): CustomObject {
  return {
    apiVersion: 'security.pilotfish.io/v1alpha1', kind: 'PeerAuthentication',
    metadata: { name, namespace }, spec: { mtls: { mode } },
  };
}

describe('store: PeerAuthentication', () => {
  let store: SnapshotStore;
  afterEach(async () => { await store?.stop(); });

  it('applies valid objects, keeps the last accepted version of an invalid edit, and logs it once', async () => {
    const stream = new PassThrough();
    const logged: { message: string; object?: string; reason?: string; serving?: string }[] = [];
    stream.on('data', (c: Buffer) => {
      for (const l of c.toString().split('\n')) if (l !== '') logged.push(JSON.parse(l) as (typeof logged)[number]);
    });
    const src = new StaticSource('files', { ...EMPTY_OBJECTS, peerAuthentications: [peerAuthentication('strict', 'STRICT')] });
    const timers = new ManualTimers();
    store = new SnapshotStore({ logger: createLogger('info', stream), timers });
    const published: MeshSnapshot[] = [];
    store.subscribe((s) => published.push(s));
    const first = await store.start([src]);
    assert.deepEqual(first.security.peerAuthentications.map((p) => [p.meta.name, p.mode]), [['strict', 'STRICT']]);

    src.set({ peerAuthentications: [peerAuthentication('strict', 'LOOSE'), peerAuthentication('new', 'NOPE')] });
    store.flush();
    const afterBad = store.current();
    assert.deepEqual(afterBad.security.peerAuthentications.map((p) => [p.meta.name, p.mode]), [['strict', 'STRICT']],
      'the invalid edit keeps STRICT; the never-valid object applies nothing');
    assert.equal(afterBad.configGeneration, first.configGeneration, 'what applies did not change');
    assert.equal(afterBad.security.peerAuthentications, first.security.peerAuthentications);
    const warnings = logged.filter((l) => l.message === 'PeerAuthentication not applied');
    assert.deepEqual(warnings.map((w) => [w.object, w.serving]), [
      ['PeerAuthentication shop/new', 'nothing of it'],
      ['PeerAuthentication shop/strict', 'the last accepted version'],
    ]);
    assert.match(warnings[1]?.reason ?? '', /spec\.mtls\.mode/);

    src.set({ peerAuthentications: [peerAuthentication('strict', 'LOOSE'), peerAuthentication('new', 'NOPE')], services: [] });
    store.flush();
    assert.equal(logged.filter((l) => l.message === 'PeerAuthentication not applied').length, 2, 'the same problems are not logged again');

    src.set({ peerAuthentications: [peerAuthentication('strict', 'DISABLE')] });
    store.flush();
    const fixed = store.current();
    assert.deepEqual(fixed.security.peerAuthentications.map((p) => [p.meta.name, p.mode]), [['strict', 'DISABLE']]);
    assert.ok(fixed.configGeneration > first.configGeneration, 'a change of what applies is a config change');
    assert.ok(logged.some((l) => l.message === 'PeerAuthentication accepted' && l.object === 'PeerAuthentication shop/strict'));

    src.set({});
    store.flush();
    assert.deepEqual(store.current().security.peerAuthentications, [], 'a deleted object applies nothing any more');
  });
});
