// The embedded xDS gRPC server: ADS (SotW + Delta) and the per-type discovery services,
// all fed by one ProxyViews.
import { silentLogger, type Logger } from '../../logging.js';
import type { ProxyViews, XdsResource } from '../proxy-view.js';
import type { XdsEvents } from './events.js';
import type { Authenticate, Principal } from '../peer.js';
import { discoveryTypes } from './codec.js';
import { DeltaStream } from './delta-stream.js';
import type { GrpcCall } from './grpc/call.js';
import {
  DEFAULT_GRPC_SERVER_OPTIONS, GrpcServer, type GrpcServerOptions, type GrpcTlsCredentials, type StreamHandler,
} from './grpc/server.js';
import { GrpcStatus } from './grpc/wire.js';
import type { ConnectionAgeOptions } from './grpc/connection-age.js';
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


/**
 * The authenticated port (15012): TLS, where every stream is authenticated (a client certificate
 * from the mesh CA, or a bearer token) before its first message is read. What a client sends
 * meanwhile is held unread and counted against the buffer budgets (grpc/call.ts).
 */
export interface XdsTlsOptions {
  /** host:port; port 0 binds a free port (see `tlsPort`). */
  readonly address: string;
  readonly credentials: GrpcTlsCredentials;
  /** Per stream; a refusal ends the stream with UNAUTHENTICATED and its reason. */
  readonly authenticate: Authenticate;
  /** Other services on the same port (the CSR endpoint), asked before gRPC dispatch. */
  readonly streamHandlers?: readonly StreamHandler[];
}

interface XdsServerOptions {
  /**
   * host:port of the plaintext port; port 0 binds a free port (see `port` on the result). At most
   * one of address and socketPath; plaintext streams carry no principal, so keep it on loopback.
   */
  readonly address?: string;
  /** A Unix socket path instead (the pod-side agent's SDS server); `port` is then 0. */
  readonly socketPath?: string;
  readonly source: ProxyViews;
  readonly logger?: Logger;
  readonly events?: XdsEvents;
  /** How long close() lets streams drain (after the last batch) before cutting connections. Default 5000 ms. */
  readonly shutdownGraceMs?: number;
  /**
   * close() lets connections go in batches spread over this window, so this replica's proxies
   * reach the others gradually (see grpc/drain-schedule.ts). Default 0: all at once.
   */
  readonly drainWindowMs?: number;
  /** A maximum age for every connection, on each port (default: none). */
  readonly connectionAge?: ConnectionAgeOptions;
  /** Keepalive (defaults: DEFAULT_GRPC_SERVER_OPTIONS); the limits are in `limits`, which wins. */
  readonly grpcOptions?: Partial<GrpcServerOptions>;
  /** Resource limits (defaults: DEFAULT_XDS_LIMITS), applied to each port. */
  readonly limits?: Partial<XdsServerLimits>;
  /** The authenticated TLS port, next to (or instead of) the plaintext one. */
  readonly tls?: XdsTlsOptions;
}

interface HeldBytes {
  /** Unfinished incoming messages (and compressed ones being inflated), over every connection. */
  readonly bufferedBytes: number;
  /** Long SotW name lists held for open streams (see NameLists). */
  readonly nameListBytes: number;
  readonly internedNameBytes: number;
}

export interface XdsServer {
  /** The plaintext port; 0 when there is none (or on a Unix socket). */
  readonly port: number;
  /** The TLS port; 0 when there is none. */
  readonly tlsPort: number;
  /** Serves new TLS connections with renewed credentials; open connections keep theirs. */
  setTlsCredentials(credentials: GrpcTlsCredentials): void;
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
  const grpcOptions: GrpcServerOptions = {
    ...DEFAULT_GRPC_SERVER_OPTIONS, ...opts.grpcOptions, ...opts.limits, ...(opts.connectionAge ? { connectionAge: opts.connectionAge } : {}),
  };
  const onLimit = (limit: Parameters<LimitCounters['hit']>[0]): void => counters.hit(limit);
  let closing = false;
  const refuseIfClosing = (call: GrpcCall): boolean => {
    if (!closing) return false;
    call.finish(GrpcStatus.UNAVAILABLE, 'pilotfish xDS server is shutting down');
    return true;
  };
  const plainWanted = opts.address !== undefined || opts.socketPath !== undefined;
  if (opts.address !== undefined && opts.socketPath !== undefined) throw new Error('the xDS server takes at most one of address and socketPath');
  if (!plainWanted && !opts.tls) throw new Error('the xDS server needs an address, a socketPath or a TLS port');
  const plain = plainWanted ? new GrpcServer(logger, grpcOptions, onLimit, reclaim) : undefined;
  const secure = opts.tls
    ? new GrpcServer(logger, grpcOptions, onLimit, reclaim, { tls: opts.tls.credentials, ...(opts.tls.streamHandlers ? { streamHandlers: opts.tls.streamHandlers } : {}) })
    : undefined;
  const servers = [plain, secure].filter((x): x is GrpcServer => x !== undefined);

