// Discovery selectors through the store: namespaces the selector does not match are read as if
// they did not exist (their Services, endpoints, Pods and custom objects alike), and relabelling
// a namespace brings it in or takes it out.
import assert from 'node:assert/strict';
import type { V1EndpointSlice, V1Namespace, V1Service } from '@kubernetes/client-node';
import { silentLogger } from '../../src/logging.js';
import { parseLabelSelector } from '../../src/model/label-selector.js';
import type { CustomObject } from '../../src/model/k8s-object.js';
import { EMPTY_OBJECTS, type ObjectSet } from '../../src/sources/objects.js';
import { SnapshotStore } from '../../src/store/snapshot-store.js';
import { ManualTimers } from '../support/manual-timers.js';
import { StaticSource } from '../support/static-source.js';

function namespace(name: string, labels: Record<string, string>): V1Namespace {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } };
}

function service(ns: string, name: string): V1Service {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns }, spec: { ports: [{ name: 'http', port: 80 }] } };
}

function slice(ns: string, name: string): V1EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', addressType: 'IPv4',
    metadata: { name: `${name}-1`, namespace: ns, labels: { 'kubernetes.io/service-name': name } },
    ports: [{ name: 'http', port: 80 }], endpoints: [{ addresses: ['10.0.0.1'] }],
  };
}

function scope(ns: string): CustomObject {
  return { apiVersion: 'routing.pilotfish.io/v1alpha1', kind: 'TrafficScope', metadata: { name: 's', namespace: ns }, spec: { egress: { hosts: ['./*'] } } };
}

function mesh(prodLabels: Record<string, string>): Partial<ObjectSet> {
  return {
    namespaces: [namespace('prod', prodLabels), namespace('lab', { env: 'lab' })],
    services: [service('prod', 'web'), service('lab', 'web'), service('nowhere', 'web')],
    endpointSlices: [slice('prod', 'web'), slice('lab', 'web')],
    trafficScopes: [scope('prod'), scope('lab')],
  };
}

describe('store: discovery selectors', () => {
  let store: SnapshotStore | undefined;
  afterEach(async () => { await store?.stop(); });

  it('ignores every object of a namespace the selector does not match, and follows relabelling', async () => {
    const src = new StaticSource('files', { ...EMPTY_OBJECTS, ...mesh({ env: 'prod' }) });
    store = new SnapshotStore({ logger: silentLogger(), timers: new ManualTimers(), discoverySelector: parseLabelSelector('env in (prod)') });
    const first = await store.start([src]);
    assert.deepEqual([...first.services.keys()], ['web.prod'], 'lab is not selected, and nowhere has no Namespace (no labels)');
    assert.deepEqual([...first.endpoints.keys()], ['web.prod']);
    assert.deepEqual([...first.namespaces.keys()], ['prod']);
    assert.deepEqual(first.scopes.scopes.map((s) => s.meta.namespace), ['prod']);

    src.set(mesh({ env: 'retired' }));
    store.flush();
    const after = store.current();
    assert.deepEqual([...after.services.keys()], [], 'relabelled out: its Services go');
    assert.deepEqual(after.scopes.scopes, []);
    assert.ok(after.configGeneration > first.configGeneration);

    src.set(mesh({ env: 'prod' }));
    store.flush();
    assert.deepEqual([...store.current().services.keys()], ['web.prod'], 'relabelled back in');
  });

  it('reads every namespace without a selector', async () => {
    store = new SnapshotStore({ logger: silentLogger(), timers: new ManualTimers() });
    const first = await store.start([new StaticSource('files', { ...EMPTY_OBJECTS, ...mesh({}) })]);
    assert.deepEqual([...first.services.keys()].sort(), ['web.lab', 'web.nowhere', 'web.prod']);
  });
});
