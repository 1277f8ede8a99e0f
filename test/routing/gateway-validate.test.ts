// Which Gateway API routes attach, and the status each Service parentRef gets: every refusal
// (missing parent, consumer route, conflicts, unsupported fields) next to the success.
import assert from 'node:assert/strict';
import type { CustomObject } from '../../src/model/k8s-object.js';
import type { RoutingObjectStatus } from '../../src/model/routing-status.js';
import { parseGatewayRoute } from '../../src/api/gateway/v1/parse-route.js';
import { validateRouting, type ServiceInfo } from '../../src/routing/validate.js';
import type { AppliedRouting } from '../../src/model/routing-status.js';

const SERVICES: Record<string, ServiceInfo> = {
  'web.shop': { ports: [80, 9090], portNames: ['http', 'http-admin'], endpointLabels: [] },
  'web-v2.shop': { ports: [80], portNames: ['http'], endpointLabels: [] },
  'other.elsewhere': { ports: [80], portNames: ['http'], endpointLabels: [] },
};

function httpRoute(name: string, spec: Record<string, unknown>, meta: Record<string, unknown> = {}): CustomObject {
  return { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { name, namespace: 'shop', ...meta }, spec };
}

const PARENT = { group: '', kind: 'Service', name: 'web' };

function run(gatewayRoutes: CustomObject[], extra: { trafficRoutes?: CustomObject[]; previousApplied?: AppliedRouting } = {}) {
  return validateRouting({
    trafficRoutes: extra.trafficRoutes ?? [], trafficPolicies: [], gatewayRoutes,
    services: { service: (ns, name) => SERVICES[`${name}.${ns}`] },
    ...(extra.previousApplied ? { previousApplied: extra.previousApplied } : {}),
  });
}

function statusOf(statuses: readonly RoutingObjectStatus[], name: string): RoutingObjectStatus {
  const s = statuses.find((x) => x.name === name);
  assert.ok(s, `no status for ${name}`);
  return s;
}

function parentConditions(s: RoutingObjectStatus, i = 0): Record<string, { status: string; reason: string; message: string }> {
  const p = s.parents?.[i];
  assert.ok(p, `no parent ${i}`);
  return Object.fromEntries(p.conditions.map((c) => [c.type, { status: c.status, reason: c.reason, message: c.message }]));
}

