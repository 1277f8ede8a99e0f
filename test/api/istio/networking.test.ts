// Istio's VirtualService and DestinationRule into pilotfish's model: what translates, what is left
// out (and listed, never dropped silently), what is refused, and that leaving something out never
// widens what a rule catches.
import assert from 'node:assert/strict';
import { parseVirtualService } from '../../../src/api/istio/networking/v1/virtual-service.js';
import { parseDestinationRule } from '../../../src/api/istio/networking/v1/destination-rule.js';
import { MAX_UNSUPPORTED_FIELDS } from '../../../src/api/istio/networking/v1/unsupported-fields.js';
import type { CustomObject } from '../../../src/model/k8s-object.js';
import type { IgnoredField } from '../../../src/model/proxyless.js';

function vs(spec: unknown, apiVersion = 'networking.istio.io/v1'): CustomObject {
  return { apiVersion, kind: 'VirtualService', metadata: { name: 'reviews', namespace: 'shop', generation: 2 }, spec };
}

function dr(spec: unknown): CustomObject {
  return { apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: { name: 'reviews', namespace: 'shop' }, spec };
}

function paths(fields: readonly IgnoredField[]): string[] {
  return fields.map((f) => f.path);
}

const ROUTE = [{ destination: { host: 'reviews', port: { number: 9080 } } }];

