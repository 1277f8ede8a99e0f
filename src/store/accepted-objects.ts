// Custom objects that apply one by one (PeerAuthentication, TrafficScope) -> what generation
// applies. Each object is parsed on its own; an invalid one keeps its last accepted version
// applied (as routing objects do), so a typo in an edit never silently widens or narrows what a
// workload gets, and is reported with the object and the reason.
import type { ParseResult } from '../api/routing/v1alpha1/parse.js';
import { deepEqual } from '../deep-equal.js';
import type { CustomObject } from '../model/k8s-object.js';
import type { ObjectIdentity } from '../model/object-identity.js';
import type { ObjectRejection } from '../model/snapshot.js';

/** At most this many parse errors go into one rejection reason, so a log line stays bounded. */
const MAX_ERRORS_IN_REASON = 5;

function keyOf(md: unknown): string {
  const m = (typeof md === 'object' && md !== null ? md : {}) as { namespace?: unknown; name?: unknown };
  const namespace = typeof m.namespace === 'string' && m.namespace !== '' ? m.namespace : 'default';
  const name = typeof m.name === 'string' ? m.name.slice(0, 253) : '';
  return `${namespace}/${name}`;
}

interface Accepted<T> {
  /** Keeps the identity of `previous` while what is applied stays the same, so consumers can compare it by reference. */
  readonly applied: readonly T[];
  /** Invalid objects by `namespace/name`. */
  readonly rejections: ReadonlyMap<string, ObjectRejection>;
}

/** What applies of `objects` (sorted by namespace/name) of `kind`, given what applied before. */
export function acceptObjects<T extends { readonly meta: ObjectIdentity }>(kind: string, previous: readonly T[],
  objects: readonly CustomObject[], parse: (obj: CustomObject) => ParseResult<T>): Accepted<T> {
  const before = new Map(previous.map((p) => [`${p.meta.namespace}/${p.meta.name}`, p]));
  const applied: T[] = [];
  const rejections = new Map<string, ObjectRejection>();
  for (const obj of objects) {
    const key = keyOf(obj.metadata);
    const parsed = parse(obj);
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
    rejections.set(key, { object: `${kind} ${key}`, reason: shown.join('; '), applied: kept !== undefined ? 'previous' : 'none' });
  }
  const same = applied.length === previous.length && applied.every((p, i) => p === previous[i]);
  return { applied: same ? previous : applied, rejections };
}
