// Who an xDS stream on the TLS port is (xds/peer.ts Authenticate): the SPIFFE ID of its verified
// client certificate, or the service account of its bearer token (a projected token, audience
// pilotfish, checked with a TokenReview). The pod agent sends the token only until it has its
// first certificate, but every one of its streams carries it until then: reviews are cached by a
// hash of the token (never the token itself) until shortly before the token expires.
import { createHash, type X509Certificate } from 'node:crypto';
import type { Logger } from '../logging.js';
import type { Authentication, PeerCredentials, Principal } from '../xds/peer.js';
import { MAX_TOKEN_BYTES } from './csr/csr-service.js';
import type { TokenAuthenticator } from './csr/token-authenticator.js';
import { boundedText, TokenReviewError } from './csr/token-review.js';
import { DEFAULT_TRUST_DOMAIN, parseWorkloadSpiffeId, SpiffeIdError, trustDomainProblem } from './spiffe.js';

/** Reviews kept at most: 10,000 hashes and results, about 2 MiB. The oldest goes first. */
const DEFAULT_TOKEN_CACHE_ENTRIES = 10_000;
/** A review is not used within this long of the token's expiry (clock skew, the review's own latency). */
export const TOKEN_EXPIRY_MARGIN_MS = 30_000;
/** How long a review is kept when the token's expiry cannot be read, and how long a refusal is kept. */
export const DEFAULT_TOKEN_CACHE_MS = 60_000;
export const REFUSAL_CACHE_MS = 5_000;
/**
 * Longest a review is trusted even for a long-lived token: a bound token stops being valid when
 * its Pod is deleted, which only a new review notices.
 */
export const MAX_TOKEN_CACHE_MS = 10 * 60_000;

const BEARER = /^bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

interface PeerAuthenticatorOptions {
  /** The trust domain certificates must name; default cluster.local. */
  readonly trustDomain?: string;
  readonly tokens: TokenAuthenticator;
  readonly logger: Logger;
  readonly maxCachedTokens?: number;
  readonly now?: () => number;
}

interface CachedReview {
  readonly result: Promise<Authentication>;
  /** Epoch ms after which the review is asked again. */
  expiresAt: number;
}

/** The `exp` claim of a JWT, read without verifying (the TokenReview verified it): only used to bound the cache. */
function jwtExpiry(token: string): number | undefined {
  const payload = token.split('.')[1];
  if (payload === undefined || payload.length > MAX_TOKEN_BYTES) return undefined;
  try {
    const exp = (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp?: unknown }).exp;
    return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/** The URI SANs of a certificate, as Node prints them (values it had to quote are kept quoted, and then refused). */
function uriSans(certificate: X509Certificate): string[] {
  return (certificate.subjectAltName ?? '').split(', ').filter((n) => n.startsWith('URI:')).map((n) => n.slice(4));
}

export class PeerAuthenticator {
  private readonly trustDomain: string;
  private readonly maxEntries: number;
  private readonly now: () => number;
  /** By SHA-256 of the token; Map order is insertion order, so the first key is the oldest. */
  private readonly reviews = new Map<string, CachedReview>();
  readonly counters = { certificate: 0, token: 0, refused: 0, tokenReviews: 0 };

  constructor(private readonly options: PeerAuthenticatorOptions) {
    this.trustDomain = options.trustDomain ?? DEFAULT_TRUST_DOMAIN;
    const problem = trustDomainProblem(this.trustDomain);
    if (problem) throw new Error(`trust domain ${JSON.stringify(this.trustDomain)}: ${problem}`);
    this.maxEntries = options.maxCachedTokens ?? DEFAULT_TOKEN_CACHE_ENTRIES;
    this.now = options.now ?? Date.now;
  }

  /** For xds/server: never throws. */
  readonly authenticate = async (peer: PeerCredentials): Promise<Authentication> => {
    const result = peer.certificate ? this.fromCertificate(peer.certificate)
      : peer.authorization !== undefined ? await this.fromToken(peer.authorization)
        : { ok: false as const, reason: 'no client certificate and no bearer token: present the workload certificate or a projected service account token (audience pilotfish)' };
    if (result.ok) this.counters[result.principal.via]++;
    else this.counters.refused++;
    return result;
  };

  get cachedTokens(): number {
    return this.reviews.size;
  }

  private fromCertificate(certificate: X509Certificate): Authentication {
    if (certificate.ca) return { ok: false, reason: 'the client certificate is a CA certificate, not a workload certificate' };
    const uris = uriSans(certificate);
    if (uris.length !== 1) return { ok: false, reason: `the client certificate has ${uris.length} URI SANs; a workload certificate has exactly one SPIFFE ID` };
    try {
      const id = parseWorkloadSpiffeId(uris[0]);
      if (id.trustDomain !== this.trustDomain) {
        return { ok: false, reason: `the client certificate is for trust domain ${boundedText(id.trustDomain, 64)}, not ${this.trustDomain}` };
      }
      return { ok: true, principal: { namespace: id.namespace, serviceAccount: id.serviceAccount, via: 'certificate' } };
    } catch (err) {
      if (err instanceof SpiffeIdError) return { ok: false, reason: `the client certificate's SPIFFE ID is not a workload ID: ${err.message}` };
      throw err;
    }
  }

  private fromToken(authorization: string): Promise<Authentication> {
    if (authorization.length > MAX_TOKEN_BYTES + 16) {
      return Promise.resolve({ ok: false, reason: `the bearer token is longer than ${MAX_TOKEN_BYTES} bytes` });
    }
    const m = BEARER.exec(authorization);
    if (!m) return Promise.resolve({ ok: false, reason: 'the authorization header is not "Bearer <token>"' });
    const token = m[1];
    const key = createHash('sha256').update(token).digest('base64');
    const now = this.now();
    const cached = this.reviews.get(key);
    if (cached && cached.expiresAt > now) return cached.result;
    if (cached) this.reviews.delete(key);
    const entry: CachedReview = { result: this.review(token), expiresAt: now + DEFAULT_TOKEN_CACHE_MS };
    this.reviews.set(key, entry);
    while (this.reviews.size > this.maxEntries) this.reviews.delete(this.reviews.keys().next().value!);
    void entry.result.then((r) => {
      const exp = jwtExpiry(token);
      if (!r.ok) entry.expiresAt = this.now() + REFUSAL_CACHE_MS;
      else entry.expiresAt = Math.min(exp !== undefined ? exp - TOKEN_EXPIRY_MARGIN_MS : entry.expiresAt, now + MAX_TOKEN_CACHE_MS);
      // Not kept past a failure to decide: the next stream asks again.
      if (!r.ok && r.reason.startsWith('the token could not be checked')) this.reviews.delete(key);
    });
    return entry.result;
  }

  private async review(token: string): Promise<Authentication> {
    this.counters.tokenReviews++;
    try {
      const r = await this.options.tokens.authenticate(token);
      if (!r.ok) return { ok: false, reason: r.message };
      const principal: Principal = { namespace: r.namespace, serviceAccount: r.serviceAccount, via: 'token' };
      return { ok: true, principal };
    } catch (err) {
      const message = err instanceof TokenReviewError ? err.message : boundedText(String(err), 200);
      this.options.logger.warn('cannot check an xDS client\'s token', { reason: message });
      return { ok: false, reason: 'the token could not be checked now (TokenReview failed); try again' };
    }
  }
}
