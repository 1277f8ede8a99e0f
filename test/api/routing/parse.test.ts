import assert from 'node:assert/strict';
import { DEFAULT_RETRY_ON, effectivePolicy, resolveHost, routeDestinations, subsetMatches, type TrafficPolicy, type TrafficRoute } from '../../../src/model/routing.js';
import type { ParseResult } from '../../../src/api/routing/v1alpha1/parse.js';
import { formatDuration, parseDuration } from '../../../src/api/routing/v1alpha1/duration.js';
import { formatFieldError } from '../../../src/api/routing/v1alpha1/openapi.js';
import { parseRoutingObject, parseTrafficPolicy, parseTrafficRoute } from '../../../src/api/routing/v1alpha1/parse.js';
import type { CustomObject } from '../../../src/model/k8s-object.js';
import {
  INVALID_ENVELOPES, INVALID_POLICIES, INVALID_ROUTES, mutate, trafficPolicy, trafficRoute, validPolicySpec, validRouteSpec,
  type InvalidCase,
} from '../../support/routing-fixtures.js';

function ok<T>(r: ParseResult<T>): T {
  if (r.errors) assert.fail(`expected a valid object, got:\n${r.errors.map(formatFieldError).join('\n')}`);
  return r.ok as T;
}

function parseCase(c: InvalidCase): ParseResult<TrafficRoute> | ParseResult<TrafficPolicy> {
  if (c.parseAs === 'TrafficPolicy') return parseTrafficPolicy(c.object);
  if (c.parseAs === 'TrafficRoute') return parseTrafficRoute(c.object);
  return parseRoutingObject(c.object);
}

describe('routing model: durations', () => {
  const cases: [string, number | undefined][] = [
    ['1s', 1000], ['250ms', 250], ['1m30s', 90000], ['1.5s', 1500], ['0.001s', 1], ['1h', 3600000], ['0s', 0],
    ['2h3m4.5s', 7384500], ['1s500ms', 1500], ['10m', 600000],
    ['1.5', undefined], ['s', undefined], ['', undefined], ['1d', undefined], ['1.5ms', undefined], ['1.0001s', undefined],
    ['30s1m', undefined], ['-1s', undefined], ['1 s', undefined], ['1.5m', undefined],
  ];
  for (const [text, want] of cases) {
    it(`${JSON.stringify(text)} -> ${want}`, () => assert.equal(parseDuration(text), want));
  }
  it('formats back to a string that parses to the same value', () => {
    for (const msv of [0, 1, 250, 1000, 1500, 90000, 3600000, 7384500, 1001]) {
      assert.equal(parseDuration(formatDuration(msv)), msv, formatDuration(msv));
    }
    assert.equal(formatDuration(90000), '1m30s');
    assert.equal(formatDuration(1500), '1.5s');
  });
});

describe('routing model: hosts', () => {
  it('resolves short names in the object namespace and longer names as written', () => {
    assert.deepEqual(resolveHost('reviews', 'shop'), { name: 'reviews', namespace: 'shop', key: 'reviews.shop', host: 'reviews' });
    assert.equal(resolveHost('reviews.books', 'shop').key, 'reviews.books');
    assert.equal(resolveHost('reviews.books.svc', 'shop').key, 'reviews.books');
    assert.equal(resolveHost('reviews.books.svc.cluster.local', 'shop').key, 'reviews.books');
  });
});

