// A raw xDS client over @grpc/grpc-js with the server's own hand-made codec: it sends exactly
// the requests a test asks for and hands back every response, decoded with the Envoy protos.
// Used by the server's protocol tests, by e2e tests against the built binary, and by benchmarks.
import * as grpc from '@grpc/grpc-js';
import type { NodeInfo } from '../../src/xds/node-info.js';
import { lookupType } from '../../src/xds/protos.js';
import {
  decodeDeltaResponse, decodeSotwResponse, encodeDeltaRequest, encodeSotwRequest,
  type AnyMessage, type DeltaRequestInit, type SotwRequestInit,
} from './xds-client-codec.js';
import type { ErrorDetail } from '../../src/xds/server/codec.js';
import { ADS_SERVICE, DISCOVERY_SERVICES, methodPath } from '../../src/xds/server/services.js';
import { CLUSTER, ENDPOINT, LISTENER, ROUTE, SECRET, messageName, shortTypeName } from '../../src/xds/types.js';

/** Which discovery service to call: ADS, or one of the per-type services. */
export type DiscoveryService = 'ads' | 'lds' | 'rds' | 'cds' | 'eds' | 'sds';

const SERVICE_TYPES: Record<Exclude<DiscoveryService, 'ads'>, string> = {
  lds: LISTENER, rds: ROUTE, cds: CLUSTER, eds: ENDPOINT, sds: SECRET,
};

function methodFor(service: DiscoveryService, delta: boolean): string {
  const spec = service === 'ads'
    ? DISCOVERY_SERVICES.find((s) => s.service === ADS_SERVICE)
    : DISCOVERY_SERVICES.find((s) => s.typeUrl === SERVICE_TYPES[service]);
  if (!spec) throw new Error(`unknown discovery service ${service}`);
  return methodPath(spec.service, delta ? spec.deltaMethod : spec.sotwMethod);
}

export interface ConnectOptions {
  service?: DiscoveryService;
  /** How long to wait for the channel to connect. Default 10 s. */
  readyTimeoutMs?: number;
  /** Default for next(): how long to wait for a response before failing. Default 20 s. */
  nextTimeoutMs?: number;
  channelOptions?: grpc.ChannelOptions;
  /** Channel credentials (TLS, client certificate); default insecure. */
  credentials?: grpc.ChannelCredentials;
  /** Sent with the stream (an `authorization` header, say). */
  metadata?: grpc.Metadata;
  /**
   * Give up at the first failed connection attempt (refused, reset) instead of retrying until
   * readyTimeoutMs: for a client that then tries another server, as proxies do.
   */
  failFast?: boolean;
}

/** How the stream ended, as the client saw it. */
export interface StreamEnd {
  readonly code: grpc.status;
  readonly details: string;
}

export interface DecodedResource {
  readonly name: string;
  readonly typeUrl: string;
  /** The message as a plain object (snake_case, enums as names, 64-bit numbers as strings). */
  readonly value: Record<string, unknown>;
}

/** Decodes one Any with the real Envoy protos. */
export function decodeResource(any: AnyMessage): DecodedResource {
  const T = lookupType(messageName(any.type_url));
  const value = T.toObject(T.decode(any.value), { longs: String, enums: String }) as Record<string, unknown>;
  const name = typeof value.name === 'string' ? value.name
    : typeof value.cluster_name === 'string' ? value.cluster_name : '';
  return { name, typeUrl: any.type_url, value };
}

export class SotwResponse {
  private decoded?: DecodedResource[];

  constructor(
    readonly versionInfo: string,
    readonly typeUrl: string,
    readonly nonce: string,
    readonly anys: readonly AnyMessage[],
    /** Encoded size of the whole response. */
    readonly bytes: number,
  ) {}

  /** Decoded on first use, so benchmarks that only count pay nothing. */
  get resources(): DecodedResource[] {
    this.decoded ??= this.anys.map(decodeResource);
    return this.decoded;
  }

  get names(): string[] {
    return this.resources.map((r) => r.name).sort();
  }
}

export class DeltaResponse {
  private decoded?: (DecodedResource & { version: string })[];

  constructor(
    readonly systemVersionInfo: string,
    readonly typeUrl: string,
    readonly nonce: string,
    readonly entries: readonly { name: string; version: string; resource?: AnyMessage }[],
    readonly removed: readonly string[],
    readonly bytes: number,
  ) {}

  get resources(): (DecodedResource & { version: string })[] {
    this.decoded ??= this.entries.map((e) => {
      if (!e.resource) throw new Error(`delta resource ${e.name} has no body`);
      return { ...decodeResource(e.resource), name: e.name, version: e.version };
    });
    return this.decoded;
  }

  get names(): string[] {
    return this.entries.map((e) => e.name).sort();
  }

  /** name -> version, as initial_resource_versions on a reconnect would carry them. */
  get versions(): Map<string, string> {
    return new Map(this.entries.map((e) => [e.name, e.version]));
  }
}

