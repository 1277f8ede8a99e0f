// The control plane every serving command runs: sources -> snapshot store -> mesh config ->
// xDS server, plus the admin HTTP server (health, readiness, metrics, debug). `serve` and
// `controller` differ only in their sources and in what they add around this.
import type { FastifyInstance } from 'fastify';
import { createAdminServer } from '../admin/http-server.js';
import { splitHostPort } from '../host-port.js';
import type { PilotfishMetrics } from '../admin/metrics.js';
import type { DebugReviewer } from '../admin/debug-access.js';
import { attachObservability, type Observability } from '../admin/observability.js';
import type { Source } from '../sources/source.js';
import { SnapshotStore } from '../store/snapshot-store.js';
import type { Logger } from '../logging.js';
import type { MeshIdentityOptions } from '../model/mesh-index.js';
import type { OutboundTrafficPolicy } from '../model/outbound-policy.js';
import type { MeshSnapshot } from '../model/snapshot.js';
import type { ScopeOptions } from '../model/traffic-scope.js';
import type { LabelSelector } from '../model/label-selector.js';
import { ResourceEncoder } from '../xds/cache/encoder.js';
import { MeshProxyViews } from '../xds/cache/proxy-views.js';
import { startXdsServer, type XdsServer, type XdsTlsOptions } from '../xds/server/index.js';
import type { XdsEvents } from '../xds/server/events.js';
import { isListenError, listenFailure } from './failure.js';
import type { XdsConnectionSettings } from './xds-connection-flags.js';

interface ControlPlaneOptions {
  /** In precedence order: an earlier source wins a duplicate object. */
  readonly sources: readonly Source[];
  readonly logger: Logger;
  /** The plaintext xDS port (unauthenticated: loopback or tests); off when absent. */
  readonly xdsAddress?: string;
  /** The authenticated TLS xDS port; at least one of the two. */
  readonly xdsTls?: XdsTlsOptions;
  readonly httpAddress: string;
  readonly debugEndpoints: boolean;
  /** Authorizes non-loopback /debug callers (controller: the API server); absent, loopback only. */
  readonly debugReviewer?: DebugReviewer;
  readonly outboundTrafficPolicy?: OutboundTrafficPolicy;
  /** `--default-scope` and the control plane's namespace (model/traffic-scope.ts). */
  readonly scope?: ScopeOptions;
  /** `--discovery-selector`: only namespaces it matches are read. */
  readonly discoverySelector?: LabelSelector;
  /** SPIFFE trust domain and mTLS root namespace; defaults as in MeshIndex. */
  readonly identity?: MeshIdentityOptions;
  readonly metrics?: PilotfishMetrics;
  /** Adds routes to the admin server; runs before it listens. */
  readonly configureAdmin?: (app: FastifyInstance) => void;
  /** Further protocol listeners (status writing follows NACKs, say), after the built-in ones. */
  readonly xdsEvents?: XdsEvents;
  /** Extra fields for the "serving" log line. */
  readonly servingInfo?: (first: MeshSnapshot) => Record<string, unknown>;
  /** Maximum connection age and drain window (default: neither, connections closed at once). */
  readonly xdsConnections?: XdsConnectionSettings;
  /** Endpoints of a Service no EndpointSlice names come from its selector's Pods (config files, not a cluster). */
  readonly endpointsFromPods?: boolean;
}

export interface ControlPlane {
  readonly store: SnapshotStore;
  readonly mesh: MeshProxyViews;
  readonly xds: XdsServer;
  readonly admin: FastifyInstance;
  readonly observability: Observability;
  /** Where they actually listen (port 0 resolved); undefined when that port is off. */
  readonly xdsAddress?: string;
  readonly xdsTlsAddress?: string;
  readonly httpAddress: string;
  /** Readiness off, xDS drained (over the drain window), admin closed, sources stopped. */
  close(): Promise<void>;
}

/** Calls every listener's handler in order; one failing does not keep the others from hearing. */
function combineXdsEvents(...list: readonly (XdsEvents | undefined)[]): XdsEvents {
  const all = list.filter((e): e is XdsEvents => e !== undefined);
  const each = <K extends keyof XdsEvents>(name: K) => (info: Parameters<NonNullable<XdsEvents[K]>>[0]): void => {
    for (const e of all) {
      const f = e[name] as ((this: XdsEvents, i: typeof info) => void) | undefined;
      f?.call(e, info);
    }
  };
  return {
    streamOpened: each('streamOpened'),
    streamClosed: each('streamClosed'),
    sent: each('sent'),
    acked: each('acked'),
    nacked: each('nacked'),
  };
}

/**
 * Starts the admin server first (so /healthz answers and /readyz says 503 while sources sync),
 * then the sources; xDS serves only once the first complete snapshot exists, so no proxy is ever
 * handed the empty mesh of a control plane that has not synced yet.
 */