describe('routing model: parseTrafficRoute', () => {
  const model = () => ok(parseTrafficRoute(trafficRoute(validRouteSpec(), 'reviews', 'shop', {
    generation: 7, uid: 'u-1', resourceVersion: '42', creationTimestamp: '2024-05-01T10:00:00Z',
  })));

  it('keeps the identity the status writer needs', () => {
    assert.deepEqual(model().meta, {
      kind: 'TrafficRoute', namespace: 'shop', name: 'reviews', generation: 7, uid: 'u-1', resourceVersion: '42',
      creationTimestamp: '2024-05-01T10:00:00Z',
    });
  });

  it('turns a Date creationTimestamp (as @kubernetes/client-node gives it) into RFC 3339', () => {
    const m = ok(parseTrafficRoute(trafficRoute(validRouteSpec(), 'r', 'shop', { creationTimestamp: new Date('2024-05-01T10:00:00Z') })));
    assert.equal(m.meta.creationTimestamp, '2024-05-01T10:00:00.000Z');
  });

  it('resolves hosts to service keys', () => {
    assert.deepEqual(model().hosts.map((h) => h.key), ['reviews.shop', 'ratings.shop']);
  });

  it('normalizes matches: typed kinds, maps sorted by name, absent via present: false', () => {
    const [m0, m1] = model().http[0].match;
    assert.deepEqual(m0, {
      uri: { type: 'prefix', value: '/api/' },
      headers: [
        { name: 'x-debug', type: 'present' },
        { name: 'x-skip', type: 'absent' },
        { name: 'x-user', type: 'exact', value: 'jason' },
        { name: 'x-v', type: 'regex', value: 'v[0-9]+' },
      ],
      method: 'GET',
      queryParams: [
        { name: 'debug', type: 'present' },
        { name: 'lang', type: 'exact', value: 'en' },
        { name: 'v', type: 'regex', value: '^[0-9]+$' },
      ],
    });
    assert.deepEqual(m1, { uri: { type: 'regex', value: '^/v[12]/.*' }, headers: [], queryParams: [] });
  });

  it('normalizes the route action, durations, retries, fault, mirror, rewrite and headers', () => {
    const rule = model().http[0];
    assert.equal(rule.index, 0);
    assert.equal(rule.name, 'canary');
    assert.deepEqual(rule.action, {
      type: 'route',
      destinations: [
        { destination: { service: { name: 'reviews', namespace: 'shop', key: 'reviews.shop', host: 'reviews' }, port: 9080, subset: 'v2' }, weight: 90 },
        { destination: { service: { name: 'reviews', namespace: 'shop', key: 'reviews.shop', host: 'reviews.shop' }, port: 9080, subset: 'v1' }, weight: 10 },
      ],
    });
    assert.equal(rule.timeoutMs, 90000);
    assert.deepEqual(rule.retries, { attempts: 3, perTryTimeoutMs: 250, retryOn: ['5xx', 'connect-failure', 'unavailable'] });
    assert.deepEqual(rule.fault, {
      delay: { fixedDelayMs: 1500, percentage: 12.5 },
      abort: { type: 'grpc', grpcStatus: 14, grpcStatusName: 'UNAVAILABLE', percentage: 100 },
    });
    assert.deepEqual(rule.mirror, {
      destination: { service: { name: 'reviews-shadow', namespace: 'shop', key: 'reviews-shadow.shop', host: 'reviews-shadow' }, port: 9080 },
      percentage: 5,
    });
    assert.deepEqual(rule.rewrite, { uriPrefix: '/v1/', authority: 'reviews.internal:9080' });
    assert.deepEqual(rule.requestHeaders, {
      add: [{ name: 'x-a', value: '1' }, { name: 'x-b', value: '2' }], set: [{ name: 'x-env', value: 'prod' }], remove: ['x-secret'],
    });
    assert.deepEqual(rule.responseHeaders, { add: [], set: [], remove: ['server'] });
  });

  it('fills defaults: redirect code, single-destination weight, retryOn, abort percentage', () => {
    const spec = mutate(validRouteSpec(), (s) => { delete s.http[1].redirect.responseCode; s.http[2].retries = { attempts: 2 }; });
    const m = ok(parseTrafficRoute(trafficRoute(spec)));
    assert.deepEqual(m.http[1].action, { type: 'redirect', redirect: { uri: '/new', responseCode: 301 } });
    assert.deepEqual(m.http[1].match, [{ uri: { type: 'exact', value: '/old' }, headers: [], queryParams: [] }]);
    assert.equal(m.http[2].name, undefined);
    assert.deepEqual(m.http[2].match, []);
    assert.deepEqual(m.http[2].action, {
      type: 'route', destinations: [{ destination: { service: { name: 'reviews', namespace: 'shop', key: 'reviews.shop', host: 'reviews' }, port: 9090 }, weight: 100 }],
    });
    assert.deepEqual(m.http[2].retries, { attempts: 2, retryOn: DEFAULT_RETRY_ON });
    assert.deepEqual(m.http[2].fault, { abort: { type: 'http', httpStatus: 503, percentage: 0.1 } });
    assert.equal(m.http[2].timeoutMs, undefined);
  });

  it('lists every destination with its path', () => {
    assert.deepEqual(routeDestinations(model()).map((d) => `${d.path} ${d.destination.service.key}`), [
      'spec.http[0].route[0].destination reviews.shop',
      'spec.http[0].route[1].destination reviews.shop',
      'spec.http[0].mirror reviews-shadow.shop',
      'spec.http[2].route[0].destination reviews.shop',
    ]);
  });

  it('deduplicates hosts that name the same service differently', () => {
    const m = ok(parseTrafficRoute(trafficRoute(mutate(validRouteSpec(), (s) => { s.hosts = ['reviews', 'reviews.shop.svc.cluster.local']; }))));
    assert.deepEqual(m.hosts.map((h) => h.host), ['reviews']);
  });

  it('defaults the namespace of objects without one (files) to "default"', () => {
    const obj = trafficRoute(validRouteSpec());
    delete (obj.metadata as { namespace?: string }).namespace;
    assert.equal(ok(parseTrafficRoute(obj)).hosts[0].key, 'reviews.default');
  });

  it('is deterministic: the same object gives an equal model', () => {
    assert.deepEqual(model(), model());
  });
});

