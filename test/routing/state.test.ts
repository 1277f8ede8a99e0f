// The routing step between translation and publishing (src/routing/state.ts): what it remembers
// about a validation (the services whose endpoints it read) travels with the state it produced,
// so an endpoint change elsewhere is skipped and nothing is kept by the module.
import assert from 'node:assert/strict';
import { NO_LOCALITY, type Endpoint, type Service } from '../../src/model/mesh.js';
import { EMPTY_ROUTING, type RoutingState } from '../../src/model/routing-status.js';
import type { RoutingObjects } from '../../src/model/snapshot.js';
import { nextRoutingState } from '../../src/routing/state.js';
import { trafficPolicy, validPolicySpec } from '../support/routing-fixtures.js';

const NO_OBJECTS: RoutingObjects = { trafficRoutes: [], trafficPolicies: [], gatewayRoutes: [] };

function service(name: string): Service {
  return { name, namespace: 'shop', ports: [9080, 9090].map((port) => ({ name: `p${port}`, port, targetPort: port, protocol: 'http' as const })) };
}

function endpoint(address: string, labels: Record<string, string>): Endpoint {
  return { address, ports: { p9080: 9080 }, ready: true, serving: true, terminating: false, locality: NO_LOCALITY, labels };
}

const SERVICES = new Map([['reviews.shop', service('reviews')], ['ratings.shop', service('ratings')]]);

/** The note validation adds while subset v3 of the policy selects nothing. */
function v3Note(state: RoutingState): boolean {
  return state.statuses.some((s) => s.conditions.some((c) => /subset v3 selects no endpoints/.test(c.message)));
}

describe('routing/state: the routing step', () => {
  const objects: RoutingObjects = { ...NO_OBJECTS, trafficPolicies: [trafficPolicy(validPolicySpec(), 'reviews', 'shop')] };
  const endpoints = new Map([
    ['reviews.shop', [endpoint('10.0.0.1', { version: 'v1' }), endpoint('10.0.0.2', { version: 'v2', track: 'canary' })]],
    ['ratings.shop', [endpoint('10.0.1.1', { app: 'ratings' })]],
  ]);
  const first = (): RoutingState => nextRoutingState({
    previous: EMPTY_ROUTING, previousObjects: NO_OBJECTS, objects, services: SERVICES, endpoints,
    servicesChanged: true, changedEndpoints: new Set(),
  });

  it('a state carries the services whose endpoints its validation read', () => {
    const s1 = first();
    assert.deepEqual([...(s1.endpointReads ?? [])], ['reviews.shop']);
    assert.ok(Object.isFrozen(s1));
    assert.ok(v3Note(s1));
  });

  it('an endpoint change of a service nobody read keeps the state; one of a read service validates again', () => {
    const s1 = first();
    const ratingsMoved = new Map([...endpoints, ['ratings.shop', [endpoint('10.0.1.2', { app: 'ratings' })]]]);
    const step = (changed: string, eps: ReadonlyMap<string, readonly Endpoint[]>): RoutingState => nextRoutingState({
      previous: s1, previousObjects: objects, objects, services: SERVICES, endpoints: eps, servicesChanged: false, changedEndpoints: new Set([changed]),
    });
    assert.equal(step('ratings.shop', ratingsMoved), s1);
    const v3Arrived = new Map([...endpoints, ['reviews.shop', [...(endpoints.get('reviews.shop') ?? []), endpoint('10.0.0.3', { version: 'v3' })]]]);
    const s2 = step('reviews.shop', v3Arrived);
    assert.notEqual(s2, s1);
    assert.equal(v3Note(s2), false, 'the note went once v3 has an endpoint');
  });

  it('two computations from the same previous state with different inputs each carry their own reads', () => {
    const ratingsPolicy: RoutingObjects = { ...NO_OBJECTS, trafficPolicies: [trafficPolicy({ host: 'ratings' }, 'ratings', 'shop')] };
    const a = first();
    const b = nextRoutingState({
      previous: EMPTY_ROUTING, previousObjects: NO_OBJECTS, objects: ratingsPolicy, services: SERVICES, endpoints,
      servicesChanged: true, changedEndpoints: new Set(),
    });
    assert.deepEqual([...(a.endpointReads ?? [])], ['reviews.shop']);
    assert.deepEqual([...(b.endpointReads ?? [])], ['ratings.shop']);
    assert.equal(EMPTY_ROUTING.endpointReads, undefined, 'the shared empty state is never given anyone\'s reads');
  });
});
