// The embedded xDS gRPC server: ADS (SotW + Delta) and the per-type discovery services,
// all fed by one ConfigSource.
import * as grpc from '@grpc/grpc-js';
import { silentLogger, type Logger } from '../../logging.js';
import type { ConfigSource, XdsEvents, XdsResource } from './config-source.js';
import { discoveryTypes, type DeltaRequest, type SotwRequest } from './codec.js';
import { DeltaStream } from './delta-stream.js';
import { DISCOVERY_SERVICES, serviceDefinition, type DiscoveryServiceSpec } from './services.js';
import { SotwStream } from './sotw-stream.js';
import type { StreamContext, XdsCall } from './stream-base.js';
import { StreamRegistry, type StreamStatus } from './stream-status.js';

export type { StreamStatus, TypeStatus, NackStatus } from './stream-status.js';
export type { ChangeCause, ConfigSource, ProxyView, XdsEvents, XdsResource, ResourceMap } from './config-source.js';

export interface XdsServerOptions {
  /** host:port; port 0 binds a free port (see `port` on the result). */
  readonly address: string;
  readonly source: ConfigSource;
  readonly logger?: Logger;
  readonly events?: XdsEvents;
  /** How long close() lets streams drain before cutting connections. Default 5000 ms. */
  readonly shutdownGraceMs?: number;
  /** Extra grpc-js server options (keepalive, message limits). */
  readonly grpcOptions?: grpc.ServerOptions;
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
  const server = new grpc.Server({
    // Proxies that vanish without closing their connection would otherwise keep a stream and a
    // view forever; pings find them.
    'grpc.keepalive_time_ms': 30_000,
    'grpc.keepalive_timeout_ms': 10_000,
    // Nothing reads channelz, and it keeps per-connection traces and call counters: memory that
    // thousands of proxies multiply.
    'grpc.enable_channelz': 0,
    ...opts.grpcOptions,
  });
  let closing = false;

  for (const spec of DISCOVERY_SERVICES) {
    const ctx: StreamContext = {
      source: opts.source, logger, events: opts.events ?? {}, registry, fixedTypeUrl: spec.typeUrl,
    };
    server.addService(serviceDefinition(spec), handlers(spec, ctx, () => closing));
  }

  const port = await bind(server, opts.address);
  logger.info('xDS server listening', { address: opts.address, port });

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

function handlers(spec: DiscoveryServiceSpec, ctx: StreamContext, isClosing: () => boolean): grpc.UntypedServiceImplementation {
  const refuseIfClosing = (call: grpc.ServerDuplexStream<unknown, Buffer>): boolean => {
    if (!isClosing()) return false;
    call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'pilotfish xDS server is shutting down' });
    return true;
  };
  return {
    [spec.sotwMethod]: (call: XdsCall<SotwRequest>) => {
      if (!refuseIfClosing(call)) new SotwStream(call, ctx);
    },
    [spec.deltaMethod]: (call: XdsCall<DeltaRequest>) => {
      if (!refuseIfClosing(call)) new DeltaStream(call, ctx);
    },
  };
}

function bind(server: grpc.Server, address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, port) => {
      if (err) reject(new Error(`xDS server cannot listen on ${address}: ${err.message}`));
      else resolve(port);
    });
  });
}

function shutdown(server: grpc.Server, registry: StreamRegistry, logger: Logger, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      logger.info('xDS server stopped');
      resolve();
    };
    const timer = setTimeout(() => {
      logger.warn('xDS connections did not drain in time; closing them', { graceMs, streams: registry.size });
      server.forceShutdown();
      finish();
    }, graceMs);
    // Stop accepting first, so proxies told to go away cannot come straight back to us.
    server.tryShutdown((err) => {
      if (err) logger.warn('xDS server shutdown reported an error', { error: err.message });
      finish();
    });
    logger.info('xDS server shutting down', { streams: registry.size });
    registry.terminateAll(grpc.status.UNAVAILABLE, 'pilotfish xDS server is shutting down');
  });
}