describe('routing model: parseTrafficPolicy', () => {
  const model = () => ok(parseTrafficPolicy(trafficPolicy(validPolicySpec())));

  it('normalizes every setting', () => {
    const m = model();
    assert.equal(m.host.key, 'reviews.shop');
    assert.deepEqual(m.trafficPolicy.loadBalancer, { type: 'simple', algorithm: 'LEAST_REQUEST' });
    assert.deepEqual(m.trafficPolicy.connectionPool, {
      tcp: { maxConnections: 100, connectTimeoutMs: 2000 },
      http: { http1MaxPendingRequests: 10, http2MaxRequests: 1000, maxRequestsPerConnection: 0, maxRetries: 3 },
    });
    assert.deepEqual(m.trafficPolicy.outlierDetection, {
      consecutive5xxErrors: 5, consecutiveGatewayErrors: 3, intervalMs: 10000, baseEjectionTimeMs: 30000, maxEjectionPercent: 50,
    });
    assert.deepEqual(m.trafficPolicy.healthCheck, {
      check: { type: 'http', path: '/healthz' }, intervalMs: 5000, timeoutMs: 1000, unhealthyThreshold: 3, healthyThreshold: 1,
    });
    assert.deepEqual(m.trafficPolicy.localRateLimit, { maxTokens: 100, tokensPerFill: 1, fillIntervalMs: 1000 });
    assert.deepEqual(m.trafficPolicy.portLevelSettings.map((p) => p.port), [9090, 9080], 'in the order written');
    assert.deepEqual(m.trafficPolicy.portLevelSettings[0].loadBalancer, {
      type: 'consistentHash', hashKey: { type: 'cookie', name: 'session', ttlMs: 0 },
    });
    assert.deepEqual(m.trafficPolicy.portLevelSettings[1].healthCheck, {
      check: { type: 'tcp' }, intervalMs: 10000, timeoutMs: 2000, unhealthyThreshold: 2, healthyThreshold: 2,
    });
    assert.deepEqual(m.subsets.map((s) => s.name), ['v1', 'v2', 'v3']);
    assert.deepEqual(m.subsets[1].trafficPolicy?.loadBalancer, {
      type: 'consistentHash', hashKey: { type: 'header', name: 'x-user' }, minimumRingSize: 2048,
    });
    assert.deepEqual(m.subsets[2].trafficPolicy?.loadBalancer, { type: 'consistentHash', hashKey: { type: 'sourceIp' } });
    assert.equal(m.subsets[0].trafficPolicy, undefined);
  });

  it('gives an empty top-level policy when none is set', () => {
    const m = ok(parseTrafficPolicy(trafficPolicy({ host: 'reviews.books' })));
    assert.deepEqual(m.trafficPolicy, { portLevelSettings: [] });
    assert.deepEqual(m.subsets, []);
    assert.equal(m.host.key, 'reviews.books');
  });

  it('computes effective settings: top, top port, subset, subset port; each field replaced whole', () => {
    const m = model();
    const plain = effectivePolicy(m, 8080);
    assert.deepEqual(plain.loadBalancer, { type: 'simple', algorithm: 'LEAST_REQUEST' });
    assert.equal(plain.connectionPool?.tcp?.maxConnections, 100);

    const port = effectivePolicy(m, 9080);
    assert.deepEqual(port.loadBalancer, { type: 'simple', algorithm: 'RANDOM' });
    assert.deepEqual(port.healthCheck?.check, { type: 'tcp' });

    const sub = effectivePolicy(m, 9080, 'v2');
    assert.deepEqual(sub.loadBalancer, { type: 'consistentHash', hashKey: { type: 'header', name: 'x-user' }, minimumRingSize: 2048 });
    assert.deepEqual(sub.connectionPool, { http: { http2MaxRequests: 10 } }, 'subset port setting replaces connectionPool whole');
    assert.deepEqual(sub.healthCheck?.check, { type: 'tcp' }, 'fields the subset leaves alone come from the top level');

    assert.deepEqual(effectivePolicy(m, 9080, 'v1'), port, 'a subset without settings changes nothing');
    assert.deepEqual(effectivePolicy(m, 9080, 'missing'), port);
  });

  it('matches subsets by labels', () => {
    const [v1, v2] = model().subsets;
    assert.equal(subsetMatches(v1, { version: 'v1', app: 'reviews' }), true);
    assert.equal(subsetMatches(v2, { version: 'v2' }), false);
    assert.equal(subsetMatches(v2, { version: 'v2', track: 'canary' }), true);
  });
});

