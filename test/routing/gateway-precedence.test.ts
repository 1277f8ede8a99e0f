// Route precedence as the Gateway API specifies it (HTTPRoute and GRPCRoute "matches" docs),
// checked request by request: the routes are validated and merged exactly as in production,
// and a request is then resolved the way Envoy and gRPC resolve a route table (the first
// matching rule wins). Each case below restates one sentence of the spec in its own words.
import assert from 'node:assert/strict';
import type { CustomObject } from '../../src/model/k8s-object.js';
import type { HttpRule, RequestMatch, StringMatch } from '../../src/model/routing.js';
import { validateRouting, type ServiceInfo } from '../../src/routing/validate.js';

interface Request {
  readonly path: string;
  readonly method?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly query?: Readonly<Record<string, string>>;
}

function stringMatches(m: StringMatch, v: string): boolean {
  if (m.type === 'exact') return v === m.value;
  if (m.type === 'prefix') return v.startsWith(m.value);
  return new RegExp(`^(?:${m.value})$`).test(v);
}

function blockMatches(m: RequestMatch, r: Request): boolean {
  if (m.uri && !stringMatches(m.uri, r.path)) return false;
  if (m.method !== undefined && m.method !== (r.method ?? 'GET')) return false;
  const headers = Object.fromEntries(Object.entries(r.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  for (const h of m.headers) {
    const v = headers[h.name.toLowerCase()];
    if ('value' in h) {
      if (v === undefined || !stringMatches(h, v)) return false;
    } else if ((h.type === 'present') !== (v !== undefined)) {
      return false;
    }
  }
  for (const q of m.queryParams) {
    const v = r.query?.[q.name];
    if (v === undefined) return false;
    if (q.type !== 'present' && !stringMatches(q, v)) return false;
  }
  return true;
}

/** The backend (`name`, or `redirect`) of the first rule a request matches, or 404. */
function resolve(rules: readonly HttpRule[], r: Request): string {
  for (const rule of rules) {
    if (rule.match.length > 0 && !rule.match.some((m) => blockMatches(m, r))) continue;
    if (rule.action.type === 'redirect') return 'redirect';
    return rule.action.destinations.map((d) => d.destination.service.name).join('+');
  }
  return '404';
}

const SERVICES: Record<string, ServiceInfo> = Object.fromEntries(
  ['svc', 'a', 'b', 'c', 'd'].map((n) => [`${n}.ns`, { ports: [80], portNames: ['http'], endpointLabels: [] }]),
);

type Rule = { matches?: unknown[]; backend: string };

function route(name: string, rules: Rule[], opts: { kind?: 'HTTPRoute' | 'GRPCRoute'; created?: string; namespace?: string } = {}): CustomObject {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: opts.kind ?? 'HTTPRoute',
    metadata: { name, namespace: opts.namespace ?? 'ns', ...(opts.created ? { creationTimestamp: opts.created } : {}) },
    spec: {
      parentRefs: [{ group: '', kind: 'Service', name: 'svc' }],
      rules: rules.map((r) => ({ ...(r.matches ? { matches: r.matches } : {}), backendRefs: [{ name: r.backend, port: 80 }] })),
    },
  };
}

function table(...objects: CustomObject[]): readonly HttpRule[] {
  const result = validateRouting({
    trafficRoutes: [], trafficPolicies: [], gatewayRoutes: objects,
    services: { service: (ns, name) => SERVICES[`${name}.${ns}`] },
  });
  const refused = result.statuses.filter((s) => s.conditions.some((c) => c.type === 'Accepted' && c.status !== 'True'));
  assert.deepEqual(refused.map((s) => s.conditions[0].message), []);
  const merged = result.applied.routeByHost.get('svc.ns');
  assert.ok(merged, 'the routes attach to svc');
  return merged.http;
}

const prefix = (value: string, extra: Record<string, unknown> = {}) => ({ path: { type: 'PathPrefix', value }, ...extra });
const exact = (value: string, extra: Record<string, unknown> = {}) => ({ path: { type: 'Exact', value }, ...extra });

describe('Gateway API match precedence (HTTPRoute)', () => {
  it('an Exact path match wins over any PathPrefix, whatever the rule order', () => {
    const rules = table(route('r', [{ matches: [prefix('/foo')], backend: 'a' }, { matches: [exact('/foo/bar')], backend: 'b' }]));
    assert.equal(resolve(rules, { path: '/foo/bar' }), 'b');
    assert.equal(resolve(rules, { path: '/foo/baz' }), 'a');
  });

  it('among PathPrefix matches the one with the most characters wins', () => {
    const rules = table(route('r', [
      { matches: [prefix('/')], backend: 'a' },
      { matches: [prefix('/foo')], backend: 'b' },
      { matches: [prefix('/foo/bar')], backend: 'c' },
    ]));
    assert.equal(resolve(rules, { path: '/foo/bar/x' }), 'c');
    assert.equal(resolve(rules, { path: '/foo/x' }), 'b');
    assert.equal(resolve(rules, { path: '/x' }), 'a');
  });

  it('a PathPrefix matches whole path elements: /foo matches /foo and /foo/x but not /foobar; a trailing slash changes nothing', () => {
    const rules = table(route('r', [{ matches: [prefix('/foo/')], backend: 'b' }]));
    assert.equal(resolve(rules, { path: '/foo' }), 'b');
    assert.equal(resolve(rules, { path: '/foo/' }), 'b');
    assert.equal(resolve(rules, { path: '/foo/x' }), 'b');
    assert.equal(resolve(rules, { path: '/foobar' }), '404');
  });

  it('with equal paths, a method match wins over header matches', () => {
    const rules = table(route('r', [
      { matches: [{ headers: [{ name: 'x-a', value: '1' }, { name: 'x-b', value: '1' }] }], backend: 'a' },
      { matches: [{ method: 'POST' }], backend: 'b' },
    ]));
    assert.equal(resolve(rules, { path: '/', method: 'POST', headers: { 'x-a': '1', 'x-b': '1' } }), 'b');
    assert.equal(resolve(rules, { path: '/', method: 'GET', headers: { 'x-a': '1', 'x-b': '1' } }), 'a');
  });

  it('a longer PathPrefix wins over a method match on a shorter one', () => {
    const rules = table(route('r', [{ matches: [prefix('/foo', { method: 'GET' })], backend: 'a' }, { matches: [prefix('/foo/bar')], backend: 'b' }]));
    assert.equal(resolve(rules, { path: '/foo/bar', method: 'GET' }), 'b');
  });

  it('more header matches win; header matches win over query parameter matches', () => {
    const rules = table(route('r', [
      { matches: [{ queryParams: [{ name: 'q', value: '1' }, { name: 'r', value: '1' }] }], backend: 'a' },
      { matches: [{ headers: [{ name: 'x-a', value: '1' }] }], backend: 'b' },
      { matches: [{ headers: [{ name: 'x-a', value: '1' }, { name: 'x-b', value: '1' }] }], backend: 'c' },
    ]));
    assert.equal(resolve(rules, { path: '/', headers: { 'x-a': '1', 'x-b': '1' }, query: { q: '1', r: '1' } }), 'c');
    assert.equal(resolve(rules, { path: '/', headers: { 'x-a': '1' }, query: { q: '1', r: '1' } }), 'b');
    assert.equal(resolve(rules, { path: '/', query: { q: '1', r: '1' } }), 'a');
  });

  it('more query parameter matches win', () => {
    const rules = table(route('r', [
      { matches: [{ queryParams: [{ name: 'q', value: '1' }] }], backend: 'a' },
      { matches: [{ queryParams: [{ name: 'q', value: '1' }, { name: 'r', value: '1' }] }], backend: 'b' },
    ]));
    assert.equal(resolve(rules, { path: '/', query: { q: '1', r: '1' } }), 'b');
    assert.equal(resolve(rules, { path: '/', query: { q: '1' } }), 'a');
  });

  it('precedence runs across every route attached to the Service, not route by route', () => {
    const rules = table(
      route('general', [{ matches: [prefix('/')], backend: 'a' }], { created: '2024-01-01T00:00:00Z' }),
      route('specific', [{ matches: [prefix('/shop')], backend: 'b' }], { created: '2024-06-01T00:00:00Z' }),
    );
    assert.equal(resolve(rules, { path: '/shop/cart' }), 'b');
    assert.equal(resolve(rules, { path: '/home' }), 'a');
  });

  it('a tie between routes goes to the oldest route', () => {
    const rules = table(
      route('a-newer', [{ matches: [prefix('/x')], backend: 'a' }], { created: '2024-06-01T00:00:00Z' }),
      route('z-older', [{ matches: [prefix('/x')], backend: 'b' }], { created: '2024-01-01T00:00:00Z' }),
    );
    assert.equal(resolve(rules, { path: '/x' }), 'b');
  });

  it('a tie between routes of the same age goes to the first by namespace/name', () => {
    const same = '2024-01-01T00:00:00Z';
    const rules = table(route('beta', [{ matches: [prefix('/x')], backend: 'a' }], { created: same }), route('alpha', [{ matches: [prefix('/x')], backend: 'b' }], { created: same }));
    assert.equal(resolve(rules, { path: '/x' }), 'b');
  });

  it('a tie within one route goes to the first rule in list order', () => {
    const rules = table(route('r', [{ matches: [prefix('/x')], backend: 'a' }, { matches: [prefix('/x')], backend: 'b' }]));
    assert.equal(resolve(rules, { path: '/x' }), 'a');
  });

  it('a rule without matches matches every request, after every more specific match', () => {
    const rules = table(route('r', [{ backend: 'a' }, { matches: [prefix('/x')], backend: 'b' }]));
    assert.equal(resolve(rules, { path: '/x/1' }), 'b');
    assert.equal(resolve(rules, { path: '/y' }), 'a');
  });

  it('a request no rule matches gets 404', () => {
    const rules = table(route('r', [{ matches: [exact('/only')], backend: 'a' }]));
    assert.equal(resolve(rules, { path: '/other' }), '404');
  });
});

const grpc = (service?: string, method?: string, headers: { name: string; value: string }[] = []) => ({
  method: { ...(service ? { service } : {}), ...(method ? { method } : {}) }, ...(headers.length ? { headers } : {}),
});

describe('Gateway API match precedence (GRPCRoute)', () => {
  it('the most characters of the matched service win, then of the method', () => {
    const rules = table(route('g', [
      { matches: [grpc('pkg.Svc')], backend: 'a' },
      { matches: [grpc(undefined, 'Get')], backend: 'b' },
      { matches: [grpc('pkg.Svc', 'Get')], backend: 'c' },
      { matches: [grpc('pkg.SvcLonger')], backend: 'd' },
    ], { kind: 'GRPCRoute' }));
    assert.equal(resolve(rules, { path: '/pkg.Svc/Get', method: 'POST' }), 'c');
    assert.equal(resolve(rules, { path: '/pkg.Svc/List', method: 'POST' }), 'a');
    assert.equal(resolve(rules, { path: '/other.Svc/Get', method: 'POST' }), 'b');
    assert.equal(resolve(rules, { path: '/pkg.SvcLonger/Get', method: 'POST' }), 'd');
  });

  it('with the same service and method, more header matches win', () => {
    const rules = table(route('g', [
      { matches: [grpc('pkg.Svc', 'Get')], backend: 'a' },
      { matches: [grpc('pkg.Svc', 'Get', [{ name: 'x-canary', value: 'true' }])], backend: 'b' },
    ], { kind: 'GRPCRoute' }));
    assert.equal(resolve(rules, { path: '/pkg.Svc/Get', headers: { 'x-canary': 'true' } }), 'b');
    assert.equal(resolve(rules, { path: '/pkg.Svc/Get' }), 'a');
  });

  it('HTTPRoutes and GRPCRoutes are not merged on one Service: the kind of the oldest route wins', () => {
    const result = validateRouting({
      trafficRoutes: [], trafficPolicies: [],
      gatewayRoutes: [
        route('h', [{ matches: [prefix('/')], backend: 'a' }], { created: '2024-06-01T00:00:00Z' }),
        route('g', [{ matches: [grpc('pkg.Svc')], backend: 'b' }], { kind: 'GRPCRoute', created: '2024-01-01T00:00:00Z' }),
      ],
      services: { service: (ns, name) => SERVICES[`${name}.${ns}`] },
    });
    const h = result.statuses.find((s) => s.name === 'h');
    assert.equal(h?.parents?.[0].conditions[0].reason, 'Conflicted');
    assert.match(h?.parents?.[0].conditions[0].message ?? '', /GRPCRoute ns\/g is older/);
    const rules = result.applied.routeByHost.get('svc.ns')?.http ?? [];
    assert.equal(resolve(rules, { path: '/pkg.Svc/Get' }), 'b');
    assert.equal(resolve(rules, { path: '/' }), '404');
  });
});
