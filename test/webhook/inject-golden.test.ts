// Golden tests of the mutation: every case in test/golden/inject/pods/*.in.yaml is injected and
// compared with its .golden.yaml; every injected Pod must pass the Kubernetes schema checks, the
// JSONPatch must turn the input into exactly the injected Pod, and injecting again must change nothing.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { parse, stringify } from 'yaml';
import { decideInjection } from '../../src/webhook/decision.js';
import { DEFAULT_INJECTOR_CONFIG, injectPod, isProxyless, type InjectorConfig } from '../../src/webhook/inject.js';
import { AGENT_CONTAINER_NAME, PROXY_CONTAINER_NAME } from '../../src/webhook/injection-names.js';
import { applyPodPatch, podPatch } from '../../src/webhook/patch.js';
import { compareGolden, INJECT_GOLDEN_DIR } from '../support/golden.js';
import { podProblems } from './pod-schema.js';

interface Case {
  namespace?: string;
  namespaceLabels?: Record<string, string>;
  config?: Partial<InjectorConfig>;
  reinvoke?: { addLabels: Record<string, string> };
  pod: V1Pod;
}

const DIR = path.join(INJECT_GOLDEN_DIR, 'pods');
const POLICY = { controlPlaneNamespace: 'pilotfish-system' };

function count(pod: V1Pod, name: string): number {
  return [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].filter((c) => c.name === name).length;
}

describe('webhook/inject golden', () => {
  const files = readdirSync(DIR).filter((f) => f.endsWith('.in.yaml')).sort();

  it('has cases', () => {
    assert.ok(files.length >= 10, `expected golden cases in ${DIR}`);
  });

  for (const file of files) {
    const name = file.replace(/\.in\.yaml$/, '');
    it(name, () => {
      const c = parse(readFileSync(path.join(DIR, file), 'utf8')) as Case;
      const config: InjectorConfig = { ...DEFAULT_INJECTOR_CONFIG, ...(c.config ?? {}) };
      const namespace = c.namespace ?? c.pod.metadata?.namespace ?? 'default';
      let input = c.pod;
      const decision = decideInjection({ pod: input, namespace, namespaceLabels: c.namespaceLabels }, POLICY);
      assert.ok(decision.inject, `case ${name} expects injection, got: ${decision.reason}`);

      if (c.reinvoke) {
        const first = injectPod(input, config).pod;
        input = structuredClone(first);
        input.metadata!.labels = { ...(input.metadata!.labels ?? {}), ...c.reinvoke.addLabels };
        const again = decideInjection({ pod: input, namespace, namespaceLabels: c.namespaceLabels }, POLICY);
        assert.ok(again.inject && again.reinject, 'the second invocation must re-inject');
      }
      const result = injectPod(input, config);
      const pod = result.pod;

      assert.deepEqual(podProblems(pod), [], 'the injected Pod must be valid');
      assert.equal(count(pod, PROXY_CONTAINER_NAME), isProxyless(pod.metadata) ? 0 : 1);
      assert.equal(count(pod, AGENT_CONTAINER_NAME), 1);
      const patch = podPatch(input, pod);
      assert.deepEqual(applyPodPatch(input, patch), pod, 'applying the patch to the input must give the injected Pod');

      // Idempotence: injecting the injected Pod gives it back unchanged, and an empty patch.
      const twice = injectPod(pod, config);
      assert.deepEqual(twice.pod, pod, 'injecting twice must equal injecting once');
      assert.deepEqual(podPatch(pod, twice.pod), []);
      // The input was not modified.
      assert.deepEqual(input, c.reinvoke ? input : (parse(readFileSync(path.join(DIR, file), 'utf8')) as Case).pod);

      const golden = stringify({
        decision: { inject: decision.inject, code: decision.code, reason: decision.reason },
        warnings: result.warnings,
        patch,
        pod,
      }, { lineWidth: 0 });
      compareGolden(path.join(DIR, `${name}.golden.yaml`), golden);
    });
  }
});
