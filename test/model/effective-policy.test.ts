// A TrafficPolicy resolved once (model/effective-policy.ts) answers exactly what resolving the
// precedence on every question (effectivePolicy) answers, for every port and subset a generator
// can ask about: ports named at the top level, only by a subset, or nowhere; subsets with and
// without settings; an unknown subset; no subset.
import assert from 'node:assert/strict';
import { parseTrafficPolicy } from '../../src/api/routing/v1alpha1/parse.js';
import { policyFields, resolvePolicy } from '../../src/model/effective-policy.js';
import { effectivePolicy, type TrafficPolicy } from '../../src/model/routing.js';
import { trafficPolicy, validPolicySpec } from '../support/routing-fixtures.js';

function policy(): TrafficPolicy {
  const spec = validPolicySpec() as { subsets: { name: string; trafficPolicy?: Record<string, unknown> }[] };
  // A port only a subset names: the top level has no settings for it.
  spec.subsets[2].trafficPolicy = { ...spec.subsets[2].trafficPolicy, portLevelSettings: [{ port: 7070, loadBalancer: { simple: 'RANDOM' } }] };
  const parsed = parseTrafficPolicy(trafficPolicy(spec));
  if (!parsed.ok) assert.fail(JSON.stringify(parsed.errors));
  return parsed.ok;
}

describe('effective policy, resolved once per TrafficPolicy', () => {
  it('answers what effectivePolicy answers, for every port and subset', () => {
    const p = policy();
    const resolved = resolvePolicy(p);
    assert.deepEqual([...resolved.ports.keys()].sort(), [7070, 9080, 9090], 'the ports some level names');
    let asked = 0;
    for (const port of [9080, 9090, 7070, 8080, 1]) {
      for (const subset of [undefined, 'v1', 'v2', 'v3', 'missing']) {
        assert.deepEqual(policyFields(resolved, port, subset), effectivePolicy(p, port, subset), `port ${port} subset ${subset}`);
        asked++;
      }
    }
    assert.equal(asked, 25);
    // The cases differ from each other, so the comparison above is not between empty answers.
    assert.notDeepEqual(policyFields(resolved, 7070, 'v3'), policyFields(resolved, 8080, 'v3'));
    assert.notDeepEqual(policyFields(resolved, 9080, 'v2'), policyFields(resolved, 9080));
  });

  it('hands out the policy\'s own setting objects (what the rate-limit signature of a workload compares)', () => {
    const p = policy();
    assert.equal(policyFields(resolvePolicy(p), 8080).localRateLimit, p.trafficPolicy.localRateLimit);
  });
});
