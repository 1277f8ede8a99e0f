// The status each PeerAuthentication should carry: Accepted, as the routing objects have it. An
// object that does not parse (only one that bypassed the API server's CEL rules can) is
// Accepted=False with the parse errors, and says whether its previous version stays applied:
// what an operator needs to know before trusting that a STRICT edit took effect.
import { PEER_AUTHENTICATION_KIND, PEER_AUTHENTICATION_PLURAL, SECURITY_API_VERSION } from '../api/security/v1alpha1/crd.js';
import type { SecurityState } from '../model/snapshot.js';
import type { DesiredCondition, DesiredStatus } from './status-writer.js';

export const PEER_AUTHENTICATION_CONDITION_TYPES: readonly string[] = ['Accepted'];

/** Desired status of every PeerAuthentication the store saw (those from files have no uid and are skipped by the writer's live lookup). */
export function peerAuthenticationStatuses(security: SecurityState): DesiredStatus[] {
  const out: DesiredStatus[] = [];
  for (const obj of security.objects) {
    const md = obj.metadata;
    if (typeof md?.name !== 'string' || md.name === '') continue;
    const namespace = md.namespace ?? 'default';
    const rejection = security.rejections.get(`${namespace}/${md.name.slice(0, 253)}`);
    const gen = md.generation === undefined ? {} : { observedGeneration: md.generation };
    const accepted: DesiredCondition = rejection
      ? {
        type: 'Accepted', status: 'False', reason: 'Invalid',
        message: `${rejection.reason}. ${rejection.applied === 'previous'
          ? 'The previously accepted version of this object stays applied.' : 'Nothing of this object is applied.'}`,
        ...gen,
      }
      : { type: 'Accepted', status: 'True', reason: 'Accepted', message: 'The policy is applied.', ...gen };
    out.push({
      target: { apiVersion: SECURITY_API_VERSION, kind: PEER_AUTHENTICATION_KIND, plural: PEER_AUTHENTICATION_PLURAL, namespace, name: md.name },
      ...(md.uid !== undefined ? { uid: md.uid } : {}),
      ...gen,
      conditions: [accepted],
    });
  }
  return out;
}
