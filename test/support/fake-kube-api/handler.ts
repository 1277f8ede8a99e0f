// The HTTP side: turns each request into a store operation, list or watch, after consulting the
// fault table, and answers with the bodies and codes the real server uses.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseYaml } from 'yaml';
import { discoveryDocument } from './discovery.js';
import { applyJsonPatch, applyMergePatch, applyStrategicMergePatch } from './patch.js';
import type { Fault, FaultTable, RequestLog, RequestRecord, Verb } from './requests.js';
import { apiVersionOf, type ResourceRegistry, typeKey } from './resources.js';
import { isDiscovery, type PathParts, resolveRoute, type ResourceRoute, splitPath } from './routes.js';
import { both, MATCH_ALL, parseFieldSelector, parseLabelSelector, type Selector } from './selectors.js';
import {
  ApiError, badRequest, expired, injectedError, successStatus,
} from './status.js';
import type { DeletePreconditions, ObjectStore } from './store.js';
import type { AccessRules } from './subject-access-review.js';
import type { TokenRegistry } from './token-review.js';
import type { KubeObject, StatusObject, StoredObject } from './types.js';
import type { WatchHub } from './watch.js';

export interface HandlerContext {
  readonly registry: ResourceRegistry;
  readonly store: ObjectStore;
  readonly faults: FaultTable;
  readonly log: RequestLog;
  readonly hub: WatchHub;
  readonly versionInfo: Record<string, string>;
  readonly serverAddress: () => string;
  /** When set, requests must carry `Authorization: Bearer <token>`. */
  readonly token: string | undefined;
  /** Server-side cap on watches that ask for no timeout (the real server picks 30-60 min). */
  readonly watchTimeoutSeconds: number | undefined;
  /** Tokens a TokenReview recognises. */
  readonly tokens: TokenRegistry;
  /** What a SubjectAccessReview allows. */
  readonly access: AccessRules;
}

const TOKEN_REVIEW_PATH = '/apis/authentication.k8s.io/v1/tokenreviews';
const SUBJECT_ACCESS_REVIEW_PATH = '/apis/authorization.k8s.io/v1/subjectaccessreviews';

type Query = Record<string, string>;

const MAX_BODY = 8 * 1024 * 1024;

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) reject(new ApiError(413, 'RequestEntityTooLarge', 'request entity too large'));
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseBody(text: string, contentType: string | undefined): unknown {
  if (text.trim() === '') return undefined;
  try {
    return contentType === 'application/apply-patch+yaml' ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    throw badRequest(`the request body could not be decoded: ${(err as Error).message}`);
  }
}

function guessVerb(method: string, parts: PathParts | undefined, query: Query): Verb {
  const watch = query.watch === 'true' || query.watch === '1';
  switch (method) {
    case 'POST': return 'create';
    case 'PUT': return 'update';
    case 'PATCH': return 'patch';
    case 'DELETE': return parts?.name ? 'delete' : 'deletecollection';
    default: return watch || parts?.watchPrefix ? 'watch' : parts?.name || !parts ? 'get' : 'list';
  }
}

