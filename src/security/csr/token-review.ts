// TokenAuthenticator backed by the Kubernetes TokenReview API (authentication.k8s.io/v1). The
// review names pilotfish's audience, so a token minted for the API server or for another service
// is refused, and the answer must echo that audience back: an authenticator that ignores
// audiences (older webhook authenticators do) does not get to vouch for a mesh identity.
import type { V1TokenReview } from '@kubernetes/client-node';
// The exception class alone (the module the generated clients throw it from), not the package
// index: `serve` without Kubernetes imports this file and must not load all of client-node.
import { ApiException } from '@kubernetes/client-node/dist/gen/apis/exception.js';
import type { ApiPermission } from '../../kube/api-permission.js';
import { isKubernetesNamespace, isKubernetesServiceAccount } from '../spiffe.js';
import type { AuthenticationResult, TokenAuthenticator } from './token-authenticator.js';

const DEFAULT_TOKEN_AUDIENCE = 'pilotfish';

/** The API call KubeTokenReviewAuthenticator makes, for RBAC (src/permissions.ts collects these lists). */
export const TOKEN_REVIEW_PERMISSIONS: readonly ApiPermission[] = [
  {
    group: 'authentication.k8s.io', resource: 'tokenreviews', verbs: ['create'], scope: 'cluster',
    why: 'KubeTokenReviewAuthenticator: verify the projected token of a workload asking for a certificate',
  },
];

/** The one AuthenticationV1Api call used (client-node 1.x's AuthenticationV1Api satisfies it). */
export interface TokenReviewClient {
  createTokenReview(param: { body: V1TokenReview }): Promise<V1TokenReview>;
}

const SERVICE_ACCOUNT_PREFIX = 'system:serviceaccount:';
/** Bound on the usernames quoted in messages and logs. */
const MAX_USERNAME_IN_MESSAGE = 128;

/** `text` cut to `max` characters with control characters replaced: safe to log and to send back. */
export function boundedText(text: string, max: number): string {
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
  return clean.length <= max ? clean : `${clean.slice(0, max)}…`;
}

export class TokenReviewError extends Error {
  override readonly name = 'TokenReviewError';
}

export class KubeTokenReviewAuthenticator implements TokenAuthenticator {
  constructor(private readonly client: TokenReviewClient, readonly audience: string = DEFAULT_TOKEN_AUDIENCE) {}

  async authenticate(token: string): Promise<AuthenticationResult> {
    let review: V1TokenReview;
    try {
      review = await this.client.createTokenReview({
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, audiences: [this.audience] } },
      });
    } catch (err) {
      const code = err instanceof ApiException ? ` (HTTP ${err.code})` : '';
      throw new TokenReviewError(`the TokenReview could not be made${code}: ${boundedText((err as Error).message ?? String(err), 200)}`);
    }
    const status = review.status ?? {};
    if (status.authenticated !== true) return this.rejected(status.error ?? '');
    if (!(status.audiences ?? []).includes(this.audience)) {
      return { ok: false, reason: 'token_wrong_audience', message: `the API server did not confirm the token is for audience ${this.audience}` };
    }
    const username = status.user?.username ?? '';
    const shown = boundedText(username, MAX_USERNAME_IN_MESSAGE);
    if (!username.startsWith(SERVICE_ACCOUNT_PREFIX)) {
      return { ok: false, reason: 'not_service_account', message: `${shown || 'the caller'} is not a service account`, username: shown };
    }
    const [namespace, serviceAccount, ...rest] = username.slice(SERVICE_ACCOUNT_PREFIX.length).split(':');
    if (rest.length > 0 || !isKubernetesNamespace(namespace ?? '') || !isKubernetesServiceAccount(serviceAccount ?? '')) {
      return { ok: false, reason: 'not_service_account', message: `${shown} is not a well-formed service account name`, username: shown };
    }
    return { ok: true, namespace, serviceAccount, username };
  }

  // The API server explains a refusal only in status.error, as text; it is matched on the phrases
  // the service account authenticator uses (see test/support/fake-kube-api/token-review.ts).
  private rejected(error: string): AuthenticationResult {
    if (/expired/i.test(error)) return { ok: false, reason: 'token_expired', message: 'the token has expired' };
    if (/audience/i.test(error)) {
      return { ok: false, reason: 'token_wrong_audience', message: `the token is not for audience ${this.audience} (project it with audience: ${this.audience})` };
    }
    return { ok: false, reason: 'token_invalid', message: 'the token was not accepted by the Kubernetes API server' };
  }
}
