// NACK attribution and aggregation (pure), the Programmed condition built from it, and the
// interim resource -> routing object index the controller uses.
import assert from 'node:assert/strict';
import type { V1Service } from '@kubernetes/client-node';
import { attributeNack, NackTracker, type ResourceOwners } from '../../src/leader/nack-tracker.js';
import { programmedCondition, routingStatuses } from '../../src/leader/routing-conditions.js';
import { EMPTY_OBJECTS, type CustomObject } from '../../src/sources/objects.js';
import { SnapshotStore } from '../../src/store/snapshot-store.js';
import { RoutingResourceOwners } from '../../src/leader/routing-owners.js';
import { silentLogger } from '../../src/logging.js';
import type { RoutingObjectStatus } from '../../src/model/routing-status.js';
import { CLUSTER, ENDPOINT, LISTENER, ROUTE } from '../../src/xds/types.js';
import { ManualTimers } from '../support/manual-timers.js';
import { StaticSource } from '../support/static-source.js';

const R = 'TrafficRoute/shop/reviews';
const P = 'TrafficPolicy/shop/reviews';
const O = 'TrafficRoute/shop/other';

const OWNERS: ResourceOwners = {
  owners: (typeUrl, name) => {
    if (typeUrl !== ROUTE) return [];
    if (name === 'reviews.shop.svc.cluster.local:9080') return [R];
    if (name === 'other.shop.svc.cluster.local:80') return [O];
    return [];
  },
  ownedNames: (typeUrl) => (typeUrl === ROUTE ? ['reviews.shop.svc.cluster.local:9080', 'other.shop.svc.cluster.local:80'] : []),
};

