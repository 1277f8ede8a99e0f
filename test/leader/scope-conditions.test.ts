// The Accepted condition of TrafficScopes, from the store's own verdict: True for an object that
// applies as written, False (Invalid) with the reason and what still applies otherwise.
import assert from 'node:assert/strict';
import { scopeStatuses } from '../../src/leader/scope-conditions.js';
import type { CustomObject } from '../../src/model/k8s-object.js';
import { EMPTY_SCOPES } from '../../src/model/snapshot.js';
import { nextScopeState } from '../../src/store/traffic-scopes.js';

function scope(name: string, hosts: unknown, generation: number): CustomObject {
  return {
    apiVersion: 'routing.pilotfish.io/v1alpha1', kind: 'TrafficScope',
    metadata: { name, namespace: 'shop', generation, uid: `uid-${name}` }, spec: { egress: { hosts } },
  };
}

describe('leader: TrafficScope status', () => {
  it('is Accepted=True for a valid scope, and Accepted=False naming the field for a bad edit, keeping the last accepted one', () => {
    const first = nextScopeState(EMPTY_SCOPES, [scope('web', ['./*'], 1)]);
    const [ok] = scopeStatuses(first);
    assert.deepEqual(ok.target, { apiVersion: 'routing.pilotfish.io/v1alpha1', kind: 'TrafficScope', plural: 'trafficscopes', namespace: 'shop', name: 'web' });
    assert.equal(ok.uid, 'uid-web');
    assert.equal(ok.observedGeneration, 1);
    assert.deepEqual(ok.conditions.map((c) => [c.type, c.status, c.reason, c.observedGeneration]), [['Accepted', 'True', 'Accepted', 1]]);

    const edited = nextScopeState(first, [scope('web', ['shop'], 2), scope('new', [], 1)]);
    assert.equal(edited.scopes.length, 1, 'the last accepted version of web still applies; new applies nothing');
    const byName = new Map(scopeStatuses(edited).map((d) => [d.target.name, d]));
    const web = byName.get('web')!;
    const newer = byName.get('new')!;
    assert.deepEqual(web.conditions.map((c) => [c.status, c.reason, c.observedGeneration]), [['False', 'Invalid', 2]]);
    assert.match(web.conditions[0].message, /^spec\.egress\.hosts\[0\]: .*; the last accepted version still applies$/);
    assert.match(newer.conditions[0].message, /^spec\.egress\.hosts: .*; nothing of it applies$/);
  });
});
