// status.parents[] of HTTPRoutes/GRPCRoutes: pilotfish's entries (controllerName pilotfish.io/mesh)
// are replaced, every other controller's entry is kept as it is, lastTransitionTime moves only
// when a condition's status does, and writes carry the resourceVersion they were based on.
import assert from 'node:assert/strict';
import { GATEWAY_STATUS_RENDERER, gatewayStatuses, nextGatewayStatus } from '../../src/leader/gateway-status.js';
import type { RoutingObjectStatus } from '../../src/model/routing-status.js';

const STATUS: RoutingObjectStatus = {
  kind: 'HTTPRoute', namespace: 'shop', name: 'web', uid: 'u', generation: 4,
  conditions: [],
  applied: 'current',
  proxylessIgnored: [],
  parents: [{
    parentRef: { index: 1, group: '', kind: 'Service', namespace: 'shop', name: 'web', namespaceWritten: false, port: 80 },
    conditions: [
      { type: 'Accepted', status: 'True', reason: 'Accepted', message: 'Attached.', observedGeneration: 4 },
      { type: 'ResolvedRefs', status: 'False', reason: 'BackendNotFound', message: 'missing.', observedGeneration: 4 },
    ],
  }],
};

const OTHER = {
  parentRef: { group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'ingress' },
  controllerName: 'example.com/gateway',
  conditions: [{ type: 'Accepted', status: 'True', reason: 'Accepted', message: 'theirs', lastTransitionTime: '2020-01-01T00:00:00Z' }],
};

describe('Gateway API route status (status.parents)', () => {
  const [desired] = gatewayStatuses([STATUS, { ...STATUS, kind: 'TrafficRoute', name: 'tr', parents: undefined }]);

  it('one desired status per Gateway API route, naming its kind and plural; TrafficRoutes are left to their writer', () => {
    assert.equal(gatewayStatuses([STATUS]).length, 1);
    assert.deepEqual(desired.target, { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', plural: 'httproutes', namespace: 'shop', name: 'web' });
    assert.deepEqual(desired.parents[0].parentRef, { group: '', kind: 'Service', name: 'web', port: 80 });
  });

  it("keeps other controllers' entries and replaces only pilotfish's", () => {
    const stale = { parentRef: { group: '', kind: 'Service', name: 'web', port: 80 }, controllerName: 'pilotfish.io/mesh', conditions: [] };
    const next = nextGatewayStatus(desired, { parents: [OTHER, stale] }, new Date('2026-01-01T00:00:00Z'));
    const parents = next.parents as Record<string, unknown>[];
    assert.equal(parents.length, 2);
    assert.deepEqual(parents[0], OTHER);
    assert.equal(parents[1].controllerName, 'pilotfish.io/mesh');
    const conditions = parents[1].conditions as Record<string, unknown>[];
    assert.deepEqual(conditions.map((c) => [c.type, c.status, c.reason, c.observedGeneration]), [
      ['Accepted', 'True', 'Accepted', 4], ['ResolvedRefs', 'False', 'BackendNotFound', 4],
    ]);
  });

  it('keeps lastTransitionTime while a condition keeps its status, and moves it when the status changes', () => {
    const first = nextGatewayStatus(desired, { parents: [OTHER] }, new Date('2026-01-01T00:00:00Z'));
    const later = nextGatewayStatus(desired, first, new Date('2026-02-01T00:00:00Z'));
    assert.ok(GATEWAY_STATUS_RENDERER.same(first, later));
    const flipped = gatewayStatuses([{
      ...STATUS,
      parents: [{ ...STATUS.parents![0], conditions: [STATUS.parents![0].conditions[0], { ...STATUS.parents![0].conditions[1], status: 'True', reason: 'ResolvedRefs' }] }],
    }])[0];
    const changed = nextGatewayStatus(flipped, first, new Date('2026-03-01T00:00:00Z'));
    const times = ((changed.parents as Record<string, unknown>[])[1].conditions as Record<string, unknown>[]).map((c) => c.lastTransitionTime);
    assert.deepEqual(times, ['2026-01-01T00:00:00Z', '2026-03-01T00:00:00Z']);
    assert.ok(!GATEWAY_STATUS_RENDERER.same(first, changed));
  });

  it('never has more than the 32 entries the CRD allows, other controllers first', () => {
    const others = Array.from({ length: 32 }, (_, i) => ({ ...OTHER, parentRef: { ...OTHER.parentRef, name: `g${i}` } }));
    const next = nextGatewayStatus(desired, { parents: others }, new Date());
    assert.equal((next.parents as unknown[]).length, 32);
    assert.ok((next.parents as Record<string, unknown>[]).every((p) => p.controllerName === OTHER.controllerName));
  });

  it('writes are conditional on the resourceVersion they were computed from (a merge patch replaces the list whole)', () => {
    assert.equal(GATEWAY_STATUS_RENDERER.precondition, true);
  });
});
