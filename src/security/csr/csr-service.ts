// The certificate signing service without a transport: a request (method, headers that matter,
// body) in, a status and JSON body out. Cheap refusals come first (method, content type, size,
// no token) so an unauthenticated caller costs neither a TokenReview nor an ASN.1 parse; the
// identity is always the one the token review returns, and the CSR must name exactly it.
import type { Logger } from '../../logging.js';
import { CsrRejectedError } from '../ca/csr-check.js';
import { DEFAULT_WORKLOAD_TTL_MS, type MeshCa } from '../ca/mesh-ca.js';
import { DEFAULT_TRUST_DOMAIN, trustDomainProblem, workloadSpiffeId, type WorkloadIdentity } from '../spiffe.js';
import { REFUSAL_STATUS, newCsrCounters, type CsrCounters, type CsrRefusalReason } from './refusals.js';
import type { TokenAuthenticator } from './token-authenticator.js';
import { boundedText } from './token-review.js';

/** Largest request body accepted (a P-256 CSR in JSON is under 1 KiB; RSA-4096 about 2.5 KiB). */
export const MAX_CSR_BODY_BYTES = 16 * 1024;
/** Largest bearer token accepted; projected tokens are about 1 KiB. Larger ones are refused without a TokenReview. */
export const MAX_TOKEN_BYTES = 8 * 1024;
/** Requests authenticated and signed at the same time; more are refused (503) rather than queued. */
const DEFAULT_MAX_IN_FLIGHT = 64;

interface CsrRequest {
  /** Default POST. */
  readonly method?: string;
  readonly authorization?: string;
  readonly contentType?: string;
  /** The body, or its first MAX_CSR_BODY_BYTES + 1 bytes. */
  readonly body: Uint8Array | string;
  /** Set by a transport that stopped reading because the body (or its declared length) exceeds MAX_CSR_BODY_BYTES. */
  readonly oversize?: boolean;
}

interface CsrSuccessBody {
  readonly certChain: readonly string[];
  readonly trustBundle: readonly string[];
  /** RFC 3339. */
  readonly expiresAt: string;
}

interface CsrErrorBody {
  readonly error: string;
  readonly reason: CsrRefusalReason;
}

export type CsrResponse =
  | { readonly status: 200; readonly body: CsrSuccessBody }
  | { readonly status: number; readonly body: CsrErrorBody };

interface CsrServiceOptions {
  readonly ca: MeshCa;
  readonly authenticator: TokenAuthenticator;
  readonly logger: Logger;
  /** Default cluster.local. */
  readonly trustDomain?: string;
  /** Lifetime of issued certificates; default 24 h (the CA caps it). */
  readonly ttlMs?: number;
  readonly maxInFlight?: number;
}

class Refusal extends Error {
  constructor(readonly reason: CsrRefusalReason, message: string, readonly identity?: string) {
    super(message);
  }
}

const BEARER = /^bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

function isJsonContentType(value: string | undefined): boolean {
  return value !== undefined && value.split(';')[0].trim().toLowerCase() === 'application/json';
}

function bodyText(body: Uint8Array | string): string {
  return typeof body === 'string' ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
}

function bodyBytes(body: Uint8Array | string): number {
  return typeof body === 'string' ? Buffer.byteLength(body, 'utf8') : body.byteLength;
}

export class CsrService {
  readonly counters: CsrCounters = newCsrCounters();
  private ca: MeshCa;
  private readonly trustDomain: string;
  private readonly ttlMs: number;
  private readonly maxInFlight: number;
  private inFlight = 0;

  constructor(private readonly options: CsrServiceOptions) {
    this.ca = options.ca;
    this.trustDomain = options.trustDomain ?? DEFAULT_TRUST_DOMAIN;
    const problem = trustDomainProblem(this.trustDomain);
    if (problem) throw new Error(`trust domain ${JSON.stringify(this.trustDomain)}: ${problem}`);
    this.ttlMs = options.ttlMs ?? DEFAULT_WORKLOAD_TTL_MS;
    this.maxInFlight = options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
  }

  /** Swaps the CA (a rotation step); requests already signing finish with the old one. */
  setCa(ca: MeshCa): void {
    this.ca = ca;
  }

