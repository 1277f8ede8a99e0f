// Applies WebhookLimits to the webhook's HTTPS server and counts every hit. Node provides most of
// the mechanisms (handshakeTimeout, headersTimeout, requestTimeout, socket idle timeout,
// maxConnections); the body timeout and the in-flight body budget are ours, as fastify hooks.
import type { Server as HttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { Transform, type Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '../logging.js';
import type { WebhookLimits } from './limits.js';
import type { WebhookLimitCounters } from './limit-counters.js';

/** Server options the limits decide, for https.createServer (through fastify). */
export function tlsServerOptions(limits: WebhookLimits): { handshakeTimeout: number; connectionsCheckingInterval: number } {
  // Node checks headers/request deadlines on this period (30 s by default, which would let a
  // 10 s deadline slip to 40 s); a tenth of the shortest deadline keeps the slip small.
  const shortest = Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs);
  return { handshakeTimeout: limits.handshakeTimeoutMs, connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(shortest / 10))) };
}

/** Fastify's own options the limits decide. */
export function fastifyLimitOptions(limits: WebhookLimits): { connectionTimeout: number; keepAliveTimeout: number; requestTimeout: number; bodyLimit: number } {
  return {
    connectionTimeout: limits.idleTimeoutMs,
    keepAliveTimeout: limits.idleTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    bodyLimit: limits.bodyLimit,
  };
}

/** Error code of a body refused because the in-flight budget is spent. */
export const BUSY = 'PF_WEBHOOK_BUSY';

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
    // fastify sets requestTimeout; headersTimeout must not exceed it (Node's rule).
    server.headersTimeout = Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs);

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
      const timer = setTimeout(() => {
        counters.inc('body_timeout');
        this.logger.debug('webhook request body too slow; connection closed', { timeoutMs: limits.bodyTimeoutMs });
        request.raw.destroy();
      }, limits.bodyTimeoutMs);
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
      this.inflightBodyBytes -= held;
      held = 0;
    });
    return payload.pipe(new Transform({
      // An arrow function keeps `this` (the guards); Transform calls it with the stream as receiver,
      // which it does not need.
      transform: (chunk: Buffer, _encoding, callback) => {
        if (this.inflightBodyBytes + chunk.length > this.limits.maxInflightBodyBytes) {
          this.counters.inc('inflight_body');
          const busy = Object.assign(new Error('webhook busy: too many request bodies being received at once; retry'), {
            statusCode: 503, code: BUSY,
          });
          callback(busy);
          return;
        }
        this.inflightBodyBytes += chunk.length;
        held += chunk.length;
        callback(null, chunk);
      },
    }));
  }
}
