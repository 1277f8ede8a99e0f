// PeerAuthentication objects -> the policies generation applies. Each object is parsed on its
// own; an invalid one keeps its last accepted version applied (as routing objects do), so a typo
// in an edit never turns a STRICT workload into a PERMISSIVE one, and is reported once per reason.
import { parsePeerAuthentication } from '../api/security/v1alpha1/parse.js';
import { deepEqual } from '../deep-equal.js';
import type { CustomObject } from '../model/k8s-object.js';
import type { PeerAuthentication } from '../model/peer-authentication.js';
import type { PeerAuthenticationRejection, SecurityState } from '../model/snapshot.js';

/** At most this many parse errors go into one rejection reason, so a log line stays bounded. */
const MAX_ERRORS_IN_REASON = 5;

function keyOf(md: unknown): string {
  const m = (typeof md === 'object' && md !== null ? md : {}) as { namespace?: unknown; name?: unknown };
  const namespace = typeof m.namespace === 'string' && m.namespace !== '' ? m.namespace : 'default';
  const name = typeof m.name === 'string' ? m.name.slice(0, 253) : '';
  return `${namespace}/${name}`;
}

/**
 * The security state for `objects` (sorted by namespace/name), given the previous one. Returns
 * `previous` itself for the same objects; `peerAuthentications` keeps its identity while what is
 * applied stays the same, so consumers can compare it by reference.
 */
export function nextSecurityState(previous: SecurityState, objects: readonly CustomObject[]): SecurityState {
  if (objects === previous.objects) return previous;
  const before = new Map(previous.peerAuthentications.map((p) => [`${p.meta.namespace}/${p.meta.name}`, p]));
  const applied: PeerAuthentication[] = [];
  const rejections = new Map<string, PeerAuthenticationRejection>();
  for (const obj of objects) {
    const key = keyOf(obj.metadata);
    const parsed = parsePeerAuthentication(obj);
    if (parsed.ok !== undefined) {
      const old = before.get(key);
      applied.push(old !== undefined && deepEqual(old, parsed.ok) ? old : parsed.ok);
      continue;
    }
    const kept = before.get(key);
    if (kept !== undefined) applied.push(kept);
    const errors = parsed.errors ?? [];
    const shown = errors.slice(0, MAX_ERRORS_IN_REASON).map((e) => (e.path === '' ? e.message : `${e.path}: ${e.message}`));
    if (errors.length > shown.length) shown.push(`and ${errors.length - shown.length} more`);
    rejections.set(key, { object: `PeerAuthentication ${key}`, reason: shown.join('; '), applied: kept !== undefined ? 'previous' : 'none' });
  }
  const same = applied.length === previous.peerAuthentications.length
    && applied.every((p, i) => p === previous.peerAuthentications[i]);
  return Object.freeze({ objects, peerAuthentications: same ? previous.peerAuthentications : applied, rejections });
}
