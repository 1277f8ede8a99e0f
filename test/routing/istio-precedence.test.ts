// Precedence when several objects claim one host: a VirtualService counts as a TrafficRoute and a
// DestinationRule as a TrafficPolicy, and the oldest object wins whatever the mix of kinds (objects
// without a creationTimestamp, such as files, count as newest; a tie goes to namespace/name). The
// loser gets Accepted=False, reason Conflict, naming the winner; it takes over once the winner goes.
import assert from 'node:assert/strict';
import type { CustomObject } from '../../src/model/k8s-object.js';
import type { RoutingObjectStatus } from '../../src/model/routing-status.js';
import { validateRouting, type ServiceInfo } from '../../src/routing/validate.js';
import { trafficPolicy, trafficRoute } from '../support/routing-fixtures.js';

const SERVICES: Record<string, ServiceInfo> = {
  'reviews.shop': { ports: [9080], endpointLabels: [{ version: 'v1' }] },
  'ratings.shop': { ports: [9080], endpointLabels: [{ version: 'v1' }] },
};

function run(routes: CustomObject[], policies: CustomObject[] = []) {
  return validateRouting({ trafficRoutes: routes, trafficPolicies: policies, services: { service: (ns, name) => SERVICES[`${name}.${ns}`] } });
}

function virtualService(name: string, created: string | undefined, destination = 'reviews'): CustomObject {
  return {
    apiVersion: 'networking.istio.io/v1', kind: 'VirtualService',
    metadata: { name, namespace: 'shop', generation: 1, ...(created ? { creationTimestamp: created } : {}) },
    spec: { hosts: ['reviews'], http: [{ route: [{ destination: { host: destination } }] }] },
  };
}

function destinationRule(name: string, created: string | undefined): CustomObject {
  return {
    apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule',
    metadata: { name, namespace: 'shop', generation: 1, ...(created ? { creationTimestamp: created } : {}) },
    spec: { host: 'reviews', subsets: [{ name: 'v1', labels: { version: 'v1' } }] },
  };
}

function route(name: string, created: string | undefined): CustomObject {
  return trafficRoute({ hosts: ['reviews'], http: [{ route: [{ destination: { host: 'ratings' } }] }] }, name, 'shop',
    created ? { creationTimestamp: created } : {});
}

function policy(name: string, created: string | undefined): CustomObject {
  return trafficPolicy({ host: 'reviews', subsets: [{ name: 'v1', labels: { version: 'v1' } }] }, name, 'shop',
    created ? { creationTimestamp: created } : {});
}

function status(statuses: readonly RoutingObjectStatus[], kind: string, name: string): RoutingObjectStatus {
  const s = statuses.find((x) => x.kind === kind && x.name === name);
  assert.ok(s, `no status for ${kind} ${name}`);
  return s;
}

function accepted(s: RoutingObjectStatus): { status: string; reason: string; message: string } {
  const c = s.conditions.find((x) => x.type === 'Accepted');
  assert.ok(c);
  return c;
}

const OLD = '2024-01-01T00:00:00Z';
const NEW = '2024-06-01T00:00:00Z';