describe('routing model: invalid objects are refused with a path and an actionable message', () => {
  for (const c of [...INVALID_ROUTES, ...INVALID_POLICIES, ...INVALID_ENVELOPES]) {
    it(`${c.object.kind}: ${c.name} -> ${c.path}`, () => {
      const result = parseCase(c);
      assert.ok(result.errors, `${c.name}: expected errors, got a model`);
      const hit = result.errors.find((e) => e.path === c.path
        && (typeof c.message === 'string' ? e.message.includes(c.message) : c.message.test(e.message)));
      assert.ok(hit, `${c.name}: no error at ${c.path} saying ${String(c.message)}; got:\n${result.errors.map(formatFieldError).join('\n')}`);
    });
  }

  it('formats errors the way users read them', () => {
    const r = parseTrafficRoute(trafficRoute(mutate(validRouteSpec(), (s) => {
      s.http.push({ route: [{ destination: { host: 'reviews' }, weight: -1 }] });
    })));
    assert.deepEqual(r.errors?.map(formatFieldError), ['spec.http[3].route[0].weight: must be >= 0 (got -1)']);
  });

  it('reports every independent problem at once', () => {
    const r = parseTrafficRoute(trafficRoute(mutate(validRouteSpec(), (s) => {
      s.http[0].route[0].weight = -1;
      s.http[0].timeout = 'soon';
      s.hosts.push('Bad!');
    })));
    assert.deepEqual(r.errors?.map((e) => e.path), ['spec.hosts[2]', 'spec.http[0].route[0].weight', 'spec.http[0].timeout']);
  });

  it('never throws, whatever it is given', () => {
    const junk: unknown[] = [null, 42, 'x', [], {}, { apiVersion: 'routing.pilotfish.io/v1alpha1', kind: 'TrafficRoute', metadata: null },
      { apiVersion: 'routing.pilotfish.io/v1alpha1', kind: 'TrafficRoute', metadata: { name: 'a' }, spec: [] },
      { apiVersion: 'routing.pilotfish.io/v1alpha1', kind: 'TrafficRoute', metadata: { name: 'a' }, spec: { hosts: 'reviews', http: [null] } }];
    for (const j of junk) {
      const r = parseTrafficRoute(j as CustomObject);
      assert.ok(r.errors && r.errors.length > 0, JSON.stringify(j));
      assert.ok(parseTrafficPolicy(j as CustomObject).errors);
    }
  });
});
