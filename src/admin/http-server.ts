// The control plane's own HTTP port (15014): health, readiness, the REST registry, and later
// metrics and debug endpoints. Routes are added by whoever owns them before listen().
import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from '../logging.js';

interface AdminServerOptions {
  logger: Logger;
  /** Readiness: true once every source has synced and xDS is serving. */
  ready: () => boolean;
}

export function createAdminServer(opts: AdminServerOptions): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 });
  app.get('/healthz', async () => 'ok\n');
  app.get('/readyz', async (_req, reply) => {
    if (opts.ready()) return 'ok\n';
    return reply.code(503).send('not ready: waiting for the initial sync\n');
  });
  app.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 ? err.statusCode : 500;
    if (status >= 500) opts.logger.error('admin request failed', { url: req.url, error: err.message });
    void reply.code(status).type('text/plain').send(`${err.message}\n`);
  });
  return app;
}
