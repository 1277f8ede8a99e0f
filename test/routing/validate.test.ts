import assert from 'node:assert/strict';
import { NOTHING_APPLIED, type RoutingObjectStatus } from '../../src/model/routing-status.js';
import { proxylessIgnoredInPolicy, proxylessIgnoredInRoute } from '../../src/routing/proxyless.js';
import { serviceLookupFromMaps, validateRouting, withTransitionTimes, type RoutingValidationInput, type ServiceInfo, type ServiceLookup } from '../../src/routing/validate.js';
import type { CustomObject } from '../../src/model/k8s-object.js';
import type { Endpoint, Service } from '../../src/model/mesh.js';
import { NO_LOCALITY } from '../../src/model/mesh.js';
import { parseTrafficPolicy, parseTrafficRoute } from '../../src/api/routing/v1alpha1/parse.js';
import { type TrafficPolicy, type TrafficRoute } from '../../src/model/routing.js';
import { mutate, trafficPolicy, trafficRoute, validPolicySpec, validRouteSpec } from '../support/routing-fixtures.js';

const SERVICES: Record<string, ServiceInfo> = {
  'reviews.shop': { ports: [9080, 9090], endpointLabels: [{ app: 'reviews', version: 'v1' }, { app: 'reviews', version: 'v2', track: 'canary' }] },
  'ratings.shop': { ports: [9080], endpointLabels: [{ app: 'ratings' }] },
  'reviews-shadow.shop': { ports: [9080], endpointLabels: [] },
  'details.shop': { ports: [8080], endpointLabels: [{ app: 'details' }] },
};

function lookup(services: Record<string, ServiceInfo> = SERVICES): ServiceLookup {
  return { service: (ns, name) => services[`${name}.${ns}`] };
}

function at(t: string): { creationTimestamp: string } {
  return { creationTimestamp: t };
}

function run(routes: CustomObject[], policies: CustomObject[], extra: Partial<RoutingValidationInput> = {}) {
  return validateRouting({ trafficRoutes: routes, trafficPolicies: policies, services: lookup(), ...extra });
}

function statusOf(result: { statuses: readonly RoutingObjectStatus[] }, kind: string, name: string): RoutingObjectStatus {
  const s = result.statuses.find((x) => x.kind === kind && x.name === name);
  assert.ok(s, `no status for ${kind} ${name}`);
  return s;
}

function condition(s: RoutingObjectStatus, type: 'Accepted' | 'ResolvedRefs') {
  const c = s.conditions.find((x) => x.type === type);
  assert.ok(c, `no ${type} condition`);
  return c;
}

/** A route that only uses what every service here has. */
function simpleRoute(name: string, host: string, dest: { [k: string]: unknown } = { host: 'ratings' }, meta: { [k: string]: unknown } = {}): CustomObject {
  return trafficRoute({ hosts: [host], http: [{ route: [{ destination: dest }] }] }, name, 'shop', meta);
}

const POLICY = () => trafficPolicy(validPolicySpec(), 'reviews', 'shop', at('2024-01-01T00:00:00Z'));
const ROUTE = () => trafficRoute(validRouteSpec(), 'reviews', 'shop', at('2024-01-01T00:00:00Z'));

