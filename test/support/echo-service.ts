// A tiny gRPC service for end-to-end tests: each backend answers with its own name, so a test
// can see which backend a call reached. Messages are raw bytes (UTF-8), no codegen needed.
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';

const identity = (b: Buffer): Buffer => b;

export const ECHO_SERVICE: grpc.ServiceDefinition = {
  Call: {
    path: '/pilotfish.test.Echo/Call',
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};

export interface EchoBackend {
  readonly name: string;
  readonly port: number;
  /** Calls answered so far, with the metadata each carried. */
  readonly calls: Array<{ metadata: grpc.Metadata }>;
  close(): Promise<void>;
}

export interface EchoBehaviour {
  /** Fail the first N calls with this status (e.g. UNAVAILABLE for retry tests). */
  failFirst?: { count: number; code: grpc.status };
  /** Delay every answer (for timeout tests). */
  delayMs?: number;
}

export async function startEchoBackend(name: string, behaviour: EchoBehaviour = {}): Promise<EchoBackend> {
  const server = new grpc.Server();
  const calls: Array<{ metadata: grpc.Metadata }> = [];
  let failed = 0;
  server.addService(ECHO_SERVICE, {
    Call: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      calls.push({ metadata: call.metadata });
      if (behaviour.failFirst && failed < behaviour.failFirst.count) {
        failed++;
        cb({ code: behaviour.failFirst.code, details: `${name} failing on purpose` });
        return;
      }
      const answer = (): void => cb(null, Buffer.from(name));
      if (behaviour.delayMs) setTimeout(answer, behaviour.delayMs);
      else answer();
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
  });
  return {
    name,
    port,
    calls,
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}

const EchoClientCtor = grpc.makeGenericClientConstructor(ECHO_SERVICE, 'Echo');

export interface CallResult {
  ok: boolean;
  backend?: string;
  code?: grpc.status;
  details?: string;
  ms: number;
}

export class EchoClient {
  private readonly client: grpc.Client;

  constructor(target: string, options: grpc.ChannelOptions = {}) {
    this.client = new EchoClientCtor(target, grpc.credentials.createInsecure(), options);
  }

  call(opts: { metadata?: Record<string, string>; deadlineMs?: number } = {}): Promise<CallResult> {
    const md = new grpc.Metadata();
    for (const [k, v] of Object.entries(opts.metadata ?? {})) md.set(k, v);
    const started = performance.now();
    const callOptions: grpc.CallOptions = {};
    if (opts.deadlineMs) callOptions.deadline = new Date(Date.now() + opts.deadlineMs);
    return new Promise((resolve) => {
      const method = (this.client as unknown as Record<string, (req: Buffer, md: grpc.Metadata, o: grpc.CallOptions,
        cb: (err: grpc.ServiceError | null, res?: Buffer) => void) => void>).Call;
      method.call(this.client, Buffer.from('ping'), md, callOptions, (err, res) => {
        const ms = performance.now() - started;
        if (err) resolve({ ok: false, code: err.code, details: err.details, ms });
        else resolve({ ok: true, backend: res?.toString(), ms });
      });
    });
  }

  /** Waits until the channel is READY or fails (xDS resolution included). */
  waitForReady(deadlineMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.client.waitForReady(new Date(Date.now() + deadlineMs), (err) => (err ? reject(err) : resolve()));
    });
  }

  close(): void {
    this.client.close();
  }
}

/** Counts answers per backend over n sequential calls. */
export async function callMany(client: EchoClient, n: number, opts: Parameters<EchoClient['call']>[0] = {}):
  Promise<{ byBackend: Map<string, number>; failures: CallResult[] }> {
  const byBackend = new Map<string, number>();
  const failures: CallResult[] = [];
  for (let i = 0; i < n; i++) {
    const r = await client.call(opts);
    if (r.ok && r.backend) byBackend.set(r.backend, (byBackend.get(r.backend) ?? 0) + 1);
    else failures.push(r);
  }
  return { byBackend, failures };
}

/**
 * Channel options for a client that must make its own connections: gRPC otherwise shares
 * subchannels across clients, and a test that switches security live needs fresh handshakes.
 */
export const OWN_CONNECTIONS = { 'grpc.use_local_subchannel_pool': 1 };

/** One echo call ("hi") on a plain grpc.Client (xDS or not): the answer, or the call's error. */
export function echoOnce(client: grpc.Client): Promise<string> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest<Buffer, Buffer>(ECHO_SERVICE.Call.path, (b) => b, (b) => b, Buffer.from('hi'),
      { deadline: Date.now() + 10_000 }, (err, res) => (err ? reject(err) : resolve(res!.toString('utf8'))));
  });
}

/** The Service `echo.shop` (gRPC on 50051) and its EndpointSlice: one ready endpoint, 127.0.0.1:`port`. */
export function echoShopService(port: number): { service: V1Service; slice: V1EndpointSlice } {
  return {
    service: { metadata: { name: 'echo', namespace: 'shop' }, spec: { ports: [{ name: 'grpc', port: 50051, appProtocol: 'grpc' }] } },
    slice: {
      addressType: 'IPv4',
      metadata: { name: 'echo-1', namespace: 'shop', labels: { 'kubernetes.io/service-name': 'echo' } },
      ports: [{ name: 'grpc', port }],
      endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready: true } }],
    },
  };
}

/** 1,000 calls split 80/20 between echo-v1 and echo-v2 by weight: none fails, v1 gets 800 ± 50. */
export async function assertEightyTwentySplit(client: EchoClient): Promise<void> {
  const { byBackend, failures } = await callMany(client, 1000);
  assert.deepEqual(failures, []);
  const v1 = byBackend.get('echo-v1') ?? 0;
  const v2 = byBackend.get('echo-v2') ?? 0;
  assert.equal(v1 + v2, 1000);
  assert.ok(v1 >= 750 && v1 <= 850, `v1 got ${v1} of 1000 calls, expected 800 ± 50`);
}
