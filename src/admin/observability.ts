// Wires metrics, protocol logs and the debug endpoints onto the admin HTTP server (15014):
//   GET /metrics                    Prometheus text format
//   GET /debug/syncz[?proxy=ID]     per proxy and type: sent / ACKed version and nonce, last NACK
//   GET /debug/config_dump?proxy=ID what that proxy's streams last sent, decoded
//   GET /debug/push_status          the last push: trigger, duration, proxies, convergence so far
//   GET /debug/model                the current snapshot, summarized
// The debug endpoints can be turned off; /metrics is always there. Anything under /debug answers
// only a caller DebugAccess allows (loopback, or a token RBAC allows: debug-access.ts); /metrics
// and the health endpoints stay open for scrapers and probes.
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Logger } from '../logging.js';
import type { MeshSnapshot } from '../model/snapshot.js';
import type { PushSummary } from '../xds/cache/push-summary.js';
import type { XdsEvents } from '../xds/server/events.js';
import type { XdsServer } from '../xds/server/index.js';
import type { EncoderStats } from '../xds/cache/encoder.js';
import { DebugAccess, type DebugReviewer } from './debug-access.js';
import { PilotfishMetrics, followTotal } from './metrics.js';
import { summarizeSnapshot } from './model-summary.js';
import { routeOwners } from './route-owners.js';
import { buildConfigDump } from './sent-config.js';
import { buildSyncz } from './syncz.js';
import { XdsObserver } from './xds-observer.js';
import { PROXIED_AUTHORIZATION_HEADER } from './debug-access.js';

/** What observability reads from the snapshot store. */
interface SnapshotFeed {
  current(): MeshSnapshot;
  subscribe(listener: (snapshot: MeshSnapshot) => void): () => void;
}

/** What it reads from the mesh config source. */
interface PushFeed {
  onPush(listener: (summary: PushSummary) => void): void;
  encoderStats(): Readonly<EncoderStats>;
  proxyCount(): number;
}

interface ObservabilityOptions {
  readonly app: FastifyInstance;
  readonly store: SnapshotFeed;
  readonly mesh: PushFeed;
  readonly logger: Logger;
  /** Serve the /debug/* endpoints. */
  readonly debug: boolean;
  /** Share one metrics object with the webhook and informers; created if absent. */
  readonly metrics?: PilotfishMetrics;
  /** Checks tokens of non-loopback /debug callers; absent (`serve`), only loopback callers are answered. */
  readonly debugReviewer?: DebugReviewer;
  /** Replaces the loopback check (tests play a remote caller over loopback with it). */
  readonly isLocal?: (remoteAddress: string | undefined) => boolean;
}

export interface Observability {
  /** Pass to startXdsServer. */
  readonly events: XdsEvents;
  readonly metrics: PilotfishMetrics;
  readonly observer: XdsObserver;
  /** Lets the debug endpoints read the server's streams; until then they answer 503. */
  bindXdsServer(xds: XdsServer): void;
  /** Stops listening to the store. */
  close(): void;
}