describe('Gateway API routes: attachment and status', () => {
  it('a route to an existing Service is Accepted with ResolvedRefs, with observedGeneration', () => {
    const r = run([httpRoute('ok', { parentRefs: [PARENT], rules: [{ backendRefs: [{ name: 'web-v2', port: 80 }] }] }, { generation: 3 })]);
    const s = statusOf(r.statuses, 'ok');
    const c = parentConditions(s);
    assert.equal(c.Accepted.status, 'True');
    assert.equal(c.ResolvedRefs.status, 'True');
    assert.ok(s.parents?.[0].conditions.every((x) => x.observedGeneration === 3));
    assert.ok(r.applied.routeByHost.has('web.shop'));
  });

  it('a missing backend: Accepted, ResolvedRefs=False BackendNotFound, and the route still applies', () => {
    const r = run([httpRoute('missing', { parentRefs: [PARENT], rules: [{ backendRefs: [{ name: 'nope', port: 80 }] }] })]);
    const c = parentConditions(statusOf(r.statuses, 'missing'));
    assert.equal(c.Accepted.status, 'True');
    assert.deepEqual([c.ResolvedRefs.status, c.ResolvedRefs.reason], ['False', 'BackendNotFound']);
    assert.match(c.ResolvedRefs.message, /spec\.rules\[0\]\.backendRefs\[0\]: Service shop\/nope not found/);
    assert.ok(r.applied.routeByHost.has('web.shop'));
  });

  it('a backend port the Service lacks is BackendNotFound too', () => {
    const r = run([httpRoute('port', { parentRefs: [PARENT], rules: [{ backendRefs: [{ name: 'web-v2', port: 81 }] }] })]);
    assert.equal(parentConditions(statusOf(r.statuses, 'port')).ResolvedRefs.reason, 'BackendNotFound');
  });

  it('a backend of another kind is InvalidKind; one in another namespace is RefNotPermitted (no ReferenceGrants), and neither gets traffic', () => {
    const kind = run([httpRoute('kind', { parentRefs: [PARENT], rules: [{ backendRefs: [{ group: 'example.com', kind: 'Bucket', name: 'b' }] }] })]);
    assert.equal(parentConditions(statusOf(kind.statuses, 'kind')).ResolvedRefs.reason, 'InvalidKind');
    const ns = run([httpRoute('ns', { parentRefs: [PARENT], rules: [{ backendRefs: [{ name: 'other', namespace: 'elsewhere', port: 80 }] }] })]);
    assert.equal(parentConditions(statusOf(ns.statuses, 'ns')).ResolvedRefs.reason, 'RefNotPermitted');
    const rule = ns.applied.routeByHost.get('web.shop')?.http[0];
    assert.deepEqual(rule?.action.type === 'route' ? rule.action.destinations : undefined, []);
  });

  it('a parent Service that does not exist, or lacks the port or port name: Accepted=False NoMatchingParent', () => {
    const r = run([
      httpRoute('no-svc', { parentRefs: [{ ...PARENT, name: 'ghost' }], rules: [{ backendRefs: [{ name: 'web', port: 80 }] }] }),
      httpRoute('no-port', { parentRefs: [{ ...PARENT, port: 81 }], rules: [{ backendRefs: [{ name: 'web', port: 80 }] }] }),
      httpRoute('no-section', { parentRefs: [{ ...PARENT, sectionName: 'grpc' }], rules: [{ backendRefs: [{ name: 'web', port: 80 }] }] }),
    ]);
    for (const name of ['no-svc', 'no-port', 'no-section']) {
      const c = parentConditions(statusOf(r.statuses, name));
      assert.deepEqual([c.Accepted.status, c.Accepted.reason], ['False', 'NoMatchingParent'], name);
    }
    assert.equal(r.applied.routeByHost.size, 0);
  });

  it('a parentRef to a Service in another namespace (a consumer route) is refused with UnsupportedValue', () => {
    const r = run([httpRoute('consumer', { parentRefs: [{ ...PARENT, name: 'other', namespace: 'elsewhere' }], rules: [{ backendRefs: [{ name: 'web', port: 80 }] }] })]);
    const c = parentConditions(statusOf(r.statuses, 'consumer'));
    assert.deepEqual([c.Accepted.status, c.Accepted.reason], ['False', 'UnsupportedValue']);
    assert.match(c.Accepted.message, /producer routes only/);
    assert.equal(r.applied.routeByHost.size, 0);
  });

  it('parentRefs that are not Services (a Gateway) get no status from pilotfish', () => {
    const r = run([httpRoute('gw', { parentRefs: [{ name: 'ingress' }, PARENT], rules: [{ backendRefs: [{ name: 'web', port: 80 }] }] })]);
    const s = statusOf(r.statuses, 'gw');
    assert.equal(s.parents?.length, 1);
    assert.equal(s.parents?.[0].parentRef.kind, 'Service');
  });

  it('a TrafficRoute on the Service wins: the HTTPRoute is Conflicted and the TrafficRoute stays applied', () => {
    const tr: CustomObject = {
      apiVersion: 'routing.pilotfish.io/v1alpha1', kind: 'TrafficRoute', metadata: { name: 'tr', namespace: 'shop', creationTimestamp: '2030-01-01T00:00:00Z' },
      spec: { hosts: ['web'], http: [{ route: [{ destination: { host: 'web-v2', port: 80 } }] }] },
    };
    const r = run([httpRoute('hr', { parentRefs: [PARENT], rules: [{ backendRefs: [{ name: 'web', port: 80 }] }] }, { creationTimestamp: '2020-01-01T00:00:00Z' })], { trafficRoutes: [tr] });
    const c = parentConditions(statusOf(r.statuses, 'hr'));
    assert.deepEqual([c.Accepted.status, c.Accepted.reason], ['False', 'Conflicted']);
    assert.match(c.Accepted.message, /TrafficRoute shop\/tr configures Service shop\/web/);
    assert.equal(r.applied.routeByHost.get('web.shop')?.meta.kind, 'TrafficRoute');
    assert.equal(statusOf(r.statuses, 'tr').applied, 'current');
  });

  it('an unsupported field is refused naming it (UnsupportedValue), and the last accepted generation stays applied', () => {
    const good = httpRoute('edit', { parentRefs: [PARENT], rules: [{ backendRefs: [{ name: 'web-v2', port: 80 }] }] }, { generation: 1, uid: 'u1' });
    const first = run([good]);
    const bad = httpRoute('edit', {
      parentRefs: [PARENT],
      rules: [{ filters: [{ type: 'ExtensionRef', extensionRef: { group: 'x', kind: 'Y', name: 'z' } }], backendRefs: [{ name: 'web', port: 80 }] }],
    }, { generation: 2, uid: 'u1' });
    const second = run([bad], { previousApplied: first.applied });
    const s = statusOf(second.statuses, 'edit');
    const c = parentConditions(s);
    assert.deepEqual([c.Accepted.status, c.Accepted.reason], ['False', 'UnsupportedValue']);
    assert.match(c.Accepted.message, /spec\.rules\[0\]\.filters\[0\]/);
    assert.match(c.Accepted.message, /generation 1 stays applied/);
    assert.equal(s.applied, 'previous');
    const rule = second.applied.routeByHost.get('web.shop')?.http[0];
    assert.equal(rule?.action.type === 'route' ? rule.action.destinations[0].destination.service.name : undefined, 'web-v2');
  });

  it('an invalid route with nothing accepted before applies nothing but still gets status on its Service parents', () => {
    const r = run([httpRoute('bad', { parentRefs: [PARENT], rules: [{ timeouts: { backendRequest: '1s' }, backendRefs: [{ name: 'web', port: 80 }] }] })]);
    const s = statusOf(r.statuses, 'bad');
    assert.equal(s.applied, 'none');
    assert.equal(parentConditions(s).Accepted.reason, 'UnsupportedValue');
    assert.equal(r.applied.routeByHost.size, 0);
  });

  it('a parentRef with a port limits the merged rules to that port', () => {
    const r = run([httpRoute('p', { parentRefs: [{ ...PARENT, sectionName: 'http-admin' }], rules: [{ backendRefs: [{ name: 'web', port: 80 }] }] })]);
    assert.deepEqual(r.applied.routeByHost.get('web.shop')?.http[0].ports, [9090]);
  });
});

