// AccessPolicies that can never match, found from the mesh as a snapshot has it (for `pilotfish
// analyze` and config-dump): a selector that selects no Pod of its namespace, and a rule that
// names principals or namespaces — which come from the peer certificate — on workloads that accept
// no mutual TLS (outside the mesh, DISABLE, or a proxyless server that serves plaintext under
// PERMISSIVE). Pure; the mTLS answers are the mesh index's own.
import { accessPolicyApplies, ruleNeedsPeerIdentity, type AccessPolicy } from './access-policy.js';
import type { MeshIndex } from './mesh-index.js';
import { mtlsAcceptance } from './peer-authentication.js';
import { serverKindOf } from './server-kind.js';
import type { PodInfo } from './snapshot.js';

interface AccessWarning {
  /** `<namespace>/<name>`. */
  readonly policy: string;
  readonly code: 'SelectsNothing' | 'NeedsMtls';
  /** API-server style path of the field at fault. */
  readonly field: string;
  readonly message: string;
}

/** At most this many workloads are named in one message. */
const MAX_NAMED = 3;

function whyNoMtls(mesh: MeshIndex, pod: PodInfo): string | undefined {
  const kind = serverKindOf(pod.labels);
  if (kind === 'none') return `${pod.namespace}/${pod.name} is not in the mesh`;
  const mode = mesh.mtlsMode({ namespace: pod.namespace, labels: pod.labels }, 0);
  if (mtlsAcceptance(kind, mode) !== 'refused') return undefined;
  return kind === 'proxyless' ? `${pod.namespace}/${pod.name} is a proxyless server under ${mode} (plaintext)` : `${pod.namespace}/${pod.name} is under DISABLE`;
}

export function unmatchableAccess(mesh: MeshIndex, policies: readonly AccessPolicy[]): AccessWarning[] {
  const out: AccessWarning[] = [];
  const pods = [...mesh.snapshot.pods.values()];
  for (const p of policies) {
    const key = `${p.meta.namespace}/${p.meta.name}`;
    const covered = pods.filter((pod) => accessPolicyApplies(p, pod.namespace, pod.labels, mesh.rootNamespace));
    if (p.selector !== undefined && covered.length === 0) {
      out.push({
        policy: key, code: 'SelectsNothing', field: 'spec.selector',
        message: `selects no Pod of namespace ${p.meta.namespace}: the policy applies to nothing`,
      });
      continue;
    }
    if (covered.length === 0) continue;
    const reasons = covered.map((pod) => whyNoMtls(mesh, pod));
    if (reasons.some((r) => r === undefined)) continue;
    const named = reasons.slice(0, MAX_NAMED).join('; ') + (reasons.length > MAX_NAMED ? `; and ${reasons.length - MAX_NAMED} more` : '');
    for (const rule of p.rules) {
      if (!ruleNeedsPeerIdentity(rule)) continue;
      out.push({
        policy: key, code: 'NeedsMtls', field: `spec.rules[${rule.index}].from`,
        message: `names principals or namespaces, which need mutual TLS, but no workload it applies to accepts mTLS (${named}): the rule can never match`,
      });
    }
  }
  return out;
}