export function attachObservability(opts: ObservabilityOptions): Observability {
  const metrics = opts.metrics ?? new PilotfishMetrics();
  const observer = new XdsObserver(metrics, opts.logger);
  let xds: XdsServer | undefined;
  let lastPush: PushSummary | undefined;
  const debounceMs = new Map<number, number>();
  const access = new DebugAccess({
    ...(opts.debugReviewer ? { reviewer: opts.debugReviewer } : {}), ...(opts.isLocal ? { isLocal: opts.isLocal } : {}),
  });
  // On every route, so a /debug route another module adds is gated too. The matched route's
  // pattern is checked, not the raw URL, so no encoding of the path slips past.
  opts.app.addHook('onRequest', async (req, reply) => {
    const route = req.routeOptions.url;
    if (route === undefined || !(route === '/debug' || route.startsWith('/debug/'))) return;
    // Through the API server's pod proxy (`pilotfish proxy-status --namespace`) the caller's own
    // `authorization` is consumed by the API server, so the CLI repeats it in a header of ours.
    const proxied = req.headers[PROXIED_AUTHORIZATION_HEADER];
    const decision = await access.decide(req.socket.remoteAddress, req.headers.authorization ?? (typeof proxied === 'string' ? proxied : undefined));
    if (decision.allowed) return;
    metrics.debugRefused.inc({ reason: decision.reason });
    // Debug level: unauthenticated callers must not be able to fill the log.
    opts.logger.debug('debug request refused', { reason: decision.reason, route, remote: req.socket.remoteAddress });
    if (decision.status === 401) void reply.header('www-authenticate', 'Bearer');
    return reply.code(decision.status).type('text/plain').send(`${decision.message}\n`);
  });

  const stats = (): Readonly<EncoderStats> => opts.mesh.encoderStats();
  metrics.onScrape(followTotal(metrics.resourcesEncoded, () => stats().encoded));
  const limitsSeen = new Map<string, number>();
  metrics.onScrape(() => {
    for (const [limit, hits] of Object.entries(xds?.limitHits() ?? {})) {
      const seen = limitsSeen.get(limit) ?? 0;
      if (hits > seen) metrics.xdsLimitHits.inc({ limit }, hits - seen);
      limitsSeen.set(limit, Math.max(seen, hits));
    }
  });
  metrics.onScrape(followTotal(metrics.resourcesReused, () => stats().reused));

  const unsubscribe = opts.store.subscribe((snapshot) => {
    // The first snapshot waits for every source's initial sync, which is startup, not debounce.
    if (snapshot.version <= 1 || snapshot.changedAt === undefined) return;
    const ms = Math.max(0, Date.now() - snapshot.changedAt);
    metrics.debounceTime.observe(ms / 1000);
    debounceMs.set(snapshot.version, ms);
    if (debounceMs.size > 16) debounceMs.delete(debounceMs.keys().next().value as number);
  });
  opts.mesh.onPush((summary) => {
    if (summary.trigger !== 'none') metrics.pushTime.observe({ trigger: summary.trigger }, summary.durationMs / 1000);
    lastPush = summary;
  });

  opts.app.get('/metrics', async (_req, reply) => {
    const { contentType, body } = await metrics.render();
    return reply.type(contentType).send(body);
  });

  if (opts.debug) {
    const server = (reply: FastifyReply): XdsServer | undefined => {
      if (!xds) void reply.code(503).type('text/plain').send('the xDS server is not serving yet\n');
      return xds;
    };
    opts.app.get<{ Querystring: { proxy?: string } }>('/debug/syncz', async (req, reply) => {
      const s = server(reply);
      if (!s) return reply;
      const all = buildSyncz(s.streams());
      const proxy = req.query.proxy;
      return proxy ? all.filter((p) => p.id === proxy) : all;
    });
    opts.app.get<{ Querystring: { proxy?: string } }>('/debug/config_dump', async (req, reply) => {
      const s = server(reply);
      if (!s) return reply;
      const proxy = req.query.proxy;
      if (!proxy) return reply.code(400).type('text/plain').send('config_dump needs ?proxy=ID (see /debug/syncz for connected proxies)\n');
      const dump = buildConfigDump(proxy, s.streams(), (id) => s.sentResources(id));
      if (!dump) return reply.code(404).type('text/plain').send(`proxy "${proxy}" has no open xDS stream\n`);
      return { ...dump, routeOwners: routeOwners(opts.store.current(), dump.types.RDS?.resources ?? []) };
    });
    opts.app.get('/debug/push_status', async () => {
      const progress = lastPush?.changedAt !== undefined ? observer.progressFor(lastPush.changedAt) : undefined;
      return {
        lastPush: lastPush
          ? { ...lastPush, debounceMs: debounceMs.get(lastPush.snapshotVersion), changedAt: isoTime(lastPush.changedAt) }
          : null,
        convergence: progress ?? null,
        connected: { streams: opts.mesh.proxyCount(), proxies: observer.connected() },
      };
    });
    opts.app.get('/debug/model', async () => summarizeSnapshot(opts.store.current()));
  }

  return {
    events: observer,
    metrics,
    observer,
    bindXdsServer: (server) => { xds = server; },
    close: unsubscribe,
  };
}

function isoTime(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : new Date(ms).toISOString();
}
