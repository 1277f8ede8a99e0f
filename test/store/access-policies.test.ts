// AccessPolicy objects through validation (store/access-policies.ts): valid ones apply with an
// Accepted=True condition noting what proxyless gRPC ignores; an invalid edit keeps the last
// accepted version enforced (a typo never opens a workload), a never-valid or recreated object
// applies nothing; unchanged results keep their identity.
import assert from 'node:assert/strict';
import type { CustomObject } from '../../src/model/k8s-object.js';
import { EMPTY_ACCESS } from '../../src/model/access-status.js';
import { nextAccessState } from '../../src/store/access-policies.js';

function ap(name: string, spec: unknown, metadata: Record<string, unknown> = {}): CustomObject {
  return { apiVersion: 'security.pilotfish.io/v1alpha1', kind: 'AccessPolicy', metadata: { name, namespace: 'shop', ...metadata }, spec } as CustomObject;
}

const ALLOW_WEB = { rules: [{ from: [{ source: { principals: ['cluster.local/ns/shop/sa/web'] } }] }] };

describe('store: AccessPolicy validation and last accepted version', () => {
  it('applies a valid object and says what proxyless gRPC ignores', () => {
    const s = nextAccessState(EMPTY_ACCESS, [ap('audit', { action: 'AUDIT', rules: [{}] }, { generation: 2 })]);
    assert.equal(s.policies.length, 1);
    const status = s.statuses[0]!;
    assert.equal(status.applied, 'current');
    assert.deepEqual(status.conditions.map((c) => [c.type, c.status, c.reason, c.observedGeneration]), [['Accepted', 'True', 'Accepted', 2]]);
    assert.match(status.conditions[0]!.message, /^Applied\. Ignored for proxyless gRPC: spec\.action \(gRPC servers cannot audit/);
  });

  it('an invalid edit keeps the last accepted version enforced and says so; a never-valid object applies nothing', () => {
    const first = nextAccessState(EMPTY_ACCESS, [ap('web', ALLOW_WEB, { uid: 'u1', generation: 1 })]);
    const bad = nextAccessState(first, [ap('web', { action: 'PERMIT' }, { uid: 'u1', generation: 2 }), ap('new', { rules: 'x' })]);
    assert.equal(bad.policies, first.policies, 'the same applied policies, the same array');
    const [webStatus, newStatus] = bad.statuses;
    assert.equal(webStatus!.applied, 'previous');
    assert.equal(webStatus!.conditions[0]!.status, 'False');
    assert.equal(webStatus!.conditions[0]!.reason, 'Invalid');
    assert.match(webStatus!.conditions[0]!.message, /^Invalid: spec\.action: must be one of: ALLOW, DENY, AUDIT .*The previously accepted version stays applied\.$/);
    assert.equal(newStatus!.applied, 'none');
    assert.match(newStatus!.conditions[0]!.message, /Nothing of this object is applied\.$/);
  });

  it('a recreated object (another uid) does not inherit the old one\'s version', () => {
    const first = nextAccessState(EMPTY_ACCESS, [ap('web', ALLOW_WEB, { uid: 'u1' })]);
    const recreated = nextAccessState(first, [ap('web', { action: 'PERMIT' }, { uid: 'u2' })]);
    assert.deepEqual(recreated.policies, []);
    assert.equal(recreated.statuses[0]!.applied, 'none');
  });

  it('keeps the previous state for the same objects, and unchanged policies and statuses by identity', () => {
    const objects = [ap('web', ALLOW_WEB)];
    const first = nextAccessState(EMPTY_ACCESS, objects);
    assert.equal(nextAccessState(first, objects), first);
    const again = nextAccessState(first, [ap('web', ALLOW_WEB)]);
    assert.equal(again.policies, first.policies);
    assert.equal(again.statuses, first.statuses);
  });

  it('bounds the message: at most five problems are spelled out, each cut short', () => {
    const s = nextAccessState(EMPTY_ACCESS, [ap('many', { rules: Array.from({ length: 8 }, () => ({ from: [{ source: {} }] })) })]);
    assert.match(s.statuses[0]!.conditions[0]!.message, /; and 3 more\./);
    const huge = nextAccessState(EMPTY_ACCESS, [ap('huge', { rules: [{ from: [{ source: { principals: [`*${'x'.repeat(100_000)}*`] } }] }] })]);
    assert.ok(huge.statuses[0]!.conditions[0]!.message.length < 1200, 'a 100 kB value is not quoted whole');
  });
});
