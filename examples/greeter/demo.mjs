#!/usr/bin/env node
// `npm run demo`: everything a newcomer needs to see a request routed, in one command —
//   1. a greeter backend for every EndpointSlice of the greeter Service in the config directory
//      (examples/demo names 127.0.0.1:50051 for greeter-v1 and 127.0.0.1:50052 for greeter-v2),
//   2. `pilotfish serve` on that directory (logs as text on stderr),
//   3. a proxyless gRPC client (client.mjs) with the bootstrap `pilotfish bootstrap --kind grpc`
//      prints, which prints the live split once a second on stdout.
// Edit examples/demo/routing.yaml while it runs and the split follows. Ctrl-C stops everything.
//
// A newcomer must see traffic within 10 s of start, on a busy laptop too. Nearly all of that time
// is CPU spent loading modules (serve's, the client's gRPC and xDS protos, the backends' gRPC), so
// the three start at once rather than one after the other, and the demo prints its own timeline.
//
// Flags: --config-dir DIR (examples/demo), --xds-address HOST:PORT (127.0.0.1:15010; port 0 picks
// a free one), --http-address HOST:PORT (127.0.0.1:15014). Run `npm run build` first (npm run demo does).
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import YAML from 'yaml';

const started = performance.now();
/** Seconds since the demo started, for its timeline. */
const at = () => `${((performance.now() - started) / 1000).toFixed(1)} s`;

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const pilotfish = path.join(root, 'dist/src/cli/main.js');
const grpcBootstrapModule = path.join(root, 'dist/src/xds/bootstrap/grpc-bootstrap.js');
const SERVICE = 'greeter';
const NAMESPACE = 'demo';
const SERVICE_PORT = 50051;

function fail(message, code = 1) {
  console.error(`demo: ${message}`);
  process.exit(code);
}

let flags;
try {
  ({ values: flags } = parseArgs({
    options: {
      'config-dir': { type: 'string', default: path.join(root, 'examples/demo') },
      'xds-address': { type: 'string', default: '127.0.0.1:15010' },
      'http-address': { type: 'string', default: '127.0.0.1:15014' },
    },
  }));
} catch (err) {
  fail(`${err.message}\nusage: node examples/greeter/demo.mjs [--config-dir DIR] [--xds-address HOST:PORT] [--http-address HOST:PORT]`, 2);
}

if (!existsSync(pilotfish)) fail(`${path.relative(process.cwd(), pilotfish)} is missing: run \`npm run build\` first (or \`npm run demo\`)`);

/** The greeter's loopback endpoints as the config directory lists them: one backend each. */
function greeterEndpoints(dir) {
  const found = [];
  const visit = (d) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const file = path.join(d, entry.name);
      if (entry.isDirectory()) visit(file);
      else if (/\.ya?ml$/.test(entry.name)) {
        for (const doc of YAML.parseAllDocuments(readFileSync(file, 'utf8'))) {
          const o = doc.toJS();
          if (o?.kind !== 'EndpointSlice' || o.metadata?.labels?.['kubernetes.io/service-name'] !== SERVICE) continue;
          const port = o.ports?.[0]?.port;
          for (const ep of o.endpoints ?? []) {
            for (const address of ep.addresses ?? []) {
              if (address === '127.0.0.1' && port) found.push({ name: ep.targetRef?.name ?? o.metadata.name, address, port });
            }
          }
        }
      }
    }
  };
  visit(dir);
  return found;
}

const configDir = path.resolve(flags['config-dir']);
if (!existsSync(configDir)) fail(`config directory ${configDir} does not exist`);
const endpoints = greeterEndpoints(configDir);
if (endpoints.length === 0) fail(`no EndpointSlice of Service ${SERVICE} in ${configDir} names a 127.0.0.1 endpoint`);

const backends = [];
const children = [];
const work = mkdtempSync(path.join(tmpdir(), 'pilotfish-demo-'));
let stopping = false;

// Children run in their own process group, so Ctrl-C reaches only this process, which then
// stops each of them once (a second signal would make serve exit without closing its streams).
async function stop(code) {
  if (stopping) return;
  stopping = true;
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  await Promise.all(children.filter((c) => c.exitCode === null).map((c) => new Promise((done) => c.once('exit', done))));
  await Promise.all(backends.map((b) => b.close()));
  rmSync(work, { recursive: true, force: true });
  process.exit(code);
}
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

const serve = spawn(process.execPath, [
  '--max-semi-space-size=8', pilotfish, 'serve', '--config-dir', configDir, '--xds-address', flags['xds-address'],
  '--http-address', flags['http-address'], '--log-format', 'text',
], { stdio: ['ignore', 'inherit', 'pipe'], detached: true });
children.push(serve);
serve.on('exit', (code) => {
  if (!stopping) {
    console.error(`demo: pilotfish serve exited (code ${code}); stopping`);
    void stop(1);
  }
});

// The client loads gRPC while serve starts; it waits for its bootstrap (client.mjs) before dialing.
const target = `xds:///${SERVICE}.${NAMESPACE}.svc.cluster.local:${SERVICE_PORT}`;
const client = spawn(process.execPath, [path.join(here, 'client.mjs'), target], {
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  detached: true,
  // Its bootstrap is the demo's, whatever the shell that runs the demo sets.
  env: { ...process.env, GRPC_XDS_BOOTSTRAP: undefined, GRPC_XDS_BOOTSTRAP_CONFIG: undefined },
});
children.push(client);
client.on('exit', (code) => {
  if (!stopping) {
    console.error(`demo: the client exited (code ${code}); stopping`);
    void stop(1);
  }
});
const clientLoaded = new Promise((resolve) => client.on('message', (m) => { if (m?.ready) resolve(); }));

// The text log line `… serving xdsAddress=127.0.0.1:15010 …` says serve is ready, and where.
const xdsAddress = new Promise((resolve) => {
  createInterface({ input: serve.stderr }).on('line', (line) => {
    process.stderr.write(`${line}\n`);
    const m = / serving .*xdsAddress=(\S+)/.exec(line);
    if (m) resolve(m[1]);
  });
});

try {
  const { startGreeter } = await import('./greeter.mjs');
  for (const ep of endpoints) {
    backends.push(await startGreeter(ep.name, ep.address, ep.port));
    console.error(`demo: ${at()} greeter backend ${ep.name} listening on ${ep.address}:${ep.port}`);
  }
} catch (err) {
  console.error(`demo: ${err.message}`);
  await stop(1);
}

// What `pilotfish bootstrap --kind grpc --node-id demo-client --namespace demo --xds-address ADDRESS`
// prints, from the same function, without starting another process.
const { grpcBootstrap } = await import(pathToFileURL(grpcBootstrapModule).href);
const address = await xdsAddress;
console.error(`demo: ${at()} pilotfish serves xDS on ${address}`);
const bootstrapFile = path.join(work, 'bootstrap.json');
writeFileSync(bootstrapFile, `${JSON.stringify(grpcBootstrap({ nodeId: 'demo-client', xdsAddress: address, namespace: NAMESPACE }), null, 2)}\n`);

await clientLoaded;
console.error(`demo: ${at()} client dials ${target}; edit ${path.join(path.relative(process.cwd(), configDir) || '.', 'routing.yaml')} and watch the split`);
client.send({ bootstrap: bootstrapFile });