export async function startControlPlane(opts: ControlPlaneOptions): Promise<ControlPlane> {
  const { logger } = opts;
  const httpAddr = splitHostPort(opts.httpAddress);
  if (opts.xdsAddress === undefined && opts.xdsTls === undefined) throw new Error('the control plane needs a plaintext or a TLS xDS address');

  const store = new SnapshotStore({
    logger, translate: { endpointsFromPods: opts.endpointsFromPods === true },
    ...(opts.discoverySelector ? { discoverySelector: opts.discoverySelector } : {}),
  });
  const mesh = new MeshProxyViews(new ResourceEncoder(), logger.child({ component: 'push' }), {
    ...(opts.outboundTrafficPolicy ? { outboundTrafficPolicy: opts.outboundTrafficPolicy } : {}),
    ...(opts.scope ? { scope: opts.scope } : {}),
    ...(opts.identity ? { identity: opts.identity } : {}),
  });
  let ready = false;
  const admin = createAdminServer({ logger, ready: () => ready });
  opts.configureAdmin?.(admin);
  const observability = attachObservability({
    app: admin, store, mesh, logger, debug: opts.debugEndpoints, ...(opts.metrics ? { metrics: opts.metrics } : {}),
    ...(opts.debugReviewer ? { debugReviewer: opts.debugReviewer } : {}),
  });
  try {
    await admin.listen({ host: httpAddr.host, port: httpAddr.port });
  } catch (err) {
    observability.close();
    throw isListenError(err) ? listenFailure('http-address', opts.httpAddress, err) : err;
  }
  const boundHttp = admin.server.address();
  const httpAddress = `${httpAddr.host}:${typeof boundHttp === 'object' && boundHttp ? boundHttp.port : httpAddr.port}`;
  logger.info('admin listening', { httpAddress });

  let first: MeshSnapshot;
  try {
    store.subscribe((snapshot) => { void mesh.update(snapshot); });
    first = await store.start(opts.sources);
    await mesh.update(first);
  } catch (err) {
    observability.close();
    await admin.close();
    await store.stop();
    throw err;
  }
  let xds: XdsServer;
  try {
    xds = await startXdsServer({
      ...(opts.xdsAddress !== undefined ? { address: opts.xdsAddress } : {}), ...(opts.xdsTls ? { tls: opts.xdsTls } : {}),
      source: mesh, logger, events: combineXdsEvents(observability.events, opts.xdsEvents),
      ...(opts.xdsConnections ? {
        connectionAge: { maxAgeMs: opts.xdsConnections.maxConnectionAgeMs, graceMs: opts.xdsConnections.connectionAgeGraceMs },
        drainWindowMs: opts.xdsConnections.drainWindowMs,
      } : {}),
    });
  } catch (err) {
    observability.close();
    await admin.close();
    await store.stop();
    if (!isListenError(err)) throw err;
    // Which of the two ports failed: the message names the address.
    const tlsFailed = opts.xdsTls !== undefined && (err as Error).message.includes(opts.xdsTls.address);
    throw tlsFailed ? listenFailure('xds-tls-address', opts.xdsTls!.address, err) : listenFailure('xds-address', opts.xdsAddress ?? '', err);
  }
  observability.bindXdsServer(xds);
  ready = true;
  const xdsAddress = opts.xdsAddress !== undefined ? `${splitHostPort(opts.xdsAddress).host}:${xds.port}` : undefined;
  const xdsTlsAddress = opts.xdsTls ? `${splitHostPort(opts.xdsTls.address).host}:${xds.tlsPort}` : undefined;
  logger.info('serving', {
    ...(xdsAddress ? { xdsAddress } : {}), ...(xdsTlsAddress ? { xdsTlsAddress } : {}), httpAddress,
    ...opts.servingInfo?.(first), services: first.services.size,
  });

  return {
    store, mesh, xds, admin, observability, httpAddress,
    ...(xdsAddress ? { xdsAddress } : {}), ...(xdsTlsAddress ? { xdsTlsAddress } : {}),
    close: async () => {
      ready = false;
      await xds.close();
      await admin.close();
      await store.stop();
      observability.close();
    },
  };
}

/** Resolves after SIGTERM/SIGINT once cleanup ran; a second signal exits at once. */
export function waitForShutdown(logger: Logger, cleanup: () => Promise<void>): Promise<void> {
  return new Promise((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping) {
        logger.warn('second signal, exiting immediately', { signal });
        process.exit(1);
      }
      stopping = true;
      logger.info('shutting down', { signal });
      cleanup().then(
        () => { logger.info('stopped'); resolve(); },
        (err: unknown) => { logger.error('error during shutdown', { error: String(err) }); resolve(); },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}
