// The HTTPS transport: POST /inject for AdmissionReview v1 (admission-endpoint.ts, on the raw
// request), fastify for the health and metrics endpoints and everything else, and hot reload of
// the serving certificate (new connections get the new one, open ones finish with the old; the
// process never restarts for a rotation). Slow and idle clients are cut off by the limits in
// limits.ts (connection-guards.ts applies them).
import https, { type Server as HttpsServer } from 'node:https';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from '../logging.js';
import { AdmissionEndpoint, INJECT_PATH } from './admission-endpoint.js';
import type { ReviewDeps } from './review.js';
import { describeCert, type ServingCertificateSource } from './tls/source.js';
import type { KeyPairPem } from './tls/certs.js';
import { resolveWebhookLimits, type WebhookLimits } from './limits.js';
import { WebhookLimitCounters } from './limit-counters.js';
import { BUSY, ConnectionGuards, serverLimitOptions } from './connection-guards.js';

export { INJECT_PATH };

interface WebhookServerOptions {
  readonly host: string;
  /** 0 picks a free port (tests); the bound port is in the result and in the "listening" log. */
  readonly port: number;
  readonly certificates: ServingCertificateSource;
  readonly review: ReviewDeps;
  /** Timeouts, connection cap and body bounds; DEFAULT_WEBHOOK_LIMITS for what is not given. */
  readonly limits?: Partial<WebhookLimits>;
  readonly logger: Logger;
}

export interface WebhookServer {
  readonly port: number;
  /** How often each limit was hit (also on /metrics). */
  readonly limitHits: WebhookLimitCounters;
  /** Body bytes received and not yet answered (see WebhookLimits.maxInflightBodyBytes). */
  inflightBodyBytes(): number;
  close(): Promise<void>;
}

export async function startWebhookServer(o: WebhookServerOptions): Promise<WebhookServer> {
  const { logger } = o;
  const limits = resolveWebhookLimits(o.limits);
  const guards = new ConnectionGuards(limits, new WebhookLimitCounters(), logger);
  let app: FastifyInstance<HttpsServer> | undefined;
  const onChange = (pair: KeyPairPem): void => {
    if (!app) return;
    app.server.setSecureContext({ cert: pair.certPem, key: pair.keyPem });
    logger.info('serving certificate reloaded', describeCert(pair.certPem));
  };
  const first = await o.certificates.start(onChange);

  const admissions = new AdmissionEndpoint(limits, guards, o.review, logger);
  app = Fastify({
    // The server is made here so that POST /inject can be answered before fastify's routing.
    serverFactory: (fastifyHandler) => https.createServer(
      { cert: first.certPem, key: first.keyPem, ...serverLimitOptions(limits) },
      (req, res) => {
        if (AdmissionEndpoint.accepts(req)) admissions.handle(req, res);
        else fastifyHandler(req, res);
      },
    ),
    bodyLimit: limits.bodyLimit,
    logger: false,
  }) as unknown as FastifyInstance<HttpsServer>;
  guards.install(app);

  // Every failure (bad JSON, too large, wrong content type) answers with the reason as JSON.
  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, request, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    // A limit hit is counted on /metrics; logging each at warn would let a flood write the log.
    const limitHit = guards.noteError(err.code);
    logger.log(limitHit ? 'debug' : 'warn', 'webhook request rejected', {
      method: request.method, url: request.url.slice(0, 64), status, reason: err.message,
    });
    if (err.code === BUSY) void reply.header('connection', 'close');
    void reply.code(status).send({ error: err.message });
  });

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async () => ({ status: 'ok' }));
  app.get('/metrics', async (_request, reply) => reply.type('text/plain; version=0.0.4')
    .send(o.review.metrics.toPrometheus() + guards.counters.toPrometheus()));

  try {
    await app.listen({ host: o.host, port: o.port });
  } catch (err) {
    o.certificates.stop();
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : o.port;
  logger.info('webhook listening', { host: o.host, port, path: INJECT_PATH, ...describeCert(first.certPem) });

  const server = app;
  return {
    port,
    limitHits: guards.counters,
    inflightBodyBytes: () => guards.inflightBytes,
    async close() {
      o.certificates.stop();
      await server.close();
      await o.review.namespaces.close?.();
    },
  };
}