interface Waiter<R> {
  readonly typeUrl?: string;
  readonly resolve: (r: R) => void;
  readonly reject: (e: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/** The stream plumbing both clients share: a FIFO of responses and waiters on it. */
abstract class DiscoveryClient<Req, Res extends { typeUrl: string }> {
  private readonly received: Res[] = [];
  private readonly waiters: Waiter<Res>[] = [];
  private ended?: StreamEnd;
  /** Resolves when the server ends the stream (or it fails), with the final status. */
  readonly closed: Promise<StreamEnd>;
  protected sentFirst = false;

  protected constructor(
    private readonly client: grpc.Client,
    protected readonly call: grpc.ClientDuplexStream<Req, Buffer>,
    protected readonly node: NodeInfo | undefined,
    private readonly nextTimeoutMs: number,
  ) {
    this.closed = new Promise((resolve) => {
      call.on('status', (s: grpc.StatusObject) => {
        this.finish({ code: s.code, details: s.details });
        resolve(this.ended ?? { code: s.code, details: s.details });
      });
    });
    // Errors also arrive as a status; without a listener they would be thrown.
    call.on('error', () => undefined);
    call.on('data', (buf: Buffer) => {
      let res: Res;
      try {
        res = this.decode(buf);
      } catch (err) {
        this.finish({ code: grpc.status.INTERNAL, details: `client could not decode a response: ${String(err)}` });
        call.cancel();
        return;
      }
      const i = this.waiters.findIndex((w) => w.typeUrl === undefined || w.typeUrl === res.typeUrl);
      if (i >= 0) {
        const [w] = this.waiters.splice(i, 1);
        clearTimeout(w.timer);
        w.resolve(res);
      } else {
        this.received.push(res);
      }
    });
  }

  protected abstract decode(buf: Buffer): Res;

  /**
   * The next response of this type (or of any type), in arrival order. Responses that arrive
   * before anyone asks are buffered, so nothing is missed.
   */
  next(typeUrl?: string, timeoutMs = this.nextTimeoutMs): Promise<Res> {
    const i = this.received.findIndex((r) => typeUrl === undefined || r.typeUrl === typeUrl);
    if (i >= 0) return Promise.resolve(this.received.splice(i, 1)[0]);
    if (this.ended) return Promise.reject(this.endedError(typeUrl));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const k = this.waiters.findIndex((w) => w.timer === timer);
        if (k >= 0) this.waiters.splice(k, 1);
        reject(new Error(`no ${typeUrl ? shortTypeName(typeUrl) : 'discovery'} response within ${timeoutMs} ms` +
          ` (buffered: ${this.received.map((r) => shortTypeName(r.typeUrl)).join(', ') || 'none'})`));
      }, timeoutMs);
      this.waiters.push({ typeUrl, resolve, reject, timer });
    });
  }

  /** How many responses (of a type) arrived and were not taken by next() yet. */
  buffered(typeUrl?: string): number {
    return this.received.filter((r) => typeUrl === undefined || r.typeUrl === typeUrl).length;
  }

  /** Cancels the stream and closes the channel. */
  close(): void {
    this.call.cancel();
    this.client.close();
  }

  protected send(req: Req): void {
    this.sentFirst = true;
    this.call.write(req);
  }

  protected nodeFor(option: boolean | NodeInfo | undefined): NodeInfo | undefined {
    if (typeof option === 'object') return option;
    const include = option ?? !this.sentFirst;
    return include ? this.node : undefined;
  }

  private finish(end: StreamEnd): void {
    if (this.ended) return;
    this.ended = end;
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(this.endedError(w.typeUrl));
    }
  }

  private endedError(typeUrl?: string): Error {
    const e = this.ended;
    return new Error(`stream ended (${e ? `${grpc.status[e.code]}: ${e.details}` : 'unknown'}) before a ` +
      `${typeUrl ? shortTypeName(typeUrl) : 'discovery'} response arrived`);
  }
}

async function openChannel(address: string, opts: ConnectOptions): Promise<grpc.Client> {
  const client = new grpc.Client(address, opts.credentials ?? grpc.credentials.createInsecure(), opts.channelOptions);
  const timeout = opts.readyTimeoutMs ?? 10_000;
  const deadline = Date.now() + timeout;
  await new Promise<void>((resolve, reject) => {
    const failed = (why: string): void => {
      client.close();
      reject(new Error(`cannot connect to xDS server at ${address} within ${timeout} ms: ${why}`));
    };
    if (!opts.failFast) {
      client.waitForReady(deadline, (err) => (err ? failed(err.message) : resolve()));
      return;
    }
    const channel = client.getChannel();
    const watch = (): void => {
      const state = channel.getConnectivityState(true);
      if (state === grpc.connectivityState.READY) return resolve();
      if (state === grpc.connectivityState.TRANSIENT_FAILURE) return failed('the connection attempt failed');
      channel.watchConnectivityState(state, deadline, (err) => (err ? failed(err.message) : watch()));
    };
    watch();
  });
  return client;
}

