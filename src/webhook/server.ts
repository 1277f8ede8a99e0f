// The HTTPS transport: fastify on the webhook port, POST /inject for AdmissionReview v1, health
// endpoints, and hot reload of the serving certificate (new connections get the new one, open
// ones finish with the old; the process never restarts for a rotation).
import type { Server as HttpsServer } from 'node:https';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from '../logging.js';
import { admissionReviewJson, reviewAdmission, type ReviewDeps } from './review.js';
import { describeCert, type ServingCertificateSource } from './tls/source.js';
import type { KeyPairPem } from './tls/certs.js';

export const INJECT_PATH = '/inject';

export interface WebhookServerOptions {
  readonly host: string;
  /** 0 picks a free port (tests); the bound port is in the result and in the "listening" log. */
  readonly port: number;
  readonly certificates: ServingCertificateSource;
  readonly review: ReviewDeps;
  /** Largest accepted request body; the API server caps objects at about 3 MiB. */
  readonly bodyLimit?: number;
  readonly logger: Logger;
}

export interface WebhookServer {
  readonly port: number;
  close(): Promise<void>;
}

export const DEFAULT_BODY_LIMIT = 6 * 1024 * 1024;

/** What fastify would send for an object; the AdmissionReview answer is sent as ready text. */
const JSON_TYPE = 'application/json; charset=utf-8';

export async function startWebhookServer(o: WebhookServerOptions): Promise<WebhookServer> {
  const { logger } = o;
  let app: FastifyInstance<HttpsServer> | undefined;
  const onChange = (pair: KeyPairPem): void => {
    if (!app) return;
    app.server.setSecureContext({ cert: pair.certPem, key: pair.keyPem });
    logger.info('serving certificate reloaded', describeCert(pair.certPem));
  };
  const first = await o.certificates.start(onChange);

  app = Fastify({
    https: { cert: first.certPem, key: first.keyPem },
    bodyLimit: o.bodyLimit ?? DEFAULT_BODY_LIMIT,
    logger: false,
  }) as unknown as FastifyInstance<HttpsServer>;

  // Every failure (bad JSON, too large, wrong content type) answers with the reason as JSON.
  app.setErrorHandler((err: Error & { statusCode?: number }, request, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    logger.warn('webhook request rejected', { method: request.method, url: request.url, status, reason: err.message });
    void reply.code(status).send({ error: err.message });
  });

  app.post(INJECT_PATH, async (request, reply) => {
    const outcome = await reviewAdmission(request.body, o.review);
    if (outcome.status === 400) {
      logger.warn('malformed AdmissionReview', { reason: outcome.body.error });
      return reply.code(400).send(outcome.body);
    }
    return reply.code(200).type(JSON_TYPE).send(admissionReviewJson(outcome.body));
  });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async () => ({ status: 'ok' }));
  app.get('/metrics', async (_request, reply) => reply.type('text/plain; version=0.0.4').send(o.review.metrics.toPrometheus()));

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
    async close() {
      o.certificates.stop();
      await server.close();
    },
  };
}
