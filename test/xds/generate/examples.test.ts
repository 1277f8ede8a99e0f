// The example directories must load cleanly, every routing object in them must be applied, and
// what they generate must be valid for Envoy and for gRPC.
import assert from 'node:assert/strict';
import path from 'node:path';
import { META_KIND, META_LABELS, META_NAMESPACE } from '../../../src/xds/node-info.js';
import { proxyIdentityFromNode } from '../../../src/xds/cache/proxy-identity.js';
import { generateAll } from '../../../src/xds/generate/index.js';
import { REPO_ROOT } from '../../support/golden.js';
import { snapshotFromDir } from '../../support/mesh-snapshot.js';
import { proxyProblems } from '../../support/xds-resource-checks.js';

const EXAMPLES = [
  { dir: 'examples/demo', namespace: 'demo', sidecarLabels: { app: 'greeter', version: 'v1' }, routing: 2 },
  { dir: 'examples/shop', namespace: 'shop', sidecarLabels: { app: 'frontend', version: 'v1' }, routing: 7 },
];

describe('examples', () => {
  for (const ex of EXAMPLES) {
    it(`${ex.dir}: every routing object applied, every resource valid for Envoy and gRPC`, async () => {
      const snapshot = await snapshotFromDir(path.join(REPO_ROOT, ex.dir));
      assert.equal(snapshot.routing.statuses.length, ex.routing);
      for (const s of snapshot.routing.statuses) {
        assert.deepEqual(s.conditions.map((c) => c.status), ['True', 'True'], `${s.kind} ${s.name}: ${JSON.stringify(s.conditions)}`);
      }
      const problems: string[] = [];
      const proxies = [
        proxyIdentityFromNode({ id: 'sidecar', metadata: { [META_KIND]: 'sidecar', [META_NAMESPACE]: ex.namespace, [META_LABELS]: ex.sidecarLabels } }),
        proxyIdentityFromNode({ id: 'client', metadata: { [META_KIND]: 'grpc', [META_NAMESPACE]: ex.namespace } }),
      ];
      for (const proxy of proxies) {
        for (const p of proxyProblems(proxy.kind, generateAll(snapshot, proxy))) problems.push(`${proxy.kind} ${p}`);
      }
      assert.deepEqual(problems, []);
    });
  }
});
