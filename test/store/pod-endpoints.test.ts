// Endpoints from a Service's selector for config files without EndpointSlices, as Kubernetes'
// EndpointSlice controller would make them; and that the incremental Translator stays equal to a
// fresh translation while Pods come and go.
import assert from 'node:assert/strict';
import type { V1EndpointSlice, V1Pod, V1Service } from '@kubernetes/client-node';
import { EMPTY_OBJECTS, type ObjectSet } from '../../src/sources/objects.js';
import { Translator, translate } from '../../src/store/translate/translate.js';

const FROM_PODS = { endpointsFromPods: true };

function objects(parts: Partial<ObjectSet>): ObjectSet {
  return { ...EMPTY_OBJECTS, ...parts };
}

const web: V1Service = {
  metadata: { name: 'web', namespace: 'shop' },
  spec: {
    selector: { app: 'web' },
    ports: [{ name: 'grpc', port: 50051, targetPort: 'grpc-port' }, { name: 'http', port: 80, targetPort: 8080 }],
  },
};

function pod(name: string, labels: Record<string, string>, extra: { ip?: string; namespace?: string; status?: V1Pod['status']; grpcPort?: number; deleting?: boolean } = {}): V1Pod {
  const status: V1Pod['status'] = { ...(extra.status ?? {}) };
  if (extra.ip !== undefined) status.podIP = extra.ip;
  return {
    metadata: {
      name, namespace: extra.namespace ?? 'shop', labels,
      ...(extra.deleting ? { deletionTimestamp: new Date('2026-01-01T00:00:00Z') } : {}),
    },
    spec: { containers: [{ name: 'app', ports: extra.grpcPort === undefined ? [] : [{ name: 'grpc-port', containerPort: extra.grpcPort }] }] },
    status,
  };
}

const notReady: V1Pod['status'] = { conditions: [{ type: 'Ready', status: 'False' }] };
const ready: V1Pod['status'] = { conditions: [{ type: 'Ready', status: 'True' }] };

describe('translate: endpoints from Pods (config files)', () => {
  const pods = [
    pod('web-a', { app: 'web', version: 'v1', 'topology.kubernetes.io/zone': 'z1' }, { ip: '10.0.0.1', grpcPort: 9000, status: ready }),
    pod('web-b', { app: 'web', version: 'v2' }, { ip: '10.0.0.2', grpcPort: 9001 }),
    pod('web-c', { app: 'web' }, { ip: '10.0.0.3', grpcPort: 9000, status: notReady }),
    pod('web-d', { app: 'web' }, { ip: '10.0.0.4' }),
    pod('web-gone', { app: 'web' }, { ip: '10.0.0.5', grpcPort: 9000, status: { phase: 'Failed' } }),
    pod('web-pending', { app: 'web' }, { grpcPort: 9000 }),
    pod('web-ending', { app: 'web' }, { ip: '10.0.0.6', grpcPort: 9000, status: ready, deleting: true }),
    pod('other', { app: 'other' }, { ip: '10.0.0.7', grpcPort: 9000 }),
    pod('web-elsewhere', { app: 'web' }, { ip: '10.0.0.8', grpcPort: 9000, namespace: 'other' }),
  ];

  it('lists the selected Pods with an address, their ports resolved by targetPort, ready from the Ready condition', () => {
    const eps = translate(objects({ services: [web], pods }), FROM_PODS).endpoints.get('web.shop') ?? [];
    const brief = eps.map((e) => ({ pod: e.podName, address: e.address, ports: e.ports, ready: e.ready, serving: e.serving, terminating: e.terminating }));
    assert.deepEqual(brief, [
      { pod: 'web-a', address: '10.0.0.1', ports: { grpc: 9000, http: 8080 }, ready: true, serving: true, terminating: false },
      { pod: 'web-b', address: '10.0.0.2', ports: { grpc: 9001, http: 8080 }, ready: true, serving: true, terminating: false },
      { pod: 'web-c', address: '10.0.0.3', ports: { grpc: 9000, http: 8080 }, ready: false, serving: false, terminating: false },
      // No container port named grpc-port: only the numeric target port applies (as Kubernetes does).
      { pod: 'web-d', address: '10.0.0.4', ports: { http: 8080 }, ready: true, serving: true, terminating: false },
      { pod: 'web-ending', address: '10.0.0.6', ports: { grpc: 9000, http: 8080 }, ready: false, serving: true, terminating: true },
    ]);
    assert.deepEqual(eps[0]?.locality, { region: '', zone: 'z1', subZone: '' });
    assert.deepEqual(eps[1]?.labels, { app: 'web', version: 'v2' }, 'Pod labels give subsets');
  });

  it('is off unless asked for: a cluster\'s EndpointSlice controller is the authority there', () => {
    assert.deepEqual(translate(objects({ services: [web], pods })).endpoints.get('web.shop'), []);
  });

  it('uses the EndpointSlices when any names the Service, not the Pods', () => {
    const slice: V1EndpointSlice = {
      addressType: 'IPv4',
      metadata: { name: 'web-1', namespace: 'shop', labels: { 'kubernetes.io/service-name': 'web' } },
      ports: [{ name: 'http', port: 7000 }],
      endpoints: [{ addresses: ['10.9.9.9'] }],
    };
    const eps = translate(objects({ services: [web], pods, endpointSlices: [slice] }), FROM_PODS).endpoints.get('web.shop') ?? [];
    assert.deepEqual(eps.map((e) => e.address), ['10.9.9.9']);
  });

  it('a Service without a selector gets no endpoints from Pods', () => {
    const bare: V1Service = { metadata: { name: 'bare', namespace: 'shop' }, spec: { ports: [{ name: 'http', port: 80 }] } };
    assert.deepEqual(translate(objects({ services: [bare], pods }), FROM_PODS).endpoints.get('bare.shop'), []);
  });

  it('incrementally: a Pod change in the Service\'s namespace derives again, one elsewhere does not; always equal to a fresh translation', () => {
    const calls: string[] = [];
    const translator = new Translator({ onServiceEndpoints: (key) => calls.push(key) }, FROM_PODS);
    const api: V1Service = { metadata: { name: 'api', namespace: 'other' }, spec: { selector: { app: 'web' }, ports: [{ name: 'grpc', port: 1, targetPort: 9000 }] } };
    const services = [web, api];
    const webNew = pod('web-new', { app: 'web' }, { ip: '10.0.1.1', grpcPort: 9000 });
    const steps: V1Pod[][] = [
      pods,
      [...pods, webNew],
      [...pods, webNew, pod('x', { app: 'web' }, { ip: '10.0.2.1', namespace: 'other' })],
      pods.slice(1),
    ];
    const expected = [['api.other', 'web.shop'], ['web.shop'], ['api.other'], ['api.other', 'web.shop']];
    let previous: ReturnType<Translator['translate']> | undefined;
    steps.forEach((list, i) => {
      calls.length = 0;
      const input = objects({ services, pods: list });
      const out = translator.translate(input);
      assert.deepEqual(out, translate(input, FROM_PODS), `step ${i}`);
      assert.deepEqual(calls.sort(), expected[i], `step ${i}: services derived again`);
      if (previous !== undefined && !calls.includes('web.shop')) assert.equal(out.endpoints.get('web.shop'), previous.endpoints.get('web.shop'));
      previous = out;
    });
    const last = translator.translate(objects({ services, pods: pods.slice(1) }));
    assert.equal(last.endpoints.get('web.shop')?.some((e) => e.podName === 'web-a'), false, 'a removed Pod is gone');
  });
});
