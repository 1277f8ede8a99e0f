// SubjectAccessReview (authorization.k8s.io/v1) decided by rules the test configures, the way an
// RBAC authorizer would answer it: a rule names a user (or a group), and the verb, API group,
// resource and namespace it allows ('*' matches any). No rule: allowed false, with a reason.
import { badRequest } from './status.js';

export interface AccessRule {
  /** The username it applies to (e.g. `system:serviceaccount:ops:viewer`), or use `group`. */
  readonly user?: string;
  readonly group?: string;
  readonly verb: string;
  /** API group ('' for core, '*' any). */
  readonly apiGroup: string;
  readonly resource: string;
  /** Absent: every namespace (a ClusterRoleBinding); set: a RoleBinding in that namespace. */
  readonly namespace?: string;
}

interface ReviewBody {
  apiVersion?: unknown;
  kind?: unknown;
  spec?: {
    user?: unknown;
    groups?: unknown;
    resourceAttributes?: { verb?: unknown; group?: unknown; resource?: unknown; namespace?: unknown };
  };
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const matches = (pattern: string, value: string): boolean => pattern === '*' || pattern === value;

export class AccessRules {
  private readonly rules: AccessRule[] = [];

  allow(rule: AccessRule): void {
    this.rules.push(rule);
  }

  clear(): void {
    this.rules.length = 0;
  }

  /** The SubjectAccessReview the server returns (HTTP 201) for a POSTed review. */
  review(body: unknown): Record<string, unknown> {
    const review = (body ?? {}) as ReviewBody;
    if (review.kind !== 'SubjectAccessReview' || review.apiVersion !== 'authorization.k8s.io/v1') {
      throw badRequest('the body is not an authorization.k8s.io/v1 SubjectAccessReview');
    }
    const spec = review.spec ?? {};
    const user = str(spec.user);
    const groups = Array.isArray(spec.groups) ? spec.groups.map(str) : [];
    if (user === '' && groups.length === 0) {
      throw badRequest('SubjectAccessReview.authorization.k8s.io "" is invalid: spec.user: Invalid value: "": at least one of user or group must be specified');
    }
    const attrs = spec.resourceAttributes ?? {};
    const verb = str(attrs.verb);
    const group = str(attrs.group);
    const resource = str(attrs.resource);
    const namespace = str(attrs.namespace);
    const allowed = this.rules.some((r) => (r.user !== undefined ? r.user === user : r.group !== undefined && groups.includes(r.group))
      && matches(r.verb, verb) && matches(r.apiGroup, group) && matches(r.resource, resource)
      && (r.namespace === undefined || r.namespace === namespace));
    return {
      kind: 'SubjectAccessReview', apiVersion: 'authorization.k8s.io/v1', metadata: { creationTimestamp: null },
      spec: body && typeof body === 'object' ? (body as { spec?: unknown }).spec : undefined,
      status: allowed ? { allowed: true, reason: 'allowed by a rule of the test' } : { allowed: false },
    };
  }
}
