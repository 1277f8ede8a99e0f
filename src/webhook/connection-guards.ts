// Applies WebhookLimits to the webhook's HTTPS server and counts every hit. Node provides most of
// the mechanisms (handshakeTimeout, headersTimeout, requestTimeout, socket idle timeout,
// maxConnections); the body timeout and the in-flight body budget are ours: fastify hooks for the
// routes fastify serves, and admission-endpoint.ts applies them itself on POST /inject.
import type { Server as HttpsServer, ServerOptions } from 'node:https';
import type { Socket } from 'node:net';
import { Transform, type Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '../logging.js';
import type { WebhookLimits } from './limits.js';
import type { WebhookLimitCounters } from './limit-counters.js';

/**
 * Options of https.createServer the limits decide. The webhook creates its server itself (fastify's
 * serverFactory, see server.ts), so fastify's own timeout options would not reach it: all are here.
 */
export function serverLimitOptions(limits: WebhookLimits): ServerOptions {
  // Node checks headers/request deadlines on this period (30 s by default, which would let a
  // 10 s deadline slip to 40 s); a tenth of the shortest deadline keeps the slip small.
  const shortest = Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs);
  return {
    handshakeTimeout: limits.handshakeTimeoutMs,
    connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(shortest / 10))),
    requestTimeout: limits.requestTimeoutMs,
    // Node's rule: headersTimeout must not exceed requestTimeout.
    headersTimeout: shortest,
    keepAliveTimeout: limits.idleTimeoutMs,
  };
}

/** Error code of a body refused because the in-flight budget is spent. */
export const BUSY = 'PF_WEBHOOK_BUSY';

/** The answer (503) to a body refused because the in-flight budget is spent. */
export const BUSY_MESSAGE = 'webhook busy: too many request bodies being received at once; retry';

/** Fastify error codes that mean the body was refused for its size. */
const BODY_TOO_LARGE = new Set(['FST_ERR_CTP_BODY_TOO_LARGE', 'FST_ERR_CTP_INVALID_CONTENT_LENGTH']);

export class ConnectionGuards {
  private inflightBodyBytes = 0;
  /** Sockets whose current request has complete headers (a timeout then is the request's, not the headers'). */
  private readonly headersIn = new WeakSet<Socket>();
  /** Clears the body timer of a request whose body is still being received. */
  private readonly bodyTimers = new WeakMap<FastifyRequest, () => void>();

  constructor(private readonly limits: WebhookLimits, readonly counters: WebhookLimitCounters, private readonly logger: Logger) {}

  /** Body bytes received by requests not yet answered. */
  get inflightBytes(): number {
    return this.inflightBodyBytes;
  }

  install(app: FastifyInstance<HttpsServer>): void {
    const server = app.server;
    const { limits, counters } = this;
    server.maxConnections = limits.maxConnections;
    // A connection with no traffic either way (idle keep-alive, or a stalled peer) is cut by this.
    server.setTimeout(limits.idleTimeoutMs);

    server.on('drop', () => counters.inc('connections'));
    server.on('tlsClientError', (err: Error & { code?: string }) => {
      if (err.code === 'ERR_TLS_HANDSHAKE_TIMEOUT') counters.inc('handshake_timeout');
    });
    server.on('request', (req: { socket: Socket }, res: { once(e: 'close', f: () => void): void }) => {
      const socket = req.socket;
      this.headersIn.add(socket);
      res.once('close', () => this.headersIn.delete(socket));
    });
    server.on('clientError', (err: Error & { code?: string }, socket: Socket) => {
      if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') counters.inc(this.headersIn.has(socket) ? 'request_timeout' : 'headers_timeout');
    });
    // With a listener here Node no longer destroys idle sockets itself: it is done below.
    server.on('timeout', (socket: Socket) => {
      counters.inc('idle_timeout');
      socket.destroy();
    });

    app.addHook('onRequest', (request, reply, done) => {
      const timer = this.startBodyTimer(request.raw);
      // The body is in once validation starts; a request that ends earlier (error, abort) ends here.
      const clear = (): void => clearTimeout(timer);
      reply.raw.once('close', clear);
      this.bodyTimers.set(request, clear);
      done();
    });
    app.addHook('preParsing', (_request, reply, payload, done) => {
      done(null, this.meter(payload, reply));
    });
    app.addHook('preValidation', (request, _reply, done) => {
      this.bodyTimers.get(request)?.();
      done();
    });
  }

  /**
   * Starts one request's body timeout: if the timer is not cleared within bodyTimeoutMs (the body
   * is in), the request's connection is closed and the hit counted.
   */
  startBodyTimer(request: { destroy(): void }): NodeJS.Timeout {
    // One function per webhook, the request as its argument: no closure per request.
    return setTimeout(this.bodyTooSlow, this.limits.bodyTimeoutMs, request);
  }

  private readonly bodyTooSlow = (request: { destroy(): void }): void => {
    this.counters.inc('body_timeout');
    this.logger.debug('webhook request body too slow; connection closed', { timeoutMs: this.limits.bodyTimeoutMs });
    request.destroy();
  };

  /**
   * Counts `bytes` more body bytes in, unless the process-wide budget would pass
   * maxInflightBodyBytes: then nothing is counted, the hit is, and the body is to be refused.
   */
  reserveBodyBytes(bytes: number): boolean {
    if (this.inflightBodyBytes + bytes > this.limits.maxInflightBodyBytes) {
      this.counters.inc('inflight_body');
      return false;
    }
    this.inflightBodyBytes += bytes;
    return true;
  }

  /** Counts out bytes that reserveBodyBytes counted in (their response is done). */
  releaseBodyBytes(bytes: number): void {
    this.inflightBodyBytes -= bytes;
  }

  /** Counts a body refused for its size (called from the error handler); true for any limit's error. */
  noteError(code: string | undefined): boolean {
    if (code !== undefined && BODY_TOO_LARGE.has(code)) {
      this.counters.inc('body_limit');
      return true;
    }
    return code === BUSY;
  }

  /**
   * Counts the body bytes as they arrive against the process-wide budget; they stay counted until
   * the response is done (the parsed body lives that long). Bytes actually received are what is
   * counted, so a client that declares a large body and stalls holds nothing.
   */
  private meter(payload: Readable, reply: FastifyReply): Readable {
    let held = 0;
    reply.raw.once('close', () => {
      this.releaseBodyBytes(held);
      held = 0;
    });
    return payload.pipe(new Transform({
      // An arrow function keeps `this` (the guards); Transform calls it with the stream as receiver,
      // which it does not need.
      transform: (chunk: Buffer, _encoding, callback) => {
        if (!this.reserveBodyBytes(chunk.length)) {
          const busy = Object.assign(new Error(BUSY_MESSAGE), {
            statusCode: 503, code: BUSY,
          });
          callback(busy);
          return;
        }
        held += chunk.length;
        callback(null, chunk);
      },
    }));
  }
}
