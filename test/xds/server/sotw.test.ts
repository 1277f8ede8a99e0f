import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { CLUSTER, ENDPOINT, LISTENER, ROUTE } from '../../../src/xds/types.js';
import type { AdsClient, SotwResponse } from '../../support/ads-client.js';
import { FakeProxyViews, cluster, endpoints, listener, routeConfig } from '../../support/fake-proxy-views.js';
import { NODE, startHarness, type Harness } from './harness.js';

let sentinels = 0;

/**
 * Proves that nothing of `typeUrl` was sent in reply to what the client sent so far: the
 * server handles a stream's requests in order, so an answer to an earlier request would
 * arrive before the answer to this fresh subscription of another type (RDS, or EDS when RDS
 * is the type under test). `keep` are names of that other type to stay subscribed to.
 */
async function assertNothingSentBefore(c: AdsClient, typeUrl: string, keep: string[] = []): Promise<void> {
  const other = typeUrl === ROUTE ? ENDPOINT : ROUTE;
  sentinels += 1;
  c.request(other, [...keep, `sentinel-${sentinels}`]);
  const next = await c.next();
  assert.equal(next.typeUrl, other, `expected no ${typeUrl} response, got one (version ${next.versionInfo})`);
  assert.equal(c.buffered(typeUrl), 0);
}