export interface SotwRequestOptions {
  versionInfo?: string;
  responseNonce?: string;
  errorDetail?: ErrorDetail;
  /** Send the node: default only on the first request; or send this node instead. */
  node?: boolean | NodeInfo;
}

/** State-of-the-world client (StreamAggregatedResources, or a per-type Stream* method). */
export class AdsClient extends DiscoveryClient<SotwRequestInit, SotwResponse> {
  private readonly names = new Map<string, readonly string[]>();
  private readonly acked = new Map<string, string>();

  /** Opens a stream; nothing is sent until the first request(). `node` undefined sends none. */
  static async connect(address: string, node: NodeInfo | undefined, opts: ConnectOptions = {}): Promise<AdsClient> {
    const client = await openChannel(address, opts);
    const call = client.makeBidiStreamRequest(methodFor(opts.service ?? 'ads', false), encodeSotwRequest, (b: Buffer) => b,
      opts.metadata ?? new grpc.Metadata());
    return new AdsClient(client, call, node, opts.nextTimeoutMs ?? 20_000);
  }

  protected decode(buf: Buffer): SotwResponse {
    const r = decodeSotwResponse(buf);
    return new SotwResponse(r.versionInfo, r.typeUrl, r.nonce, r.resources, buf.length);
  }

  /** Sends a DiscoveryRequest with exactly these fields. */
  request(typeUrl: string, resourceNames: readonly string[], opts: SotwRequestOptions = {}): void {
    this.names.set(typeUrl, resourceNames);
    this.send({
      typeUrl, resourceNames, node: this.nodeFor(opts.node), versionInfo: opts.versionInfo,
      responseNonce: opts.responseNonce, errorDetail: opts.errorDetail,
    });
  }

  /** ACKs a response, keeping (or changing to) the given subscription. */
  ack(res: SotwResponse, resourceNames?: readonly string[]): void {
    this.acked.set(res.typeUrl, res.versionInfo);
    this.request(res.typeUrl, resourceNames ?? this.names.get(res.typeUrl) ?? [], {
      versionInfo: res.versionInfo, responseNonce: res.nonce,
    });
  }

  /** NACKs a response as Envoy does: the last accepted version plus error_detail. */
  nack(res: SotwResponse, message: string, resourceNames?: readonly string[]): void {
    this.request(res.typeUrl, resourceNames ?? this.names.get(res.typeUrl) ?? [], {
      versionInfo: this.acked.get(res.typeUrl) ?? '', responseNonce: res.nonce,
      errorDetail: { code: grpc.status.INVALID_ARGUMENT, message },
    });
  }

  /** Requests and ACKs until the response for `typeUrl` arrives; returns it (already ACKed). */
  async fetch(typeUrl: string, resourceNames: readonly string[] = []): Promise<SotwResponse> {
    this.request(typeUrl, resourceNames);
    const res = await this.next(typeUrl);
    this.ack(res);
    return res;
  }
}

export interface DeltaRequestOptions {
  subscribe?: readonly string[];
  unsubscribe?: readonly string[];
  initialVersions?: ReadonlyMap<string, string> | Readonly<Record<string, string>>;
  responseNonce?: string;
  errorDetail?: ErrorDetail;
  node?: boolean | NodeInfo;
}

/** Incremental client (DeltaAggregatedResources, or a per-type Delta* method). */
export class DeltaAdsClient extends DiscoveryClient<DeltaRequestInit, DeltaResponse> {
  static async connect(address: string, node: NodeInfo | undefined, opts: ConnectOptions = {}): Promise<DeltaAdsClient> {
    const client = await openChannel(address, opts);
    const call = client.makeBidiStreamRequest(methodFor(opts.service ?? 'ads', true), encodeDeltaRequest, (b: Buffer) => b,
      opts.metadata ?? new grpc.Metadata());
    return new DeltaAdsClient(client, call, node, opts.nextTimeoutMs ?? 20_000);
  }

  protected decode(buf: Buffer): DeltaResponse {
    const r = decodeDeltaResponse(buf);
    return new DeltaResponse(r.systemVersionInfo, r.typeUrl, r.nonce, r.resources, r.removed, buf.length);
  }

  request(typeUrl: string, opts: DeltaRequestOptions = {}): void {
    this.send({
      typeUrl, node: this.nodeFor(opts.node), subscribe: opts.subscribe, unsubscribe: opts.unsubscribe,
      initialVersions: opts.initialVersions, responseNonce: opts.responseNonce, errorDetail: opts.errorDetail,
    });
  }

  ack(res: DeltaResponse): void {
    this.request(res.typeUrl, { responseNonce: res.nonce });
  }

  nack(res: DeltaResponse, message: string): void {
    this.request(res.typeUrl, {
      responseNonce: res.nonce, errorDetail: { code: grpc.status.INVALID_ARGUMENT, message },
    });
  }
}
