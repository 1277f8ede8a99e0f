import assert from 'node:assert/strict';
import { CLUSTER, ENDPOINT, LISTENER, ROUTE } from '../../../src/xds/types.js';
import type { DeltaAdsClient } from '../../support/ads-client.js';
import { FakeProxyViews, cluster, listener, routeConfig } from '../../support/fake-proxy-views.js';
import { NODE, startHarness, type Harness } from './harness.js';

let sentinels = 0;

/**
 * Proves nothing of `typeUrl` was sent so far: requests are handled in order, so anything owed
 * earlier arrives before the answer to this fresh EDS subscription.
 */
async function assertNothingSentBefore(c: DeltaAdsClient, typeUrl: string): Promise<void> {
  sentinels += 1;
  c.request(ENDPOINT, { subscribe: [`sentinel-${sentinels}`] });
  const next = await c.next();
  assert.equal(next.typeUrl, ENDPOINT, `expected no ${typeUrl} response, got one with ${next.names.join(',')}`);
  assert.equal(c.buffered(typeUrl), 0);
}

describe('xDS server: Delta ADS', () => {
  let h: Harness;

  beforeEach(async () => {
    h = await startHarness(new FakeProxyViews(
      cluster('a'), cluster('b'), listener('l1'), routeConfig('r1'), routeConfig('r2'),
    ));
  });
  afterEach(async () => {
    await h.stop();
  });

  it('an empty first CDS request is a wildcard: everything first, then only what changed', async () => {
    const c = await h.delta();
    c.request(CLUSTER);
    const first = await c.next(CLUSTER);
    assert.deepEqual(first.names, ['a', 'b']);
    assert.deepEqual(first.resources.map((r) => r.version), [h.source.resources(CLUSTER).get('a')?.version,
      h.source.resources(CLUSTER).get('b')?.version]);
    c.ack(first);
    h.source.put(cluster('c'));
    const added = await c.next(CLUSTER);
    assert.deepEqual(added.names, ['c']);
    assert.deepEqual(added.removed, []);
    c.ack(added);
    h.source.put(cluster('a', 5));
    const changed = await c.next(CLUSTER);
    assert.deepEqual(changed.names, ['a']);
    const timeout = changed.resources[0].value as { connect_timeout: { seconds: string } };
    assert.equal(timeout.connect_timeout.seconds, '5');
  });

  it('subscribes by name, sending only the new names, and reports names that do not exist', async () => {
    const c = await h.delta();
    c.request(ROUTE, { subscribe: ['r1'] });
    const r1 = await c.next(ROUTE);
    assert.deepEqual(r1.names, ['r1']);
    c.ack(r1);
    c.request(ROUTE, { subscribe: ['r2', 'nope'] });
    const more = await c.next(ROUTE);
    assert.deepEqual(more.names, ['r2'], 'r1 is not resent');
    assert.deepEqual(more.removed, ['nope'], 'a missing resource is reported as removed');
    c.ack(more);
    h.source.put(routeConfig('nope'));
    assert.deepEqual((await c.next(ROUTE)).names, ['nope'], 'and sent once it appears');
  });

  it('resends a resource the client subscribes to again', async () => {
    const c = await h.delta();
    c.request(ROUTE, { subscribe: ['r1'] });
    c.ack(await c.next(ROUTE));
    c.request(ROUTE, { subscribe: ['r1'] });
    assert.deepEqual((await c.next(ROUTE)).names, ['r1']);
  });

  it('unsubscribes: no response, and no pushes for the unsubscribed resource', async () => {
    const c = await h.delta();
    c.request(ROUTE, { subscribe: ['r1', 'r2'] });
    const both = await c.next(ROUTE);
    assert.deepEqual(both.names, ['r1', 'r2']);
    c.ack(both);
    c.request(ROUTE, { unsubscribe: ['r1'] });
    // Also a barrier: once its answer is back, the unsubscription has been processed.
    await assertNothingSentBefore(c, ROUTE);
    h.source.put(routeConfig('r1', 'elsewhere'));
    await assertNothingSentBefore(c, ROUTE);
    h.source.put(routeConfig('r2', 'elsewhere'));
    assert.deepEqual((await c.next(ROUTE)).names, ['r2']);
    const rds = h.server.streams()[0].types.find((t) => t.typeUrl === ROUTE);
    assert.deepEqual(rds?.subscribed, ['r2']);
  });

  it('sends removed_resources when a subscribed resource disappears', async () => {
    const c = await h.delta();
    c.request(ROUTE, { subscribe: ['r1', 'r2'] });
    c.ack(await c.next(ROUTE));
    c.request(CLUSTER);
    c.ack(await c.next(CLUSTER));
    h.source.update((ch) => ch.remove(ROUTE, 'r2').remove(CLUSTER, 'b'));
    const cds = await c.next(CLUSTER);
    assert.deepEqual(cds.removed, ['b']);
    assert.deepEqual(cds.names, []);
    const rds = await c.next(ROUTE);
    assert.deepEqual(rds.removed, ['r2']);
    assert.deepEqual(rds.names, []);
  });

  it('on reconnect, resends only what initial_resource_versions shows the client lacks', async () => {
    const c1 = await h.delta();
    c1.request(CLUSTER);
    const had = await c1.next(CLUSTER);
    c1.ack(had);
    c1.request(ROUTE, { subscribe: ['r1', 'r2'] });
    const hadRoutes = await c1.next(ROUTE);
    c1.close();
    await h.source.nextViewClosed();

    // While disconnected: b changes, a stays, and the client also remembers a cluster now gone.
    h.source.put(cluster('b', 9));
    const c2 = await h.delta();
    c2.request(CLUSTER, { initialVersions: new Map([...had.versions, ['gone', 'v-old']]) });
    const cds = await c2.next(CLUSTER);
    assert.deepEqual(cds.names, ['b'], 'a is current on the client and not resent');
    assert.deepEqual(cds.removed, ['gone']);

    // Named resources the client already has at the current version: nothing owed at all.
    c2.request(ROUTE, { subscribe: ['r1', 'r2'], initialVersions: hadRoutes.versions });
    await assertNothingSentBefore(c2, ROUTE);
    h.source.put(routeConfig('r1', 'moved'));
    assert.deepEqual((await c2.next(ROUTE)).names, ['r1']);
  });

  it('an initial wildcard request is answered even when the client already has everything', async () => {
    const c1 = await h.delta();
    c1.request(LISTENER);
    const had = await c1.next(LISTENER);
    const c2 = await h.delta({ id: 'second' });
    c2.request(LISTENER, { initialVersions: had.versions });
    const again = await c2.next(LISTENER);
    assert.deepEqual(again.names, []);
    assert.deepEqual(again.removed, []);
  });

  it('wildcard plus a name: unsubscribing the name resends it, since the wildcard still covers it', async () => {
    const c = await h.delta();
    c.request(CLUSTER, { subscribe: ['*', 'a'] });
    c.ack(await c.next(CLUSTER));
    c.request(CLUSTER, { unsubscribe: ['a'] });
    const res = await c.next(CLUSTER);
    assert.deepEqual(res.names, ['a']);
  });

  it('unsubscribing "*" leaves only the named resources', async () => {
    const c = await h.delta();
    c.request(CLUSTER, { subscribe: ['*', 'a'] });
    c.ack(await c.next(CLUSTER));
    c.request(CLUSTER, { unsubscribe: ['*'] });
    await assertNothingSentBefore(c, CLUSTER);
    h.source.put(cluster('b', 2), cluster('new'));
    await assertNothingSentBefore(c, CLUSTER);
    h.source.put(cluster('a', 2));
    assert.deepEqual((await c.next(CLUSTER)).names, ['a']);
  });

  it('RDS and EDS are never wildcard', async () => {
    const c = await h.delta();
    c.request(ROUTE);
    h.source.put(routeConfig('r3'));
    await assertNothingSentBefore(c, ROUTE);
  });

  it('ACK and NACK by nonce: a NACK is reported and nothing is resent', async () => {
    const c = await h.delta();
    c.request(LISTENER);
    const first = await c.next(LISTENER);
    c.ack(first);
    await h.events.waitFor('acked', (e) => e.nonce === first.nonce);
    h.source.put(listener('l2'));
    const bad = await c.next(LISTENER);
    assert.deepEqual(bad.names, ['l2']);
    c.nack(bad, 'l2 is broken');
    const nack = await h.events.waitFor('nacked');
    assert.equal(nack.message, 'l2 is broken');
    assert.equal(nack.rejectedVersion, bad.systemVersionInfo);
    assert.equal(nack.node.id, NODE.id);
    const warn = h.logs.find((l) => l.level === 'warn' && String(l.message).includes('NACK'));
    assert.equal(warn?.error, 'l2 is broken');
    await assertNothingSentBefore(c, LISTENER);
    const lds = h.server.streams()[0].types.find((t) => t.typeUrl === LISTENER);
    assert.equal(lds?.nacks, 1);
    assert.equal(lds?.acks, 1);
    assert.equal(lds?.lastAckedVersion, first.systemVersionInfo);
    h.source.put(listener('l2', 'l2', 2));
    assert.deepEqual((await c.next(LISTENER)).names, ['l2']);
  });

  it('an unknown nonce counts as neither ACK nor NACK', async () => {
    const c = await h.delta();
    c.request(CLUSTER);
    const res = await c.next(CLUSTER);
    c.request(CLUSTER, { responseNonce: 'not-ours', errorDetail: { code: 3, message: 'stale' } });
    c.ack(res);
    await h.events.waitFor('acked', (e) => e.nonce === res.nonce);
    assert.equal(h.events.all('nacked').length, 0);
  });

  it('the per-type DeltaClusters method serves CDS', async () => {
    const c = await h.delta(NODE, { service: 'cds' });
    c.request('');
    const res = await c.next(CLUSTER);
    assert.deepEqual(res.names, ['a', 'b']);
  });
});
