// The Accepted condition the leader writes on PeerAuthentications: True for an applied object;
// False with the parse errors for one that does not parse, saying whether its previous version
// stays applied (an invalid edit of a STRICT policy must not look like it took effect).
import assert from 'node:assert/strict';
import { peerAuthenticationStatuses } from '../../src/leader/peer-authentication-conditions.js';
import type { CustomObject } from '../../src/model/k8s-object.js';
import { EMPTY_SNAPSHOT } from '../../src/model/snapshot.js';
import { nextSecurityState } from '../../src/store/peer-authentications.js';

function peerAuthentication(name: string, mode: string, generation: number): CustomObject {
  return {
    apiVersion: 'security.pilotfish.io/v1alpha1', kind: 'PeerAuthentication',
    metadata: { name, namespace: 'shop', uid: `uid-${name}`, generation }, spec: { mtls: { mode } },
  };
}

describe('leader/peer-authentication-conditions', () => {
  it('Accepted=True for applied objects, False with the reason for invalid ones, naming what stays applied', () => {
    const first = nextSecurityState(EMPTY_SNAPSHOT.security, [peerAuthentication('strict', 'STRICT', 1)]);
    const second = nextSecurityState(first, [peerAuthentication('strict', 'LOOSE', 2), peerAuthentication('new', 'NOPE', 1)]);
    const statuses = peerAuthenticationStatuses(second);
    assert.deepEqual(statuses.map((s) => s.target), [
      { apiVersion: 'security.pilotfish.io/v1alpha1', kind: 'PeerAuthentication', plural: 'peerauthentications', namespace: 'shop', name: 'strict' },
      { apiVersion: 'security.pilotfish.io/v1alpha1', kind: 'PeerAuthentication', plural: 'peerauthentications', namespace: 'shop', name: 'new' },
    ]);
    const [strict, added] = statuses;
    assert.equal(strict!.uid, 'uid-strict');
    assert.equal(strict!.observedGeneration, 2);
    assert.deepEqual({ ...strict!.conditions[0], message: '' }, { type: 'Accepted', status: 'False', reason: 'Invalid', message: '', observedGeneration: 2 });
    assert.match(strict!.conditions[0]!.message, /mtls\.mode.*LOOSE.*The previously accepted version of this object stays applied\./);
    assert.match(added!.conditions[0]!.message, /Nothing of this object is applied\./);

    const fixed = peerAuthenticationStatuses(nextSecurityState(second, [peerAuthentication('strict', 'PERMISSIVE', 3)]));
    assert.deepEqual(fixed.map((s) => s.conditions), [[{ type: 'Accepted', status: 'True', reason: 'Accepted', message: 'The policy is applied.', observedGeneration: 3 }]]);
  });
});
