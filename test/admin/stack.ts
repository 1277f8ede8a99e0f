// The serve wiring in one process: a SnapshotStore over a source the test edits, the mesh
// config source, the real xDS server, and the admin HTTP server with observability attached.
// Clients are the raw ADS clients, so a test decides exactly when a proxy ACKs or NACKs.
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { createAdminServer } from '../../src/admin/http-server.js';
import { PilotfishMetrics } from '../../src/admin/metrics.js';
import type { DebugReviewer } from '../../src/admin/debug-access.js';
import { attachObservability, type Observability } from '../../src/admin/observability.js';
import type { Logger } from '../../src/logging.js';
import { decodeAny } from '../../src/admin/sent-config.js';
import { EMPTY_OBJECTS } from '../../src/sources/objects.js';
import { SnapshotStore } from '../../src/store/snapshot-store.js';
import { silentLogger } from '../../src/logging.js';
import type { NodeInfo } from '../../src/xds/node-info.js';
import { ResourceEncoder } from '../../src/xds/cache/encoder.js';
import { MeshProxyViews } from '../../src/xds/cache/proxy-views.js';
import type { PushSummary } from '../../src/xds/cache/push-summary.js';
import { lookupType } from '../../src/xds/protos.js';
import type { XdsEvents } from '../../src/xds/server/events.js';
import { startXdsServer, type XdsServer } from '../../src/xds/server/index.js';
import type { AnyMessage } from '../support/xds-client-codec.js';
import { CLUSTER, ENDPOINT, LISTENER, ROUTE } from '../../src/xds/types.js';
import { AdsClient, DeltaAdsClient, type DeltaResponse, type SotwResponse } from '../support/ads-client.js';
import { StaticSource } from '../support/static-source.js';
import { RecordedEvents } from '../xds/server/harness.js';

export function service(name: string, ports: number[] = [50051]): V1Service {
  return {
    metadata: { name, namespace: 'shop' },
    spec: { ports: ports.map((port) => ({ name: `grpc-${port}`, port, appProtocol: 'grpc' })) },
  };
}

export function slice(svc: string, addresses: string[]): V1EndpointSlice {
  return {
    addressType: 'IPv4',
    metadata: { name: `${svc}-1`, namespace: 'shop', labels: { 'kubernetes.io/service-name': svc } },
    ports: [{ name: 'grpc-50051', port: 8080 }],
    endpoints: addresses.map((a) => ({ addresses: [a], conditions: { ready: true } })),
  };
}

export function grpcNode(id: string): NodeInfo {
  return { id, metadata: { NAMESPACE: 'shop', PILOTFISH_KIND: 'grpc' } };
}

export function sidecarNode(id: string): NodeInfo {
  return { id: `sidecar~10.0.0.9~${id}.shop~shop.svc.cluster.local`, metadata: { NAMESPACE: 'shop', PILOTFISH_KIND: 'sidecar', POD_NAME: id } };
}

/** Every RDS name the listeners of a response point at (proxyless api_listeners and sidecar filter chains). */
export function routeNames(anys: readonly AnyMessage[]): string[] {
  const Any = lookupType('google.protobuf.Any');
  const names = new Set<string>();
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (k === 'route_config_name' && typeof x === 'string') names.add(x);
        else walk(x);
      }
    }
  };
  for (const a of anys) walk(decodeAny(Any.encode(Any.fromObject(a)).finish()));
  return [...names].sort();
}

export interface Stack {
  readonly source: StaticSource;
  readonly store: SnapshotStore;
  readonly mesh: MeshProxyViews;
  readonly xds: XdsServer;
  readonly obs: Observability;
  readonly events: RecordedEvents;
  readonly base: string;
  readonly xdsAddress: string;
  sotw(node: NodeInfo): Promise<AdsClient>;
  delta(node: NodeInfo): Promise<DeltaAdsClient>;
  /** Changes the source and resolves with the push summary once every stream was notified. */
  change(services: V1Service[], slices: V1EndpointSlice[]): Promise<PushSummary>;
  get(path: string, headers?: Record<string, string>): Promise<{ status: number; text: string; json: <T>() => T; type: string; headers: Headers }>;
  stop(): Promise<void>;
}

/** Forwards every event to both observers (the one under test and the test's recorder). */
function tee(a: XdsEvents, b: XdsEvents): XdsEvents {
  const out: XdsEvents = {};
  for (const k of ['streamOpened', 'streamClosed', 'sent', 'acked', 'nacked'] as const) {
    (out as Record<string, (i: unknown) => void>)[k] = (info: unknown) => {
      (a[k] as ((i: unknown) => void) | undefined)?.call(a, info);
      (b[k] as ((i: unknown) => void) | undefined)?.call(b, info);
    };
  }
  return out;
}

