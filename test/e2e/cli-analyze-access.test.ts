// `pilotfish analyze` on AccessPolicies, from the built binary: an invalid one is an error at its
// field; a selector that selects no Pod, and principals on workloads that accept no mTLS (outside
// the mesh, DISABLE), are warnings — the policy can never match; a policy that can match is quiet.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runPilotfish } from '../support/pilotfish-process.js';

const MESH = `apiVersion: v1
kind: Pod
metadata: { name: pay-1, namespace: shop, labels: { app: pay, security.pilotfish.io/tlsMode: sidecar } }
spec: { containers: [{ name: app, image: pay }] }
---
apiVersion: v1
kind: Pod
metadata: { name: legacy-1, namespace: shop, labels: { app: legacy } }
spec: { containers: [{ name: app, image: legacy }] }
---
apiVersion: v1
kind: Pod
metadata: { name: old-1, namespace: shop, labels: { app: old, security.pilotfish.io/tlsMode: sidecar } }
spec: { containers: [{ name: app, image: old }] }
---
apiVersion: security.pilotfish.io/v1alpha1
kind: PeerAuthentication
metadata: { name: old, namespace: shop }
spec: { selector: { matchLabels: { app: old } }, mtls: { mode: DISABLE } }
`;

const policy = (name: string, selector: string, spec: string): string => `apiVersion: security.pilotfish.io/v1alpha1
kind: AccessPolicy
metadata: { name: ${name}, namespace: shop }
spec:
  selector: { matchLabels: { app: ${selector} } }
${spec}`;

const FROM_CHECKOUT = '  rules: [{ from: [{ source: { principals: ["cluster.local/ns/shop/sa/checkout"] } }] }]\n';

const POLICIES = [
  policy('pay-ok', 'pay', FROM_CHECKOUT),
  policy('nobody', 'nosuch', FROM_CHECKOUT),
  policy('legacy', 'legacy', FROM_CHECKOUT),
  policy('old', 'old', '  rules: [{ from: [{ source: { namespaces: [shop] } }] }]\n'),
  policy('typo', 'pay', '  action: PERMIT\n'),
].join('---\n');

describe('e2e: pilotfish analyze on AccessPolicies', function () {
  this.timeout(60_000);
  let dir: string;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'pf-analyze-access-'));
    await writeFile(path.join(dir, 'mesh.yaml'), MESH);
    await writeFile(path.join(dir, 'access.yaml'), POLICIES);
  });
  after(async () => { await rm(dir, { recursive: true, force: true }); });

  it('warns for policies that can never match, errors for an invalid one, and exits 3', async () => {
    const r = await runPilotfish(['analyze', '-f', dir]);
    assert.equal(r.code, 3, r.stdout + r.stderr);
    const file = path.join(dir, 'access.yaml').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    const expected: RegExp[] = [
      new RegExp(`^Warning \\[SelectsNothing\\] \\(AccessPolicy shop/nobody ${file} document 2\\) spec\\.selector: selects no Pod of namespace shop`, 'm'),
      new RegExp(`^Warning \\[NeedsMtls\\] \\(AccessPolicy shop/legacy ${file} document 3\\) spec\\.rules\\[0\\]\\.from: .*shop/legacy-1 is not in the mesh.*can never match$`, 'm'),
      new RegExp(`^Warning \\[NeedsMtls\\] \\(AccessPolicy shop/old ${file} document 4\\) spec\\.rules\\[0\\]\\.from: .*shop/old-1 is under DISABLE.*can never match$`, 'm'),
      new RegExp(`^Error \\[Invalid\\] \\(AccessPolicy shop/typo ${file} document 5\\) spec\\.action: must be one of: ALLOW, DENY, AUDIT`, 'm'),
    ];
    for (const e of expected) assert.match(r.stdout, e);
    assert.doesNotMatch(r.stdout, /AccessPolicy shop\/pay-ok/, 'a policy that can match is not a problem');
    assert.equal(r.stdout.trim().split('\n').at(-1), `✘ 1 error(s), 3 warning(s), 0 info in ${dir}.`);
  });
});