describe('xDS server: state of the world (ADS)', () => {
  let h: Harness;

  beforeEach(async () => {
    h = await startHarness(new FakeProxyViews(
      cluster('a'), cluster('b'), endpoints('a'), endpoints('b'), listener('l1', 'r1'), routeConfig('r1'), routeConfig('r2'),
    ));
  });
  afterEach(async () => {
    await h.stop();
  });

  describe('node', () => {
    it('takes the node from the first request; later requests may omit it', async () => {
      const c = await h.sotw();
      const cds = await c.fetch(CLUSTER);
      assert.deepEqual(cds.names, ['a', 'b']);
      c.request(ROUTE, ['r1']); // no node on this one
      const rds = await c.next(ROUTE);
      assert.deepEqual(rds.names, ['r1']);
      assert.equal(h.source.nodes.length, 1, 'one view per stream');
      assert.deepEqual(h.source.nodes[0], NODE, 'node metadata arrives as plain JSON');
      const [st] = h.server.streams();
      assert.equal(st.nodeId, NODE.id);
    });

    it('closes a stream whose first request has no node with INVALID_ARGUMENT', async () => {
      const c = await h.sotw(null);
      c.request(CLUSTER, []);
      const end = await c.closed;
      assert.equal(end.code, grpc.status.INVALID_ARGUMENT);
      assert.match(end.details, /first discovery request .* must carry a node/);
      assert.equal(h.source.nodes.length, 0, 'no view is created without a node');
    });

    it('rejects a first request whose node has an empty id', async () => {
      const c = await h.sotw({ id: '' });
      c.request(CLUSTER, []);
      assert.equal((await c.closed).code, grpc.status.INVALID_ARGUMENT);
    });
  });

  describe('nonces', () => {
    it('gives every response a fresh nonce', async () => {
      const c = await h.sotw();
      const seen: SotwResponse[] = [await c.fetch(CLUSTER), await c.fetch(LISTENER), await c.fetch(ROUTE, ['r1'])];
      h.source.put(cluster('c'));
      seen.push(await c.next(CLUSTER));
      c.ack(seen[3]);
      h.source.put(cluster('a', 2));
      seen.push(await c.next(CLUSTER));
      const nonces = seen.map((r) => r.nonce);
      assert.ok(nonces.every((n) => n.length > 0));
      assert.equal(new Set(nonces).size, nonces.length, `nonces repeat: ${nonces.join(' ')}`);
    });

    it('ignores a request with a stale nonce for ACK/NACK purposes', async () => {
      const c = await h.sotw();
      c.request(CLUSTER, []);
      const first = await c.next(CLUSTER);
      h.source.put(cluster('c'));
      const second = await c.next(CLUSTER);
      c.nack(first, 'complaint about an outdated response'); // stale: `second` superseded it
      c.ack(second);
      await h.events.waitFor('acked', (e) => e.nonce === second.nonce);
      assert.equal(h.events.all('nacked').length, 0);
      const cds = h.server.streams()[0].types.find((t) => t.typeUrl === CLUSTER);
      assert.equal(cds?.nacks, 0);
      assert.equal(cds?.lastAckedVersion, second.versionInfo);
    });
  });

  describe('NACK', () => {
    it('is detected by error_detail, reported, logged, counted, and triggers no resend', async () => {
      const c = await h.sotw();
      const good = await c.fetch(LISTENER);
      await h.events.waitFor('acked', (e) => e.nonce === good.nonce);
      h.source.put(listener('l2', 'r2'));
      const bad = await c.next(LISTENER);
      c.nack(bad, 'listener l2: invalid filter chain');

      const nack = await h.events.waitFor('nacked');
      assert.equal(nack.node.id, NODE.id);
      assert.equal(nack.typeUrl, LISTENER);
      assert.equal(nack.message, 'listener l2: invalid filter chain');
      assert.equal(nack.rejectedVersion, bad.versionInfo);
      assert.equal(nack.version, good.versionInfo, 'the version the proxy still runs');

      const warn = h.logs.find((l) => l.level === 'warn' && String(l.message).includes('NACK'));
      assert.ok(warn, 'a NACK is logged at warn');
      assert.equal(warn.proxy, NODE.id);
      assert.equal(warn.type, 'LDS');
      assert.equal(warn.version, bad.versionInfo);
      assert.equal(warn.error, 'listener l2: invalid filter chain');

      const lds = h.server.streams()[0].types.find((t) => t.typeUrl === LISTENER);
      assert.equal(lds?.nacks, 1);
      assert.equal(lds?.lastNack?.message, 'listener l2: invalid filter chain');
      assert.equal(lds?.lastAckedVersion, good.versionInfo);

      await assertNothingSentBefore(c, LISTENER, ['r1']);

      h.source.put(listener('l2', 'r2', 2));
      const fixed = await c.next(LISTENER);
      assert.notEqual(fixed.versionInfo, bad.versionInfo);
      assert.deepEqual(fixed.names, ['l1', 'l2']);
    });

    it('is not inferred from a version mismatch alone', async () => {
      const c = await h.sotw();
      c.request(CLUSTER, []);
      const cds = await c.next(CLUSTER);
      // An ACK that (oddly) reports another version is still an ACK: no error_detail, no NACK.
      c.request(CLUSTER, [], { versionInfo: 'something-else', responseNonce: cds.nonce });
      await h.events.waitFor('acked', (e) => e.nonce === cds.nonce);
      assert.equal(h.events.all('nacked').length, 0);
    });
  });

  describe('when to respond', () => {
    it('holds on an ACK of the current version', async () => {
      const c = await h.sotw();
      await c.fetch(CLUSTER);
      await c.fetch(LISTENER);
      await assertNothingSentBefore(c, CLUSTER);
      assert.equal(c.buffered(LISTENER), 0);
    });

    it('responds when the content changes, and not when an unsubscribed resource changes', async () => {
      const c = await h.sotw();
      const before = await c.fetch(ROUTE, ['r1']);
      h.source.put(routeConfig('r2', 'other')); // r2 is not subscribed
      await assertNothingSentBefore(c, ROUTE);
      const c2 = await h.sotw();
      const r = await c2.fetch(ROUTE, ['r1']);
      assert.equal(r.versionInfo, before.versionInfo);
      h.source.put(routeConfig('r1', 'other'));
      const after = await c2.next(ROUTE);
      assert.notEqual(after.versionInfo, before.versionInfo);
      assert.equal((after.resources[0].value as { name: string }).name, 'r1');
    });

    it('sends newly subscribed names even when nothing changed', async () => {
      const c = await h.sotw();
      const r1 = await c.fetch(ROUTE, ['r1']);
      c.ack(r1, ['r1', 'not-yet']);
      const again = await c.next(ROUTE);
      assert.equal(again.versionInfo, r1.versionInfo, 'same content, same version');
      assert.deepEqual(again.names, ['r1']);

      const lds = await c.fetch(LISTENER, []);
      c.ack(lds, ['*', 'l1']);
      const ldsAgain = await c.next(LISTENER);
      assert.equal(ldsAgain.versionInfo, lds.versionInfo);
    });

    it('derives version_info from the content: same set, same version', async () => {
      const c1 = await h.sotw();
      const c2 = await h.sotw({ id: 'other-proxy' });
      const v1 = await c1.fetch(CLUSTER);
      const v2 = await c2.fetch(CLUSTER);
      assert.equal(v1.versionInfo, v2.versionInfo);
      h.source.put(cluster('c'));
      const added = await c1.next(CLUSTER);
      c1.ack(added);
      assert.notEqual(added.versionInfo, v1.versionInfo);
      h.source.remove(CLUSTER, 'c');
      const back = await c1.next(CLUSTER);
      assert.equal(back.versionInfo, v1.versionInfo, 'back to the same set, back to the same version');
    });
  });

  describe('full state and named resources', () => {
    it('LDS and CDS carry everything, so a deleted resource disappears', async () => {
      const c = await h.sotw();
      const cds = await c.fetch(CLUSTER);
      assert.deepEqual(cds.names, ['a', 'b']);
      const lds = await c.fetch(LISTENER);
      assert.deepEqual(lds.names, ['l1']);
      h.source.put(cluster('c'));
      c.ack(await c.next(CLUSTER));
      h.source.update((ch) => ch.remove(CLUSTER, 'b').remove(LISTENER, 'l1'));
      const cds2 = await c.next(CLUSTER);
      assert.deepEqual(cds2.names, ['a', 'c']);
      const lds2 = await c.next(LISTENER);
      assert.deepEqual(lds2.names, [], 'an empty LDS response deletes the last listener');
    });

    it('RDS and EDS carry only the named resources', async () => {
      const c = await h.sotw();
      const rds = await c.fetch(ROUTE, ['r2']);
      assert.deepEqual(rds.names, ['r2']);
      const eds = await c.fetch(ENDPOINT, ['b']);
      assert.deepEqual(eds.names, ['b']);
      h.source.put(endpoints('b', 9090));
      const eds2 = await c.next(ENDPOINT);
      assert.deepEqual(eds2.names, ['b']);
    });

    it('remembers subscriptions to names that do not exist yet', async () => {
      const c = await h.sotw();
      const none = await c.fetch(ROUTE, ['later']);
      assert.deepEqual(none.names, []);
      const cds = await c.fetch(CLUSTER, ['c-later']);
      assert.deepEqual(cds.names, []);
      h.source.put(routeConfig('later'));
      assert.deepEqual((await c.next(ROUTE)).names, ['later']);
      h.source.put(cluster('c-later'));
      assert.deepEqual((await c.next(CLUSTER)).names, ['c-later']);
    });
  });

  describe('wildcard', () => {
    it('an empty first LDS/CDS request is a wildcard subscription', async () => {
      const c = await h.sotw();
      assert.deepEqual((await c.fetch(LISTENER, [])).names, ['l1']);
      h.source.put(listener('l9'));
      assert.deepEqual((await c.next(LISTENER)).names, ['l1', 'l9']);
      assert.equal(h.server.streams()[0].types.find((t) => t.typeUrl === LISTENER)?.wildcard, true);
    });

    it('"*" is a wildcard subscription too', async () => {
      const c = await h.sotw();
      assert.deepEqual((await c.fetch(CLUSTER, ['*'])).names, ['a', 'b']);
    });

    it('an empty list after named subscriptions unsubscribes from everything', async () => {
      const c = await h.sotw();
      const named = await c.fetch(LISTENER, ['l1']);
      assert.deepEqual(named.names, ['l1']);
      c.ack(named, []);
      h.source.put(listener('l5'));
      await assertNothingSentBefore(c, LISTENER);
      const lds = h.server.streams()[0].types.find((t) => t.typeUrl === LISTENER);
      assert.equal(lds?.wildcard, false);
      assert.deepEqual(lds?.subscribed, []);
    });

    it('RDS and EDS are never wildcard', async () => {
      const c = await h.sotw();
      assert.deepEqual((await c.fetch(ROUTE, [])).names, []);
      assert.deepEqual((await c.fetch(ENDPOINT, ['*'])).names, []);
      h.source.put(routeConfig('r3'), endpoints('z'));
      c.request(CLUSTER, []);
      const next = await c.next();
      assert.equal(next.typeUrl, CLUSTER, 'no RDS/EDS push for a wildcard that does not exist');
    });
  });

  it('pushes CDS, EDS, LDS, RDS in that order when they change together', async () => {
    const c = await h.sotw();
    await c.fetch(LISTENER);
    await c.fetch(ROUTE, ['r1']);
    await c.fetch(ENDPOINT, ['a']);
    await c.fetch(CLUSTER);
    h.source.update((ch) => ch.put(routeConfig('r1', 'b'), listener('l1', 'r1', 2), endpoints('a', 9999), cluster('a', 3)));
    const order: string[] = [];
    for (let i = 0; i < 4; i++) order.push((await c.next()).typeUrl);
    assert.deepEqual(order, [CLUSTER, ENDPOINT, LISTENER, ROUTE]);
  });
});

