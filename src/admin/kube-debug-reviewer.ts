// DebugReviewer backed by the Kubernetes API: a TokenReview with no audience (a user's or a
// service account's ordinary API token, as `kubectl` sends it), then a SubjectAccessReview of that
// user for `get` on `debug` in group pilotfish.io in pilotfish's namespace. Answers only about the
// caller's RBAC; never logs or returns the token.
import {
  AuthenticationV1Api, AuthorizationV1Api, type KubeConfig, type V1SubjectAccessReview, type V1TokenReview,
} from '@kubernetes/client-node';
import type { ApiPermission } from '../kube/api-permission.js';
import { boundedText } from '../security/csr/token-review.js';
import { DEBUG_ACCESS_ATTRIBUTES, type DebugReviewer, type ReviewOutcome } from './debug-access.js';

/** The API calls KubeDebugReviewer makes, for RBAC (src/cli/permissions.ts collects these lists). */
export const DEBUG_ACCESS_PERMISSIONS: readonly ApiPermission[] = [
  {
    group: 'authentication.k8s.io', resource: 'tokenreviews', verbs: ['create'], scope: 'cluster',
    why: 'KubeDebugReviewer: authenticate the bearer token of a /debug caller',
  },
  {
    group: 'authorization.k8s.io', resource: 'subjectaccessreviews', verbs: ['create'], scope: 'cluster',
    why: 'KubeDebugReviewer: ask RBAC whether a /debug caller may get debug.pilotfish.io',
  },
];

/** Bound on the user name quoted in refusals (it comes from the API server, but may be long). */
const MAX_USER_IN_MESSAGE = 128;

/** The two calls made (client-node 1.x's AuthenticationV1Api and AuthorizationV1Api satisfy them). */
interface ReviewClients {
  createTokenReview(param: { body: V1TokenReview }): Promise<V1TokenReview>;
  createSubjectAccessReview(param: { body: V1SubjectAccessReview }): Promise<V1SubjectAccessReview>;
}

export function reviewClientsFor(kc: KubeConfig): ReviewClients {
  const authn = kc.makeApiClient(AuthenticationV1Api);
  const authz = kc.makeApiClient(AuthorizationV1Api);
  return {
    createTokenReview: (p) => authn.createTokenReview(p),
    createSubjectAccessReview: (p) => authz.createSubjectAccessReview(p),
  };
}

export class KubeDebugReviewer implements DebugReviewer {
  constructor(private readonly clients: ReviewClients, private readonly namespace: string) {}

  async review(token: string): Promise<ReviewOutcome> {
    const tr = await this.clients.createTokenReview({
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } },
    });
    const user = tr.status?.user;
    if (tr.status?.authenticated !== true || !user?.username) return { kind: 'unauthenticated' };
    const sar = await this.clients.createSubjectAccessReview({
      body: {
        apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview',
        spec: {
          user: user.username,
          ...(user.groups ? { groups: user.groups } : {}),
          ...(user.uid ? { uid: user.uid } : {}),
          ...(user.extra ? { extra: user.extra } : {}),
          resourceAttributes: { namespace: this.namespace, ...DEBUG_ACCESS_ATTRIBUTES },
        },
      },
    });
    const who = boundedText(user.username, MAX_USER_IN_MESSAGE);
    return sar.status?.allowed === true && sar.status.denied !== true ? { kind: 'allowed', user: who } : { kind: 'forbidden', user: who };
  }
}
