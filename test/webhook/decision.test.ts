import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { parse, stringify } from 'yaml';
import { decideInjection, type Decision } from '../../src/webhook/decision.js';
import { compareGolden, INJECT_GOLDEN_DIR } from '../support/golden.js';

const POLICY = { controlPlaneNamespace: 'pilotfish-system' };

interface Case { name: string; namespace: string; namespaceLabels?: Record<string, string>; pod: V1Pod }

function pod(labels: Record<string, string> = {}, spec: Partial<V1Pod['spec']> = {}): V1Pod {
  return { metadata: { name: 'p', labels }, spec: { containers: [{ name: 'app', image: 'x' }], ...spec } };
}
const ENABLED = { 'pilotfish.io/inject': 'enabled' };
const decide = (p: V1Pod, namespace = 'shop', labels: Record<string, string> | undefined = ENABLED): Decision =>
  decideInjection({ pod: p, namespace, namespaceLabels: labels }, POLICY);

describe('webhook/decision', () => {
  it('golden: one case per rule', () => {
    const cases = parse(readFileSync(path.join(INJECT_GOLDEN_DIR, 'decisions.in.yaml'), 'utf8')) as Case[];
    const out: Record<string, Decision> = {};
    for (const c of cases) {
      out[c.name] = decideInjection({ pod: c.pod, namespace: c.namespace, namespaceLabels: c.namespaceLabels }, POLICY);
    }
    assert.equal(Object.keys(out).length, cases.length, 'case names must be unique');
    compareGolden(path.join(INJECT_GOLDEN_DIR, 'decisions.golden.yaml'), stringify(out, { lineWidth: 0 }));
  });

  it('namespace label pilotfish.io/inject=enabled injects; any other value or none does not', () => {
    assert.equal(decide(pod()).inject, true);
    assert.equal(decide(pod(), 'shop', { 'pilotfish.io/inject': 'true' }).inject, false);
    assert.equal(decide(pod(), 'shop', {}).code, 'namespace-not-enabled');
    assert.equal(decideInjection({ pod: pod(), namespace: 'shop', namespaceLabels: undefined }, POLICY).code, 'namespace-unknown');
  });

  it('pod label true/false overrides the namespace either way', () => {
    assert.deepEqual(decide(pod({ 'sidecar.pilotfish.io/inject': 'false' })),
      { inject: false, code: 'pod-label', reason: 'pod label sidecar.pilotfish.io/inject=false' });
    const d = decide(pod({ 'sidecar.pilotfish.io/inject': 'true' }), 'shop', {});
    assert.equal(d.inject, true);
    assert.equal(d.code, 'pod-label');
  });

  it('hostNetwork, kube-system and the control plane namespace are skipped even with the pod label', () => {
    const yes = { 'sidecar.pilotfish.io/inject': 'true' };
    assert.equal(decide(pod(yes, { hostNetwork: true })).code, 'host-network');
    assert.equal(decide(pod(yes), 'kube-system').code, 'excluded-namespace');
    assert.match(decide(pod(yes), 'pilotfish-system').reason, /control plane's own/);
    assert.equal(decideInjection({ pod: pod(yes), namespace: 'tools', namespaceLabels: ENABLED },
      { controlPlaneNamespace: 'x', excludedNamespaces: ['tools'] }).code, 'excluded-namespace');
  });

  it('a Pod carrying the status annotation is re-injected, not skipped and not doubled', () => {
    const p = pod();
    p.metadata!.annotations = { 'sidecar.pilotfish.io/status': '{"version":1}' };
    p.spec!.initContainers = [{ name: 'pilotfish-proxy', image: 'envoy', ports: [{ containerPort: 15090 }] }];
    const d = decide(p);
    assert.equal(d.inject, true);
    assert.equal(d.inject && d.reinject, true);
  });

  it('a hand-made container with our name, or a port the proxy needs, skips injection', () => {
    const p = pod();
    p.spec!.containers.push({ name: 'pilotfish-init', image: 'x' });
    assert.equal(decide(p).code, 'foreign-container');
    assert.equal(decide(pod({}, { containers: [{ name: 'a', image: 'x', ports: [{ containerPort: 15001 }] }] })).code, 'reserved-port');
    assert.equal(decide(pod({}, { containers: [] })).code, 'no-containers');
  });

  it('a hand-made agent container or volume with our name, or the agent\'s status port, skips injection', () => {
    const withAgent = pod();
    withAgent.spec!.containers.push({ name: 'pilotfish-agent', image: 'x' });
    assert.equal(decide(withAgent).code, 'foreign-container');
    const withVolume = pod();
    withVolume.spec!.volumes = [{ name: 'pilotfish-token', emptyDir: {} }];
    const d = decide(withVolume);
    assert.equal(d.code, 'foreign-container');
    assert.match(d.reason, /volume named pilotfish-token/);
    const port = decide(pod({}, { containers: [{ name: 'a', image: 'x', ports: [{ containerPort: 15020 }] }] }));
    assert.equal(port.code, 'reserved-port');
    assert.match(port.reason, /15020, which the agent needs/);
  });
});
