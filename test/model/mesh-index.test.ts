// The per-snapshot index generation reads (model/mesh-index.ts): what it answers, and what it
// keeps from the index before it. Memos downstream compare its lists and resolutions by
// identity, so identity is the contract: kept while the inputs are the same objects, new as soon
// as one changed.
import assert from 'node:assert/strict';
import type { Service } from '../../src/model/mesh.js';
import { MeshIndex } from '../../src/model/mesh-index.js';
import type { TrafficPolicy } from '../../src/model/routing.js';
import { NOTHING_APPLIED } from '../../src/model/routing-status.js';
import { EMPTY_SNAPSHOT, type MeshSnapshot } from '../../src/model/snapshot.js';
import { parseTrafficPolicy } from '../../src/api/routing/v1alpha1/parse.js';
import { trafficPolicy, validPolicySpec } from '../support/routing-fixtures.js';

const svc = (name: string, namespace: string, ...ports: number[]): Service => ({
  name, namespace, ports: ports.map((port) => ({ name: `http-${port}`, port, targetPort: port, protocol: 'http' as const })),
});

function snapshot(services: readonly Service[], policies: ReadonlyMap<string, TrafficPolicy> = new Map()): MeshSnapshot {
  return {
    ...EMPTY_SNAPSHOT,
    services: new Map(services.map((s) => [`${s.name}.${s.namespace}`, s])),
    routing: { ...EMPTY_SNAPSHOT.routing, applied: { ...NOTHING_APPLIED, policyByHost: policies } },
  };
}

function reviewsPolicy(): TrafficPolicy {
  const parsed = parseTrafficPolicy(trafficPolicy(validPolicySpec()));
  if (!parsed.ok) assert.fail(JSON.stringify(parsed.errors));
  return parsed.ok;
}

describe('MeshIndex', () => {
  const a = svc('a', 'shop', 9080, 80);
  const b = svc('b', 'shop', 80);
  const c = svc('c', 'other', 8080);

  it('lists services by namespace in snapshot order and service ports by ascending number', () => {
    const index = new MeshIndex(snapshot([a, b, c]));
    assert.deepEqual(index.servicesIn('shop'), [a, b]);
    assert.deepEqual(index.servicesIn('nowhere'), []);
    assert.deepEqual([...index.portsInMesh()].map(([n, refs]) => [n, refs.map((r) => r.svc.name)]), [[80, ['a', 'b']], [8080, ['c']], [9080, ['a']]]);
  });

  it('a namespace whose Services are the same objects keeps its list; a changed one gets a new list', () => {
    const first = new MeshIndex(snapshot([a, b, c]));
    const shop = first.servicesIn('shop');
    const other = first.servicesIn('other');
    const c2 = svc('c', 'other', 8081);
    const second = first.next(snapshot([a, b, c2]));
    assert.equal(second.servicesIn('shop'), shop);
    assert.notEqual(second.servicesIn('other'), other);
    assert.deepEqual(second.servicesIn('other'), [c2]);
  });

  it('keeps lists across an index nobody asked (an endpoint-only snapshot)', () => {
    const first = new MeshIndex(snapshot([a, b]));
    const shop = first.servicesIn('shop');
    const unread = first.next(snapshot([a, b]));
    assert.equal(unread.next(snapshot([a, b])).servicesIn('shop'), shop);
  });

  it('resolves a TrafficPolicy once: the same object gives the same resolution in later snapshots', () => {
    const policy = reviewsPolicy();
    const first = new MeshIndex(snapshot([a], new Map([['a.shop', policy]])));
    const resolved = first.policyOf('a.shop');
    assert.equal(resolved?.policy, policy);
    assert.equal(first.next(snapshot([a], new Map([['a.shop', policy]]))).policyOf('a.shop'), resolved);
    const changed = reviewsPolicy();
    assert.notEqual(first.next(snapshot([a], new Map([['a.shop', changed]]))).policyOf('a.shop'), resolved);
    assert.equal(first.policyOf('b.shop'), undefined);
  });

  it('the index of the same snapshot is itself', () => {
    const index = new MeshIndex(snapshot([a]));
    assert.equal(index.next(index.snapshot), index);
  });
});