  for (const spec of DISCOVERY_SERVICES) {
    const ctx: StreamContext = {
      source: opts.source, logger, events: opts.events ?? {}, registry, fixedTypeUrl: spec.typeUrl, caches, limits, counters, reclaim,
    };
    const open = (call: GrpcCall, make: (c: StreamContext) => void): void => {
      if (refuseIfClosing(call)) return;
      if (!call.credentials) {
        make(ctx);
        return;
      }
      authenticateCall(call, opts.tls!.authenticate, logger).then((principal) => {
        // The client may have gone, or the server begun shutting down, while it was checked.
        if (principal === undefined || call.isFinished || refuseIfClosing(call)) return;
        make({ ...ctx, principal });
      }, () => undefined);
    };
    for (const server of servers) {
      server.handle(methodPath(spec.service, spec.sotwMethod), (call) => open(call, (c) => new SotwStream(call, c)));
      server.handle(methodPath(spec.service, spec.deltaMethod), (call) => open(call, (c) => new DeltaStream(call, c)));
    }
  }

  let port = 0;
  let tlsPort = 0;
  try {
    if (plain && opts.socketPath !== undefined) await plain.listenPath(opts.socketPath);
    else if (plain) port = await plain.listen(opts.address!);
    if (secure) tlsPort = await secure.listen(opts.tls!.address);
  } catch (err) {
    await Promise.all(servers.map((x) => x.close(0, () => undefined)));
    throw err;
  }
  if (plain) logger.info('xDS server listening (plaintext: streams are not authenticated)', { address: opts.socketPath ?? opts.address, port });
  if (secure) logger.info('xDS server listening (TLS: streams are authenticated)', { address: opts.tls!.address, port: tlsPort });

  let closed: Promise<void> | undefined;
  return {
    port,
    tlsPort,
    setTlsCredentials: (credentials) => {
      if (!secure) throw new Error('this xDS server has no TLS port');
      secure.setTlsCredentials(credentials);
    },
    streams: () => registry.snapshot(),
    sentResources: (streamId) => registry.get(streamId)?.sentResources(),
    limitHits: () => counters.snapshot(),
    held: () => ({
      bufferedBytes: servers.reduce((n, x) => n + x.bufferedBytes, 0), nameListBytes: caches.lists.heldBytes, internedNameBytes: caches.names.heldBytes,
    }),
    close: () => {
      closing = true;
      reclaimer.stop();
      closed ??= shutdown(servers, registry, logger, opts.shutdownGraceMs ?? 5000, opts.drainWindowMs ?? 0);
      return closed;
    },
  };
}

/**
 * The principal of a call on the TLS port, or undefined after ending it UNAUTHENTICATED with the
 * authenticator's reason (ours, never the peer's text).
 */
async function authenticateCall(call: GrpcCall, authenticate: Authenticate, logger: Logger): Promise<Principal | undefined> {
  let reason: string;
  try {
    const result = await authenticate(call.credentials ?? {});
    if (result.ok) return result.principal;
    reason = result.reason;
  } catch (err) {
    reason = 'the stream could not be authenticated';
    logger.error('xDS authentication failed', { peer: call.peer, error: String(err) });
  }
  logger.info('refused an unauthenticated xDS stream', { peer: call.peer, method: call.path, reason });
  call.finish(GrpcStatus.UNAUTHENTICATED, reason);
  return undefined;
}

async function shutdown(servers: readonly GrpcServer[], registry: StreamRegistry, logger: Logger, graceMs: number, drainWindowMs: number): Promise<void> {
  logger.info('xDS server shutting down', { streams: registry.size, connections: servers.reduce((n, x) => n + x.connections, 0), drainWindowMs });
  // Each connection gets a GOAWAY and its streams UNAVAILABLE (reconnect elsewhere), in batches
  // over the window; no new connection is accepted meanwhile, so none comes straight back to us.
  await Promise.all(servers.map((server) => server.close(graceMs, () => {
    logger.warn('xDS connections did not drain in time; closing them', { graceMs, streams: registry.size, connections: server.connections });
  }, drainWindowMs)));
  // Streams whose connection was cut before they could be told.
  registry.terminateAll(GrpcStatus.UNAVAILABLE, 'pilotfish xDS server is shutting down');
  logger.info('xDS server stopped');
}
