// The authentication decisions that the fake API server cannot provoke: an authenticator that
// does not echo the audience, usernames that only look like service accounts, an API failure,
// and the in-flight bound of the transport-free service.
import assert from 'node:assert/strict';
import type { V1TokenReview } from '@kubernetes/client-node';
import { silentLogger } from '../../src/logging.js';
import { validateCaFiles } from '../../src/security/ca/ca-material.js';
import { MeshCa } from '../../src/security/ca/mesh-ca.js';
import { generateRootCaFiles } from '../../src/security/ca/self-signed-root.js';
import { CsrService } from '../../src/security/csr/csr-service.js';
import type { AuthenticationResult, TokenAuthenticator } from '../../src/security/csr/token-authenticator.js';
import { KubeTokenReviewAuthenticator, TokenReviewError, type TokenReviewClient } from '../../src/security/csr/token-review.js';
import { makeCsr } from './pki.js';

function reviewer(status: V1TokenReview['status'], seen: V1TokenReview[] = []): TokenReviewClient {
  return {
    createTokenReview: async ({ body }) => {
      seen.push(body);
      return { ...body, status };
    },
  };
}

describe('security/csr token review decisions', () => {
  it('sends the audience and maps a service account username to its identity', async () => {
    const seen: V1TokenReview[] = [];
    const auth = new KubeTokenReviewAuthenticator(reviewer({
      authenticated: true, audiences: ['mesh'], user: { username: 'system:serviceaccount:shop:frontend' },
    }, seen), 'mesh');
    assert.deepEqual(await auth.authenticate('t'), { ok: true, namespace: 'shop', serviceAccount: 'frontend', username: 'system:serviceaccount:shop:frontend' });
    assert.deepEqual(seen[0].spec, { token: 't', audiences: ['mesh'] });
  });

  it('refuses an answer that does not echo the audience', async () => {
    const auth = new KubeTokenReviewAuthenticator(reviewer({ authenticated: true, user: { username: 'system:serviceaccount:shop:frontend' } }));
    const result = await auth.authenticate('t');
    assert.equal(result.ok, false);
    assert.equal(!result.ok && result.reason, 'token_wrong_audience');
  });

  it('refuses usernames that are not well-formed service accounts', async () => {
    for (const username of ['system:serviceaccount:shop', 'system:serviceaccount:shop:frontend:extra', 'system:serviceaccount:Shop:frontend',
      'system:node:worker-1', `system:serviceaccount:shop:${'a\u0000'.repeat(200)}`]) {
      const result = await new KubeTokenReviewAuthenticator(reviewer({ authenticated: true, audiences: ['pilotfish'], user: { username } })).authenticate('t');
      assert.equal(!result.ok && result.reason, 'not_service_account', username);
      assert.ok(!result.ok && (result.username ?? '').length <= 129 && !(result.username ?? '').includes('\u0000'), 'bounded and clean');
    }
  });

  it('classifies refusals by the API server\'s error text', async () => {
    const cases: [string, string][] = [
      ['[invalid bearer token, service account token has expired]', 'token_expired'],
      ['[invalid bearer token, token audiences ["x"] is invalid for the target audiences ["pilotfish"]]', 'token_wrong_audience'],
      ['[invalid bearer token, square/go-jose: error in cryptographic primitive]', 'token_invalid'],
      ['', 'token_invalid'],
    ];
    for (const [error, reason] of cases) {
      const result = await new KubeTokenReviewAuthenticator(reviewer({ authenticated: false, error })).authenticate('t');
      assert.equal(!result.ok && result.reason, reason, error);
    }
  });

  it('throws when the review cannot be made', async () => {
    const auth = new KubeTokenReviewAuthenticator({ createTokenReview: async () => { throw new Error('connect ECONNREFUSED'); } });
    await assert.rejects(auth.authenticate('t'), (err: unknown) => err instanceof TokenReviewError && /ECONNREFUSED/.test(err.message));
  });

  it('refuses with 503 overloaded beyond the in-flight bound, and serves again after', async () => {
    const releases: (() => void)[] = [];
    const blocking: TokenAuthenticator = {
      authenticate: () => new Promise<AuthenticationResult>((resolve) => {
        releases.push(() => resolve({ ok: true, namespace: 'shop', serviceAccount: 'frontend', username: 'system:serviceaccount:shop:frontend' }));
      }),
    };
    const ca = await MeshCa.create(validateCaFiles(await generateRootCaFiles(), 'test'));
    const service = new CsrService({ ca, authenticator: blocking, logger: silentLogger(), maxInFlight: 2 });
    const body = JSON.stringify({ csr: (await makeCsr('spiffe://cluster.local/ns/shop/sa/frontend')).csrPem });
    const request = { authorization: 'Bearer t', contentType: 'application/json; charset=utf-8', body };
    const first = [service.handle(request), service.handle(request)];
    const third = await service.handle(request);
    assert.equal(third.status, 503);
    assert.equal('reason' in third.body && third.body.reason, 'overloaded');
    for (const release of releases) release();
    assert.deepEqual((await Promise.all(first)).map((r) => r.status), [200, 200]);
    releases.length = 0;
    const fourth = service.handle(request);
    await new Promise((resolve) => setImmediate(resolve));
    releases[0]();
    assert.equal((await fourth).status, 200);
    assert.equal(service.counters.issued, 3);
    assert.equal(service.counters.refused.overloaded, 1);
  });
});
