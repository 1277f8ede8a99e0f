// The embedded xDS gRPC server: ADS (SotW + Delta) and the per-type discovery services,
// all fed by one ProxyViews.
import { silentLogger, type Logger } from '../../logging.js';
import type { ProxyViews, XdsResource } from '../proxy-view.js';
import type { XdsEvents } from './events.js';
import { discoveryTypes } from './codec.js';
import { DeltaStream } from './delta-stream.js';
import type { GrpcCall } from './grpc/call.js';
import { DEFAULT_GRPC_SERVER_OPTIONS, GrpcServer, type GrpcServerOptions } from './grpc/server.js';
import { GrpcStatus } from './grpc/wire.js';
import { DISCOVERY_SERVICES, methodPath } from './services.js';
import { MemoryReclaimer } from './grpc/memory-reclaimer.js';
import { LimitCounters, type LimitName } from './limit-counters.js';
import { DEFAULT_LOGGED_STRING_CHARS } from './log-text.js';
import { ServerCaches, type ServerCacheLimits } from './server-caches.js';
import { SotwStream } from './sotw-stream.js';
import type { StreamContext, StreamLimits } from './stream-base.js';
import { StreamRegistry, type StreamStatus } from './stream-status.js';

/**
 * What one server lets its clients make it hold, before anyone is authenticated: every byte a
 * peer can make the server keep is bounded here. Hitting a limit is counted (limitHits) and
 * ends only the offending stream, with RESOURCE_EXHAUSTED; other streams go on. The transport
 * limits (message size, buffered bytes, concurrent streams) are GrpcServerOptions, documented
 * there; the defaults are DEFAULT_XDS_LIMITS. README "Limits" has the figures measured with them.
 */
export type XdsServerLimits = Pick<GrpcServerOptions,
  'maxReceiveMessageBytes' | 'maxConnectionBufferedBytes' | 'maxProcessBufferedBytes' | 'maxConcurrentStreams'>
  & StreamLimits & ServerCacheLimits;

export const DEFAULT_XDS_LIMITS: XdsServerLimits = {
  maxReceiveMessageBytes: DEFAULT_GRPC_SERVER_OPTIONS.maxReceiveMessageBytes,
  maxConnectionBufferedBytes: DEFAULT_GRPC_SERVER_OPTIONS.maxConnectionBufferedBytes,
  maxProcessBufferedBytes: DEFAULT_GRPC_SERVER_OPTIONS.maxProcessBufferedBytes,
  maxConcurrentStreams: DEFAULT_GRPC_SERVER_OPTIONS.maxConcurrentStreams,
  // ~60 bytes an EDS name: room for a sidecar subscribed to 70,000 clusters.
  maxSubscribedNameBytes: 4 << 20,
  // Long SotW lists kept for matching ACKs (counted twice: bytes and decoded names); shared by
  // the streams sending the same list, so a mesh needs one per proxy class.
  maxNameListBytes: 64 << 20,
  // Names deduplicated across streams (those of kept lists are shared through the lists anyway).
  maxInternedNameBytes: 4 << 20,
  maxLoggedStringChars: DEFAULT_LOGGED_STRING_CHARS,
};


export interface XdsServerOptions {
  /** host:port; port 0 binds a free port (see `port` on the result). Exactly one of address and socketPath. */
  readonly address?: string;
  /** A Unix socket path instead (the pod-side agent's SDS server); `port` is then 0. */
  readonly socketPath?: string;
  readonly source: ProxyViews;
  readonly logger?: Logger;
  readonly events?: XdsEvents;
  /** How long close() lets streams drain before cutting connections. Default 5000 ms. */
  readonly shutdownGraceMs?: number;
  /** Keepalive (defaults: DEFAULT_GRPC_SERVER_OPTIONS); the limits are in `limits`, which wins. */
  readonly grpcOptions?: Partial<GrpcServerOptions>;
  /** Resource limits (defaults: DEFAULT_XDS_LIMITS). */
  readonly limits?: Partial<XdsServerLimits>;
}

export interface HeldBytes {
  /** Unfinished incoming messages (and compressed ones being inflated), over every connection. */
  readonly bufferedBytes: number;
  /** Long SotW name lists held for open streams (see NameLists). */
  readonly nameListBytes: number;
  readonly internedNameBytes: number;
}

