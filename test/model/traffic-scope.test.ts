// Which scope a sidecar gets (most specific first, the oldest winning a tie) and what a scope
// includes: the model generation asks.
import assert from 'node:assert/strict';
import type { Service } from '../../src/model/mesh.js';
import { hostMatches, scopeFor, scopeIncludes, type TrafficScope } from '../../src/model/traffic-scope.js';

function scope(namespace: string, name: string, hosts: string[], selector?: Record<string, string>, creationTimestamp?: string): TrafficScope {
  return {
    meta: { kind: 'TrafficScope', namespace, name, ...(creationTimestamp ? { creationTimestamp } : {}) },
    ...(selector ? { selector } : {}),
    egressHosts: hosts.map((h) => ({ namespace: h.slice(0, h.indexOf('/')), host: h.slice(h.indexOf('/') + 1) })),
  };
}

function svc(namespace: string, name: string): Service {
  return { name, namespace, ports: [{ name: 'http', port: 80, protocol: 'http', targetPort: 80 }] } as unknown as Service;
}

const WEB = { namespace: 'shop', labels: { app: 'web' } };

describe('model: TrafficScope resolution', () => {
  it('without any TrafficScope follows the default: the whole mesh, or own namespace plus pilotfish\'s', () => {
    assert.equal(scopeFor([], WEB), undefined);
    assert.equal(scopeFor([], WEB, { defaultScope: 'mesh' }), undefined);
    const ns = scopeFor([], WEB, { defaultScope: 'namespace' });
    assert.deepEqual(ns?.hosts, [{ namespace: 'shop', host: '*' }, { namespace: 'pilotfish-system', host: '*' }]);
    assert.equal(ns?.source, 'default (namespace)');
    assert.deepEqual(scopeFor([], WEB, { defaultScope: 'namespace', systemNamespace: 'mesh-cp' })?.hosts.map((h) => h.namespace), ['shop', 'mesh-cp']);
  });

  it('prefers a matching workload scope, then the namespace\'s, then the mesh-wide one in pilotfish\'s namespace', () => {
    const workload = scope('shop', 'web', ['./*'], { app: 'web' });
    const other = scope('shop', 'api', ['*/x.y.svc.cluster.local'], { app: 'api' });
    const namespace = scope('shop', 'all', ['billing/*']);
    const mesh = scope('pilotfish-system', 'default', ['pilotfish-system/*']);
    const elsewhere = scope('billing', 'web', ['*/*'], { app: 'web' });
    assert.equal(scopeFor([mesh, namespace, other, workload, elsewhere], WEB)?.source, 'TrafficScope shop/web');
    assert.equal(scopeFor([mesh, namespace, other, elsewhere], WEB)?.source, 'TrafficScope shop/all');
    assert.equal(scopeFor([mesh, other, elsewhere], WEB, { defaultScope: 'namespace' })?.source, 'TrafficScope pilotfish-system/default');
    assert.equal(scopeFor([other, elsewhere], WEB, { defaultScope: 'namespace' })?.source, 'default (namespace)');
  });

  it('picks the oldest of several at one level (creationTimestamp, then name)', () => {
    const young = scope('shop', 'a', ['./*'], undefined, '2026-02-01T00:00:00Z');
    const old = scope('shop', 'b', ['billing/*'], undefined, '2026-01-01T00:00:00Z');
    const file = scope('shop', 'c', ['x/*']);
    assert.equal(scopeFor([young, old, file], WEB)?.source, 'TrafficScope shop/b');
    assert.equal(scopeFor([file, scope('shop', 'd', ['y/*'])], WEB)?.source, 'TrafficScope shop/c');
  });

  it('keys equal host sets alike (the cache shares generation by key), and `*/*` is the whole mesh', () => {
    const a = scopeFor([scope('shop', 'a', ['shop/*', 'billing/*'])], WEB);
    const b = scopeFor([scope('shop', 'b', ['billing/*', 'shop/*'])], WEB);
    assert.equal(a?.key, b?.key);
    assert.notEqual(a?.key, scopeFor([scope('shop', 'c', ['billing/*'])], WEB)?.key);
    assert.equal(scopeFor([scope('shop', 'a', ['./*', '*/*'])], WEB, { defaultScope: 'namespace' }), undefined);
  });

  it('includes Services by namespace and host: exact FQDN, `*.suffix`, `*`', () => {
    const s = scopeFor([scope('shop', 'a', ['shop/*', '*/reviews.books.svc.cluster.local', 'billing/*.billing.svc.cluster.local'])], WEB);
    assert.equal(scopeIncludes(s, svc('shop', 'anything')), true);
    assert.equal(scopeIncludes(s, svc('books', 'reviews')), true);
    assert.equal(scopeIncludes(s, svc('books', 'ratings')), false);
    assert.equal(scopeIncludes(s, svc('billing', 'ledger')), true);
    assert.equal(scopeIncludes(s, svc('other', 'ledger')), false);
    assert.equal(scopeIncludes(undefined, svc('other', 'ledger')), true, 'no scope: the whole mesh');
    assert.equal(hostMatches('*.shop.svc.cluster.local', 'shop.svc.cluster.local'), false, 'a suffix needs a label before it');
    assert.equal(hostMatches('reviews.shop.svc.cluster.local', 'reviews.shop.svc.cluster.local.evil'), false);
  });
});
