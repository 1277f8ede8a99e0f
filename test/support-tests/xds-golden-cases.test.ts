// The golden runner trusts this discovery to find every case and to refuse anything it would
// otherwise skip in silence: a half-made case, a stray file, a golden file no proxy writes.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseProxies, staleGoldens, xdsGoldenCases } from '../support/xds-golden-cases.js';

const PROXIES = `proxies:
  - name: sidecar-client
    node: { id: a, metadata: { PILOTFISH_KIND: sidecar } }
`;

describe('xDS golden case discovery', () => {
  let root: string;
  beforeEach(() => { root = mkdtempSync(path.join(tmpdir(), 'pilotfish-golden-cases-')); });
  afterEach(() => { rmSync(root, { recursive: true, force: true }); });

  function file(rel: string, text = ''): void {
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    writeFileSync(path.join(root, rel), text);
  }

  function makeCase(rel: string): void {
    file(`${rel}/input/mesh.yaml`);
    file(`${rel}/proxies.yaml`, PROXIES);
  }

  it('finds cases at any depth, sorted, and marks those under features/', () => {
    makeCase('whole');
    makeCase('features/b');
    makeCase('features/a');
    file('README.md', '# notes');
    const cases = xdsGoldenCases(root);
    assert.deepEqual(cases.map((c) => [c.id, c.feature]), [['features/a', true], ['features/b', true], ['whole', false]]);
    assert.equal(cases[0].input, path.join(root, 'features/a/input'));
    assert.deepEqual(cases[0].proxies, [{ name: 'sidecar-client', node: { id: 'a', metadata: { PILOTFISH_KIND: 'sidecar' } } }]);
  });

  it('refuses a case with input/ but no proxies.yaml, and the reverse', () => {
    file('features/x/input/mesh.yaml');
    assert.throws(() => xdsGoldenCases(root), /features\/x: a case needs both input\/ and proxies\.yaml; it has only input/);
    rmSync(path.join(root, 'features/x/input'), { recursive: true });
    file('features/x/proxies.yaml', PROXIES);
    assert.throws(() => xdsGoldenCases(root), /features\/x: a case needs both .* it has only proxies\.yaml/);
  });

  it('refuses a file outside any case (it would never be checked)', () => {
    makeCase('features/a');
    file('features/mesh.yaml');
    assert.throws(() => xdsGoldenCases(root), /features: mesh\.yaml is not part of a case/);
  });

  it('reports golden files that no proxy writes', () => {
    makeCase('c');
    for (const f of ['routing-status', 'endpoints', 'sidecar-client', 'sidecar-old']) file(`c/${f}.golden.yaml`);
    assert.deepEqual(staleGoldens(xdsGoldenCases(root)[0]), ['sidecar-old.golden.yaml']);
  });

  it('the repository holds the whole-mesh cases and the feature cases', () => {
    const ids = xdsGoldenCases().map((c) => c.id);
    assert.ok(ids.includes('full') && ids.includes('outbound-policy'), ids.join(', '));
    assert.ok(ids.includes('features/baseline'), ids.join(', '));
  });
});

describe('proxies.yaml', () => {
  it('keeps the node as given, in a fixed key order, and the options', () => {
    const [p] = parseProxies('proxies: [{ name: s, options: { outboundTrafficPolicy: REGISTRY_ONLY }, node: { metadata: { K: v }, id: n } }]', 'p.yaml');
    assert.deepEqual(Object.keys(p.node), ['id', 'metadata']);
    assert.deepEqual(p, { name: 's', node: { id: 'n', metadata: { K: 'v' } }, options: { outboundTrafficPolicy: 'REGISTRY_ONLY' } });
  });

  it('names the file and the field of every mistake', () => {
    assert.throws(() => parseProxies('proxies: []', 'p.yaml'), /^Error: p\.yaml: proxies must be a non-empty list$/);
    assert.throws(() => parseProxies('proxy: []', 'p.yaml'), /p\.yaml: unknown field\(s\) proxy/);
    assert.throws(() => parseProxies('proxies: [{ name: s, node: { id: n }, nodes: {} }]', 'p.yaml'), /p\.yaml: proxies\[0\]: unknown field\(s\) nodes/);
    assert.throws(() => parseProxies('proxies: [{ name: S x, node: { id: n } }]', 'p.yaml'), /proxies\[0\]\.name: must be a lower-case name/);
    assert.throws(() => parseProxies('proxies: [{ name: endpoints, node: { id: n } }]', 'p.yaml'), /proxies\[0\]\.name: "endpoints" is the name of a per-case golden file/);
    assert.throws(() => parseProxies('proxies: [{ name: a, node: { id: n } }, { name: a, node: { id: m } }]', 'p.yaml'), /proxies\[1\]\.name: "a" is used twice/);
    assert.throws(() => parseProxies('proxies: [{ name: a, node: { id: "" } }]', 'p.yaml'), /proxies\[0\]\.node\.id: must be a non-empty string/);
    assert.throws(() => parseProxies('proxies: [{ name: a, node: { id: n, labels: {} } }]', 'p.yaml'), /proxies\[0\]\.node: unknown field\(s\) labels/);
    assert.throws(() => parseProxies('proxies: [{ name: a, node: { id: n }, options: { outboundTrafficPolicy: DENY } }]', 'p.yaml'),
      /proxies\[0\]\.options\.outboundTrafficPolicy: must be ALLOW_ANY or REGISTRY_ONLY/);
    assert.throws(() => parseProxies('proxies: [a', 'p.yaml'), /^Error: p\.yaml: not YAML/);
  });
});