describe('Istio VirtualService -> TrafficRoute model', () => {
  it('translates a supported VirtualService in full, keeping its identity and kind', () => {
    const r = parseVirtualService(vs({
      hosts: ['reviews'],
      http: [{
        name: 'canary',
        match: [{ headers: { 'end-user': { exact: 'jason' } }, uri: { prefix: '/api/' } }],
        route: [
          { destination: { host: 'reviews', subset: 'v2', port: { number: 9080 } }, weight: 20 },
          { destination: { host: 'reviews', subset: 'v1', port: { number: 9080 } }, weight: 80 },
        ],
        timeout: '2s',
        retries: { attempts: 2, perTryTimeout: '500ms', retryOn: 'connect-failure,5xx' },
      }],
    }));
    assert.ok(r.ok, JSON.stringify(r.errors));
    assert.deepEqual(r.unsupported, []);
    assert.equal(r.ok.meta.kind, 'VirtualService');
    assert.equal(r.ok.meta.generation, 2);
    const rule = r.ok.http[0];
    assert.equal(rule.name, 'canary');
    assert.equal(rule.timeoutMs, 2000);
    assert.deepEqual(rule.retries, { attempts: 2, perTryTimeoutMs: 500, retryOn: ['connect-failure', '5xx'] });
    assert.deepEqual(rule.action.type === 'route' ? rule.action.destinations.map((d) => [d.destination.subset, d.destination.port, d.weight]) : [],
      [['v2', 9080, 20], ['v1', 9080, 80]]);
    assert.deepEqual(rule.match[0].headers, [{ name: 'end-user', type: 'exact', value: 'jason' }]);
  });

  it('accepts the v1beta1 and v1alpha3 spellings of the same schema, and refuses another group', () => {
    for (const v of ['networking.istio.io/v1beta1', 'networking.istio.io/v1alpha3']) {
      assert.ok(parseVirtualService(vs({ hosts: ['reviews'], http: [{ route: ROUTE }] }, v)).ok, v);
    }
    const wrong = parseVirtualService(vs({ hosts: ['reviews'], http: [{ route: ROUTE }] }, 'networking.istio.io/v2'));
    assert.equal(wrong.ok, undefined);
    assert.match(wrong.errors?.[0]?.message ?? '', /must be networking\.istio\.io\/v1/);
  });

  it('lists every top-level field it leaves out, with the reason', () => {
    const r = parseVirtualService(vs({
      hosts: ['reviews'], gateways: ['mesh', 'shop/public'], exportTo: ['.'],
      http: [{ route: ROUTE, corsPolicy: { allowOrigins: [{ exact: 'https://x' }] } }],
      tcp: [{ route: ROUTE }], tls: [{ match: [{ sniHosts: ['x'] }], route: ROUTE }],
    }));
    assert.ok(r.ok);
    assert.deepEqual(paths(r.unsupported).sort(),
      ['spec.exportTo', 'spec.gateways[1]', 'spec.http[0].corsPolicy', 'spec.tcp', 'spec.tls'].sort());
    assert.match(r.unsupported.find((f) => f.path === 'spec.tcp')?.reason ?? '', /TCP routes are not supported/);
  });

  it('takes out a match block with a condition it cannot evaluate, so the rule never catches more than Istio would', () => {
    const r = parseVirtualService(vs({
      hosts: ['reviews'],
      http: [
        { match: [{ sourceLabels: { app: 'web' } }, { uri: { prefix: '/b' } }], route: ROUTE },
        { route: ROUTE },
      ],
    }));
    assert.ok(r.ok);
    assert.deepEqual(r.ok.http[0].match, [{ uri: { type: 'prefix', value: '/b' }, headers: [], queryParams: [] }]);
    assert.deepEqual(paths(r.unsupported), ['spec.http[0].match[0].sourceLabels']);
    assert.match(r.unsupported[0]?.reason ?? '', /never matches/);
  });

  it('leaves out a rule whose every match block is unevaluable, or whose action it cannot perform, and keeps the others at their own positions', () => {
    const r = parseVirtualService(vs({
      hosts: ['reviews'],
      http: [
        { match: [{ port: 9080 }], route: ROUTE },
        { delegate: { name: 'other', namespace: 'shop' } },
        { match: [{ uri: { exact: '/x' } }], directResponse: { status: 503 } },
        { route: ROUTE },
      ],
    }));
    assert.ok(r.ok);
    assert.equal(r.ok.http.length, 1);
    assert.equal(r.ok.http[0].index, 3, 'the remaining rule keeps its position in the VirtualService (it names its route rule-3)');
    assert.deepEqual(paths(r.unsupported), ['spec.http[0].match[0].port', 'spec.http[0].match', 'spec.http[1].delegate', 'spec.http[2].directResponse']);
  });

  it('translates Istio spellings: {} matchers, withoutHeaders {}, exact methods, percentages, mirrors, redirectCode', () => {
    const r = parseVirtualService(vs({
      hosts: ['reviews'],
      http: [{
        match: [{ headers: { 'x-debug': {} }, withoutHeaders: { 'x-canary': {} }, method: { exact: 'GET' }, queryParams: { q: {} } }],
        route: ROUTE,
        fault: { delay: { fixedDelay: '1s', percentage: { value: 12.5 } } },
        mirrors: [{ destination: { host: 'reviews', port: { number: 9080 } }, percentage: { value: 5 } }, { destination: { host: 'ratings' } }],
      }, {
        redirect: { uri: '/new', redirectCode: 302, scheme: 'https' },
      }],
    }));
    assert.ok(r.ok, JSON.stringify(r.errors));
    const [first, second] = r.ok.http;
    assert.deepEqual(first.match[0].headers, [{ name: 'x-canary', type: 'absent' }, { name: 'x-debug', type: 'present' }]);
    assert.equal(first.match[0].method, 'GET');
    assert.deepEqual(first.match[0].queryParams, [{ name: 'q', type: 'present' }]);
    assert.deepEqual(first.fault, { delay: { fixedDelayMs: 1000, percentage: 12.5 } });
    assert.equal(first.mirror?.percentage, 5);
    assert.deepEqual(second.action, { type: 'redirect', redirect: { uri: '/new', responseCode: 302 } });
    assert.deepEqual(paths(r.unsupported), ['spec.http[0].mirrors[1]', 'spec.http[1].redirect.scheme']);
  });

  it('keeps the retry conditions it knows and lists the others', () => {
    const r = parseVirtualService(vs({ hosts: ['reviews'], http: [{ route: ROUTE, retries: { attempts: 3, retryOn: 'gateway-error,503,retriable-status-codes' } }] }));
    assert.ok(r.ok);
    assert.deepEqual(r.ok.http[0].retries?.retryOn, ['gateway-error']);
    assert.deepEqual(r.unsupported.map((f) => f.reason), [
      'retry condition "503" is not supported; left out', 'retry condition "retriable-status-codes" is not supported; left out',
    ]);
  });

  it('refuses a VirtualService bound to gateways only: nothing of it applies to the mesh', () => {
    const r = parseVirtualService(vs({ hosts: ['reviews'], gateways: ['shop/public'], http: [{ route: ROUTE }] }));
    assert.equal(r.ok, undefined);
    assert.deepEqual(r.errors?.map((e) => e.path), ['spec.gateways']);
    assert.match(r.errors?.[0]?.message ?? '', /only the mesh/);
  });

  it('refuses a VirtualService with no HTTP rule it can apply', () => {
    const tcpOnly = parseVirtualService(vs({ hosts: ['reviews'], tcp: [{ route: ROUTE }] }));
    assert.deepEqual(tcpOnly.errors?.map((e) => e.path), ['spec.http']);
    assert.deepEqual(paths(tcpOnly.unsupported), ['spec.tcp']);
    const delegated = parseVirtualService(vs({ hosts: ['reviews'], http: [{ delegate: { name: 'x' } }] }));
    assert.deepEqual(delegated.errors?.map((e) => e.path), ['spec.http']);
  });

  it('refuses what its TrafficRoute twin would refuse, at the VirtualService\'s own paths', () => {
    const r = parseVirtualService(vs({
      hosts: ['reviews'],
      http: [{ delegate: { name: 'x' } }, { route: [{ destination: { host: 'reviews' }, weight: -1 }, { destination: { host: 'ratings' }, weight: 1 }] }],
    }));
    assert.equal(r.ok, undefined);
    assert.deepEqual(r.errors?.map((e) => e.path), ['spec.http[1].route[0].weight']);
    const badHost = parseVirtualService(vs({ hosts: ['*.example.com'], http: [{ route: ROUTE }] }));
    assert.deepEqual(badHost.errors?.map((e) => e.path), ['spec.hosts[0]']);
  });

  it('bounds the list of fields left out', () => {
    const http = Array.from({ length: 30 }, () => ({ route: ROUTE, corsPolicy: {} }));
    const r = parseVirtualService(vs({ hosts: ['reviews'], http }));
    assert.ok(r.ok);
    assert.equal(r.unsupported.length, MAX_UNSUPPORTED_FIELDS + 1);
    assert.deepEqual(r.unsupported[MAX_UNSUPPORTED_FIELDS], { path: '', reason: 'and 10 more unsupported field(s)' });
  });
});

