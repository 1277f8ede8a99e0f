// Who may read /debug/* (every proxy's configuration, the whole mesh model). Two kinds of caller:
//  - loopback (127.0.0.0/8, ::1): `kubectl port-forward` and a local `serve` arrive from there,
//    and reaching pilotfish's loopback already takes exec/port-forward rights on its Pod;
//  - anyone else must send `authorization: Bearer <token>`, which the Kubernetes API server
//    authenticates (TokenReview) and RBAC authorizes (SubjectAccessReview, `get` on `debug` in
//    group pilotfish.io in pilotfish's namespace; the chart's Role pilotfish-debug-reader grants it).
// Without a cluster (`serve`) there is nothing to check a token against: only loopback is served.
// The caller is the socket's peer address, never a forwarded-for header: pilotfish sits behind no
// trusted proxy, and a header is whatever the caller wants it to be.
import { createHash } from 'node:crypto';
import { isIPv4 } from 'node:net';

/**
 * The API server removes `authorization` from requests it proxies to a Pod (pods/NAME:PORT/proxy),
 * so a caller reaching the debug endpoints that way sends its bearer token in this header; it is
 * checked exactly as `authorization` is (TokenReview, then SubjectAccessReview).
 */
export const PROXIED_AUTHORIZATION_HEADER = 'x-pilotfish-authorization';

/** Longest bearer token reviewed (service account tokens are ~1 KiB, OIDC ones a few); longer is refused unreviewed. */
const MAX_DEBUG_TOKEN_BYTES = 8192;
/** How long an answer about one token is reused; RBAC changes take at most this long to apply. */
const DEFAULT_DEBUG_CACHE_TTL_MS = 10_000;
/** Tokens whose answers are kept at once; the oldest is dropped first. */
const DEFAULT_DEBUG_CACHE_ENTRIES = 256;

/** The RBAC attributes a caller needs, documented in the README and granted by the chart's Role. */
export const DEBUG_ACCESS_ATTRIBUTES = { verb: 'get', group: 'pilotfish.io', resource: 'debug' } as const;

/** What the API server said about one token. */
export type ReviewOutcome =
  | { readonly kind: 'allowed'; readonly user: string }
  | { readonly kind: 'forbidden'; readonly user: string }
  | { readonly kind: 'unauthenticated' };

/** Asks the API server about a token: TokenReview, then SubjectAccessReview. Throws when it cannot ask. */
export interface DebugReviewer {
  review(token: string): Promise<ReviewOutcome>;
}

/** Low-cardinality reasons, used as the metric label. */
type DebugRefusal = 'no_token' | 'malformed' | 'unauthenticated' | 'forbidden' | 'no_cluster' | 'review_failed';

type DebugDecision =
  | { readonly allowed: true; readonly via: 'loopback' | 'rbac'; readonly user?: string }
  | { readonly allowed: false; readonly status: 401 | 403 | 503; readonly reason: DebugRefusal; readonly message: string };

interface DebugAccessOptions {
  /** Absent: no cluster to ask, so only loopback callers are served. */
  readonly reviewer?: DebugReviewer;
  /** Whether a peer address is this host; tests replace it to play a remote caller over loopback. */
  readonly isLocal?: (remoteAddress: string | undefined) => boolean;
  readonly cacheTtlMs?: number;
  readonly maxCacheEntries?: number;
  readonly now?: () => number;
}

/** 127.0.0.0/8 and ::1, also as IPv4-mapped IPv6 (a dual-stack listener reports ::ffff:127.0.0.1). */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  if (address === '::1') return true;
  const v4 = address.toLowerCase().startsWith('::ffff:') ? address.slice(7) : address;
  return isIPv4(v4) && v4.startsWith('127.');
}

interface Cached {
  readonly outcome: Promise<ReviewOutcome>;
  readonly expiresAt: number;
}

export class DebugAccess {
  // Keyed by a hash of the token so the cache never holds a usable credential.
  private readonly cache = new Map<string, Cached>();
  private readonly isLocal: (remoteAddress: string | undefined) => boolean;
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(private readonly opts: DebugAccessOptions = {}) {
    this.isLocal = opts.isLocal ?? isLoopbackAddress;
    this.ttlMs = opts.cacheTtlMs ?? DEFAULT_DEBUG_CACHE_TTL_MS;
    this.maxEntries = Math.max(1, opts.maxCacheEntries ?? DEFAULT_DEBUG_CACHE_ENTRIES);
    this.now = opts.now ?? Date.now;
  }

  /** Entries cached now (for tests of the bound). */
  cacheSize(): number {
    return this.cache.size;
  }

  async decide(remoteAddress: string | undefined, authorization: string | undefined): Promise<DebugDecision> {
    if (this.isLocal(remoteAddress)) return { allowed: true, via: 'loopback' };
    const reviewer = this.opts.reviewer;
    if (!reviewer) {
      return { allowed: false, status: 403, reason: 'no_cluster', message: 'debug endpoints answer only loopback callers here (no Kubernetes API to check a token with); use port-forward or run locally' };
    }
    if (authorization === undefined || authorization === '') {
      return { allowed: false, status: 401, reason: 'no_token', message: 'debug endpoints need `authorization: Bearer <token>` from a caller RBAC allows to get debug.pilotfish.io' };
    }
    const m = /^Bearer +(\S+)$/i.exec(authorization);
    if (!m || Buffer.byteLength(m[1]) > MAX_DEBUG_TOKEN_BYTES) {
      return { allowed: false, status: 401, reason: 'malformed', message: `the authorization header is not \`Bearer <token>\` with a token of at most ${MAX_DEBUG_TOKEN_BYTES} bytes` };
    }
    let outcome: ReviewOutcome;
    try {
      outcome = await this.reviewCached(reviewer, m[1]);
    } catch {
      return { allowed: false, status: 503, reason: 'review_failed', message: 'the Kubernetes API server could not be asked about the token; try again' };
    }
    if (outcome.kind === 'allowed') return { allowed: true, via: 'rbac', user: outcome.user };
    if (outcome.kind === 'unauthenticated') {
      return { allowed: false, status: 401, reason: 'unauthenticated', message: 'the token was not accepted by the Kubernetes API server' };
    }
    const { verb, resource, group } = DEBUG_ACCESS_ATTRIBUTES;
    return { allowed: false, status: 403, reason: 'forbidden', message: `${outcome.user} may not ${verb} ${resource}.${group} (bind the Role pilotfish-debug-reader)` };
  }

  private reviewCached(reviewer: DebugReviewer, token: string): Promise<ReviewOutcome> {
    const key = createHash('sha256').update(token).digest('hex');
    const now = this.now();
    const hit = this.cache.get(key);
    if (hit && hit.expiresAt > now) return hit.outcome;
    if (hit) this.cache.delete(key);
    // The promise itself is cached, so concurrent requests with one token make one review.
    const outcome = reviewer.review(token);
    // A failure to ask is not an answer: forget it so the next request asks again.
    outcome.catch(() => { if (this.cache.get(key)?.outcome === outcome) this.cache.delete(key); });
    while (this.cache.size >= this.maxEntries) this.cache.delete(this.cache.keys().next().value as string);
    this.cache.set(key, { outcome, expiresAt: now + this.ttlMs });
    return outcome;
  }
}
