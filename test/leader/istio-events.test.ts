// Istio objects' status is Istio's: pilotfish never writes it, and reports on them with Events
// instead, from the lease holder only, once per object, reason and content. Against the fake API
// server over a real socket, through the production client (KubeEventClient).
import assert from 'node:assert/strict';
import { IstioEventReporter, KubeEventClient, ISTIO_EVENT_PERMISSIONS, MAX_EVENT_MESSAGE } from '../../src/leader/istio-events.js';
import { routingStatuses } from '../../src/leader/routing-conditions.js';
import { KubeRest } from '../../src/kube/rest.js';
import { silentLogger } from '../../src/logging.js';
import type { CustomObject } from '../../src/model/k8s-object.js';
import type { RoutingObjectStatus } from '../../src/model/routing-status.js';
import { validateRouting } from '../../src/routing/validate.js';
import { resourceType } from '../support/fake-kube-api/resources.js';
import { startFakeKubeApi, type FakeKubeApi, type StoredObject } from '../support/fake-kube-api.js';
import { trafficRoute } from '../support/routing-fixtures.js';
import { authorize, declared } from '../permissions/authorize.js';

const EVENTS = resourceType({ group: '', version: 'v1', resource: 'events', kind: 'Event', namespaced: true });

type Event = StoredObject & {
  involvedObject: { apiVersion: string; kind: string; name: string; namespace: string; uid?: string };
  reason: string; message: string; type: string; source: { component: string };
};

function statusesOf(routes: CustomObject[], policies: CustomObject[] = []): readonly RoutingObjectStatus[] {
  return validateRouting({
    trafficRoutes: routes, trafficPolicies: policies,
    services: { service: (ns, name) => (ns === 'shop' && name === 'reviews' ? { ports: [9080], endpointLabels: [] } : undefined) },
  }).statuses;
}

const VS: CustomObject = {
  apiVersion: 'networking.istio.io/v1', kind: 'VirtualService',
  metadata: { name: 'reviews', namespace: 'shop', uid: 'uid-vs', generation: 3 },
  spec: { hosts: ['reviews'], exportTo: ['.'], http: [{ route: [{ destination: { host: 'reviews' } }], corsPolicy: {} }] },
};

const DR_MISSING_HOST: CustomObject = {
  apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule',
  metadata: { name: 'gone', namespace: 'shop', uid: 'uid-dr', generation: 1 },
  spec: { host: 'gone', trafficPolicy: { tls: { mode: 'SIMPLE' } } },
};

