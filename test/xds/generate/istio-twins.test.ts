// Istio's VirtualService and DestinationRule, applied unchanged, produce the very xDS their
// TrafficRoute / TrafficPolicy twins produce. Each test/golden/istio/<feature>.yaml holds the Istio
// objects of one feature case (test/golden/xds/features/<feature>): the case's mesh with its
// pilotfish routing objects replaced by these is loaded through the real config-dir source and
// store, and every proxy's CDS, LDS and RDS, and EDS, must equal the case's byte for byte.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { proxyIdentityFromNode } from '../../../src/xds/cache/proxy-identity.js';
import type { MeshSnapshot } from '../../../src/model/snapshot.js';
import { generateAll, generateEndpoints } from '../../../src/xds/generate/index.js';
import { REPO_ROOT } from '../../support/golden.js';
import { snapshotFromDir } from '../../support/mesh-snapshot.js';
import { xdsGoldenCases, type XdsGoldenCase } from '../../support/xds-golden-cases.js';

const ISTIO_DIR = path.join(REPO_ROOT, 'test/golden/istio');
const PILOTFISH_ROUTING = /^routing\.pilotfish\.io\//;

function yaml(value: unknown): string {
  return YAML.stringify(value, { lineWidth: 0, aliasDuplicateObjects: false });
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return yamlFiles(p);
    return /\.ya?ml$/.test(e.name) ? [p] : [];
  });
}

/** The twin case's mesh without its TrafficRoutes/TrafficPolicies, plus the Istio objects. */
async function istioMesh(twin: XdsGoldenCase, istioFile: string): Promise<{ dir: string; replaced: number }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'pilotfish-istio-twin-'));
  let replaced = 0;
  for (const [i, file] of yamlFiles(twin.input).entries()) {
    const docs = YAML.parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS() as { apiVersion?: unknown } | null);
    const kept = docs.filter((d) => {
      const drop = d !== null && typeof d.apiVersion === 'string' && PILOTFISH_ROUTING.test(d.apiVersion);
      if (drop) replaced++;
      return d !== null && !drop;
    });
    await writeFile(path.join(dir, `mesh-${i}.yaml`), kept.map((d) => YAML.stringify(d)).join('---\n'));
  }
  await writeFile(path.join(dir, 'istio.yaml'), readFileSync(istioFile, 'utf8'));
  return { dir, replaced };
}

const cases = xdsGoldenCases();
const istioFiles = readdirSync(ISTIO_DIR).filter((f) => f.endsWith('.yaml')).sort();

describe('Istio twins: VirtualService/DestinationRule produce the xDS of their TrafficRoute/TrafficPolicy twin', () => {
  it('there are twins, each naming an existing feature case', () => {
    assert.ok(istioFiles.length >= 20, `test/golden/istio holds the twins (found ${istioFiles.length})`);
    for (const f of istioFiles) assert.ok(cases.some((c) => c.id === `features/${f.replace(/\.yaml$/, '')}`), `${f} names a feature case`);
  });

  for (const file of istioFiles) {
    const twin = cases.find((c) => c.id === `features/${file.replace(/\.yaml$/, '')}`);
    if (twin === undefined) continue;
    describe(twin.id, () => {
      let istio: MeshSnapshot;
      let pilotfish: MeshSnapshot;
      let replaced = 0;
      before(async () => {
        const mesh = await istioMesh(twin, path.join(ISTIO_DIR, file));
        replaced = mesh.replaced;
        try {
          istio = await snapshotFromDir(mesh.dir);
        } finally {
          await rm(mesh.dir, { recursive: true, force: true });
        }
        pilotfish = await snapshotFromDir(twin.input);
      });

      it('every Istio object replaces a pilotfish one and is applied in full', () => {
        assert.ok(replaced > 0, 'the twin case has routing objects to replace');
        assert.equal(istio.routing.statuses.length, replaced);
        for (const s of istio.routing.statuses) {
          assert.ok(s.kind === 'VirtualService' || s.kind === 'DestinationRule', `${s.kind} ${s.name}`);
          assert.equal(s.applied, 'current', `${s.kind} ${s.namespace}/${s.name}: ${JSON.stringify(s.conditions)}`);
          assert.equal(s.unsupported, undefined);
        }
        assert.deepEqual(istio.routing.statuses.map((s) => s.proxylessIgnored), pilotfish.routing.statuses.map((s) => s.proxylessIgnored));
      });

      it('EDS is byte-identical', () => {
        assert.equal(yaml([...generateEndpoints(istio).values()]), yaml([...generateEndpoints(pilotfish).values()]));
      });

      for (const p of twin.proxies) {
        it(`${p.name}: CDS, LDS and RDS are byte-identical`, () => {
          const identity = proxyIdentityFromNode(p.node);
          const a = generateAll(istio, identity, p.options ?? {});
          const b = generateAll(pilotfish, identity, p.options ?? {});
          const render = (c: typeof a): string => yaml([...c.entries()].map(([t, set]) => [t, [...set.values()]]));
          assert.equal(render(a), render(b));
        });
      }
    });
  }
});
