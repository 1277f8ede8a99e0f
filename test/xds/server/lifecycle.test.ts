import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { CLUSTER, LISTENER, ROUTE } from '../../../src/xds/types.js';
import { AdsClient } from '../../support/ads-client.js';
import { FakeProxyViews, cluster, listener, routeConfig } from '../../support/fake-proxy-views.js';
import { NODE, startHarness, type Harness } from './harness.js';

describe('xDS server: stream lifecycle, status and events', () => {
  let h: Harness;

  beforeEach(async () => {
    h = await startHarness(new FakeProxyViews(cluster('a'), listener('l1'), routeConfig('l1')));
  });
  afterEach(async () => {
    await h.stop();
  });

  it('a client cancelling its stream closes the view, and the server keeps serving', async () => {
    const c = await h.sotw();
    await c.fetch(CLUSTER);
    assert.equal(h.source.openViews.size, 1);
    const closed = h.source.nextViewClosed();
    c.close();
    const view = await closed;
    assert.equal(view.node.id, NODE.id);
    const ev = await h.events.waitFor('streamClosed');
    assert.equal(ev.node.id, NODE.id);
    assert.equal(h.server.streams().length, 0);

    h.source.put(cluster('b')); // nobody listens; must not throw
    const again = await h.sotw();
    assert.deepEqual((await again.fetch(CLUSTER)).names, ['a', 'b']);
  });

  it('close() ends every stream with UNAVAILABLE, closes the views and stops listening', async () => {
    const s = await h.sotw();
    await s.fetch(CLUSTER);
    const d = await h.delta({ id: 'delta-proxy' });
    d.request(CLUSTER);
    await d.next(CLUSTER);
    assert.equal(h.source.openViews.size, 2);

    await h.server.close();
    assert.equal((await s.closed).code, grpc.status.UNAVAILABLE);
    assert.equal((await d.closed).code, grpc.status.UNAVAILABLE);
    assert.equal(h.source.openViews.size, 0);
    assert.equal(h.server.streams().length, 0);
    await assert.rejects(AdsClient.connect(h.address, NODE, { readyTimeoutMs: 300 }), /cannot connect/);
  });

  it('reports per-stream status: node, and per type the last sent, ACKed and NACKed versions', async () => {
    const c = await h.sotw();
    const cds = await c.fetch(CLUSTER);
    await h.events.waitFor('acked', (e) => e.nonce === cds.nonce);
    c.request(LISTENER, []);
    const lds = await c.next(LISTENER);
    c.nack(lds, 'no thanks');
    await h.events.waitFor('nacked');

    const [st] = h.server.streams();
    assert.equal(st.nodeId, NODE.id);
    assert.equal(st.delta, false);
    assert.equal(st.method, '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources');
    const byType = new Map(st.types.map((t) => [t.typeUrl, t]));
    assert.deepEqual(
      { ...byType.get(CLUSTER), lastSentAt: undefined, lastAckedAt: undefined },
      {
        typeUrl: CLUSTER, wildcard: true, subscribed: [], lastSentVersion: cds.versionInfo, lastSentNonce: cds.nonce,
        lastSentAt: undefined, lastAckedVersion: cds.versionInfo, lastAckedNonce: cds.nonce, lastAckedAt: undefined, lastNack: undefined,
        sends: 1, acks: 1, nacks: 0,
      },
    );
    const l = byType.get(LISTENER);
    assert.equal(l?.lastSentVersion, lds.versionInfo);
    assert.equal(l?.lastSentNonce, lds.nonce);
    assert.equal(l?.lastAckedVersion, undefined);
    assert.equal(l?.lastNack?.message, 'no thanks');
    assert.equal(l?.lastNack?.rejectedVersion, lds.versionInfo);
  });

  it('emits streamOpened, sent, acked and streamClosed with what happened', async () => {
    const c = await h.sotw();
    const res = await c.fetch(ROUTE, ['l1']);
    const open = await h.events.waitFor('streamOpened');
    assert.equal(open.node.id, NODE.id);
    assert.equal(open.delta, false);
    const sent = await h.events.waitFor('sent', (e) => e.typeUrl === ROUTE);
    assert.equal(sent.nonce, res.nonce);
    assert.equal(sent.version, res.versionInfo);
    assert.equal(sent.resources, 1);
    assert.equal(sent.bytes, res.bytes);
    const acked = await h.events.waitFor('acked', (e) => e.nonce === res.nonce);
    assert.equal(acked.version, res.versionInfo);
    assert.equal(acked.streamId, open.streamId);
    c.close();
    const closed = await h.events.waitFor('streamClosed');
    assert.equal(closed.streamId, open.streamId);
  });

  it('a source that cannot serve a node closes that stream with INTERNAL; others are unaffected', async () => {
    const ok = await h.sotw();
    await ok.fetch(CLUSTER);
    h.source.failWith = new Error('no such proxy class');
    const bad = await h.sotw({ id: 'broken' });
    bad.request(CLUSTER, []);
    const end = await bad.closed;
    assert.equal(end.code, grpc.status.INTERNAL);
    assert.match(end.details, /no such proxy class/);
    h.source.failWith = undefined;
    h.source.put(cluster('b'));
    assert.deepEqual((await ok.next(CLUSTER)).names, ['a', 'b']);
  });

  it('an ADS request without type_url is refused with INVALID_ARGUMENT', async () => {
    const c = await h.sotw();
    c.request('', []);
    const end = await c.closed;
    assert.equal(end.code, grpc.status.INVALID_ARGUMENT);
    assert.match(end.details, /type_url/);
    assert.equal(h.source.openViews.size, 0, 'the view opened for the node is closed again');
  });
});

describe('xDS server: a throwing event listener', () => {
  it('does not disturb the protocol', async () => {
    const h = await startHarness(new FakeProxyViews(cluster('a')));
    h.events.sent = () => {
      throw new Error('metrics exploded');
    };
    try {
      const c = await h.sotw();
      assert.deepEqual((await c.fetch(CLUSTER)).names, ['a']);
      h.source.put(cluster('b'));
      assert.deepEqual((await c.next(CLUSTER)).names, ['a', 'b']);
      assert.ok(h.logs.some((l) => l.level === 'error' && String(l.message).includes('event listener threw')));
    } finally {
      await h.stop();
    }
  });
});