describe('xDS server: SotW with nothing to serve', () => {
  it('answers wildcard LDS and CDS with empty responses of the right type', async () => {
    const h = await startHarness(new FakeProxyViews());
    try {
      const c = await h.sotw();
      const lds = await c.fetch(LISTENER);
      const cds = await c.fetch(CLUSTER);
      assert.equal(lds.typeUrl, LISTENER);
      assert.equal(cds.typeUrl, CLUSTER);
      assert.deepEqual([lds.names, cds.names], [[], []]);
      h.source.put(cluster('first'));
      assert.deepEqual((await c.next(CLUSTER)).names, ['first']);
    } finally {
      await h.stop();
    }
  });
});

describe('xDS server: per-type SotW services', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness(new FakeProxyViews(cluster('a'), endpoints('a'), listener('l1'), routeConfig('l1')));
  });
  afterEach(async () => {
    await h.stop();
  });

  it('ClusterDiscoveryService serves CDS with type_url left empty, and pushes changes', async () => {
    const c = await h.sotw(NODE, { service: 'cds' });
    c.request('', []);
    const cds = await c.next(CLUSTER);
    assert.deepEqual(cds.names, ['a']);
    c.ack(cds);
    h.source.put(cluster('b'));
    assert.deepEqual((await c.next(CLUSTER)).names, ['a', 'b']);
  });

  it('LDS, RDS and EDS services serve their type with the same rules', async () => {
    const lds = await h.sotw(NODE, { service: 'lds' });
    assert.deepEqual((await lds.fetch(LISTENER)).names, ['l1']);
    const rds = await h.sotw(NODE, { service: 'rds' });
    assert.deepEqual((await rds.fetch(ROUTE, ['l1'])).names, ['l1']);
    const eds = await h.sotw(NODE, { service: 'eds' });
    assert.deepEqual((await eds.fetch(ENDPOINT, [])).names, [], 'EDS is never wildcard');
  });

  it('closes a per-type stream asked for another type with INVALID_ARGUMENT', async () => {
    const c = await h.sotw(NODE, { service: 'lds' });
    c.request(CLUSTER, []);
    const end = await c.closed;
    assert.equal(end.code, grpc.status.INVALID_ARGUMENT);
    assert.match(end.details, /serves only .*Listener/);
  });
});
