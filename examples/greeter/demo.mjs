#!/usr/bin/env node
// `npm run demo`: everything a newcomer needs to see a request routed, in one command —
//   1. a greeter backend for every EndpointSlice of the greeter Service in the config directory
//      (examples/demo names 127.0.0.1:50051 for greeter-v1 and 127.0.0.1:50052 for greeter-v2),
//   2. `pilotfish serve` on that directory (logs as text on stderr),
//   3. a proxyless gRPC client (client.mjs) bootstrapped by `pilotfish bootstrap`, which prints
//      the live split once a second on stdout.
// Edit examples/demo/routing.yaml while it runs and the split follows. Ctrl-C stops everything.
//
// Flags: --config-dir DIR (examples/demo), --xds-address HOST:PORT (127.0.0.1:15010; port 0 picks
// a free one), --http-address HOST:PORT (127.0.0.1:15014). Run `npm run build` first (npm run demo does).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import YAML from 'yaml';
import { startGreeter } from './greeter.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const pilotfish = path.join(root, 'dist/src/cli/main.js');
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

try {
  for (const ep of endpoints) {
    backends.push(await startGreeter(ep.name, ep.address, ep.port));
    console.error(`demo: greeter backend ${ep.name} listening on ${ep.address}:${ep.port}`);
  }
} catch (err) {
  console.error(`demo: ${err.message}`);
  await stop(1);
}

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

// The text log line `… serving xdsAddress=127.0.0.1:15010 …` says serve is ready, and where.
const xdsAddress = await new Promise((resolve) => {
  createInterface({ input: serve.stderr }).on('line', (line) => {
    process.stderr.write(`${line}\n`);
    const m = / serving .*xdsAddress=(\S+)/.exec(line);
    if (m) resolve(m[1]);
  });
});

const bootstrap = spawnSync(process.execPath, [
  pilotfish, 'bootstrap', '--kind', 'grpc', '--node-id', 'demo-client', '--namespace', NAMESPACE, '--xds-address', xdsAddress,
], { encoding: 'utf8' });
if (bootstrap.status !== 0) {
  console.error(`demo: pilotfish bootstrap failed: ${bootstrap.stderr.trim()}`);
  await stop(1);
}
const bootstrapFile = path.join(work, 'bootstrap.json');
writeFileSync(bootstrapFile, bootstrap.stdout);

const target = `xds:///${SERVICE}.${NAMESPACE}.svc.cluster.local:${SERVICE_PORT}`;
console.error(`demo: client dials ${target}; edit ${path.join(path.relative(process.cwd(), configDir) || '.', 'routing.yaml')} and watch the split`);
const client = spawn(process.execPath, [path.join(here, 'client.mjs'), target], {
  stdio: ['ignore', 'inherit', 'inherit'],
  detached: true,
  env: { ...process.env, GRPC_XDS_BOOTSTRAP: bootstrapFile },
});
children.push(client);
client.on('exit', (code) => {
  if (!stopping) {
    console.error(`demo: the client exited (code ${code}); stopping`);
    void stop(1);
  }
});
