// Echo backends standing in for Pods in the cluster suites. The real API server refuses loopback
// addresses in EndpointSlices (and kube-controller-manager could not write slices for Pods with
// them), so the backends listen on this machine's first non-loopback IPv4 address instead of
// 127.0.0.1.
import { networkInterfaces } from 'node:os';
import * as grpc from '@grpc/grpc-js';
import { ECHO_SERVICE, type EchoBackend } from '../support/echo-service.js';

/** This machine's first non-loopback, non-link-local IPv4 address. */
export function hostAddress(): string {
  for (const addresses of Object.values(networkInterfaces())) {
    const v4 = (addresses ?? []).find((a) => a.family === 'IPv4' && !a.internal && !a.address.startsWith('169.254.'));
    if (v4) return v4.address;
  }
  throw new Error('this machine has no non-loopback IPv4 address; the cluster suite needs one, because the API server '
    + 'refuses loopback addresses (127.0.0.0/8) as endpoints and the gRPC backends standing in for Pods must listen on it');
}

/** An echo backend on the given address (port 0: any free port). */
export async function startEchoOn(name: string, host: string, port = 0): Promise<EchoBackend> {
  const server = new grpc.Server();
  const calls: EchoBackend['calls'] = [];
  server.addService(ECHO_SERVICE, {
    Call: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      calls.push({ metadata: call.metadata });
      cb(null, Buffer.from(name));
    },
  });
  const bound = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
  });
  return { name, port: bound, calls, close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())) };
}
