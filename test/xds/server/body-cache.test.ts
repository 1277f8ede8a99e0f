import assert from 'node:assert/strict';
import { BodyCache } from '../../../src/xds/server/body-cache.js';
import type { ResourceMap } from '../../../src/xds/proxy-view.js';

const map = (): ResourceMap => new Map();
const body = (n: number): Buffer => Buffer.alloc(n);

describe('xDS server: shared response bodies', () => {
  it('encodes once per map and key', () => {
    const cache = new BodyCache(1000);
    const m = map();
    let encodes = 0;
    const a = cache.getOrSet(m, 'k', () => { encodes++; return body(10); });
    const b = cache.getOrSet(m, 'k', () => { encodes++; return body(10); });
    assert.equal(a, b);
    assert.equal(encodes, 1);
    assert.notEqual(cache.getOrSet(m, 'other', () => body(10)), a, 'another key is another body');
    assert.equal(cache.getOrSet(map(), 'k', () => body(10)).length, 10);
    assert.equal(cache.size, 30);
  });

  it('stays within its byte budget, dropping the least recently used map first', () => {
    const cache = new BodyCache(250);
    const [m1, m2, m3] = [map(), map(), map()];
    cache.set(m1, 'k', body(100));
    cache.set(m2, 'k', body(100));
    assert.ok(cache.get(m1, 'k'), 'a hit makes m1 the most recently used');
    cache.set(m3, 'k', body(100));
    assert.equal(cache.get(m2, 'k'), undefined, 'm2 was least recently used');
    assert.ok(cache.get(m1, 'k'));
    assert.ok(cache.get(m3, 'k'));
    assert.ok(cache.size <= 250);
  });

  it('keeps a body larger than the budget until the next one arrives', () => {
    const cache = new BodyCache(50);
    const m = map();
    cache.set(m, 'k', body(100));
    assert.ok(cache.get(m, 'k'), 'the streams of the current push still share it');
    cache.set(map(), 'k', body(10));
    assert.equal(cache.get(m, 'k'), undefined);
  });

  it('empties itself once nothing has used it for a while (a burst is over)', async () => {
    let cleared!: () => void;
    const emptied = new Promise<void>((resolve) => { cleared = resolve; });
    const cache = new BodyCache(1000, 30, () => cleared());
    const m = map();
    cache.set(m, 'k', body(100));
    assert.ok(cache.get(m, 'k'));
    assert.equal(cache.size, 100);
    await emptied;
    assert.equal(cache.size, 0);
    assert.equal(cache.get(m, 'k'), undefined);
  });
});