describe('routing-validate: semantic validation against the mesh', () => {
  it('applies valid objects and says so', () => {
    const r = run([ROUTE()], [POLICY()]);
    const route = statusOf(r, 'TrafficRoute', 'reviews');
    assert.equal(route.applied, 'current');
    assert.equal(condition(route, 'Accepted').status, 'True');
    assert.equal(condition(route, 'Accepted').reason, 'Accepted');
    assert.equal(condition(route, 'Accepted').observedGeneration, 1);
    assert.deepEqual(condition(route, 'ResolvedRefs'), {
      type: 'ResolvedRefs', status: 'True', reason: 'ResolvedRefs', message: 'All references resolved.', observedGeneration: 1,
    });
    assert.equal(r.applied.routeByHost.get('reviews.shop')?.meta.name, 'reviews');
    assert.equal(r.applied.routeByHost.get('ratings.shop')?.meta.name, 'reviews');
    assert.equal(r.applied.policyByHost.get('reviews.shop')?.meta.name, 'reviews');
    assert.deepEqual([...r.applied.routes.keys()], ['TrafficRoute/shop/reviews']);
    assert.deepEqual([...r.applied.policies.keys()], ['TrafficPolicy/shop/reviews']);
    assert.deepEqual(r.applied.routes.get('TrafficRoute/shop/reviews'), parseTrafficRoute(ROUTE()).ok);
  });

  it('ServiceNotFound for an unknown host, not applied', () => {
    const r = run([simpleRoute('r', 'nosuch')], []);
    const s = statusOf(r, 'TrafficRoute', 'r');
    assert.deepEqual(condition(s, 'ResolvedRefs'), {
      type: 'ResolvedRefs', status: 'False', reason: 'ServiceNotFound',
      message: 'spec.hosts: service nosuch.shop ("nosuch") not found.', observedGeneration: 1,
    });
    assert.equal(condition(s, 'Accepted').status, 'False');
    assert.equal(condition(s, 'Accepted').reason, 'UnresolvedRefs');
    assert.match(condition(s, 'Accepted').message, /Nothing of this object is applied/);
    assert.equal(s.applied, 'none');
    assert.equal(r.applied.routes.size, 0);
    assert.equal(r.applied.routeByHost.size, 0);
  });

  it('ServiceNotFound for an unknown destination or mirror', () => {
    const r = run([simpleRoute('r', 'ratings', { host: 'ghost.other' })], []);
    const c = condition(statusOf(r, 'TrafficRoute', 'r'), 'ResolvedRefs');
    assert.equal(c.reason, 'ServiceNotFound');
    assert.match(c.message, /spec\.http\[0\]\.route\[0\]\.destination\.host: service ghost\.other \("ghost\.other"\) not found/);

    const mirrored = trafficRoute({ hosts: ['ratings'], http: [{ route: [{ destination: { host: 'ratings' } }], mirror: { host: 'ghost' } }] }, 'm');
    const c2 = condition(statusOf(run([mirrored], []), 'TrafficRoute', 'm'), 'ResolvedRefs');
    assert.match(c2.message, /spec\.http\[0\]\.mirror\.host: service ghost\.shop/);
  });

  it('PortNotFound for a port the service lacks, or a missing port on a multi-port service', () => {
    const wrong = run([simpleRoute('r', 'ratings', { host: 'ratings', port: 1234 })], []);
    const c = condition(statusOf(wrong, 'TrafficRoute', 'r'), 'ResolvedRefs');
    assert.equal(c.reason, 'PortNotFound');
    assert.match(c.message, /spec\.http\[0\]\.route\[0\]\.destination\.port: service ratings\.shop has no port 1234 \(ports: 9080\)/);

    const missing = run([simpleRoute('r', 'ratings', { host: 'reviews' })], []);
    const c2 = condition(statusOf(missing, 'TrafficRoute', 'r'), 'ResolvedRefs');
    assert.equal(c2.reason, 'PortNotFound');
    assert.match(c2.message, /required because service reviews\.shop has several ports \(9080, 9090\)/);

    const single = run([simpleRoute('r', 'ratings', { host: 'ratings' })], []);
    assert.equal(condition(statusOf(single, 'TrafficRoute', 'r'), 'ResolvedRefs').status, 'True');
    assert.equal(statusOf(single, 'TrafficRoute', 'r').applied, 'current');
  });

  it('SubsetNotFound when no TrafficPolicy for the host defines the subset', () => {
    const noPolicy = run([simpleRoute('r', 'ratings', { host: 'reviews', port: 9080, subset: 'v1' })], []);
    const c = condition(statusOf(noPolicy, 'TrafficRoute', 'r'), 'ResolvedRefs');
    assert.equal(c.reason, 'SubsetNotFound');
    assert.match(c.message, /no TrafficPolicy for reviews\.shop defines subset "v1"/);

    const undefinedSubset = run([simpleRoute('r', 'ratings', { host: 'reviews', port: 9080, subset: 'v9' })], [POLICY()]);
    const c2 = condition(statusOf(undefinedSubset, 'TrafficRoute', 'r'), 'ResolvedRefs');
    assert.equal(c2.reason, 'SubsetNotFound');
    assert.match(c2.message, /TrafficPolicy shop\/reviews defines no subset "v9" \(subsets: v1, v2, v3\)/);

    const ok = run([simpleRoute('r', 'ratings', { host: 'reviews', port: 9080, subset: 'v2' })], [POLICY()]);
    assert.equal(statusOf(ok, 'TrafficRoute', 'r').applied, 'current');
  });

  it('a subset defined only by a policy that lost a conflict does not count', () => {
    const loser = trafficPolicy({ host: 'reviews', subsets: [{ name: 'blue', labels: { color: 'blue' } }] }, 'late', 'shop', at('2025-01-01T00:00:00Z'));
    const r = run([simpleRoute('r', 'ratings', { host: 'reviews', port: 9080, subset: 'blue' })], [POLICY(), loser]);
    assert.equal(condition(statusOf(r, 'TrafficPolicy', 'late'), 'Accepted').reason, 'Conflict');
    assert.equal(condition(statusOf(r, 'TrafficRoute', 'r'), 'ResolvedRefs').reason, 'SubsetNotFound');
  });

  it('InvalidWeights when a route\'s weights add up to 0', () => {
    const zero = trafficRoute({
      hosts: ['ratings'],
      http: [
        { route: [{ destination: { host: 'ratings' }, weight: 10 }] },
        { route: [{ destination: { host: 'ratings' }, weight: 0 }, { destination: { host: 'details' }, weight: 0 }] },
      ],
    }, 'zero');
    const s = statusOf(run([zero], []), 'TrafficRoute', 'zero');
    const c = condition(s, 'Accepted');
    assert.equal(c.status, 'False');
    assert.equal(c.reason, 'InvalidWeights');
    assert.match(c.message, /^spec\.http\[1\]\.route: the weights add up to 0/);
    assert.equal(s.applied, 'none');
    assert.equal(condition(s, 'ResolvedRefs').status, 'True', 'references are fine; only the weights are wrong');
  });

  it('a zero weight next to a positive one is fine', () => {
    const canary = trafficRoute({ hosts: ['ratings'], http: [{ route: [{ destination: { host: 'ratings' }, weight: 100 }, { destination: { host: 'details' }, weight: 0 }] }] }, 'c');
    assert.equal(statusOf(run([canary], []), 'TrafficRoute', 'c').applied, 'current');
  });

  it('two TrafficRoutes for one host: the older wins, the newer gets Conflict naming it', () => {
    const older = simpleRoute('older', 'ratings', { host: 'ratings' }, at('2024-01-01T00:00:00Z'));
    const newer = simpleRoute('newer', 'ratings.shop.svc.cluster.local', { host: 'ratings' }, at('2024-02-01T00:00:00Z'));
    for (const order of [[older, newer], [newer, older]]) {
      const r = run(order, []);
      assert.equal(statusOf(r, 'TrafficRoute', 'older').applied, 'current');
      const loser = statusOf(r, 'TrafficRoute', 'newer');
      assert.equal(loser.applied, 'none');
      const c = condition(loser, 'Accepted');
      assert.equal(c.reason, 'Conflict');
      assert.match(c.message, /Host ratings\.shop is already configured by TrafficRoute shop\/older, which is older/);
      assert.equal(r.applied.routeByHost.get('ratings.shop')?.meta.name, 'older');
      assert.deepEqual(r.statuses.map((s) => s.name), ['older', 'newer'], 'statuses come oldest first');
    }
  });

  it('same timestamp: name order decides; no timestamp (files) counts as newest', () => {
    const t = at('2024-01-01T00:00:00Z');
    const r = run([simpleRoute('b', 'ratings', undefined, t), simpleRoute('a', 'ratings', undefined, t)], []);
    assert.equal(r.applied.routeByHost.get('ratings.shop')?.meta.name, 'a');

    const r2 = run([simpleRoute('a', 'ratings'), simpleRoute('z', 'ratings', undefined, t)], []);
    assert.equal(r2.applied.routeByHost.get('ratings.shop')?.meta.name, 'z');
    assert.equal(condition(statusOf(r2, 'TrafficRoute', 'a'), 'Accepted').reason, 'Conflict');
  });

  it('a route conflicting on one host is not applied for its other hosts either', () => {
    const older = simpleRoute('older', 'ratings', undefined, at('2024-01-01T00:00:00Z'));
    const both = trafficRoute({ hosts: ['details', 'ratings'], http: [{ route: [{ destination: { host: 'details' } }] }] }, 'both', 'shop', at('2024-02-01T00:00:00Z'));
    const r = run([older, both], []);
    assert.equal(r.applied.routeByHost.has('details.shop'), false);
    // ...and an object that applies nothing claims nothing: a third route for details.shop wins it.
    const third = simpleRoute('third', 'details', { host: 'details' }, at('2024-03-01T00:00:00Z'));
    assert.equal(run([older, both, third], []).applied.routeByHost.get('details.shop')?.meta.name, 'third');
  });

  it('two TrafficPolicies for one host: the older wins', () => {
    const newer = trafficPolicy({ host: 'reviews.shop.svc.cluster.local' }, 'newer', 'shop', at('2024-06-01T00:00:00Z'));
    const r = run([], [newer, POLICY()]);
    const c = condition(statusOf(r, 'TrafficPolicy', 'newer'), 'Accepted');
    assert.equal(c.reason, 'Conflict');
    assert.match(c.message, /already configured by TrafficPolicy shop\/reviews/);
    assert.equal(r.applied.policyByHost.get('reviews.shop')?.meta.name, 'reviews');
    assert.equal(r.applied.policies.size, 1);
  });

  it('TrafficPolicy: ServiceNotFound for its host, PortNotFound for port settings, a note for empty subsets', () => {
    const r1 = run([], [trafficPolicy({ host: 'ghost' }, 'g')]);
    assert.equal(condition(statusOf(r1, 'TrafficPolicy', 'g'), 'ResolvedRefs').reason, 'ServiceNotFound');
    assert.equal(r1.applied.policies.size, 0);

    const badPort = trafficPolicy(mutate(validPolicySpec(), (s) => { s.subsets[1].trafficPolicy.portLevelSettings[0].port = 7777; }), 'p');
    const c = condition(statusOf(run([], [badPort]), 'TrafficPolicy', 'p'), 'ResolvedRefs');
    assert.equal(c.reason, 'PortNotFound');
    assert.match(c.message, /spec\.subsets\[1\]\.trafficPolicy\.portLevelSettings\[0\]\.port: service reviews\.shop has no port 7777/);

    const ok = statusOf(run([], [POLICY()]), 'TrafficPolicy', 'reviews');
    assert.equal(ok.applied, 'current');
    assert.equal(condition(ok, 'ResolvedRefs').message, 'All references resolved. Note: subset v3 selects no endpoints of reviews.shop at the moment.');
  });

  it('invalid objects: Accepted=False Invalid with the paths, ResolvedRefs Unknown; valid objects still apply', () => {
    const broken = trafficRoute(mutate(validRouteSpec(), (s) => { s.http[0].route[0].weight = -1; s.hosts = ['details']; }), 'broken');
    const r = run([broken, ROUTE()], [POLICY(), trafficPolicy({ host: 'details', trafficPolicy: { loadBalancer: {} } }, 'badpolicy')]);
    const s = statusOf(r, 'TrafficRoute', 'broken');
    assert.deepEqual(condition(s, 'Accepted'), {
      type: 'Accepted', status: 'False', reason: 'Invalid', observedGeneration: 1,
      message: 'Invalid: spec.http[0].route[0].weight: must be >= 0 (got -1). Nothing of this object is applied.',
    });
    assert.equal(condition(s, 'ResolvedRefs').status, 'Unknown');
    assert.equal(condition(statusOf(r, 'TrafficPolicy', 'badpolicy'), 'Accepted').reason, 'Invalid');
    assert.equal(statusOf(r, 'TrafficRoute', 'reviews').applied, 'current');
    assert.equal(statusOf(r, 'TrafficPolicy', 'reviews').applied, 'current');
    assert.deepEqual([...r.applied.routeByHost.keys()].sort(), ['ratings.shop', 'reviews.shop']);
  });

  it('keeps the last good generation when a new one cannot be applied', () => {
    const v1 = trafficRoute(validRouteSpec(), 'reviews', 'shop', { ...at('2024-01-01T00:00:00Z'), generation: 1, uid: 'u1' });
    const first = run([v1], [POLICY()]);
    assert.equal(statusOf(first, 'TrafficRoute', 'reviews').applied, 'current');

    const cases: [string, CustomObject][] = [
      ['invalid', trafficRoute(mutate(validRouteSpec(), (s) => { s.http[0].timeout = 'forever'; }), 'reviews', 'shop', { ...at('2024-01-01T00:00:00Z'), generation: 2, uid: 'u1' })],
      ['unresolved', trafficRoute(mutate(validRouteSpec(), (s) => { s.http[0].route[0].destination.host = 'ghost'; }), 'reviews', 'shop', { ...at('2024-01-01T00:00:00Z'), generation: 2, uid: 'u1' })],
      ['zero weights', trafficRoute(mutate(validRouteSpec(), (s) => { s.http[0].route[0].weight = 0; s.http[0].route[1].weight = 0; }), 'reviews', 'shop', { ...at('2024-01-01T00:00:00Z'), generation: 2, uid: 'u1' })],
    ];
    for (const [what, v2] of cases) {
      const second = run([v2], [POLICY()], { previousApplied: first.applied });
      const s = statusOf(second, 'TrafficRoute', 'reviews');
      assert.equal(s.applied, 'previous', what);
      assert.equal(condition(s, 'Accepted').status, 'False', what);
      assert.equal(condition(s, 'Accepted').observedGeneration, 2, what);
      assert.match(condition(s, 'Accepted').message, /The previously accepted generation 1 stays applied\./, what);
      assert.equal(second.applied.routeByHost.get('reviews.shop')?.meta.generation, 1, what);
      assert.equal(second.applied.routes.get('TrafficRoute/shop/reviews'), first.applied.routes.get('TrafficRoute/shop/reviews'), what);
    }

    const fixed = trafficRoute(validRouteSpec(), 'reviews', 'shop', { ...at('2024-01-01T00:00:00Z'), generation: 3, uid: 'u1' });
    const third = run([fixed], [POLICY()], { previousApplied: first.applied });
    assert.equal(third.applied.routeByHost.get('reviews.shop')?.meta.generation, 3);
  });

  it('an unchanged object whose service disappears stays applied as last accepted', () => {
    const obj = simpleRoute('r', 'details', { host: 'details' });
    const first = run([obj], []);
    const gone = validateRouting({ trafficRoutes: [obj], trafficPolicies: [], services: lookup({}), previousApplied: first.applied });
    const s = statusOf(gone, 'TrafficRoute', 'r');
    assert.equal(s.applied, 'previous');
    assert.equal(condition(s, 'ResolvedRefs').reason, 'ServiceNotFound');
    assert.match(condition(s, 'Accepted').message, /It stays applied as it was last accepted\.$/);
  });

  it('forgets deleted and recreated objects', () => {
    const v1 = simpleRoute('r', 'ratings', undefined, { uid: 'old' });
    const first = run([v1], []);
    assert.equal(first.applied.routes.size, 1);
    assert.equal(run([], [], { previousApplied: first.applied }).applied.routes.size, 0, 'deleted');
    const recreatedBroken = trafficRoute({ hosts: ['ratings'], http: [] }, 'r', 'shop', { uid: 'new' });
    const r = run([recreatedBroken], [], { previousApplied: first.applied });
    assert.equal(statusOf(r, 'TrafficRoute', 'r').applied, 'none');
    assert.equal(r.applied.routes.size, 0);
  });

  it('does not keep a last good generation that now conflicts with an older object', () => {
    const mine = simpleRoute('mine', 'ratings', undefined, at('2024-05-01T00:00:00Z'));
    const first = run([mine], []);
    const olderBroken = trafficRoute({ hosts: ['ratings'], http: [] }, 'older', 'shop', at('2024-01-01T00:00:00Z'));
    const olderGood = simpleRoute('older', 'ratings', undefined, at('2024-01-01T00:00:00Z'));
    const firstOlder = run([olderGood], []);
    // "older" had been applied before; its new generation is broken, so its last good one stays and wins.
    const prev = { ...firstOlder.applied, routes: new Map([...firstOlder.applied.routes, ...first.applied.routes]) };
    const r = run([olderBroken, mine], [], { previousApplied: prev });
    assert.equal(statusOf(r, 'TrafficRoute', 'older').applied, 'previous');
    assert.equal(statusOf(r, 'TrafficRoute', 'mine').applied, 'none');
    assert.equal(condition(statusOf(r, 'TrafficRoute', 'mine'), 'Accepted').reason, 'Conflict');
  });

  it('is pure: the same input gives the same output', () => {
    const input: RoutingValidationInput = { trafficRoutes: [ROUTE()], trafficPolicies: [POLICY()], services: lookup(), previousApplied: NOTHING_APPLIED };
    assert.deepEqual(validateRouting(input), validateRouting(input));
  });

  it('builds the lookup from snapshot maps', () => {
    const svc: Service = { name: 'ratings', namespace: 'shop', ports: [{ name: 'http', port: 9080, targetPort: 8080, protocol: 'http' }] };
    const ep: Endpoint = { address: '10.0.0.1', ports: { http: 8080 }, ready: true, serving: true, terminating: false, locality: NO_LOCALITY, labels: { version: 'v1' } };
    const l = serviceLookupFromMaps(new Map([['ratings.shop', svc]]), new Map([['ratings.shop', [ep]]]));
    assert.deepEqual(l.service('shop', 'ratings'), { ports: [9080], portNames: ['http'], endpointLabels: [{ version: 'v1' }] });
    assert.equal(l.service('shop', 'nope'), undefined);
  });
});

