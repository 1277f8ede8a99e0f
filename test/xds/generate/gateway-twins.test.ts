// Gateway API routes generate exactly what their TrafficRoute twin generates. Every case under
// test/golden/xds/gateway/ (an ordinary golden case: input/ and proxies.yaml, checked by
// golden.test.ts) that has a twin/ directory is loaded twice, once with its HTTPRoutes/GRPCRoutes
// and once with the TrafficRoutes of twin/, and each proxy's CDS, LDS, RDS and the EDS must be
// byte-identical. Cases without twin/ say in their input why no TrafficRoute can express them.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { proxyIdentityFromNode } from '../../../src/xds/cache/proxy-identity.js';
import type { MeshSnapshot } from '../../../src/model/snapshot.js';
import { generateAll, generateEndpoints } from '../../../src/xds/generate/index.js';
import { CLUSTER, LISTENER, ROUTE, shortTypeName } from '../../../src/xds/types.js';
import { snapshotFromDir } from '../../support/mesh-snapshot.js';
import { xdsGoldenCases } from '../../support/xds-golden-cases.js';

function yaml(value: unknown): string {
  return YAML.stringify(value, { lineWidth: 0, aliasDuplicateObjects: false });
}

const cases = xdsGoldenCases().filter((c) => c.id.startsWith('gateway/'));

describe('Gateway API routes and their TrafficRoute twins', () => {
  it('there are twin cases', () => {
    assert.ok(cases.filter((c) => existsSync(path.join(c.dir, 'twin'))).length >= 4, 'test/golden/xds/gateway/ holds the twin cases');
  });

  for (const c of cases) {
    const twinDir = path.join(c.dir, 'twin');
    if (!existsSync(twinDir)) continue;
    describe(c.id, () => {
      let gateway: MeshSnapshot;
      let twin: MeshSnapshot;
      before(async () => {
        gateway = await snapshotFromDir(c.input);
        twin = await snapshotFromDir(twinDir);
      });

      it('every Gateway API route is attached, and the twin is applied', () => {
        const refused = gateway.routing.statuses.filter((s) => s.conditions.some((x) => x.type === 'Accepted' && x.status !== 'True'));
        assert.deepEqual(refused.map((s) => `${s.kind} ${s.name}`), []);
        assert.ok(gateway.routing.statuses.some((s) => s.kind === 'HTTPRoute' || s.kind === 'GRPCRoute'));
        assert.ok(twin.routing.statuses.every((s) => s.applied === 'current' && s.kind !== 'HTTPRoute' && s.kind !== 'GRPCRoute'));
        assert.ok(twin.routing.applied.routeByHost.size > 0);
      });

      it('the same endpoints', () => {
        assert.equal(yaml([...generateEndpoints(gateway).values()]), yaml([...generateEndpoints(twin).values()]));
      });

      for (const p of c.proxies) {
        it(`${p.name}: byte-identical CDS, LDS and RDS`, () => {
          const identity = proxyIdentityFromNode(p.node);
          const a = generateAll(gateway, identity, p.options ?? {});
          const b = generateAll(twin, identity, p.options ?? {});
          for (const t of [CLUSTER, LISTENER, ROUTE] as const) {
            assert.equal(yaml([...(a.get(t)?.values() ?? [])]), yaml([...(b.get(t)?.values() ?? [])]), `${shortTypeName(t)} differs`);
          }
        });
      }
    });
  }
});
