// TokenReview (authentication.k8s.io/v1) as the API server's service account token authenticator
// answers it: tokens registered by the test stand for projected tokens, each with its identity,
// audiences and expiry. Refusals come back as 201 with status.authenticated false and the error
// text the real authenticator writes, which is what callers have to interpret.
import { ApiError, badRequest } from './status.js';

/** What a registered token authenticates as. */
export interface FakeToken {
  /** A service account token: namespace + serviceAccount (username system:serviceaccount:<ns>:<sa>). */
  readonly namespace?: string;
  readonly serviceAccount?: string;
  /** Any other user (e.g. a user's OIDC token): used when namespace/serviceAccount are absent. */
  readonly username?: string;
  /** Audiences the token was minted for; default the API server's own (DEFAULT_API_AUDIENCES). */
  readonly audiences?: readonly string[];
  readonly expired?: boolean;
  /** The pod a projected token is bound to (reported in user.extra, as the real server does). */
  readonly podName?: string;
}

/** What a kube-apiserver with default flags accepts when a review names no audience. */
export const DEFAULT_API_AUDIENCES: readonly string[] = ['https://kubernetes.default.svc.cluster.local'];

// Go's %q of a []string: ["a" "b"]
function goQuoted(list: readonly string[]): string {
  return `[${list.map((s) => JSON.stringify(s)).join(' ')}]`;
}

interface ReviewBody {
  apiVersion?: unknown;
  kind?: unknown;
  spec?: { token?: unknown; audiences?: unknown };
}

export class TokenRegistry {
  private readonly tokens = new Map<string, FakeToken>();

  constructor(private readonly apiAudiences: readonly string[] = DEFAULT_API_AUDIENCES) {}

  register(token: string, identity: FakeToken): void {
    this.tokens.set(token, identity);
  }

  revoke(token: string): void {
    this.tokens.delete(token);
  }

  /** The TokenReview the server returns (HTTP 201) for a POSTed review. */
  review(body: unknown): Record<string, unknown> {
    const review = (body ?? {}) as ReviewBody;
    if (review.kind !== 'TokenReview' || review.apiVersion !== 'authentication.k8s.io/v1') {
      throw badRequest('the body is not an authentication.k8s.io/v1 TokenReview');
    }
    const token = review.spec?.token;
    if (typeof token !== 'string' || token === '') {
      throw new ApiError(422, 'Invalid', 'TokenReview.authentication.k8s.io "" is invalid: spec.token: Required value: token must not be empty');
    }
    const asked = Array.isArray(review.spec?.audiences) ? (review.spec.audiences as unknown[]).filter((a): a is string => typeof a === 'string') : [];
    const wanted = asked.length > 0 ? asked : [...this.apiAudiences];
    const spec = { token, ...(asked.length > 0 ? { audiences: asked } : {}) };
    const reply = (status: Record<string, unknown>): Record<string, unknown> => ({
      kind: 'TokenReview', apiVersion: 'authentication.k8s.io/v1', metadata: { creationTimestamp: null }, spec, status,
    });
    const found = this.tokens.get(token);
    if (!found) {
      return reply({ user: {}, error: '[invalid bearer token, square/go-jose: error in cryptographic primitive, token lookup failed]' });
    }
    const tokenAudiences = found.audiences ?? this.apiAudiences;
    const granted = tokenAudiences.filter((a) => wanted.includes(a));
    // The real authenticator checks audiences before expiry.
    if (granted.length === 0) {
      return reply({ user: {}, error: `[invalid bearer token, token audiences ${goQuoted(tokenAudiences)} is invalid for the target audiences ${goQuoted(wanted)}]` });
    }
    if (found.expired) return reply({ user: {}, error: '[invalid bearer token, service account token has expired]' });
    const isServiceAccount = found.namespace !== undefined && found.serviceAccount !== undefined;
    const user = isServiceAccount
      ? {
        username: `system:serviceaccount:${found.namespace}:${found.serviceAccount}`,
        uid: `uid-${found.namespace}-${found.serviceAccount}`,
        groups: ['system:serviceaccounts', `system:serviceaccounts:${found.namespace}`, 'system:authenticated'],
        ...(found.podName ? { extra: { 'authentication.kubernetes.io/pod-name': [found.podName] } } : {}),
      }
      : { username: found.username ?? 'anonymous-user', groups: ['system:authenticated'] };
    return reply({ authenticated: true, user, audiences: granted });
  }
}