describe('routing-validate: RE2 regexes and header names in status', () => {
  const withUriRegex = (regex: string, generation: number) => trafficRoute(mutate(validRouteSpec(), (s) => {
    s.http[0].match[1].uri = { regex };
  }), 'reviews', 'shop', { ...at('2024-01-01T00:00:00Z'), generation });

  it('accepts RE2 that JavaScript would refuse', () => {
    for (const regex of ['(?i)/api/.*', '[[:alpha:]]+']) {
      const r = run([withUriRegex(regex, 1)], [POLICY()]);
      assert.equal(condition(statusOf(r, 'TrafficRoute', 'reviews'), 'Accepted').status, 'True', regex);
    }
  });

  it('refuses invalid RE2 with RE2\'s message and keeps the last accepted generation', () => {
    const first = run([withUriRegex('(?i)/api/.*', 1)], [POLICY()]);
    for (const [regex, says] of [
      ['(unclosed', 'spec.http[0].match[1].uri.regex: is not a valid RE2 regular expression: missing closing ): `(unclosed`'],
      ['a{1000}', 'spec.http[0].match[1].uri.regex: is not a valid RE2 regular expression: the compiled program is too large for Envoy'],
    ] as const) {
      const r = run([withUriRegex(regex, 2)], [POLICY()], { previousApplied: first.applied });
      const s = statusOf(r, 'TrafficRoute', 'reviews');
      const accepted = condition(s, 'Accepted');
      assert.equal(accepted.status, 'False');
      assert.equal(accepted.reason, 'Invalid');
      assert.ok(accepted.message.includes(says), accepted.message);
      assert.ok(accepted.message.endsWith('The previously accepted generation 1 stays applied.'), accepted.message);
      assert.equal(s.applied, 'previous');
    }
  });

  it('names a bad header name without copying a huge one into the status', () => {
    const huge = `x${'\u0001'.repeat(200)}`;
    const r = run([trafficRoute(mutate(validRouteSpec(), (s) => {
      s.http[0].match[0].headers[huge] = { exact: 'a' };
    }), 'reviews', 'shop', at('2024-01-01T00:00:00Z'))], [POLICY()]);
    const accepted = condition(statusOf(r, 'TrafficRoute', 'reviews'), 'Accepted');
    assert.equal(accepted.status, 'False');
    assert.match(accepted.message, /spec\.http\[0\]\.match\[0\]\.headers\["x(\\u0001){63}…"\]: a header name may contain only/);
    assert.ok(accepted.message.length < 1000, `${accepted.message.length} characters`);
  });
});

