// PeerAuthenticator's decisions one by one: which certificates name a workload, and how token
// reviews are cached (by hash, bounded, until shortly before the token expires, refusals briefly,
// failures to decide not at all). The TokenReview itself is the real one in xds-tls-port.test.ts;
// here a counting double stands behind the TokenAuthenticator interface.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { inspect } from 'node:util';
import { silentLogger } from '../../src/logging.js';
import type { AuthenticationResult, TokenAuthenticator } from '../../src/security/csr/token-authenticator.js';
import { TokenReviewError } from '../../src/security/csr/token-review.js';
import {
  DEFAULT_TOKEN_CACHE_MS, MAX_TOKEN_CACHE_MS, PeerAuthenticator, REFUSAL_CACHE_MS, TOKEN_EXPIRY_MARGIN_MS,
} from '../../src/security/peer-authenticator.js';
import { makeCert, type Pem } from './pki.js';

class CountingTokens implements TokenAuthenticator {
  readonly seen: string[] = [];
  failing = false;

  authenticate(token: string): Promise<AuthenticationResult> {
    this.seen.push(token);
    if (this.failing) return Promise.reject(new TokenReviewError('the TokenReview could not be made (HTTP 503)'));
    if (token.startsWith('bad')) return Promise.resolve({ ok: false, reason: 'token_invalid', message: 'the token was not accepted' });
    return Promise.resolve({ ok: true, namespace: 'shop', serviceAccount: 'frontend', username: 'system:serviceaccount:shop:frontend' });
  }
}

