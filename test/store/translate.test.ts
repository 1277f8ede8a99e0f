import assert from 'node:assert/strict';
import type { V1EndpointSlice, V1Pod, V1Service } from '@kubernetes/client-node';
import { EMPTY_OBJECTS, type ObjectSet } from '../../src/sources/objects.js';
import { portProtocol, translate } from '../../src/store/translate/translate.js';
import { NO_LOCALITY } from '../../src/model/mesh.js';

function objects(parts: Partial<ObjectSet>): ObjectSet {
  return { ...EMPTY_OBJECTS, ...parts };
}

function svc(name: string, ports: NonNullable<V1Service['spec']>['ports']): V1Service {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'shop' }, spec: { ports } };
}

function slice(name: string, service: string, ports: V1EndpointSlice['ports'], endpoints: V1EndpointSlice['endpoints']): V1EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', addressType: 'IPv4',
    metadata: { name, namespace: 'shop', labels: { 'kubernetes.io/service-name': service } }, ports, endpoints,
  };
}

describe('translate', () => {
  describe('port protocol', () => {
    const cases: Array<[{ name?: string; appProtocol?: string }, string]> = [
      [{ name: 'http' }, 'http'],
      [{ name: 'http-foo' }, 'http'],
      [{ name: 'HTTP-Upper' }, 'http'],
      [{ name: 'http2' }, 'http2'],
      [{ name: 'http2-api' }, 'http2'],
      [{ name: 'grpc' }, 'grpc'],
      [{ name: 'grpc-api' }, 'grpc'],
      [{ name: 'grpc-web' }, 'http'],
      [{ name: 'grpc-web-ui' }, 'http'],
      [{ name: 'tcp-db' }, 'tcp'],
      [{ name: 'https' }, 'tcp'],
      [{ name: 'httpx' }, 'tcp'],
      [{ name: 'web' }, 'tcp'],
      [{ name: '' }, 'tcp'],
      [{}, 'tcp'],
      [{ name: 'tcp', appProtocol: 'grpc' }, 'grpc'],
      [{ name: 'grpc', appProtocol: 'http' }, 'http'],
      [{ name: 'x', appProtocol: 'kubernetes.io/h2c' }, 'http2'],
      [{ name: 'x', appProtocol: 'h2c' }, 'http2'],
      [{ name: 'x', appProtocol: 'HTTP2' }, 'http2'],
      [{ name: 'x', appProtocol: 'kubernetes.io/ws' }, 'http'],
      [{ name: 'http', appProtocol: 'kubernetes.io/wss' }, 'tcp'],
      [{ name: 'grpc', appProtocol: 'example.com/custom' }, 'grpc'],
    ];
    for (const [port, expected] of cases) {
      it(`${JSON.stringify(port)} -> ${expected}`, () => assert.equal(portProtocol(port), expected));
    }
  });

  it('translates Services: ports, target ports, cluster IP, selector, synthetic; skips UDP ports', () => {
    const services: V1Service[] = [
      { metadata: { name: 'web', namespace: 'shop' }, spec: {
        clusterIP: '10.96.0.10', selector: { app: 'web' },
        ports: [
          { name: 'http', port: 80, targetPort: 8080 },
          { name: 'grpc-api', port: 9090, targetPort: 'grpc' },
          { name: 'dns', port: 53, protocol: 'UDP' },
          { name: 'tcp', port: 5432, targetPort: '5433' },
          { name: 'plain', port: 81 },
        ],
      } },
      { metadata: { name: 'headless', namespace: 'shop', annotations: { 'pilotfish.io/synthetic': 'true' } }, spec: { clusterIP: 'None', ports: [{ port: 1 }] } },
      { metadata: { name: 'a' }, spec: { ports: [] } },
    ];
    const t = translate(objects({ services }));
    assert.deepEqual([...t.services.keys()], ['a.default', 'headless.shop', 'web.shop'], 'sorted by key');
    assert.deepEqual(t.services.get('web.shop'), {
      name: 'web', namespace: 'shop', clusterIP: '10.96.0.10', selector: { app: 'web' },
      ports: [
        { name: 'http', port: 80, targetPort: 8080, protocol: 'http' },
        { name: 'grpc-api', port: 9090, targetPort: 'grpc', protocol: 'grpc' },
        { name: 'tcp', port: 5432, targetPort: 5433, protocol: 'tcp' },
        { name: 'plain', port: 81, targetPort: 81, protocol: 'tcp' },
      ],
    });
    assert.deepEqual(t.services.get('headless.shop'), {
      name: 'headless', namespace: 'shop', synthetic: true, ports: [{ name: '', port: 1, targetPort: 1, protocol: 'tcp' }],
    });
    assert.deepEqual(t.endpoints.get('a.default'), [], 'every service has an endpoints entry');
  });

  it('reads readiness, serving and terminating with the EndpointSlice defaults', () => {
    const t = translate(objects({
      services: [svc('web', [{ name: 'http', port: 80 }])],
      endpointSlices: [slice('web-1', 'web', [{ name: 'http', port: 8080 }], [
        { addresses: ['10.0.0.1'] },
        { addresses: ['10.0.0.2'], conditions: { ready: false } },
        { addresses: ['10.0.0.3'], conditions: { ready: false, serving: true, terminating: true } },
        { addresses: ['10.0.0.4'], conditions: { ready: true, serving: false } },
      ])],
    }));
    assert.deepEqual(t.endpoints.get('web.shop')?.map((e) => [e.address, e.ready, e.serving, e.terminating]), [
      ['10.0.0.1', true, true, false],
      ['10.0.0.2', false, false, false],
      ['10.0.0.3', false, true, true],
      ['10.0.0.4', true, false, false],
    ]);
  });

  it('derives locality from zone, deprecated topology and pod labels, and keeps zone hints', () => {
    const t = translate(objects({
      services: [svc('web', [{ name: 'http', port: 80 }])],
      pods: [{ metadata: { name: 'p', namespace: 'shop', labels: { 'topology.kubernetes.io/region': 'eu', 'topology.istio.io/subzone': 'rack1' } } }],
      endpointSlices: [slice('web-1', 'web', [{ name: 'http', port: 8080 }], [
        { addresses: ['10.0.0.1'], zone: 'eu-1a', targetRef: { kind: 'Pod', name: 'p' }, hints: { forZones: [{ name: 'eu-1a' }, { name: 'eu-1b' }] } },
        { addresses: ['10.0.0.2'], deprecatedTopology: { 'topology.kubernetes.io/region': 'us', 'topology.kubernetes.io/zone': 'us-1a' } },
        { addresses: ['10.0.0.3'] },
      ])],
    }));
    const eps = t.endpoints.get('web.shop') ?? [];
    assert.deepEqual(eps[0]?.locality, { region: 'eu', zone: 'eu-1a', subZone: 'rack1' });
    assert.deepEqual(eps[0]?.zoneHints, ['eu-1a', 'eu-1b']);
    assert.deepEqual(eps[1]?.locality, { region: 'us', zone: 'us-1a', subZone: '' });
    assert.equal(eps[2]?.locality, NO_LOCALITY);
    assert.equal(eps[2]?.zoneHints, undefined);
  });

  it('gives endpoints the labels and name of their Pod (for subsets)', () => {
    const pods: V1Pod[] = [
      { metadata: { name: 'web-v1', namespace: 'shop', labels: { app: 'web', version: 'v1' } }, status: { podIP: '10.0.0.1' }, spec: { containers: [], serviceAccountName: 'web' } },
      { metadata: { name: 'web-v2', namespace: 'other', labels: { version: 'v2' } } },
    ];
    const t = translate(objects({
      services: [svc('web', [{ name: 'http', port: 80 }])],
      pods,
      endpointSlices: [slice('web-1', 'web', [{ name: 'http', port: 8080 }], [
        { addresses: ['10.0.0.1'], targetRef: { kind: 'Pod', name: 'web-v1' } },
        { addresses: ['10.0.0.2'], targetRef: { kind: 'Pod', name: 'web-v2', namespace: 'other' } },
        { addresses: ['10.0.0.3'], targetRef: { kind: 'Pod', name: 'not-seen-yet' } },
        { addresses: ['10.0.0.4'], targetRef: { kind: 'Node', name: 'n1' } },
      ])],
    }));
    assert.deepEqual(t.endpoints.get('web.shop')?.map((e) => [e.address, e.labels, e.podName]), [
      ['10.0.0.1', { app: 'web', version: 'v1' }, 'web-v1'],
      ['10.0.0.2', { version: 'v2' }, 'web-v2'],
      ['10.0.0.3', {}, 'not-seen-yet'],
      ['10.0.0.4', {}, undefined],
    ]);
    assert.deepEqual(t.pods.get('shop/web-v1'), { name: 'web-v1', namespace: 'shop', ip: '10.0.0.1', labels: { app: 'web', version: 'v1' }, serviceAccount: 'web' });
    assert.deepEqual([...t.pods.keys()], ['other/web-v2', 'shop/web-v1']);
  });

  it('maps slice port names onto Service port names, per slice', () => {
    const t = translate(objects({
      services: [svc('web', [{ name: 'http', port: 80 }, { name: 'grpc', port: 90 }]), svc('single', [{ port: 80 }])],
      endpointSlices: [
        slice('web-1', 'web', [{ name: 'http', port: 8080 }, { name: 'grpc', port: 9090 }, { name: 'metrics', port: 9100 }], [{ addresses: ['10.0.0.1'] }]),
        slice('web-2', 'web', [{ name: 'http', port: 8081 }], [{ addresses: ['10.0.0.1'] }]),
        slice('single-1', 'single', [{ port: 8080 }], [{ addresses: ['10.0.0.9'] }]),
      ],
    }));
    assert.deepEqual(t.endpoints.get('web.shop')?.map((e) => e.ports), [{ grpc: 9090, http: 8080 }, { http: 8081 }],
      'the same address on two ports stays two endpoints');
    assert.deepEqual(t.endpoints.get('single.shop')?.map((e) => e.ports), [{ '': 8080 }]);
    assert.deepEqual(t.warnings, ['EndpointSlice shop/web-1: port "metrics" matches no port of Service shop/web; ignored']);
  });

  it('resolves the service port a registry slice names against a real Service', () => {
    const registrySlice = (name: string, selector: string, port: number): V1EndpointSlice => {
      const s = slice(name, 'web', [{ name: 'grpc', port }], [{ addresses: [`10.0.0.${port - 8000}`] }]);
      return { ...s, metadata: { ...s.metadata, annotations: { 'pilotfish.io/service-port': selector } } };
    };
    const t = translate(objects({
      services: [svc('web', [{ name: 'http', port: 80 }, { name: 'admin', port: 81 }])],
      endpointSlices: [
        registrySlice('r1', '', 8001), registrySlice('r2', '81', 8002), registrySlice('r3', 'admin', 8003), registrySlice('r4', '99', 8004),
      ],
    }));
    assert.deepEqual(t.endpoints.get('web.shop')?.map((e) => [e.address, e.ports]), [
      ['10.0.0.1', { http: 8001 }], ['10.0.0.2', { admin: 8002 }], ['10.0.0.3', { admin: 8003 }],
    ]);
    assert.deepEqual(t.warnings, ['EndpointSlice shop/r4: Service shop/web has no port "99"; endpoints ignored']);
  });

  it('warns about slices of unknown Services and FQDN slices, and dedupes repeated endpoints', () => {
    const fqdn = { ...slice('f', 'web', [{ name: 'http', port: 1 }], [{ addresses: ['example.com'] }]), addressType: 'FQDN' };
    const t = translate(objects({
      services: [svc('web', [{ name: 'http', port: 80 }])],
      endpointSlices: [
        slice('orphan', 'gone', [{ name: 'http', port: 1 }], [{ addresses: ['10.0.0.1'] }]),
        fqdn,
        slice('a', 'web', [{ name: 'http', port: 8080 }], [{ addresses: ['10.0.0.1'], conditions: { ready: false } }]),
        slice('b', 'web', [{ name: 'http', port: 8080 }], [{ addresses: ['10.0.0.1'] }]),
      ],
    }));
    assert.deepEqual(t.warnings, [
      'EndpointSlice shop/f: addressType FQDN is not supported; endpoints ignored',
      'EndpointSlice shop/orphan: Service shop/gone does not exist; endpoints ignored',
    ]);
    assert.deepEqual(t.endpoints.get('web.shop')?.map((e) => [e.address, e.ready]), [['10.0.0.1', true]], 'the ready copy is kept');
  });

  it('passes namespaces and routing objects through, sorted', () => {
    const route = (name: string, namespace: string) => ({ apiVersion: 'routing.pilotfish.io/v1alpha1', kind: 'TrafficRoute', metadata: { name, namespace }, spec: { x: 1 } });
    const t = translate(objects({
      namespaces: [{ metadata: { name: 'b', labels: { 'pilotfish.io/inject': 'enabled' } } }, { metadata: { name: 'a' } }],
      trafficRoutes: [route('z', 'a'), route('y', 'b'), route('x', 'a')],
    }));
    assert.deepEqual([...t.namespaces.values()], [{ name: 'a', labels: {} }, { name: 'b', labels: { 'pilotfish.io/inject': 'enabled' } }]);
    assert.deepEqual(t.routingObjects.trafficRoutes.map((r) => `${r.metadata.namespace}/${r.metadata.name}`), ['a/x', 'a/z', 'b/y']);
    assert.deepEqual(t.routingObjects.trafficPolicies, []);
  });
});