describe('controller/kube NACKs on routing objects', () => {
  describe('attributeNack', () => {
    it('blames the resources the message names', () => {
      assert.deepEqual(attributeNack({
        streamId: 1, proxy: 'p', typeUrl: ROUTE, message: 'route reviews.shop.svc.cluster.local:9080: bad regex',
        candidates: ['reviews.shop.svc.cluster.local:9080', 'other.shop.svc.cluster.local:80'],
      }, OWNERS), [R]);
    });

    it('else every candidate the proxy was sent; else (wildcard) every owned resource of the type', () => {
      assert.deepEqual(attributeNack({ streamId: 1, proxy: 'p', typeUrl: ROUTE, message: 'invalid', candidates: ['other.shop.svc.cluster.local:80'] }, OWNERS), [O]);
      assert.deepEqual(attributeNack({ streamId: 1, proxy: 'p', typeUrl: ROUTE, message: 'invalid', candidates: [] }, OWNERS), [O, R]);
      assert.deepEqual(attributeNack({ streamId: 1, proxy: 'p', typeUrl: CLUSTER, message: 'invalid', candidates: [] }, OWNERS), []);
    });
  });

  describe('NackTracker', () => {
    it('counts distinct rejecting proxies per object and keeps the first error', () => {
      const t = new NackTracker(() => OWNERS);
      const nack = (streamId: number, proxy: string, message: string): boolean =>
        t.nacked({ authenticated: true, streamId, proxy, typeUrl: ROUTE, message, candidates: ['reviews.shop.svc.cluster.local:9080'] }).changed;
      assert.equal(nack(1, 'a', 'first'), true);
      nack(2, 'b', 'second');
      nack(3, 'a', 'same proxy, another stream');
      let s = t.summary().get(R)!;
      assert.equal(s.proxies, 2);
      assert.equal(s.firstError, 'first');
      assert.equal(s.firstProxy, 'a');
      assert.equal(s.typeUrl, ROUTE);

      assert.equal(t.acked(1, ROUTE), true, 'proxy a accepted a newer version on stream 1');
      s = t.summary().get(R)!;
      assert.equal(s.firstError, 'second');
      assert.equal(s.proxies, 2, 'a still rejects on stream 3');
      assert.equal(t.acked(1, ROUTE), false, 'nothing left to clear');
      assert.equal(t.streamClosed(2), true);
      assert.equal(t.streamClosed(3), true);
      assert.equal(t.summary().size, 0);
    });

    it('a NACK nobody owns changes no summary', () => {
      const t = new NackTracker(() => OWNERS);
      assert.deepEqual(t.nacked({ authenticated: true, streamId: 1, proxy: 'a', typeUrl: CLUSTER, message: 'x', candidates: ['c'] }), { objects: [], changed: false });
      assert.equal(t.streamClosed(1), false);
    });
  });

  describe('routingStatuses', () => {
    const status = (applied: RoutingObjectStatus['applied']): RoutingObjectStatus => ({
      kind: 'TrafficRoute', namespace: 'shop', name: 'reviews', uid: 'u1', generation: 3, applied, proxylessIgnored: [],
      conditions: [{ type: 'Accepted', status: 'True', reason: 'Accepted', message: 'Applied.', observedGeneration: 3 }],
    });

    it('adds Programmed to applied objects: True without NACKs, False naming the count and the first error', () => {
      const [ok] = routingStatuses([status('current')], new Map());
      assert.equal(ok.uid, 'u1');
      assert.equal(ok.observedGeneration, 3);
      assert.deepEqual(ok.target, { apiVersion: 'routing.pilotfish.io/v1alpha1', kind: 'TrafficRoute', plural: 'trafficroutes', namespace: 'shop', name: 'reviews' });
      assert.deepEqual(ok.conditions.map((c) => `${c.type}=${c.status}`), ['Accepted=True', 'Programmed=True']);

      const [bad] = routingStatuses([status('previous')], new Map([[R, { proxies: 3, firstError: 'boom', firstProxy: 'sidecar~1', typeUrl: ROUTE }]]));
      const p = bad.conditions[1];
      assert.equal(p.status, 'False');
      assert.equal(p.reason, 'RejectedByProxies');
      assert.equal(p.observedGeneration, 3);
      assert.equal(p.message, '3 proxies reject the RouteConfiguration configuration built from this object. First error (from sidecar~1): boom');

      const [none] = routingStatuses([status('none')], new Map([[R, { proxies: 1, firstError: 'x', firstProxy: 'p', typeUrl: ROUTE }]]));
      assert.deepEqual(none.conditions.map((c) => c.type), ['Accepted'], 'nothing applied: nothing to program');
    });

    it('keeps a long proxy error from swamping the object', () => {
      const c = programmedCondition({ proxies: 1, firstError: 'x'.repeat(5000), firstProxy: 'p', typeUrl: ROUTE }, undefined);
      assert.ok(c.message.length < 1200);
      assert.equal(c.observedGeneration, undefined);
    });
  });

  describe('RoutingResourceOwners', () => {
    it('maps the routes, listeners, clusters and assignments an applied object shapes back to it', async () => {
      const svc: V1Service = { metadata: { name: 'reviews', namespace: 'shop' }, spec: { ports: [{ name: 'http', port: 9080 }] } };
      const api = 'routing.pilotfish.io/v1alpha1';
      const route: CustomObject = { apiVersion: api, kind: 'TrafficRoute', metadata: { name: 'reviews', namespace: 'shop' },
        spec: { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews', subset: 'v1' } }] }] } };
      const policy: CustomObject = { apiVersion: api, kind: 'TrafficPolicy', metadata: { name: 'reviews', namespace: 'shop' },
        spec: { host: 'reviews', subsets: [{ name: 'v1', labels: { version: 'v1' } }] } };
      const store = new SnapshotStore({ logger: silentLogger(), timers: new ManualTimers() });
      const snapshot = await store.start([new StaticSource('s', { ...EMPTY_OBJECTS, services: [svc], trafficRoutes: [route], trafficPolicies: [policy] })]);
      await store.stop();
      const index = new RoutingResourceOwners();
      const owners = index.of(snapshot);
      assert.deepEqual(owners.owners(ROUTE, 'reviews.shop.svc.cluster.local:9080'), [R]);
      assert.deepEqual(owners.owners(ROUTE, '9080'), [R], 'the sidecar route config of the port');
      assert.deepEqual(owners.owners(LISTENER, 'reviews:9080'), [R]);
      assert.deepEqual(owners.owners(CLUSTER, 'outbound|9080|v1|reviews.shop.svc.cluster.local'), [P]);
      assert.deepEqual(owners.owners(ENDPOINT, 'outbound|9080||reviews.shop.svc.cluster.local'), [P]);
      assert.deepEqual(owners.owners(CLUSTER, 'outbound|9080|v1|ratings.shop.svc.cluster.local'), []);
      assert.ok([...owners.ownedNames(ROUTE)].includes('reviews.shop.svc.cluster.local:9080'));
      assert.equal(index.of(snapshot), owners, 'built once per snapshot');
      const other = new RoutingResourceOwners().of(snapshot);
      assert.notEqual(other, owners, 'another instance builds its own: nothing is kept by the module');
      assert.deepEqual(other.owners(CLUSTER, 'outbound|9080|v1|reviews.shop.svc.cluster.local'), [P]);
    });
  });
});
