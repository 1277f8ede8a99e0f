// Delta streams look only at what changed between the maps a source hands out, and proxies
// that get a whole map share one encoding of it; the protocol they see is unchanged.
import assert from 'node:assert/strict';
import { CLUSTER, ENDPOINT } from '../../../src/xds/types.js';
import { FakeProxyViews, cluster, endpoints } from '../../support/fake-proxy-views.js';
import { startHarness, type Harness } from './harness.js';

describe('xDS server: Delta pushes after the first response', () => {
  let h: Harness;

  beforeEach(async () => {
    h = await startHarness(new FakeProxyViews(cluster('a'), cluster('b'), endpoints('a'), endpoints('b'), endpoints('c')));
  });
  afterEach(async () => {
    await h.stop();
  });

  it('two proxies getting the whole map get the same version and content', async () => {
    const c1 = await h.delta();
    const c2 = await h.delta({ id: 'other-proxy' });
    c1.request(CLUSTER);
    c2.request(CLUSTER);
    const [r1, r2] = await Promise.all([c1.next(CLUSTER), c2.next(CLUSTER)]);
    assert.equal(r1.systemVersionInfo, r2.systemVersionInfo);
    assert.deepEqual(r1.names, ['a', 'b']);
    assert.deepEqual(r2.versions, r1.versions);
    assert.notEqual(r1.nonce, r2.nonce, 'each response still has its own nonce');
  });

  it('changes, removals and new subscriptions arriving together are all answered, each once', async () => {
    const c = await h.delta();
    c.request(ENDPOINT, { subscribe: ['a', 'b'] });
    c.ack(await c.next(ENDPOINT));
    // One source update: a changes, b disappears, c (not subscribed) changes.
    h.source.update((ch) => ch.put(endpoints('a', 9001)).remove(ENDPOINT, 'b').put(endpoints('c', 9001)));
    const push = await c.next(ENDPOINT);
    assert.deepEqual(push.names, ['a']);
    assert.deepEqual(push.removed, ['b']);
    c.ack(push);
    // A new name while its resource also changes: sent once.
    h.source.put(endpoints('c', 9002));
    c.request(ENDPOINT, { subscribe: ['c'] });
    const more = await c.next(ENDPOINT);
    assert.deepEqual(more.names, ['c']);
    assert.equal(more.entries.length, 1);
    c.ack(more);
    h.source.put(endpoints('a', 9003));
    assert.deepEqual((await c.next(ENDPOINT)).names, ['a']);
  });

  it('a wildcard added later covers resources that never changed', async () => {
    const c = await h.delta();
    c.request(CLUSTER, { subscribe: ['a'] });
    const first = await c.next(CLUSTER);
    assert.deepEqual(first.names, ['a']);
    c.ack(first);
    c.request(CLUSTER, { subscribe: ['*'] });
    const wide = await c.next(CLUSTER);
    assert.deepEqual(wide.names, ['b'], 'b was never sent, so the wildcard brings it; a is held already');
  });
});
