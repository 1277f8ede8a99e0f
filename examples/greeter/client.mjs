#!/usr/bin/env node
// A proxyless gRPC client: @grpc/grpc-js-xds reads its bootstrap (GRPC_XDS_BOOTSTRAP, written by
// `pilotfish bootstrap --kind grpc`), gets listeners, routes, clusters and endpoints from
// pilotfish, and applies the TrafficRoute's split itself. It calls the greeter 20 times a second
// and prints, once a second, which backend answered how many of them:
//
//   split  greeter-v1 80% ################     greeter-v2 20% ####     (20 calls)
//
// Usage: GRPC_XDS_BOOTSTRAP=bootstrap.json node examples/greeter/client.mjs [xds:///TARGET]
//
// demo.mjs starts it with an IPC channel and no bootstrap yet, at the same time as pilotfish serve:
// loading gRPC and the xDS protos takes as long as serve's startup, so the two overlap, and the
// client waits for `{ bootstrap: FILE }` (sent once serve listens) before it dials.
import * as grpc from '@grpc/grpc-js';
import * as grpcXds from '@grpc/grpc-js-xds';
import { GreeterClient } from './greeter.mjs';

const target = process.argv[2] ?? 'xds:///greeter.demo.svc.cluster.local:50051';
const CALLS_PER_SECOND = 20;
const CALL_DEADLINE_MS = 2000;

if (!process.env.GRPC_XDS_BOOTSTRAP && !process.env.GRPC_XDS_BOOTSTRAP_CONFIG) {
  if (!process.send) {
    console.error('client: set GRPC_XDS_BOOTSTRAP to a file written by `pilotfish bootstrap --kind grpc` (see README, "A proxyless gRPC client")');
    process.exit(2);
  }
  // grpc-js-xds reads the variable when the first xDS channel is created, which is below.
  process.env.GRPC_XDS_BOOTSTRAP = await new Promise((resolve) => {
    process.on('message', function onMessage(m) {
      if (typeof m?.bootstrap !== 'string') return;
      process.off('message', onMessage);
      resolve(m.bootstrap);
    });
    process.send({ ready: true });
  });
  // The channel to the demo would keep this process alive once the demo is gone.
  process.disconnect();
}
grpcXds.register();
const client = new GreeterClient(target, grpc.credentials.createInsecure());

let answers = new Map();
let failures = new Map();

function callOnce() {
  const deadline = new Date(Date.now() + CALL_DEADLINE_MS);
  client.SayHello({ name: 'demo' }, { deadline }, (err, reply) => {
    if (err) {
      const code = grpc.status[err.code] ?? String(err.code);
      failures.set(code, (failures.get(code) ?? 0) + 1);
      return;
    }
    // "Hello demo from greeter-v1": the backend's name is the last word.
    const backend = reply.message.split(' ').pop();
    answers.set(backend, (answers.get(backend) ?? 0) + 1);
  });
}

function report() {
  const total = [...answers.values()].reduce((a, b) => a + b, 0);
  const parts = [...answers.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([backend, n]) => {
    const pct = Math.round((100 * n) / total);
    return `${backend} ${String(pct).padStart(3)}% ${'#'.repeat(Math.round(pct / 5)).padEnd(20)}`;
  });
  const failed = [...failures.entries()].map(([code, n]) => `${code}×${n}`).join(' ');
  if (total > 0) console.log(`split  ${parts.join('  ')} (${total} calls)${failed ? `  failed: ${failed}` : ''}`);
  else console.log(`waiting for pilotfish${failed ? `  failed: ${failed}` : ''}`);
  answers = new Map();
  failures = new Map();
}

const calls = setInterval(callOnce, 1000 / CALLS_PER_SECOND);
const reports = setInterval(report, 1000);
// The xDS client's stream to pilotfish would keep the process alive after close().
const stop = () => {
  clearInterval(calls);
  clearInterval(reports);
  client.close();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
