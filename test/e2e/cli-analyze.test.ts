// `pilotfish analyze` and `config-dump` as CI gates, from the built binary: one line per problem
// with file, document (1-based, the same number `serve` logs and `inject` prints), object and
// field; exit 3 when anything is wrong, 0 on the examples.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { PilotfishProcess, REPO_ROOT, runPilotfish } from '../support/pilotfish-process.js';

const SERVICES = `apiVersion: v1
kind: Namespace
metadata: { name: shop }
---
apiVersion: v1
kind: Service
metadata: { name: web, namespace: shop }
spec:
  ports: [{ name: http, port: 80 }]
`;

// The second document is not YAML.
const BROKEN = `apiVersion: v1
kind: Service
metadata: { name: ok, namespace: shop }
spec: { ports: [{ name: http, port: 80 }] }
---
apiVersion: v1
kind: Service
metadata: { name: a, namespace: shop
spec: {}
`;

// One bad routing object of each kind, documents 1-5; document 6 is a valid, older route.
const ROUTES = `apiVersion: routing.pilotfish.io/v1alpha1
kind: TrafficRoute
metadata: { name: unknown-field, namespace: shop }
spec:
  hosts: [web]
  colour: blue
  http: [{ route: [{ destination: { host: web } }] }]
---
apiVersion: routing.pilotfish.io/v1alpha1
kind: TrafficRoute
metadata: { name: invalid, namespace: shop }
spec:
  hosts: [web]
  http: [{ timeout: soon, route: [{ destination: { host: web } }] }]
---
apiVersion: routing.pilotfish.io/v1alpha1
kind: TrafficRoute
metadata: { name: missing-service, namespace: shop }
spec:
  hosts: [nosuch]
  http: [{ route: [{ destination: { host: nosuch } }] }]
---
apiVersion: routing.pilotfish.io/v1alpha1
kind: TrafficRoute
metadata: { name: second, namespace: shop, creationTimestamp: "2025-02-01T00:00:00Z" }
spec:
  hosts: [web]
  http: [{ route: [{ destination: { host: web } }] }]
---
apiVersion: routing.pilotfish.io/v1alpha1
kind: TrafficRoute
metadata: { name: zero-weights, namespace: shop }
spec:
  hosts: [web]
  http: [{ route: [{ destination: { host: web }, weight: 0 }] }]
---
apiVersion: routing.pilotfish.io/v1alpha1
kind: TrafficRoute
metadata: { name: first, namespace: shop, creationTimestamp: "2025-01-01T00:00:00Z" }
spec:
  hosts: [web]
  http: [{ route: [{ destination: { host: web } }] }]
`;

// Used only in part: endpoints for a Service that does not exist.
const ORPHAN = `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: gone-1, namespace: shop, labels: { kubernetes.io/service-name: gone } }
addressType: IPv4
endpoints: [{ addresses: ["10.0.0.1"] }]
`;