describe('routing precedence across pilotfish and Istio kinds (oldest wins)', () => {
  it('an older VirtualService wins the host over a newer TrafficRoute', () => {
    const r = run([route('tr', NEW), virtualService('vs', OLD)]);
    assert.equal(r.applied.routeByHost.get('reviews.shop')?.meta.kind, 'VirtualService');
    assert.equal(status(r.statuses, 'VirtualService', 'vs').applied, 'current');
    const loser = status(r.statuses, 'TrafficRoute', 'tr');
    assert.equal(loser.applied, 'none');
    assert.equal(accepted(loser).reason, 'Conflict');
    assert.match(accepted(loser).message, /already configured by VirtualService shop\/vs, which is older; only one VirtualService or TrafficRoute may configure a host/);
  });

  it('an older TrafficRoute wins over a newer VirtualService, which is refused with Conflict', () => {
    const r = run([virtualService('vs', NEW), route('tr', OLD)]);
    assert.equal(r.applied.routeByHost.get('reviews.shop')?.meta.kind, 'TrafficRoute');
    const loser = status(r.statuses, 'VirtualService', 'vs');
    assert.equal(loser.applied, 'none');
    assert.equal(accepted(loser).reason, 'Conflict');
    assert.match(accepted(loser).message, /TrafficRoute shop\/tr, which is older; only one TrafficRoute or VirtualService/);
  });

  it('between two VirtualServices the older wins; a file object (no timestamp) counts as newest; a tie goes to the name', () => {
    const r = run([virtualService('b-newer', NEW, 'ratings'), virtualService('a-older', OLD)]);
    assert.equal(r.applied.routeByHost.get('reviews.shop')?.meta.name, 'a-older');
    assert.equal(accepted(status(r.statuses, 'VirtualService', 'b-newer')).reason, 'Conflict');
    const files = run([virtualService('file', undefined), virtualService('cluster', NEW, 'ratings')]);
    assert.equal(files.applied.routeByHost.get('reviews.shop')?.meta.name, 'cluster');
    const tie = run([virtualService('zz', OLD, 'ratings'), virtualService('aa', OLD)]);
    assert.equal(tie.applied.routeByHost.get('reviews.shop')?.meta.name, 'aa');
  });

  it('a DestinationRule and a TrafficPolicy for one host: the older applies, the other is refused', () => {
    const r = run([], [policy('tp', NEW), destinationRule('dr', OLD)]);
    assert.equal(r.applied.policyByHost.get('reviews.shop')?.meta.kind, 'DestinationRule');
    assert.equal(accepted(status(r.statuses, 'TrafficPolicy', 'tp')).reason, 'Conflict');
    const other = run([], [policy('tp', OLD), destinationRule('dr', NEW)]);
    assert.equal(other.applied.policyByHost.get('reviews.shop')?.meta.kind, 'TrafficPolicy');
    assert.equal(accepted(status(other.statuses, 'DestinationRule', 'dr')).reason, 'Conflict');
  });

  it('a VirtualService may use the subsets of a TrafficPolicy (and a TrafficRoute those of a DestinationRule)', () => {
    const vsOnTp = run([{ ...virtualService('vs', OLD), spec: { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews', subset: 'v1' } }] }] } }],
      [policy('tp', OLD)]);
    assert.equal(status(vsOnTp.statuses, 'VirtualService', 'vs').applied, 'current');
    const trOnDr = run([trafficRoute({ hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews', subset: 'v1' } }] }] }, 'tr')],
      [destinationRule('dr', OLD)]);
    assert.equal(status(trOnDr.statuses, 'TrafficRoute', 'tr').applied, 'current');
    const missing = run([{ ...virtualService('vs', OLD), spec: { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews', subset: 'v9' } }] }] } }],
      [destinationRule('dr', OLD)]);
    assert.equal(status(missing.statuses, 'VirtualService', 'vs').applied, 'none');
    assert.match(missing.statuses.find((s) => s.kind === 'VirtualService')?.conditions[1]?.message ?? '', /DestinationRule shop\/dr defines no subset "v9"/);
  });

  it('the loser takes over when the winner is deleted', () => {
    const first = run([route('tr', NEW), virtualService('vs', OLD)]);
    const second = validateRouting({
      trafficRoutes: [route('tr', NEW)], trafficPolicies: [], previousApplied: first.applied,
      services: { service: (ns, name) => SERVICES[`${name}.${ns}`] },
    });
    assert.equal(second.applied.routeByHost.get('reviews.shop')?.meta.kind, 'TrafficRoute');
  });

  it('the status of an Istio object lists what was left out; a pilotfish object has none', () => {
    const r = run([{ ...virtualService('vs', OLD), spec: { hosts: ['reviews'], exportTo: ['.'], http: [{ route: [{ destination: { host: 'reviews' } }] }] } }, route('tr', undefined)]);
    const s = status(r.statuses, 'VirtualService', 'vs');
    assert.deepEqual(s.unsupported?.map((f) => f.path), ['spec.exportTo']);
    assert.match(accepted(s).message, /^Applied\. Left out, not supported by pilotfish: spec\.exportTo \(visibility scoping is not supported/);
    assert.equal(status(r.statuses, 'TrafficRoute', 'tr').unsupported, undefined);
  });
});
