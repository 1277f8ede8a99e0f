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
import { SotwStream } from './sotw-stream.js';
import type { StreamContext } from './stream-base.js';
import { StreamRegistry, type StreamStatus } from './stream-status.js';


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
  /** Keepalive and message limits (defaults: DEFAULT_GRPC_SERVER_OPTIONS). */
  readonly grpcOptions?: Partial<GrpcServerOptions>;
}

export interface XdsServer {
  readonly port: number;
  /** Per-stream protocol state, for /debug/syncz. */
  streams(): StreamStatus[];
  /** Per type, the resources a stream last sent its client (for /debug/config_dump); undefined once it closed. */
  sentResources(streamId: number): ReadonlyMap<string, readonly XdsResource[]> | undefined;
  /** Ends every stream (UNAVAILABLE, so proxies reconnect elsewhere) and stops the server. */
  close(): Promise<void>;
}

export async function startXdsServer(opts: XdsServerOptions): Promise<XdsServer> {
  // Load the protos now: a broken install should fail at startup, not on the first proxy.
  discoveryTypes();
  const logger = (opts.logger ?? silentLogger()).child({ component: 'xds-server' });
  const registry = new StreamRegistry();
  // Proxies that vanish without closing their connection would otherwise keep a stream and a
  // view forever: keepalive pings find them.
  const server = new GrpcServer(logger, { ...DEFAULT_GRPC_SERVER_OPTIONS, ...opts.grpcOptions });
  let closing = false;
  const refuseIfClosing = (call: GrpcCall): boolean => {
    if (!closing) return false;
    call.finish(GrpcStatus.UNAVAILABLE, 'pilotfish xDS server is shutting down');
    return true;
  };

  for (const spec of DISCOVERY_SERVICES) {
    const ctx: StreamContext = {
      source: opts.source, logger, events: opts.events ?? {}, registry, fixedTypeUrl: spec.typeUrl,
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
    close: () => {
      closing = true;
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