export interface StackOptions {
  debug?: boolean;
  services?: V1Service[];
  slices?: V1EndpointSlice[];
  /** Passed to attachObservability: who may read /debug beyond loopback. */
  debugReviewer?: DebugReviewer;
  isLocal?: (remoteAddress: string | undefined) => boolean;
  logger?: Logger;
}

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const logger = opts.logger ?? silentLogger();
  const source = new StaticSource('test', {
    ...EMPTY_OBJECTS,
    services: opts.services ?? [service('web')],
    endpointSlices: opts.slices ?? [slice('web', ['10.0.0.1'])],
  });
  const store = new SnapshotStore({ logger, quietMs: 1 });
  const mesh = new MeshProxyViews(new ResourceEncoder(), logger);
  const app = createAdminServer({ logger, ready: () => true });
  const obs = attachObservability({
    app, store, mesh, logger, debug: opts.debug ?? true, metrics: new PilotfishMetrics({ processMetrics: true }),
    ...(opts.debugReviewer ? { debugReviewer: opts.debugReviewer } : {}), ...(opts.isLocal ? { isLocal: opts.isLocal } : {}),
  });
  const pushes: PushSummary[] = [];
  const pushWaiters: ((s: PushSummary) => void)[] = [];
  mesh.onPush((s) => {
    pushes.push(s);
    for (const w of pushWaiters.splice(0)) w(s);
  });
  store.subscribe((s) => { void mesh.update(s); });
  await mesh.update(await store.start([source]));
  const events = new RecordedEvents();
  const xds = await startXdsServer({ address: '127.0.0.1:0', source: mesh, logger, events: tee(obs.events, events) });
  obs.bindXdsServer(xds);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  const base = `http://127.0.0.1:${port}`;
  const xdsAddress = `127.0.0.1:${xds.port}`;
  const clients: { close(): void }[] = [];

  return {
    source, store, mesh, xds, obs, events, base, xdsAddress,
    async sotw(node) {
      const c = await AdsClient.connect(xdsAddress, node);
      clients.push(c);
      return c;
    },
    async delta(node) {
      const c = await DeltaAdsClient.connect(xdsAddress, node);
      clients.push(c);
      return c;
    },
    change(services, slices) {
      const done = new Promise<PushSummary>((resolve) => pushWaiters.push(resolve));
      source.set({ services, endpointSlices: slices });
      return done;
    },
    async get(path, headers = {}) {
      const res = await fetch(`${base}${path}`, { headers });
      const text = await res.text();
      return { status: res.status, text, type: res.headers.get('content-type') ?? '', json: <T>() => JSON.parse(text) as T, headers: res.headers };
    },
    async stop() {
      for (const c of clients) c.close();
      await xds.close();
      await app.close();
      await store.stop();
      obs.close();
    },
  };
}

/**
 * A SotW client that subscribes to all four types (LDS and CDS wildcard, RDS and EDS by name,
 * as gRPC does) and ACKs each first response; resolves once the server has seen every ACK.
 */
export async function syncSotw(stack: Stack, c: AdsClient, nodeId: string): Promise<Map<string, SotwResponse>> {
  const out = new Map<string, SotwResponse>();
  const lds = await c.fetch(LISTENER);
  out.set(LISTENER, lds);
  out.set(ROUTE, await c.fetch(ROUTE, routeNames(lds.anys)));
  const cds = await c.fetch(CLUSTER);
  out.set(CLUSTER, cds);
  out.set(ENDPOINT, await c.fetch(ENDPOINT, cds.names));
  for (const [t, r] of out) await stack.events.waitFor('acked', (e) => e.node.id === nodeId && e.typeUrl === t && e.nonce === r.nonce);
  return out;
}

/** The Delta equivalent: wildcard LDS/CDS, named RDS/EDS, each ACKed. */
export async function syncDelta(stack: Stack, c: DeltaAdsClient, nodeId: string): Promise<Map<string, DeltaResponse>> {
  const out = new Map<string, DeltaResponse>();
  const take = async (typeUrl: string, subscribe?: string[]): Promise<DeltaResponse> => {
    c.request(typeUrl, subscribe ? { subscribe } : {});
    const r = await c.next(typeUrl);
    c.ack(r);
    await stack.events.waitFor('acked', (e) => e.node.id === nodeId && e.typeUrl === typeUrl && e.nonce === r.nonce);
    out.set(typeUrl, r);
    return r;
  };
  const lds = await take(LISTENER);
  await take(ROUTE, routeNames(lds.entries.flatMap((e) => (e.resource ? [e.resource] : []))));
  const cds = await take(CLUSTER);
  await take(ENDPOINT, cds.names);
  return out;
}