describe('routing-validate: what proxyless gRPC ignores', () => {
  const route = (): TrafficRoute => parseTrafficRoute(ROUTE()).ok as TrafficRoute;
  const policy = (): TrafficPolicy => parseTrafficPolicy(POLICY()).ok as TrafficPolicy;

  it('lists route fields gRPC clients cannot express', () => {
    assert.deepEqual(proxylessIgnoredInRoute(route()).map((f) => f.path), [
      'spec.http[0].match[0].method',
      'spec.http[0].match[0].queryParams',
      'spec.http[0].retries.perTryTimeout',
      'spec.http[0].retries.retryOn',
      'spec.http[0].mirror',
      'spec.http[0].rewrite.uri',
      'spec.http[0].rewrite.authority',
      'spec.http[0].headers.request.add',
      'spec.http[0].headers.request.set',
      'spec.http[0].headers.request.remove',
      'spec.http[0].headers.response.remove',
      'spec.http[1].redirect',
    ]);
    const retry = proxylessIgnoredInRoute(route()).find((f) => f.path === 'spec.http[0].retries.retryOn');
    assert.match(retry?.reason ?? '', /ignored: 5xx, connect-failure$/);
  });

  it('lists policy fields gRPC clients cannot express', () => {
    assert.deepEqual(proxylessIgnoredInPolicy(policy()).map((f) => f.path), [
      'spec.trafficPolicy.loadBalancer.simple',
      'spec.trafficPolicy.connectionPool.tcp.maxConnections',
      'spec.trafficPolicy.connectionPool.tcp.connectTimeout',
      'spec.trafficPolicy.connectionPool.http.http1MaxPendingRequests',
      'spec.trafficPolicy.connectionPool.http.maxRequestsPerConnection',
      'spec.trafficPolicy.connectionPool.http.maxRetries',
      'spec.trafficPolicy.outlierDetection.consecutive5xxErrors',
      'spec.trafficPolicy.outlierDetection.consecutiveGatewayErrors',
      'spec.trafficPolicy.healthCheck',
      'spec.trafficPolicy.localRateLimit',
      'spec.trafficPolicy.portLevelSettings[0].loadBalancer.consistentHash.httpCookie',
      'spec.trafficPolicy.portLevelSettings[1].loadBalancer.simple',
      'spec.trafficPolicy.portLevelSettings[1].healthCheck',
      'spec.subsets[2].trafficPolicy.loadBalancer.consistentHash.useSourceIp',
    ]);
  });

  it('lists nothing for what gRPC supports: path/header matches, weights, timeouts, gRPC retries, faults, ring hash on a header, max requests', () => {
    const grpcOnly = trafficRoute({
      hosts: ['ratings'],
      http: [{
        match: [{ uri: { prefix: '/ratings.Ratings/' }, headers: { 'x-user': { exact: 'a' }, 'x-absent': { present: false } } }],
        route: [{ destination: { host: 'ratings', subset: 'v1' }, weight: 9 }, { destination: { host: 'details' }, weight: 1 }],
        timeout: '2s',
        retries: { attempts: 2, retryOn: 'unavailable,cancelled' },
        fault: { delay: { fixedDelay: '1s', percentage: 1 }, abort: { grpcStatus: 'UNAVAILABLE', percentage: 1 } },
      }],
    });
    assert.deepEqual(proxylessIgnoredInRoute(parseTrafficRoute(grpcOnly).ok as TrafficRoute), []);
    const hashPolicy = trafficPolicy({
      host: 'ratings',
      trafficPolicy: { loadBalancer: { consistentHash: { httpHeaderName: 'x-user', minimumRingSize: 64 } }, connectionPool: { http: { http2MaxRequests: 100 } } },
      subsets: [{ name: 'v1', labels: { version: 'v1' }, trafficPolicy: { loadBalancer: { simple: 'ROUND_ROBIN' } } }],
    });
    assert.deepEqual(proxylessIgnoredInPolicy(parseTrafficPolicy(hashPolicy).ok as TrafficPolicy), []);
  });

  it('says so in the Accepted message and in the status', () => {
    const r = run([simpleRoute('m', 'ratings', { host: 'ratings' })], []);
    assert.equal(condition(statusOf(r, 'TrafficRoute', 'm'), 'Accepted').message, 'Applied.');
    const mirrored = trafficRoute({ hosts: ['ratings'], http: [{ route: [{ destination: { host: 'ratings' } }], mirror: { host: 'details' } }] }, 'mm');
    const s = statusOf(run([mirrored], []), 'TrafficRoute', 'mm');
    assert.equal(condition(s, 'Accepted').message, 'Applied. Ignored for proxyless gRPC: spec.http[0].mirror (gRPC clients cannot mirror requests).');
    assert.deepEqual(s.proxylessIgnored.map((f) => f.path), ['spec.http[0].mirror']);
  });
});

describe('routing-validate: condition transition times', () => {
  it('keeps lastTransitionTime while the status stays, and stamps now when it changes', () => {
    const now = new Date('2024-07-01T12:00:00.123Z');
    const existing = [
      { type: 'Accepted', status: 'True', reason: 'Accepted', message: 'Applied.', lastTransitionTime: '2024-01-01T00:00:00Z' },
      { type: 'ResolvedRefs', status: 'True', reason: 'ResolvedRefs', message: 'x', lastTransitionTime: '2024-01-01T00:00:00Z' },
    ];
    const next = withTransitionTimes([
      { type: 'Accepted', status: 'True', reason: 'Accepted', message: 'Applied again.' },
      { type: 'ResolvedRefs', status: 'False', reason: 'ServiceNotFound', message: 'gone' },
    ], existing, now);
    assert.equal(next[0].lastTransitionTime, '2024-01-01T00:00:00Z');
    assert.equal(next[1].lastTransitionTime, '2024-07-01T12:00:00Z');
    assert.equal(withTransitionTimes(next, undefined, now)[0].lastTransitionTime, '2024-07-01T12:00:00Z');
  });
});