  async handle(request: CsrRequest): Promise<CsrResponse> {
    try {
      return await this.process(request);
    } catch (err) {
      const refusal = err instanceof Refusal ? err
        : new Refusal('signing_failed', 'the certificate could not be issued; try again later');
      if (!(err instanceof Refusal)) {
        this.options.logger.error('certificate signing failed', { reason: 'signing_failed', error: boundedText(String((err as Error).message ?? err), 300) });
      }
      this.counters.refused[refusal.reason] += 1;
      this.options.logger.warn('certificate request refused', {
        reason: refusal.reason, status: REFUSAL_STATUS[refusal.reason], detail: refusal.message,
        ...(refusal.identity ? { identity: refusal.identity } : {}),
      });
      return { status: REFUSAL_STATUS[refusal.reason], body: { error: refusal.message, reason: refusal.reason } };
    }
  }

  private async process(request: CsrRequest): Promise<CsrResponse> {
    if ((request.method ?? 'POST').toUpperCase() !== 'POST') throw new Refusal('method_not_allowed', 'certificates are requested with POST');
    if (!isJsonContentType(request.contentType)) throw new Refusal('wrong_content_type', 'the request body must be application/json');
    if (request.oversize || bodyBytes(request.body) > MAX_CSR_BODY_BYTES) {
      throw new Refusal('body_too_large', `the request body is larger than ${MAX_CSR_BODY_BYTES} bytes`);
    }
    const token = this.bearerToken(request.authorization);
    if (this.inFlight >= this.maxInFlight) throw new Refusal('overloaded', 'too many certificate requests are being processed; retry shortly');
    this.inFlight += 1;
    try {
      const caller = await this.authenticate(token);
      const callerId = workloadSpiffeId(caller);
      const csrPem = this.csrOf(request.body, callerId);
      const ca = this.ca;
      try {
        const issued = await ca.sign(csrPem, caller, this.ttlMs);
        this.counters.issued += 1;
        const expiresAt = issued.notAfter.toISOString();
        this.options.logger.info('certificate issued', { identity: callerId, serial: issued.serialNumber, expiresAt });
        return { status: 200, body: { certChain: issued.certChain, trustBundle: issued.trustBundle, expiresAt } };
      } catch (err) {
        if (err instanceof CsrRejectedError) throw new Refusal(err.reason, err.message, callerId);
        throw err;
      }
    } finally {
      this.inFlight -= 1;
    }
  }

  private bearerToken(authorization: string | undefined): string {
    if (authorization === undefined || authorization.trim() === '') {
      throw new Refusal('missing_token', 'the request has no bearer token (authorization: Bearer <projected service account token>)');
    }
    if (authorization.length > MAX_TOKEN_BYTES + 16) throw new Refusal('token_invalid', `the bearer token is longer than ${MAX_TOKEN_BYTES} bytes`);
    const m = BEARER.exec(authorization);
    if (!m) throw new Refusal('missing_token', 'the authorization header is not a bearer token');
    return m[1];
  }

  private async authenticate(token: string): Promise<WorkloadIdentity> {
    let result;
    try {
      result = await this.options.authenticator.authenticate(token);
    } catch (err) {
      this.options.logger.error('token review failed', { reason: 'authentication_unavailable', error: boundedText(String((err as Error).message ?? err), 300) });
      throw new Refusal('authentication_unavailable', 'the token could not be checked right now; retry shortly');
    }
    if (!result.ok) throw new Refusal(result.reason, result.message, result.username);
    return { trustDomain: this.trustDomain, namespace: result.namespace, serviceAccount: result.serviceAccount };
  }

  private csrOf(body: Uint8Array | string, callerId: string): string {
    let parsed: unknown;
    try {
      parsed = JSON.parse(bodyText(body));
    } catch {
      throw new Refusal('request_malformed', 'the request body is not JSON', callerId);
    }
    const csr = (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) ? (parsed as { csr?: unknown }).csr : undefined;
    if (typeof csr !== 'string') throw new Refusal('request_malformed', 'the request body must be a JSON object with a string field "csr"', callerId);
    return csr;
  }
}
