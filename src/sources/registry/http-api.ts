// HTTP API of the REST registry, mounted on the control plane's HTTP server (port 15014):
//   POST   /registry/endpoints   {address, port, service, namespace?, servicePort?, zone?, labels?}
//   DELETE /registry/endpoints   same body, or ?address=&port=&service=&namespace=
//   GET    /registry/endpoints   [?service=&namespace=]
//   DELETE /registry/services/{namespace}/{name}   the service and all its endpoints
//   GET    /edsservice/register?endpoint=IP:PORT[&service=S][&namespace=N]    -> "IP:PORT ok"
//   GET    /edsservice/deregister?endpoint=IP:PORT[&service=S][&namespace=N]  -> "IP:PORT ok"
// The classic /edsservice paths answer plain text and default to service `myservice`. Every path
// passes the access check first (registry-access.ts); bodies are JSON (Content-Type:
// application/json), at most the admin server's body limit (1 MiB).
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { RegistryAccess } from './registry-access.js';
import { type EndpointRegistry, RegistryError, hostPort, parseHostPort } from './registry-source.js';

const CLASSIC_DEFAULT_SERVICE = 'myservice';
const JSON_TYPE = 'application/json';

type Query = Record<string, string | string[] | undefined>;

export function registerRegistryRoutes(app: FastifyInstance, registry: EndpointRegistry, access: RegistryAccess = new RegistryAccess()): void {
  const guard = async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const refused = access.check(req.socket.remoteAddress, req.headers.authorization);
    if (refused !== undefined) {
      await reply.code(refused.status).header('www-authenticate', 'Bearer realm="pilotfish-registry"').send({ error: refused.reason });
      return;
    }
    if (hasBody(req) && !isJson(req.headers['content-type'])) {
      await reply.code(415).send({ error: `send the body as JSON with Content-Type: ${JSON_TYPE}` });
    }
  };
  const json = { onRequest: guard, errorHandler: jsonErrors };
  const text = { onRequest: guard };

  app.post('/registry/endpoints', json, async (req, reply) => {
    return answerJson(reply, async () => {
      const { created, endpoint } = await registry.register(req.body);
      reply.code(created ? 201 : 200);
      return { created, endpoint };
    });
  });

  app.delete('/registry/endpoints', json, async (req, reply) => {
    return answerJson(reply, async () => {
      const input = req.body !== undefined && req.body !== null ? req.body : singleValues(req.query as Query);
      return { endpoint: await registry.deregister(input) };
    });
  });

  app.get('/registry/endpoints', json, async (req, reply) => {
    return answerJson(reply, async () => {
      const q = singleValues(req.query as Query);
      const filter: { service?: string; namespace?: string } = {};
      if (typeof q.service === 'string') filter.service = q.service;
      if (typeof q.namespace === 'string') filter.namespace = q.namespace;
      return { endpoints: registry.list(filter) };
    });
  });

  app.delete('/registry/services/:namespace/:name', json, async (req, reply) => {
    return answerJson(reply, async () => {
      const { namespace, name } = req.params as { namespace: string; name: string };
      return { deleted: await registry.deleteService(namespace, name) };
    });
  });

  app.get('/edsservice/register', text, async (req, reply) => {
    return answerText(reply, async () => {
      const r = (await registry.register(classicInput(req.query as Query))).endpoint;
      return `${hostPort(r.address, r.port)} ok`;
    });
  });

  app.get('/edsservice/deregister', text, async (req, reply) => {
    return answerText(reply, async () => {
      const r = await registry.deregister(classicInput(req.query as Query));
      return `${hostPort(r.address, r.port)} ok`;
    });
  });
}

function hasBody(req: FastifyRequest): boolean {
  const length = req.headers['content-length'];
  return (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined;
}

function isJson(contentType: string | undefined): boolean {
  return contentType !== undefined && contentType.split(';')[0]?.trim().toLowerCase() === JSON_TYPE;
}

/** Framework errors (malformed JSON, a body over the limit) answered in the registry's JSON shape. */
function jsonErrors(err: FastifyError, _req: FastifyRequest, reply: FastifyReply): void {
  const status = err.statusCode;
  // Anything else is ours: the admin server's handler logs it.
  if (status === undefined || status < 400 || status >= 500) throw err;
  void reply.code(status).send({ error: err.message });
}

function classicInput(query: Query): Record<string, unknown> {
  const q = singleValues(query);
  const unknown = Object.keys(q).filter((k) => k !== 'endpoint' && k !== 'service' && k !== 'namespace');
  if (unknown.length > 0) throw new RegistryError(400, `unknown parameter ${unknown.map((k) => `"${k}"`).join(', ')}; expected endpoint, service, namespace`);
  if (q.endpoint === undefined || q.endpoint === '') throw new RegistryError(400, 'missing endpoint parameter (endpoint=IP:PORT)');
  const { address, port } = parseHostPort(q.endpoint);
  return {
    address, port,
    service: q.service ?? CLASSIC_DEFAULT_SERVICE,
    ...(q.namespace !== undefined ? { namespace: q.namespace } : {}),
  };
}

/** Query parameters given once; a repeated parameter is ambiguous and rejected. */
function singleValues(query: Query | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(query ?? {})) {
    if (Array.isArray(v)) throw new RegistryError(400, `parameter "${k}" is given more than once`);
    if (v !== undefined) out[k] = v;
  }
  return out;
}

async function answerJson(reply: FastifyReply, fn: () => Promise<unknown>): Promise<unknown> {
  try {
    return await fn();
  } catch (err) {
    if (!(err instanceof RegistryError)) throw err;
    reply.code(err.status);
    return { error: err.message };
  }
}

async function answerText(reply: FastifyReply, fn: () => Promise<string>): Promise<string> {
  reply.type('text/plain; charset=utf-8');
  try {
    return await fn();
  } catch (err) {
    if (!(err instanceof RegistryError)) throw err;
    reply.code(err.status);
    return err.message;
  }
}