/** A JWT-shaped token whose payload says it expires at `expMs` (the signature is the double's business). */
function jwt(name: string, expMs: number): string {
  const part = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'RS256' })}.${part({ exp: Math.floor(expMs / 1000), sub: name })}.c2ln`;
}

describe('security/peer-authenticator', () => {
  let root: Pem;
  before(async () => { root = await makeCert({ subject: 'CN=test root' }); });

  async function leaf(sans: { type: 'url' | 'dns'; value: string }[], ca = false): Promise<X509Certificate> {
    return new X509Certificate((await makeCert({ subject: 'O=test', issuer: root, ca, sans })).certPem);
  }

  describe('certificates', () => {
    const auth = new PeerAuthenticator({ tokens: new CountingTokens(), logger: silentLogger() });

    it('a workload certificate of the trust domain is its namespace and service account', async () => {
      const cert = await leaf([{ type: 'url', value: 'spiffe://cluster.local/ns/shop/sa/frontend' }]);
      assert.deepEqual(await auth.authenticate({ certificate: cert }), { ok: true, principal: { namespace: 'shop', serviceAccount: 'frontend', via: 'certificate' } });
    });

    it('refuses another trust domain, two SPIFFE IDs, none, a non-workload path, and a CA certificate', async () => {
      const cases: [Promise<X509Certificate>, RegExp][] = [
        [leaf([{ type: 'url', value: 'spiffe://other.example/ns/shop/sa/frontend' }]), /trust domain other\.example, not cluster\.local/],
        [leaf([{ type: 'url', value: 'spiffe://cluster.local/ns/shop/sa/a' }, { type: 'url', value: 'spiffe://cluster.local/ns/shop/sa/b' }]), /2 URI SANs/],
        [leaf([{ type: 'dns', value: 'frontend.shop.svc' }]), /0 URI SANs/],
        [leaf([{ type: 'url', value: 'spiffe://cluster.local/admin' }]), /not a workload ID/],
        [leaf([{ type: 'url', value: 'spiffe://cluster.local/ns/shop/sa/frontend' }], true), /is a CA certificate/],
      ];
      for (const [cert, reason] of cases) {
        const r = await auth.authenticate({ certificate: await cert });
        assert.equal(r.ok, false);
        assert.match(r.ok ? '' : r.reason, reason);
      }
    });

    it('refuses a stream with neither certificate nor token, and a malformed authorization header without a review', async () => {
      const tokens = new CountingTokens();
      const a = new PeerAuthenticator({ tokens, logger: silentLogger() });
      assert.match(JSON.stringify(await a.authenticate({})), /no client certificate and no bearer token/);
      assert.match(JSON.stringify(await a.authenticate({ authorization: 'Basic dXNlcjpwdw==' })), /not \\"Bearer <token>\\"/);
      assert.match(JSON.stringify(await a.authenticate({ authorization: `Bearer ${'a'.repeat(9000)}` })), /longer than/);
      assert.deepEqual(tokens.seen, []);
    });
  });

  describe('tokens', () => {
    it('reviews a token once until shortly before it expires, and keeps only its hash', async () => {
      let now = 1_000_000_000_000;
      const tokens = new CountingTokens();
      const a = new PeerAuthenticator({ tokens, logger: silentLogger(), now: () => now });
      const token = jwt('frontend', now + 5 * 60_000);
      for (let i = 0; i < 3; i++) {
        assert.deepEqual(await a.authenticate({ authorization: `Bearer ${token}` }), { ok: true, principal: { namespace: 'shop', serviceAccount: 'frontend', via: 'token' } });
      }
      assert.equal(tokens.seen.length, 1);
      // The double behind it remembers what it was asked; the authenticator itself must not.
      const asked = tokens.seen.splice(0);
      assert.ok(!inspect(a, { depth: 10, showHidden: true }).includes(token), 'the token itself is not kept');
      tokens.seen.push(...asked);
      now += 5 * 60_000 - TOKEN_EXPIRY_MARGIN_MS - 1;
      await a.authenticate({ authorization: `Bearer ${token}` });
      assert.equal(tokens.seen.length, 1, 'still cached just before the margin');
      now += 2;
      await a.authenticate({ authorization: `Bearer ${token}` });
      assert.equal(tokens.seen.length, 2, 'reviewed again within the margin of its expiry');
    });

    it('keeps a review of a long-lived or unreadable token at most MAX_TOKEN_CACHE_MS / DEFAULT_TOKEN_CACHE_MS', async () => {
      let now = 1_000_000_000_000;
      const tokens = new CountingTokens();
      const a = new PeerAuthenticator({ tokens, logger: silentLogger(), now: () => now });
      const longLived = jwt('legacy', now + 365 * 24 * 3600_000);
      await a.authenticate({ authorization: `Bearer ${longLived}` });
      await a.authenticate({ authorization: 'Bearer opaque-token' });
      now += DEFAULT_TOKEN_CACHE_MS + 1;
      await a.authenticate({ authorization: `Bearer ${longLived}` });
      await a.authenticate({ authorization: 'Bearer opaque-token' });
      assert.deepEqual(tokens.seen, [longLived, 'opaque-token', 'opaque-token']);
      now += MAX_TOKEN_CACHE_MS;
      await a.authenticate({ authorization: `Bearer ${longLived}` });
      assert.equal(tokens.seen.filter((t) => t === longLived).length, 2);
    });

    it('holds at most maxCachedTokens reviews, dropping the oldest', async () => {
      const tokens = new CountingTokens();
      const a = new PeerAuthenticator({ tokens, logger: silentLogger(), maxCachedTokens: 3 });
      for (const t of ['t1', 't2', 't3', 't4', 't5']) await a.authenticate({ authorization: `Bearer ${t}` });
      assert.equal(a.cachedTokens, 3);
      await a.authenticate({ authorization: 'Bearer t5' });
      await a.authenticate({ authorization: 'Bearer t1' });
      assert.deepEqual(tokens.seen, ['t1', 't2', 't3', 't4', 't5', 't1']);
    });

    it('keeps a refusal briefly, and a failure to decide not at all', async () => {
      let now = 1_000_000_000_000;
      const tokens = new CountingTokens();
      const a = new PeerAuthenticator({ tokens, logger: silentLogger(), now: () => now });
      assert.equal((await a.authenticate({ authorization: 'Bearer bad-1' })).ok, false);
      await a.authenticate({ authorization: 'Bearer bad-1' });
      assert.equal(tokens.seen.length, 1);
      now += REFUSAL_CACHE_MS + 1;
      await a.authenticate({ authorization: 'Bearer bad-1' });
      assert.equal(tokens.seen.length, 2);

      tokens.failing = true;
      const r = await a.authenticate({ authorization: 'Bearer good-1' });
      assert.deepEqual(r, { ok: false, reason: 'the token could not be checked now (TokenReview failed); try again' });
      tokens.failing = false;
      assert.equal((await a.authenticate({ authorization: 'Bearer good-1' })).ok, true);
      assert.deepEqual(tokens.seen.slice(2), ['good-1', 'good-1']);
    });
  });
});