describe('e2e: pilotfish analyze and config-dump', function () {
  this.timeout(60_000);
  let dir: string;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'pf-analyze-'));
    await writeFile(path.join(dir, 'services.yaml'), SERVICES);
    await writeFile(path.join(dir, 'broken.yaml'), BROKEN);
    await writeFile(path.join(dir, 'routes.yaml'), ROUTES);
    await writeFile(path.join(dir, 'orphan.yaml'), ORPHAN);
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('names every problem of a directory with one bad object of each kind, and exits 3', async () => {
    const r = await runPilotfish(['analyze', '-f', dir]);
    assert.equal(r.code, 3, r.stdout + r.stderr);
    assert.equal(r.stderr, '');
    const routes = path.join(dir, 'routes.yaml');
    const expected: RegExp[] = [
      new RegExp(`^Error \\[YamlSyntax\\] \\(${path.join(dir, 'broken.yaml')} document 2\\) YAML syntax error: .*line \\d+`, 'm'),
      new RegExp(`^Error \\[Invalid\\] \\(TrafficRoute shop/unknown-field ${routes} document 1\\) spec\\.colour: unknown field$`, 'm'),
      new RegExp(`^Error \\[Invalid\\] \\(TrafficRoute shop/invalid ${routes} document 2\\) spec\\.http\\[0\\]\\.timeout: must be a duration`, 'm'),
      new RegExp(`^Error \\[ServiceNotFound\\] \\(TrafficRoute shop/missing-service ${routes} document 3\\) spec\\.hosts: service nosuch\\.shop \\("nosuch"\\) not found$`, 'm'),
      new RegExp(`^Error \\[ServiceNotFound\\] \\(TrafficRoute shop/missing-service ${routes} document 3\\) spec\\.http\\[0\\]\\.route\\[0\\]\\.destination\\.host: service nosuch\\.shop`, 'm'),
      new RegExp(`^Error \\[Conflict\\] \\(TrafficRoute shop/second ${routes} document 4\\) Host web\\.shop is already configured by TrafficRoute shop/first`, 'm'),
      new RegExp(`^Error \\[InvalidWeights\\] \\(TrafficRoute shop/zero-weights ${routes} document 5\\) spec\\.http\\[0\\]\\.route: the weights add up to 0`, 'm'),
      new RegExp(`^Warning \\[PartlyIgnored\\] \\(EndpointSlice shop/gone-1 ${path.join(dir, 'orphan.yaml')} document 1\\) Service shop/gone does not exist; endpoints ignored$`, 'm'),
    ];
    for (const e of expected) assert.match(r.stdout, e);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, expected.length + 1, r.stdout);
    assert.doesNotMatch(r.stdout, /\(TrafficRoute shop\/first /, 'the accepted route is not a problem');
    assert.equal(lines.at(-1), `✘ 7 error(s), 1 warning(s), 0 info in ${dir}.`);
  });

  it('analyzes a single file, with the same document numbers', async () => {
    const r = await runPilotfish(['analyze', '-f', path.join(dir, 'routes.yaml')]);
    assert.equal(r.code, 3, r.stdout + r.stderr);
    // Alone, the routes name a Service this file lacks; the documents are numbered as before.
    assert.match(r.stdout, /^Error \[Invalid\] \(TrafficRoute shop\/unknown-field .*routes\.yaml document 1\) spec\.colour: unknown field$/m);
    assert.match(r.stdout, /^Error \[ServiceNotFound\] \(TrafficRoute shop\/first .*routes\.yaml document 6\) spec\.hosts: service web\.shop/m);
  });

  for (const example of ['shop', 'demo']) {
    it(`exits 0 on examples/${example}`, async () => {
      const r = await runPilotfish(['analyze', '-f', path.join(REPO_ROOT, 'examples', example)]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.doesNotMatch(r.stdout, /^(Error|Warning) /m);
      assert.match(r.stdout, /✔ No problems found in .*examples\/\w+ \(\d+ objects/);
    });
  }

  it('--kind: what proxyless gRPC clients ignore is a warning for grpc, absent for sidecar, info otherwise', async () => {
    const shop = path.join(REPO_ROOT, 'examples', 'shop');
    const grpc = await runPilotfish(['analyze', '-f', shop, '--kind', 'grpc']);
    assert.equal(grpc.code, 3, grpc.stdout);
    assert.match(grpc.stdout, /^Warning \[IgnoredByProxylessGrpc\] \(TrafficRoute shop\/checkout .*routing\.yaml document \d+\) spec\.http\[0\]\.rewrite\.uri: ignored by proxyless gRPC clients/m);
    const sidecar = await runPilotfish(['analyze', '-f', shop, '--kind', 'sidecar']);
    assert.equal(sidecar.code, 0, sidecar.stdout);
    assert.doesNotMatch(sidecar.stdout, /IgnoredByProxylessGrpc/);
    const either = await runPilotfish(['analyze', '-f', shop]);
    assert.match(either.stdout, /^Info \[IgnoredByProxylessGrpc\] /m);
  });

  it('a missing path is a runtime failure (exit 1), not a finding', async () => {
    const r = await runPilotfish(['analyze', '-f', path.join(dir, 'nope')]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `pilotfish analyze: ${path.join(dir, 'nope')}: no such file or directory\n`);
  });

  it('config-dump exits 3 on errors, prints the dump all the same and one line per problem on stderr; -o yaml is the same dump', async () => {
    const json = await runPilotfish(['config-dump', '--config-dir', dir, '--node-id', 'x', '--namespace', 'shop']);
    assert.equal(json.code, 3, json.stderr);
    const dump = JSON.parse(json.stdout) as { configErrors: { file: string; document: number }[]; routing: unknown[]; warnings: string[] };
    assert.deepEqual(dump.configErrors.map((e) => [path.basename(e.file), e.document]), [['broken.yaml', 2]]);
    assert.equal(dump.routing.length, 6);
    assert.match(json.stderr, /^Error \[Conflict\] \(TrafficRoute shop\/second .*document 4\)/m);
    assert.match(json.stderr, /^Warning \[PartlyIgnored\] /m);
    const yaml = await runPilotfish(['config-dump', '--config-dir', dir, '--node-id', 'x', '--namespace', 'shop', '-o', 'yaml']);
    assert.equal(yaml.code, 3);
    assert.deepEqual(YAML.parse(yaml.stdout), dump);

    const demo = await runPilotfish(['config-dump', '--config-dir', path.join(REPO_ROOT, 'examples', 'demo'), '--node-id', 'x', '--namespace', 'demo']);
    assert.equal(demo.code, 0, demo.stderr);
    assert.equal(demo.stderr, '');
  });

  it('serve logs, inject and analyze number the same document alike', async () => {
    const only = await mkdtemp(path.join(dir, 'one-'));
    const file = path.join(only, 'broken.yaml');
    await writeFile(file, BROKEN);
    const analyzed = await runPilotfish(['analyze', '-f', only]);
    assert.match(analyzed.stdout, /broken\.yaml document 2\) YAML syntax error/);
    const injected = await runPilotfish(['inject', '-f', file]);
    assert.equal(injected.code, 1);
    assert.match(injected.stderr, /broken\.yaml: document 2: /);
    const pf = PilotfishProcess.start(['serve', '--config-dir', only, '--xds-address', '127.0.0.1:0', '--http-address', '127.0.0.1:0']);
    try {
      const logged = await pf.waitForLog((l) => l.message === 'invalid config file; keeping its last good content', 'the broken file to be logged');
      assert.equal(logged.document, 2);
      assert.equal(logged.file, file);
    } finally {
      await pf.stop();
    }
  });
});