describe('Istio DestinationRule -> TrafficPolicy model', () => {
  it('translates subsets, load balancing, connection pools, outlier detection and port settings', () => {
    const r = parseDestinationRule(dr({
      host: 'reviews.shop.svc.cluster.local',
      trafficPolicy: {
        loadBalancer: { simple: 'LEAST_CONN' },
        connectionPool: { tcp: { maxConnections: 10 }, http: { http2MaxRequests: 100 } },
        outlierDetection: { consecutive5xxErrors: 3, interval: '5s' },
        portLevelSettings: [{ port: { number: 9080 }, loadBalancer: { consistentHash: { httpHeaderName: 'x-user', ringHash: { minimumRingSize: 64 } } } }],
      },
      subsets: [{ name: 'v1', labels: { version: 'v1' } }, { name: 'v2', labels: { version: 'v2' }, trafficPolicy: { loadBalancer: { simple: 'RANDOM' } } }],
    }));
    assert.ok(r.ok, JSON.stringify(r.errors));
    assert.deepEqual(r.unsupported, []);
    assert.equal(r.ok.meta.kind, 'DestinationRule');
    assert.equal(r.ok.host.key, 'reviews.shop');
    assert.deepEqual(r.ok.trafficPolicy.loadBalancer, { type: 'simple', algorithm: 'LEAST_REQUEST' });
    assert.deepEqual(r.ok.trafficPolicy.portLevelSettings[0], {
      port: 9080, loadBalancer: { type: 'consistentHash', hashKey: { type: 'header', name: 'x-user' }, minimumRingSize: 64 },
    });
    assert.deepEqual(r.ok.subsets.map((s) => s.name), ['v1', 'v2']);
  });

  it('lists TLS origination, workload selectors, exportTo and the settings it has no counterpart for', () => {
    const r = parseDestinationRule(dr({
      host: 'reviews', exportTo: ['*'], workloadSelector: { matchLabels: { app: 'web' } },
      trafficPolicy: {
        tls: { mode: 'SIMPLE', sni: 'reviews.example.com' },
        loadBalancer: { simple: 'PASSTHROUGH', localityLbSetting: { enabled: true } },
        connectionPool: { tcp: { maxConnections: 1, tcpKeepalive: { time: '1s' } } },
        outlierDetection: { consecutiveErrors: 2 },
      },
      subsets: [{ name: 'v1', labels: { version: 'v1' }, trafficPolicy: { tls: { mode: 'ISTIO_MUTUAL' } } }],
    }));
    assert.ok(r.ok, JSON.stringify(r.errors));
    assert.deepEqual(paths(r.unsupported).sort(), [
      'spec.exportTo', 'spec.subsets[0].trafficPolicy.tls', 'spec.trafficPolicy.connectionPool.tcp.tcpKeepalive',
      'spec.trafficPolicy.loadBalancer.localityLbSetting', 'spec.trafficPolicy.loadBalancer.simple',
      'spec.trafficPolicy.outlierDetection.consecutiveErrors', 'spec.trafficPolicy.tls', 'spec.workloadSelector',
    ].sort());
    assert.equal(r.ok.trafficPolicy.loadBalancer, undefined, 'PASSTHROUGH leaves the proxy default');
  });

  it('refuses what its TrafficPolicy twin would refuse', () => {
    const r = parseDestinationRule(dr({ host: 'reviews', subsets: [{ name: 'v1' }] }));
    assert.deepEqual(r.errors?.map((e) => e.path), ['spec.subsets[0].labels']);
  });
});
