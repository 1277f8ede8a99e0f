import assert from 'node:assert/strict';
import { NameInterner } from '../../../src/xds/server/intern.js';
import { Subscription, SubscriptionSets } from '../../../src/xds/server/subscription.js';
import { CLUSTER, ENDPOINT, LISTENER } from '../../../src/xds/types.js';


/** What the subscriptions of one server share (see SubscriptionSets). */
const sets = new SubscriptionSets(new NameInterner(1 << 20));

describe('xDS subscriptions (wildcard rules)', () => {
  it('SotW: follows the protocol example, from legacy wildcard to unsubscribe-all', () => {
    const s = new Subscription(LISTENER, sets);
    assert.deepEqual(s.replace([]), { added: [], wildcardAdded: true });
    assert.equal(s.wildcard, true);
    assert.deepEqual(s.replace(['*', 'A']), { added: ['A'], wildcardAdded: false });
    assert.equal(s.wildcard, true);
    s.replace(['A']);
    assert.equal(s.wildcard, false, 'dropping "*" leaves the wildcard');
    assert.deepEqual([...s.names], ['A']);
    s.replace([]);
    assert.equal(s.wildcard, false, 'empty after names is "nothing", not "everything"');
    assert.equal(s.empty, true);
  });

  it('SotW: "*" is an ordinary name for EDS', () => {
    const s = new Subscription(ENDPOINT, sets);
    s.replace([]);
    assert.equal(s.wildcard, false);
    s.replace(['*']);
    assert.equal(s.wildcard, false);
    assert.deepEqual([...s.names], ['*']);
  });

  it('Delta: follows the protocol example', () => {
    const s = new Subscription(CLUSTER, sets);
    s.update([], [], true);
    assert.equal(s.wildcard, true);
    s.update(['A'], [], false);
    assert.equal(s.wildcard, true);
    assert.deepEqual([...s.names], ['A']);
    s.update([], ['*'], false);
    assert.equal(s.wildcard, false);
    s.update([], ['A'], false);
    assert.equal(s.empty, true);
    s.update([], [], false);
    assert.equal(s.wildcard, false, 'an empty later request does not bring the wildcard back');
  });

  it('Delta: a first request that only unsubscribes is not a wildcard', () => {
    const s = new Subscription(CLUSTER, sets);
    s.update([], ['X'], true);
    assert.equal(s.wildcard, false);
  });

  it('SotW: streams restating one shared list share its set, and a change to one leaves the others alone', () => {
    const list = Object.freeze(['a', 'b', '*']);
    const x = new Subscription(CLUSTER, sets), y = new Subscription(CLUSTER, sets), e = new Subscription(ENDPOINT, sets);
    x.replace(list);
    y.replace(list);
    e.replace(list);
    assert.equal(x.names, y.names, 'one set for the list');
    assert.equal(x.wildcard, true);
    assert.equal(e.wildcard, false, 'for EDS "*" is a name');
    assert.deepEqual([...e.names].sort(), ['*', 'a', 'b']);
    y.update(['c'], ['a'], false);
    assert.deepEqual([...y.names].sort(), ['b', 'c']);
    assert.deepEqual([...x.names].sort(), ['a', 'b'], 'the shared set is copied before it is changed');
    assert.deepEqual(x.replace(Object.freeze(['a', 'b', 'd'])).added, ['d']);
  });

  it('Delta: equal large sets are shared; small changes are layered beside them, never copying the shared set', () => {
    const names = Array.from({ length: 300 }, (_, i) => `outbound|80||svc-${i}.ns.svc.cluster.local`);
    const sorted = (set: ReadonlySet<string>): string[] => [...set].sort();
    const x = new Subscription(ENDPOINT, sets);
    x.update(names, [], true);
    // Another stream reaching the same content (in another order) takes the same Set.
    const y = new Subscription(ENDPOINT, sets);
    y.update([...names].reverse(), [], true);
    assert.equal(y.names, x.names, 'one Set for the same content');

    // A change to one is layered beside the shared Set: the other keeps what it subscribed to.
    const change = x.update(['new-one'], [names[0]], false);
    assert.deepEqual(change.added, ['new-one']);
    assert.deepEqual(change.removed, [names[0]]);
    assert.equal(x.names.size, 300);
    assert.ok(x.names.has('new-one') && !x.names.has(names[0]));
    assert.deepEqual(sorted(x.names), [...names.slice(1), 'new-one'].sort());
    assert.equal(y.names.size, 300);
    assert.ok(y.names.has(names[0]) && !y.names.has('new-one'));
    // Undoing the change leaves the same content, and re-adding an unsubscribed name counts.
    assert.deepEqual(x.update([names[0]], ['new-one'], false).removed, ['new-one']);
    assert.deepEqual(sorted(x.names), sorted(y.names));

    // Many changes: the stream makes a set of its own (and offers it for sharing).
    const more = Array.from({ length: 40 }, (_, i) => `extra-${i}`);
    x.update(more, [], false);
    assert.equal(x.names.size, 340);
    assert.ok(x.names instanceof Set, 'materialised after more than a few changes');
    assert.equal(y.names.size, 300, 'the shared set was not changed');
    const z = new Subscription(ENDPOINT, sets);
    z.update([...more, ...names], [], true);
    assert.equal(z.names, x.names, 'a later stream with that content shares the new set');

    // Small sets are not shared (nothing to save), and a different large set is never taken.
    const a = new Subscription(ENDPOINT, sets);
    const b = new Subscription(ENDPOINT, sets);
    a.update(['p', 'q'], [], true);
    b.update(['p', 'q'], [], true);
    assert.notEqual(a.names, b.names);
    const w = new Subscription(ENDPOINT, sets);
    w.update([...names.slice(1), 'other'], [], true);
    assert.notEqual(w.names, y.names);
    assert.equal(w.names.size, 300);
    assert.ok(w.names.has('other') && !w.names.has(names[0]));
  });
});