function sendJson(ctx: HandlerContext, record: RequestRecord, res: ServerResponse, status: number, body: unknown,
  headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  ctx.log.finish(record, status);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function sendText(ctx: HandlerContext, record: RequestRecord, res: ServerResponse, status: number, text: string): void {
  ctx.log.finish(record, status);
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function sendError(ctx: HandlerContext, record: RequestRecord, res: ServerResponse, err: ApiError): void {
  const headers: Record<string, string> = {};
  if (err.details?.retryAfterSeconds !== undefined) headers['Retry-After'] = String(err.details.retryAfterSeconds);
  sendJson(ctx, record, res, err.code, err.toStatus(), headers);
}

function startStream(ctx: HandlerContext, record: RequestRecord, res: ServerResponse): void {
  ctx.log.finish(record, 200);
  res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' });
  // Headers go out now: the client's fetch resolves on them, and would time out waiting otherwise.
  res.flushHeaders();
}

/** 200, one ERROR event carrying `status`, end: how the server reports a failed watch (e.g. 410 Expired). */
function watchErrorEvent(ctx: HandlerContext, record: RequestRecord, res: ServerResponse, status: StatusObject): void {
  startStream(ctx, record, res);
  res.end(`${JSON.stringify({ type: 'ERROR', object: status })}\n`);
}

function selectorFor(route: ResourceRoute, query: Query): Selector {
  const byName: Selector = route.name === undefined ? MATCH_ALL : (obj) => obj.metadata.name === route.name;
  return both(byName, both(parseLabelSelector(query.labelSelector), parseFieldSelector(query.fieldSelector, route.rt)));
}

// Items of built-in lists come without apiVersion/kind (the typed list encoding drops them);
// custom resource lists keep them. Clients that assume otherwise break on a real server too.
function listItem(route: ResourceRoute, obj: StoredObject): KubeObject {
  if (route.rt.custom) return obj;
  const { apiVersion: _a, kind: _k, ...rest } = obj;
  return rest as KubeObject;
}

interface ContinueToken {
  rv: number;
  after: string;
}

function decodeContinue(token: string): ContinueToken {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as ContinueToken;
    if (typeof parsed.rv === 'number' && typeof parsed.after === 'string') return parsed;
  } catch {
    // reported below
  }
  throw badRequest(`continue key is not valid: ${token}`);
}

function itemKey(obj: KubeObject): string {
  return `${obj.metadata.namespace ?? ''}/${obj.metadata.name ?? ''}`;
}

function handleList(ctx: HandlerContext, route: ResourceRoute, query: Query): Record<string, unknown> {
  const { items, rv } = ctx.store.list(route.rt, route.namespace, selectorFor(route, query));
  let page = items;
  let listRv = rv;
  if (query.continue) {
    const token = decodeContinue(query.continue);
    if (token.rv < ctx.store.oldestResumableResourceVersion()) {
      throw expired('The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.');
    }
    listRv = token.rv;
    page = page.filter((obj) => itemKey(obj) > token.after);
  }
  const metadata: Record<string, unknown> = { resourceVersion: String(listRv) };
  const limit = query.limit === undefined ? 0 : Number(query.limit);
  if (!Number.isInteger(limit) || limit < 0) throw badRequest(`invalid limit: ${query.limit}`);
  if (limit > 0 && page.length > limit) {
    const last = page[limit - 1];
    metadata.continue = Buffer.from(JSON.stringify({ rv: listRv, after: itemKey(last) })).toString('base64url');
    metadata.remainingItemCount = page.length - limit;
    page = page.slice(0, limit);
  }
  return { kind: `${route.rt.kind}List`, apiVersion: apiVersionOf(route.rt), metadata,
    items: page.map((obj) => listItem(route, obj)) };
}

function handleWatch(ctx: HandlerContext, record: RequestRecord, res: ServerResponse, route: ResourceRoute,
  query: Query, path: string): void {
  const selector = selectorFor(route, query);
  const rvParam = query.resourceVersion ?? '';
  const sendInitial = query.sendInitialEvents === 'true';
  const allowBookmarks = query.allowWatchBookmarks === 'true' || query.allowWatchBookmarks === '1';
  let replay;
  if (rvParam !== '' && rvParam !== '0' && !sendInitial) {
    const from = Number(rvParam);
    if (!Number.isInteger(from) || from < 0) throw badRequest(`invalid resource version: ${rvParam}`);
    try {
      replay = ctx.store.eventsSince(from).filter((e) => e.typeKey === typeKey(route.rt));
    } catch (err) {
      if (err instanceof ApiError && err.code === 410) {
        watchErrorEvent(ctx, record, res, err.toStatus());
        return;
      }
      throw err;
    }
  }
  startStream(ctx, record, res);
  const conn = ctx.hub.open({
    path, group: route.group, resource: route.rt.resource, namespace: route.namespace,
    labelSelector: query.labelSelector, fieldSelector: query.fieldSelector, resourceVersion: rvParam, allowBookmarks,
  }, route.rt, selector, res);
  if (replay) {
    for (const event of replay) conn.deliver(event);
  } else {
    conn.initial(ctx.store.list(route.rt, route.namespace, MATCH_ALL).items);
    if (sendInitial) {
      conn.bookmark(String(ctx.store.currentResourceVersion()), { 'k8s.io/initial-events-end': 'true' });
    }
  }
  const timeoutSeconds = query.timeoutSeconds !== undefined ? Number(query.timeoutSeconds) : ctx.watchTimeoutSeconds;
  if (timeoutSeconds !== undefined && Number.isFinite(timeoutSeconds) && timeoutSeconds > 0) {
    // A stalled watch is stuck for good: it does not even time out.
    const timer = setTimeout(() => { if (!conn.stalled) conn.end(); }, timeoutSeconds * 1000);
    conn.onClose(() => clearTimeout(timer));
  }
}

const PATCH_TYPES = ['application/json-patch+json', 'application/merge-patch+json',
  'application/strategic-merge-patch+json', 'application/apply-patch+yaml'];

function handlePatch(ctx: HandlerContext, route: ResourceRoute, query: Query, contentType: string | undefined,
  body: unknown, dryRun: boolean): { status: number; object: StoredObject } {
  const { rt, namespace } = route;
  const name = route.name as string;
  if (!contentType || !PATCH_TYPES.includes(contentType)) {
    throw new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: ${PATCH_TYPES.join(', ')}`);
  }
  if (contentType === 'application/strategic-merge-patch+json' && rt.custom) {
    throw new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`);
  }
  if (body === undefined) throw badRequest('the patch body is empty');
  const writeOptions = { fromClient: true, dryRun, verb: 'patch' as const, subresource: route.subresource };
  if (contentType === 'application/apply-patch+yaml') {
    if (!query.fieldManager) {
      throw new ApiError(422, 'Invalid', 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch');
    }
    let current: StoredObject | undefined;
    try {
      current = ctx.store.get(rt, namespace, name);
    } catch (err) {
      if (!(err instanceof ApiError && err.code === 404) || route.subresource) throw err;
    }
    // Server-side apply approximated as a merge patch that may create the object.
    if (!current) return { status: 201, object: ctx.store.create(rt, namespace, body as KubeObject, { fromClient: true, dryRun }) };
    return { status: 200, object: ctx.store.update(rt, namespace, name, applyMergePatch(current, body) as KubeObject, writeOptions) };
  }
  const current = ctx.store.get(rt, namespace, name);
  let patched: unknown;
  if (contentType === 'application/json-patch+json') patched = applyJsonPatch(current, body);
  else if (contentType === 'application/merge-patch+json') patched = applyMergePatch(current, body);
  else patched = applyStrategicMergePatch(current, body);
  if (patched === null || typeof patched !== 'object' || Array.isArray(patched)) {
    throw badRequest('the patch turned the object into something that is not an object');
  }
  return { status: 200, object: ctx.store.update(rt, namespace, name, patched as KubeObject, writeOptions) };
}

function deletePreconditions(body: unknown): DeletePreconditions | undefined {
  if (body === null || typeof body !== 'object') return undefined;
  const pre = (body as { preconditions?: DeletePreconditions }).preconditions;
  return pre ?? undefined;
}

function deletedResponse(route: ResourceRoute, obj: StoredObject): unknown {
  if (route.rt.returnsDeletedObject) return obj;
  return successStatus({ name: obj.metadata.name, ...(route.rt.group ? { group: route.rt.group } : {}),
    kind: route.rt.resource, uid: obj.metadata.uid });
}

function dispatch(ctx: HandlerContext, record: RequestRecord, res: ServerResponse, route: ResourceRoute,
  query: Query, body: unknown, contentType: string | undefined, path: string): void {
  const { rt, namespace } = route;
  const dryRun = query.dryRun === 'All';
  switch (route.verb) {
    case 'get':
      return sendJson(ctx, record, res, 200, ctx.store.get(rt, namespace, route.name as string));
    case 'list':
      return sendJson(ctx, record, res, 200, handleList(ctx, route, query));
    case 'watch':
      return handleWatch(ctx, record, res, route, query, path);
    case 'create':
      return sendJson(ctx, record, res, 201, ctx.store.create(rt, namespace, body as KubeObject, { fromClient: true, dryRun }));
    case 'update':
      return sendJson(ctx, record, res, 200, ctx.store.update(rt, namespace, route.name as string, body as KubeObject,
        { fromClient: true, dryRun, verb: 'update', subresource: route.subresource }));
    case 'patch': {
      const { status, object } = handlePatch(ctx, route, query, contentType, body, dryRun);
      return sendJson(ctx, record, res, status, object);
    }
    case 'delete':
      return sendJson(ctx, record, res, 200, deletedResponse(route,
        ctx.store.delete(rt, namespace, route.name as string, deletePreconditions(body), { fromClient: true, dryRun })));
    case 'deletecollection': {
      const { items } = ctx.store.list(rt, namespace, selectorFor(route, query));
      const deleted = items.map((obj) => ctx.store.delete(rt, obj.metadata.namespace, obj.metadata.name, undefined,
        { fromClient: true, dryRun }));
      return sendJson(ctx, record, res, 200, { kind: `${rt.kind}List`, apiVersion: apiVersionOf(rt),
        metadata: { resourceVersion: String(ctx.store.currentResourceVersion()) }, items: deleted });
    }
  }
}

function answerFault(ctx: HandlerContext, record: RequestRecord, res: ServerResponse, fault: Fault): void {
  record.faulted = true;
  if (fault.spec.hang) {
    ctx.log.finish(record, 0);
    return;
  }
  const err = injectedError(fault.spec.status, fault.spec.message, fault.spec.retryAfterSeconds);
  if (fault.spec.asWatchEvent && record.verb === 'watch') {
    watchErrorEvent(ctx, record, res, err.toStatus());
  } else {
    sendError(ctx, record, res, err);
  }
}

const HEALTH_PATHS = new Set(['/healthz', '/readyz', '/livez']);

export async function handleRequest(ctx: HandlerContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://fake-kube-api');
  const query: Query = Object.fromEntries(url.searchParams.entries());
  const method = (req.method ?? 'GET').toUpperCase();
  const path = url.pathname;
  const contentType = req.headers['content-type']?.split(';')[0].trim().toLowerCase();
  const split = splitPath(path, ctx.registry);
  const parts = split && !isDiscovery(split) ? split : undefined;
  const watchParam = query.watch === 'true' || query.watch === '1';
  const route = parts ? resolveRoute(parts, method, watchParam, ctx.registry) : undefined;
  const routed = route instanceof ApiError ? undefined : route;
  const record = ctx.log.begin({
    method, path, query, contentType,
    verb: routed?.verb ?? guessVerb(method, parts, query),
    group: parts?.group ?? '', version: parts?.version ?? '', resource: parts?.resource ?? '',
    subresource: parts?.subresource, namespace: parts?.namespace, name: parts?.name,
  });
  try {
    if (ctx.token !== undefined && req.headers.authorization !== `Bearer ${ctx.token}`) {
      throw new ApiError(401, 'Unauthorized', 'Unauthorized');
    }
    const text = await readBody(req);
    const fault = ctx.faults.take(record);
    if (fault) return answerFault(ctx, record, res, fault);
    if (path === '/version' || path === '/version/') return sendJson(ctx, record, res, 200, ctx.versionInfo);
    if (HEALTH_PATHS.has(path)) return sendText(ctx, record, res, 200, 'ok');
    if (split && isDiscovery(split)) {
      return sendJson(ctx, record, res, 200, discoveryDocument(split, ctx.registry, ctx.serverAddress()));
    }
    if (path === TOKEN_REVIEW_PATH && method === 'POST') {
      return sendJson(ctx, record, res, 201, ctx.tokens.review(parseBody(text, contentType)));
    }
    if (path === SUBJECT_ACCESS_REVIEW_PATH && method === 'POST') {
      return sendJson(ctx, record, res, 201, ctx.access.review(parseBody(text, contentType)));
    }
    if (!parts || route === undefined) throw new ApiError(404, 'NotFound', `the server could not find the requested resource (${path})`);
    if (route instanceof ApiError) throw route;
    return dispatch(ctx, record, res, route, query, parseBody(text, contentType), contentType, path);
  } catch (err) {
    const apiError = err instanceof ApiError ? err : new ApiError(500, 'InternalError',
      `fake-kube-api internal error: ${(err as Error).stack ?? String(err)}`);
    if (res.headersSent) {
      res.destroy();
      ctx.log.finish(record, apiError.code);
    } else {
      sendError(ctx, record, res, apiError);
    }
  }
}
