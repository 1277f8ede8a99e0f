// SotW pushes of RDS and EDS carry only the resources that changed (the types are not
// state-of-the-world: a client keeps what it holds), while requests still get the whole named
// set, and version_info always describes the whole set.
import assert from 'node:assert/strict';
import { CLUSTER, ENDPOINT, ROUTE } from '../../../src/xds/types.js';
import { NameInterner } from '../../../src/xds/server/intern.js';
import { Subscription, SubscriptionSets } from '../../../src/xds/server/subscription.js';
import { FakeProxyViews, cluster, endpoints, routeConfig } from '../../support/fake-proxy-views.js';
import { startHarness, type Harness } from './harness.js';


/** What the subscriptions of one server share (see SubscriptionSets). */
const sets = new SubscriptionSets(new NameInterner(1 << 20));

describe('xDS server: SotW RDS/EDS pushes carry only what changed', () => {
  let h: Harness;

  beforeEach(async () => {
    h = await startHarness(new FakeProxyViews(
      cluster('a'), cluster('b'), endpoints('a'), endpoints('b'), endpoints('c'), routeConfig('r1'), routeConfig('r2'),
    ));
  });
  afterEach(async () => {
    await h.stop();
  });

  it('an endpoint change sends that one assignment, versioned as the whole subscribed set', async () => {
    const c = await h.sotw();
    const first = await c.fetch(ENDPOINT, ['a', 'b', 'c']);
    assert.deepEqual(first.names, ['a', 'b', 'c'], 'the request gets every named resource');
    h.source.put(endpoints('b', 9090));
    const push = await c.next(ENDPOINT);
    assert.deepEqual(push.names, ['b'], 'the push carries only the changed assignment');
    assert.notEqual(push.versionInfo, first.versionInfo);
    c.ack(push);

    // A fresh stream asking for the same names gets the same set in full, with the same version.
    const other = await h.sotw({ id: 'other-proxy' });
    const full = await other.fetch(ENDPOINT, ['a', 'b', 'c']);
    assert.deepEqual(full.names, ['a', 'b', 'c']);
    assert.equal(full.versionInfo, push.versionInfo, 'version_info names the whole set, not the part sent');
    const port = (full.resources.find((r) => r.name === 'b')!.value as {
      endpoints: { lb_endpoints: { endpoint: { address: { socket_address: { port_value: number } } } }[] }[];
    }).endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value;
    assert.equal(port, 9090);
  });

  it('changes to unsubscribed resources send nothing, and several changes go out together', async () => {
    const c = await h.sotw();
    await c.fetch(ENDPOINT, ['a', 'b']);
    h.source.update((ch) => ch.put(endpoints('c', 7070)).put(endpoints('a', 7070)).put(endpoints('b', 7070)));
    const push = await c.next(ENDPOINT);
    assert.deepEqual(push.names, ['a', 'b']);
  });

  it('a newly subscribed name gets only its resource, versioned as the whole set', async () => {
    const c = await h.sotw();
    const r = await c.fetch(ROUTE, ['r1']);
    c.ack(r, ['r1', 'r2']);
    const added = await c.next(ROUTE);
    assert.deepEqual(added.names, ['r2'], 'r1 is already held');
    const other = await h.sotw({ id: 'other-proxy' });
    assert.equal((await other.fetch(ROUTE, ['r1', 'r2'])).versionInfo, added.versionInfo);
    c.ack(added);
    h.source.put(routeConfig('r2', 'other-cluster'));
    const push = await c.next(ROUTE);
    assert.deepEqual(push.names, ['r2']);
  });

  it('a request without a nonce (a client that restarted its view) gets the whole set', async () => {
    const c = await h.sotw();
    await c.fetch(ENDPOINT, ['a', 'b']);
    c.request(ENDPOINT, ['a', 'b']);
    assert.deepEqual((await c.next(ENDPOINT)).names, ['a', 'b']);
  });

  it('CDS stays state of the world: a push carries every cluster', async () => {
    const c = await h.sotw();
    await c.fetch(CLUSTER);
    h.source.put(cluster('b', 2));
    const push = await c.next(CLUSTER);
    assert.deepEqual(push.names, ['a', 'b']);
  });

  it('a removed assignment sends nothing (SotW cannot remove it), the next change only itself', async () => {
    const c = await h.sotw();
    await c.fetch(ENDPOINT, ['a', 'b']);
    h.source.remove(ENDPOINT, 'a');
    h.source.put(endpoints('b', 6060));
    const push = await c.next(ENDPOINT);
    assert.deepEqual(push.names, ['b']);
  });

  it('changes naming none of a stream\'s names move it on: a later change sends only itself, a named CDS its whole set', async () => {
    const c = await h.sotw();
    await c.fetch(ENDPOINT, ['a', 'b']);
    await c.fetch(CLUSTER, ['a']);
    // Two pushes for names the stream does not hold, each answered by nothing.
    h.source.update((ch) => ch.put(endpoints('c', 7070)).put(cluster('b', 2)));
    h.source.put(endpoints('c', 7171));
    h.source.update((ch) => ch.put(endpoints('a', 7272)).put(cluster('a', 2)));
    const cdsPush = await c.next(CLUSTER);
    assert.deepEqual(cdsPush.names, ['a'], 'a named CDS response carries every name it holds');
    const push = await c.next(ENDPOINT);
    assert.deepEqual(push.names, ['a'], 'only what changed since the client last got something');
    const other = await h.sotw({ id: 'other-proxy' });
    assert.equal((await other.fetch(ENDPOINT, ['a', 'b'])).versionInfo, push.versionInfo, 'versioned as the whole subscribed set');
    assert.equal((await other.fetch(CLUSTER, ['a'])).versionInfo, cdsPush.versionInfo);
  });
});

describe('xDS subscriptions: restated SotW lists', () => {
  it('an identical list changes nothing and reports nothing added', () => {
    const s = new Subscription(ENDPOINT, sets);
    assert.deepEqual(s.replace(['a', 'b']).added, ['a', 'b']);
    assert.deepEqual(s.replace(['a', 'b']), { added: [], wildcardAdded: false });
    assert.deepEqual([...s.names], ['a', 'b']);
    assert.deepEqual(s.replace(['b']).added, []);
    assert.deepEqual([...s.names], ['b'], 'a shorter list is applied');
    assert.deepEqual(s.replace(['b', 'a']).added, ['a']);
  });
});
