// What the routing e2e tests (TrafficRoute, GRPCRoute, VirtualService) share: `pilotfish serve` on a
// config directory with a gRPC bootstrap for its clients, and waiting until an edit is live in a
// client (a probe call carrying the generation's header meets the rule written for it).
import assert from 'node:assert/strict';
import type * as grpc from '@grpc/grpc-js';
import type { CallResult, EchoClient } from './echo-service.js';
import { PilotfishProcess, runPilotfish } from './pilotfish-process.js';

export interface ServedDirectory {
  readonly pf: PilotfishProcess;
  /** The bootstrap JSON for a gRPC xDS client of namespace `namespace`. */
  readonly bootstrap: string;
}

export async function serveForClients(dir: string, namespace: string): Promise<ServedDirectory> {
  const pf = PilotfishProcess.start(['serve', '--config-dir', dir, '--xds-address', '127.0.0.1:0', '--http-address', '127.0.0.1:0', '--log-level', 'debug']);
  const addrs = await pf.serving();
  const out = await runPilotfish(['bootstrap', '--node-id', 'e2e-client', '--xds-address', addrs.xdsAddress, '--namespace', namespace]);
  assert.equal(out.code, 0, out.stderr);
  return { pf, bootstrap: JSON.stringify(JSON.parse(out.stdout)) };
}

/** Calls with `x-probe: <gen>` until the answer is `code` (what generation `gen`'s probe rule returns), for up to 20 s. */
export async function probeUntilLive(c: EchoClient, gen: number, code: grpc.status, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  let last: CallResult | undefined;
  while (Date.now() < deadline) {
    last = await c.call({ metadata: { 'x-probe': String(gen) }, deadlineMs: 5_000 });
    if (!last.ok && last.code === code) return;
  }
  assert.fail(`${what} generation ${gen} never became live in the client; last probe: ${JSON.stringify(last)}`);
}