export interface XdsServer {
  readonly port: number;
  /** Per-stream protocol state, for /debug/syncz. */
  streams(): StreamStatus[];
  /** Per type, the resources a stream last sent its client (for /debug/config_dump); undefined once it closed. */
  sentResources(streamId: number): ReadonlyMap<string, readonly XdsResource[]> | undefined;
  /** How often each resource limit refused something since start (monotonic, for metrics). */
  limitHits(): Readonly<Record<LimitName, number>>;
  /** What clients make the server hold now, in bytes (gauges for metrics; each bounded by a limit). */
  held(): HeldBytes;
  /** Ends every stream (UNAVAILABLE, so proxies reconnect elsewhere) and stops the server. */
  close(): Promise<void>;
}

export async function startXdsServer(opts: XdsServerOptions): Promise<XdsServer> {
  // Load the protos now: a broken install should fail at startup, not on the first proxy.
  discoveryTypes();
  const logger = (opts.logger ?? silentLogger()).child({ component: 'xds-server' });
  const registry = new StreamRegistry();
  const limits: XdsServerLimits = { ...DEFAULT_XDS_LIMITS, ...opts.limits };
  const counters = new LimitCounters();
  // The interner only saves duplicate strings: after a large release (a client with huge lists
  // gone) it starts over rather than keep that client's names.
  const reclaimer = new MemoryReclaimer(() => caches.names.clear());
  const reclaim = (bytes: number): void => reclaimer.release(bytes);
  const caches = new ServerCaches(limits, () => counters.hit('nameListBytes'), reclaim);
  // Proxies that vanish without closing their connection would otherwise keep a stream and a
  // view forever: keepalive pings find them.
  const server = new GrpcServer(logger, { ...DEFAULT_GRPC_SERVER_OPTIONS, ...opts.grpcOptions, ...opts.limits },
    (limit) => counters.hit(limit), reclaim);
  let closing = false;
  const refuseIfClosing = (call: GrpcCall): boolean => {
    if (!closing) return false;
    call.finish(GrpcStatus.UNAVAILABLE, 'pilotfish xDS server is shutting down');
    return true;
  };

  for (const spec of DISCOVERY_SERVICES) {
    const ctx: StreamContext = {
      source: opts.source, logger, events: opts.events ?? {}, registry, fixedTypeUrl: spec.typeUrl, caches, limits, counters, reclaim,
    };
    server.handle(methodPath(spec.service, spec.sotwMethod), (call) => {
      if (!refuseIfClosing(call)) new SotwStream(call, ctx);
    });
    server.handle(methodPath(spec.service, spec.deltaMethod), (call) => {
      if (!refuseIfClosing(call)) new DeltaStream(call, ctx);
    });
  }

  if ((opts.address === undefined) === (opts.socketPath === undefined)) {
    throw new Error('the xDS server needs exactly one of address and socketPath');
  }
  const port = opts.socketPath !== undefined ? (await server.listenPath(opts.socketPath), 0) : await server.listen(opts.address!);
  logger.info('xDS server listening', { address: opts.socketPath ?? opts.address, port });

  let closed: Promise<void> | undefined;
  return {
    port,
    streams: () => registry.snapshot(),
    sentResources: (streamId) => registry.get(streamId)?.sentResources(),
    limitHits: () => counters.snapshot(),
    held: () => ({
      bufferedBytes: server.bufferedBytes, nameListBytes: caches.lists.heldBytes, internedNameBytes: caches.names.heldBytes,
    }),
    close: () => {
      closing = true;
      reclaimer.stop();
      closed ??= shutdown(server, registry, logger, opts.shutdownGraceMs ?? 5000);
      return closed;
    },
  };
}

async function shutdown(server: GrpcServer, registry: StreamRegistry, logger: Logger, graceMs: number): Promise<void> {
  logger.info('xDS server shutting down', { streams: registry.size });
  // Tell every proxy first (UNAVAILABLE: reconnect elsewhere), then stop accepting and close
  // the connections once their calls have ended, so they cannot come straight back to us.
  registry.terminateAll(GrpcStatus.UNAVAILABLE, 'pilotfish xDS server is shutting down');
  await server.close(graceMs, () => {
    logger.warn('xDS connections did not drain in time; closing them', { graceMs, streams: registry.size, connections: server.connections });
  });
  logger.info('xDS server stopped');
}