describe('leader: Events on Istio objects instead of status', function () {
  this.timeout(30_000);
  let api: FakeKubeApi;
  let leader = true;

  beforeEach(async () => {
    leader = true;
    api = await startFakeKubeApi({ namespaces: ['default', 'shop'] });
    api.registry.add(EVENTS);
  });
  afterEach(async () => api?.close());

  function reporter(): IstioEventReporter {
    return new IstioEventReporter({
      client: new KubeEventClient(new KubeRest(api.kubeConfig())), isLeader: () => leader, logger: silentLogger(), identity: 'pilotfish-0',
      now: () => new Date('2025-03-01T10:00:00Z'),
    });
  }

  function events(): Event[] {
    return api.list<Event>({ apiVersion: 'v1', kind: 'Event', namespace: 'shop' });
  }

  it('records one Warning Event per finding: fields left out, and why an object is not applied', async () => {
    const r = reporter();
    r.update(statusesOf([VS], [DR_MISSING_HOST]));
    await r.idle();
    const byReason = new Map(events().map((e) => [`${e.involvedObject.kind}/${e.reason}`, e]));
    assert.deepEqual([...byReason.keys()].sort(), ['DestinationRule/NotApplied', 'DestinationRule/UnsupportedFields', 'VirtualService/UnsupportedFields']);
    const vs = byReason.get('VirtualService/UnsupportedFields');
    assert.ok(vs);
    assert.deepEqual(vs.involvedObject, { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', name: 'reviews', namespace: 'shop', uid: 'uid-vs' });
    assert.equal(vs.type, 'Warning');
    assert.equal(vs.source.component, 'pilotfish');
    assert.match(vs.message, /^pilotfish leaves out fields it does not support \(generation 3\): spec\.exportTo \(visibility scoping .*\); spec\.http\[0\]\.corsPolicy \(CORS/);
    assert.match(byReason.get('DestinationRule/NotApplied')?.message ?? '', /does not apply this DestinationRule \(generation 1\) \(UnresolvedRefs\): spec\.host: service gone\.shop/);
    await r.stop();
  });

  it('does not report the same finding twice; a new generation is reported again', async () => {
    const r = reporter();
    r.update(statusesOf([VS]));
    await r.idle();
    r.update(statusesOf([VS]));
    await r.idle();
    assert.equal(events().length, 1);
    r.update(statusesOf([{ ...VS, metadata: { ...VS.metadata, generation: 4 } }]));
    await r.idle();
    assert.equal(events().length, 2);
    await r.stop();
  });

  it('a replica that does not hold the lease records nothing until it does', async () => {
    leader = false;
    const r = reporter();
    r.update(statusesOf([VS]));
    await r.idle();
    assert.equal(events().length, 0);
    assert.equal(api.count({ verb: 'create', resource: 'events' }), 0);
    leader = true;
    r.kick();
    await r.idle();
    assert.equal(events().length, 1);
    await r.stop();
  });

  it('reports nothing about pilotfish\'s own kinds or fully supported Istio objects', async () => {
    const r = reporter();
    const clean: CustomObject = { ...VS, spec: { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews' } }] }] } };
    r.update(statusesOf([clean, trafficRoute({ hosts: ['gone'], http: [{ route: [{ destination: { host: 'gone' } }] }] }, 'tr')]));
    await r.idle();
    assert.equal(events().length, 0);
    await r.stop();
  });

  it('a failed create is retried, not lost', async () => {
    api.failNext({ verb: 'create', resource: 'events' }, { status: 500 });
    const r = reporter();
    r.update(statusesOf([VS]));
    await r.idle();
    assert.equal(events().length, 0);
    assert.equal(r.stats.failures, 1);
    r.kick();
    await r.idle();
    assert.equal(events().length, 1);
    await r.stop();
  });

  it('the status writer is never given an Istio object (their status is not pilotfish\'s to write)', () => {
    const desired = routingStatuses(statusesOf([VS, trafficRoute({ hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews' } }] }] }, 'tr')]), new Map());
    assert.deepEqual(desired.map((d) => d.target.kind), ['TrafficRoute']);
  });

  it('bounds the message of an Event', async () => {
    const long: CustomObject = { ...VS, spec: { hosts: ['reviews'], http: Array.from({ length: 30 }, () => ({ route: [{ destination: { host: 'reviews' } }], corsPolicy: {} })) } };
    const r = reporter();
    r.update(statusesOf([long]));
    await r.idle();
    const [e] = events();
    assert.ok(e);
    assert.ok(e.message.length <= MAX_EVENT_MESSAGE, `${e.message.length} characters`);
    await r.stop();
  });

  it('calls exactly what ISTIO_EVENT_PERMISSIONS declares', async () => {
    const r = reporter();
    r.update(statusesOf([VS]));
    await r.idle();
    await r.stop();
    const names = { webhookConfig: 'x', tlsSecret: 'x', lease: 'x', caSecret: 'x' };
    const report = authorize(api.requests(), ISTIO_EVENT_PERMISSIONS, names, 'pilotfish-system');
    assert.deepEqual(report.denied, []);
    assert.deepEqual([...declared(ISTIO_EVENT_PERMISSIONS, names)].filter((g) => !report.used.has(g)), []);
  });
});