describe('Gateway API routes: parsing limits and unsupported fields', () => {
  const parse = (spec: Record<string, unknown>) => parseGatewayRoute(httpRoute('x', spec));

  it('refuses what pilotfish cannot do, naming the field', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ rules: [{ filters: [{ type: 'RequestRedirect', requestRedirect: { scheme: 'https' } }] }] }, /requestRedirect\.scheme: is not supported/],
      [{ rules: [{ filters: [{ type: 'URLRewrite', urlRewrite: { path: { type: 'ReplaceFullPath', replaceFullPath: '/x' } } }] }] }, /ReplaceFullPath is supported by pilotfish only for Exact/],
      [{ rules: [{ backendRefs: [{ name: 'web', port: 80, filters: [] }] }] }, /backendRefs\[0\]\.filters: is not supported/],
      [{ rules: [{ timeouts: { backendRequest: '1s' } }] }, /timeouts\.backendRequest: is not supported/],
      [{ rules: [{ backendRefs: [{ name: 'web' }] }] }, /port: is required when the backend is a Service/],
      [{ rules: [{ matches: [{ path: { type: 'RegularExpression', value: '(' } }] }] }, /not a regular expression Envoy accepts/],
      [{ rules: [{ timeouts: { request: '10 seconds' } }] }, /timeouts\.request: must be a duration/],
      [{ rules: Array.from({ length: 17 }, () => ({})) }, /spec\.rules: must have at most 16 items/],
      [{ unknownField: 1 }, /spec\.unknownField: unknown field/],
    ];
    for (const [spec, message] of cases) {
      const r = parse(spec);
      assert.ok(r.errors, JSON.stringify(spec));
      assert.match(r.errors.map((e) => `${e.path}: ${e.message}`).join('\n'), message);
    }
  });

  it('accepts a route using every supported field', () => {
    const r = parse({
      parentRefs: [PARENT],
      hostnames: ['web.shop.svc.cluster.local'],
      rules: [{
        name: 'all',
        matches: [{ path: { type: 'PathPrefix', value: '/a' }, method: 'GET', headers: [{ name: 'x', value: '1' }], queryParams: [{ type: 'RegularExpression', name: 'q', value: '[0-9]+' }] }],
        filters: [
          { type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'a', value: 'b' }] } },
          { type: 'ResponseHeaderModifier', responseHeaderModifier: { add: [{ name: 'a', value: 'b' }] } },
          { type: 'URLRewrite', urlRewrite: { hostname: 'h.example', path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/b' } } },
          { type: 'RequestMirror', requestMirror: { backendRef: { name: 'web-v2', port: 80 }, fraction: { numerator: 1, denominator: 4 } } },
        ],
        timeouts: { request: '1m30s' },
        backendRefs: [{ name: 'web', port: 80, weight: 3 }, { name: 'web-v2', port: 80, weight: 1 }],
      }],
    });
    assert.deepEqual(r.errors, undefined);
    const rule = r.ok?.rules[0];
    assert.equal(rule?.timeoutMs, 90_000);
    assert.equal(rule?.mirror?.percentage, 25);
    assert.deepEqual(rule?.matches[0].blocks.map((b) => [b.match.uri?.value, b.rewritePrefix]), [['/a', '/b'], ['/a/', '/b/']]);
  });
});
