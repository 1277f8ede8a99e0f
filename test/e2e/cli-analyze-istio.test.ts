// Istio config in files, from the built binary: `analyze` names every field pilotfish leaves out
// (a warning each, with file, document and path) and every Istio object it does not apply (an
// error), and `serve` logs the fields left out. Nothing is dropped silently.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PilotfishProcess, runPilotfish } from '../support/pilotfish-process.js';

const MESH = `apiVersion: v1
kind: Service
metadata: { name: web, namespace: shop }
spec:
  ports: [{ name: http, port: 80 }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: web, namespace: shop }
spec:
  hosts: [web]
  exportTo: ["."]
  http:
    - match: [{ sourceLabels: { app: admin } }]
      route: [{ destination: { host: web } }]
    - route: [{ destination: { host: web } }]
  tcp:
    - route: [{ destination: { host: web } }]
---
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: { name: gone, namespace: shop }
spec:
  host: gone
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: edge, namespace: shop }
spec:
  hosts: [web]
  gateways: [shop/public]
  http: [{ route: [{ destination: { host: web } }] }]
`;

describe('e2e: Istio objects in analyze and serve', function () {
  this.timeout(60_000);
  let dir: string;
  let file: string;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'pf-istio-'));
    file = path.join(dir, 'mesh.yaml');
    await writeFile(file, MESH);
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('analyze reports each field left out as a warning and each object not applied as an error, and exits 3', async () => {
    const r = await runPilotfish(['analyze', '-f', dir]);
    assert.equal(r.code, 3, r.stdout + r.stderr);
    const where = (object: string, doc: number): string => `\\(${object} ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} document ${doc}\\)`;
    const expected: RegExp[] = [
      new RegExp(`^Warning \\[NotSupported\\] ${where('VirtualService shop/web', 2)} spec\\.exportTo: visibility scoping is not supported`, 'm'),
      new RegExp(`^Warning \\[NotSupported\\] ${where('VirtualService shop/web', 2)} spec\\.tcp: TCP routes are not supported`, 'm'),
      new RegExp(`^Warning \\[NotSupported\\] ${where('VirtualService shop/web', 2)} spec\\.http\\[0\\]\\.match\\[0\\]\\.sourceLabels: matching on the client's labels`, 'm'),
      new RegExp(`^Warning \\[NotSupported\\] ${where('VirtualService shop/web', 2)} spec\\.http\\[0\\]\\.match: no match block pilotfish can evaluate`, 'm'),
      new RegExp(`^Error \\[ServiceNotFound\\] ${where('DestinationRule shop/gone', 3)} spec\\.host: service gone\\.shop \\("gone"\\) not found$`, 'm'),
      new RegExp(`^Error \\[Invalid\\] ${where('VirtualService shop/edge', 4)} spec\\.gateways: names gateways only`, 'm'),
    ];
    for (const e of expected) assert.match(r.stdout, e);
    assert.equal(r.stdout.trim().split('\n').length, expected.length + 1, r.stdout);
  });

  it('serve logs the fields it leaves out, naming the object', async () => {
    const pf = PilotfishProcess.start(['serve', '--config-dir', dir, '--xds-address', '127.0.0.1:0', '--http-address', '127.0.0.1:0']);
    try {
      const logged = await pf.waitForLog((l) => l.message === 'fields of an Istio object are not supported and are left out', 'the Istio object to be logged');
      assert.equal(logged.object, 'VirtualService shop/web');
      assert.match(String(logged.detail), /spec\.exportTo \(visibility scoping/);
    } finally {
      await pf.stop();
    }
  });
});
