// POST /inject, answered on the raw HTTPS request: the one route the API server calls, and the
// webhook's hot path. Through fastify an admission cost a fifth more CPU (routing, hooks, a
// Transform stream metering the body, the content-type parser, the reply machinery), so here the
// body is read with the same limits applied directly (limits.ts): a declared or received size over
// bodyLimit is 413, bytes past the in-flight budget 503, a body slower than bodyTimeoutMs closes
// the connection, and anything but application/json is 415. Every refusal answers JSON
// `{ "error": reason }`, as the fastify routes do. Other routes stay with fastify (server.ts).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../logging.js';
import { BUSY_MESSAGE, type ConnectionGuards } from './connection-guards.js';
import { parseJsonBody } from './json-body.js';
import type { WebhookLimits } from './limits.js';
import { admissionReviewBytes, reviewAdmission, type ReviewDeps } from './review.js';

export const INJECT_PATH = '/inject';

const JSON_TYPE = 'application/json; charset=utf-8';

/** `application/json`, any case, with or without parameters (`; charset=utf-8`). */
function isJson(contentType: string | undefined): boolean {
  if (contentType === undefined || contentType.length < 16) return false;
  if (contentType.slice(0, 16).toLowerCase() !== 'application/json') return false;
  const next = contentType.charCodeAt(16);
  // End, `;`, space or tab.
  return Number.isNaN(next) || next === 59 || next === 32 || next === 9;
}

interface Refusal {
  readonly status: number;
  readonly reason: string;
  /** A limit was hit (counted on /metrics; logged at debug, so a flood cannot fill the log). */
  readonly limit: boolean;
  /** The rest of the body is not read: the connection cannot be reused. */
  readonly close: boolean;
}

export class AdmissionEndpoint {
  constructor(
    private readonly limits: WebhookLimits,
    private readonly guards: ConnectionGuards,
    private readonly review: ReviewDeps,
    private readonly logger: Logger,
  ) {}

  /** Whether the request is this endpoint's: POST /inject (the API server may add `?timeout=…`). */
  static accepts(req: IncomingMessage): boolean {
    if (req.method !== 'POST') return false;
    const url = req.url ?? '';
    return url.startsWith(INJECT_PATH) && (url.length === INJECT_PATH.length || url.charCodeAt(INJECT_PATH.length) === 63 /* ? */);
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    const { limits, guards } = this;
    if (!isJson(req.headers['content-type'])) {
      this.refuse(req, res, { status: 415, reason: `Unsupported Media Type: ${String(req.headers['content-type']).slice(0, 64)}`, limit: false, close: true });
      return;
    }
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > limits.bodyLimit) {
      guards.counters.inc('body_limit');
      this.refuse(req, res, { status: 413, reason: 'Request body is too large', limit: true, close: true });
      return;
    }
    // Body bytes counted in the in-flight budget: out when the response is done (or the connection gone).
    let held = 0;
    res.once('close', () => guards.releaseBodyBytes(held));
    const timer = guards.startBodyTimer(req);
    let first: Buffer | undefined;
    let more: Buffer[] | undefined;
    let refused = false;
    const stop = (refusal: Refusal): void => {
      refused = true;
      clearTimeout(timer);
      req.off('data', onData);
      first = undefined;
      more = undefined;
      this.refuse(req, res, refusal);
    };
    const onData = (chunk: Buffer): void => {
      if (held + chunk.length > limits.bodyLimit) {
        guards.counters.inc('body_limit');
        stop({ status: 413, reason: 'Request body is too large', limit: true, close: true });
        return;
      }
      if (!guards.reserveBodyBytes(chunk.length)) {
        stop({ status: 503, reason: BUSY_MESSAGE, limit: true, close: true });
        return;
      }
      held += chunk.length;
      // Nearly always one chunk: no array, no copy.
      if (first === undefined) first = chunk;
      else (more ??= [first]).push(chunk);
    };
    req.on('data', onData);
    // An aborted request: its socket is gone, the timer and the budget are released by 'close'.
    req.on('error', () => clearTimeout(timer));
    req.once('end', () => {
      clearTimeout(timer);
      if (refused) return;
      const body = more !== undefined ? Buffer.concat(more, held) : first;
      first = undefined;
      more = undefined;
      void this.answer(req, res, body === undefined ? '' : body.toString('utf8'));
    });
  }

  private async answer(req: IncomingMessage, res: ServerResponse, text: string): Promise<void> {
    const parsed = parseJsonBody(text);
    if (!parsed.ok) {
      this.refuse(req, res, { status: 400, reason: parsed.error, limit: false, close: false });
      return;
    }
    let outcome: Awaited<ReturnType<typeof reviewAdmission>>;
    try {
      outcome = await reviewAdmission(parsed.value, this.review);
    } catch (err) {
      // reviewAdmission answers its own errors; this is a bug of ours, and the process goes on.
      this.logger.error('admission review failed', { error: err instanceof Error ? err.message : String(err) });
      this.refuse(req, res, { status: 500, reason: 'internal error', limit: false, close: false });
      return;
    }
    if (outcome.status === 400) {
      this.logger.warn('malformed AdmissionReview', { reason: outcome.body.error });
      this.send(res, 400, JSON.stringify(outcome.body), false);
      return;
    }
    this.send(res, 200, admissionReviewBytes(outcome.body), false);
  }

  private refuse(req: IncomingMessage, res: ServerResponse, r: Refusal): void {
    this.logger.log(r.limit ? 'debug' : 'warn', 'webhook request rejected', {
      method: req.method, url: (req.url ?? '').slice(0, 64), status: r.status, reason: r.reason,
    });
    this.send(res, r.status, JSON.stringify({ error: r.reason }), r.close);
  }

  private send(res: ServerResponse, status: number, body: Buffer | string, close: boolean): void {
    // The client may have gone while the review ran.
    if (res.headersSent || res.destroyed) return;
    const length = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
    res.writeHead(status, close
      ? { 'content-type': JSON_TYPE, 'content-length': length, connection: 'close' }
      : { 'content-type': JSON_TYPE, 'content-length': length });
    res.end(body);
  }
}
