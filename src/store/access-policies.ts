// AccessPolicy objects -> the policies generation enforces, and the status of each. Each object is
// parsed on its own; an invalid one keeps its last accepted version enforced (as routing objects
// and PeerAuthentications do), so a typo in an edit never opens a workload that a policy closed.
import { parseAccessPolicy } from '../api/security/v1alpha1/access-policy-parse.js';
import { formatFieldError } from '../api/routing/v1alpha1/openapi.js';
import { deepEqual } from '../deep-equal.js';
import { accessPolicyKey, type AccessPolicy } from '../model/access-policy.js';
import { proxylessIgnoredInAccessPolicy } from '../model/access-proxyless.js';
import type { AccessPolicyStatus, AccessState } from '../model/access-status.js';
import type { CustomObject } from '../model/k8s-object.js';
import { REASONS, type RoutingCondition } from '../model/routing-status.js';
import { formatIgnored } from '../routing/proxyless.js';

/** At most this many parse errors go into one condition message, each cut to MAX_PROBLEM_CHARS, so it stays bounded. */
const MAX_ERRORS_IN_MESSAGE = 5;
/** Errors quote the offending value, which a file can make as long as it likes. */
const MAX_PROBLEM_CHARS = 512;

function cut(text: string): string {
  return text.length > MAX_PROBLEM_CHARS ? `${text.slice(0, MAX_PROBLEM_CHARS)}…` : text;
}

interface RawIdentity { namespace: string; name: string; uid?: string; generation?: number }

function identityOf(md: unknown): RawIdentity {
  const m = (typeof md === 'object' && md !== null ? md : {}) as { namespace?: unknown; name?: unknown; uid?: unknown; generation?: unknown };
  return {
    namespace: typeof m.namespace === 'string' && m.namespace !== '' ? m.namespace : 'default',
    name: typeof m.name === 'string' ? m.name.slice(0, 253) : '',
    ...(typeof m.uid === 'string' ? { uid: m.uid } : {}),
    ...(typeof m.generation === 'number' ? { generation: m.generation } : {}),
  };
}

function accepted(policy: AccessPolicy, generation: number | undefined): { condition: RoutingCondition; ignored: AccessPolicyStatus['proxylessIgnored'] } {
  const ignored = proxylessIgnoredInAccessPolicy(policy);
  const note = ignored.length ? ` Ignored for proxyless gRPC: ${formatIgnored(ignored)}.` : '';
  return {
    condition: {
      type: 'Accepted', status: 'True', reason: REASONS.Accepted, message: `Applied.${note}`,
      ...(generation !== undefined ? { observedGeneration: generation } : {}),
    },
    ignored,
  };
}

/**
 * The access state for `objects` (sorted by namespace/name), given the previous one. Returns
 * `previous` itself for the same objects; `policies` and `statuses` keep their identity while
 * they stay the same.
 */
export function nextAccessState(previous: AccessState, objects: readonly CustomObject[]): AccessState {
  if (objects === previous.objects) return previous;
  const before = new Map(previous.policies.map((p) => [accessPolicyKey(p), p]));
  const policies: AccessPolicy[] = [];
  const statuses: AccessPolicyStatus[] = [];
  for (const obj of objects) {
    const id = identityOf(obj.metadata);
    const key = `${id.namespace}/${id.name}`;
    const base = { namespace: id.namespace, name: id.name, ...(id.uid !== undefined ? { uid: id.uid } : {}), ...(id.generation !== undefined ? { generation: id.generation } : {}) };
    const gen = id.generation !== undefined ? { observedGeneration: id.generation } : {};
    const parsed = parseAccessPolicy(obj);
    const old = before.get(key);
    // A recreated object (new uid) starts over: the old one's last good version is not its own.
    const kept = old !== undefined && (old.meta.uid === undefined || id.uid === undefined || old.meta.uid === id.uid) ? old : undefined;
    if (parsed.ok !== undefined) {
      policies.push(kept !== undefined && deepEqual(kept, parsed.ok) ? kept : parsed.ok);
      const a = accepted(parsed.ok, id.generation);
      statuses.push({ ...base, conditions: [a.condition], applied: 'current', proxylessIgnored: a.ignored });
      continue;
    }
    if (kept !== undefined) policies.push(kept);
    const errors = parsed.errors ?? [];
    const shown = errors.slice(0, MAX_ERRORS_IN_MESSAGE).map((e) => cut(formatFieldError(e)));
    if (errors.length > shown.length) shown.push(`and ${errors.length - shown.length} more`);
    const fallback = kept !== undefined ? ' The previously accepted version stays applied.' : ' Nothing of this object is applied.';
    statuses.push({
      ...base, applied: kept !== undefined ? 'previous' : 'none', proxylessIgnored: [],
      conditions: [{ type: 'Accepted', status: 'False', reason: REASONS.Invalid, message: `Invalid: ${shown.join('; ')}.${fallback}`, ...gen }],
    });
  }
  const samePolicies = policies.length === previous.policies.length && policies.every((p, i) => p === previous.policies[i]);
  return Object.freeze({
    objects,
    policies: samePolicies ? previous.policies : policies,
    statuses: deepEqual(statuses, previous.statuses) ? previous.statuses : statuses,
  });
}
