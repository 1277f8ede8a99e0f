// SPIFFE IDs: the workload form round-trips, and every rule of the standard's grammar refuses
// what it should (scheme, trust domain charset and length, segments, total length).
import assert from 'node:assert/strict';
import {
  DEFAULT_TRUST_DOMAIN, MAX_SPIFFE_ID_BYTES, SpiffeIdError, formatSpiffeId, parseSpiffeId, parseWorkloadSpiffeId,
  trustDomainProblem, workloadSpiffeId,
} from '../../src/security/spiffe.js';

describe('security/spiffe', () => {
  it('formats and parses the workload form', () => {
    const id = workloadSpiffeId({ trustDomain: DEFAULT_TRUST_DOMAIN, namespace: 'shop', serviceAccount: 'frontend' });
    assert.equal(id, 'spiffe://cluster.local/ns/shop/sa/frontend');
    assert.deepEqual(parseWorkloadSpiffeId(id), { trustDomain: 'cluster.local', namespace: 'shop', serviceAccount: 'frontend' });
    assert.deepEqual(parseSpiffeId('spiffe://example.org'), { trustDomain: 'example.org', segments: [] });
    assert.equal(formatSpiffeId({ trustDomain: 'td_1-a.b', segments: ['A.b', 'c_d-e'] }), 'spiffe://td_1-a.b/A.b/c_d-e');
    assert.deepEqual(parseWorkloadSpiffeId('spiffe://prod.acme/ns/a/sa/svc.with.dots').serviceAccount, 'svc.with.dots');
  });

  const bad: [string, RegExp][] = [
    ['SPIFFE://cluster.local/ns/a/sa/b', /starts with "spiffe:\/\/"/],
    ['https://cluster.local/ns/a/sa/b', /starts with/],
    ['spiffe:///ns/a/sa/b', /trust domain is empty/],
    ['spiffe://Cluster.local/ns/a/sa/b', /lowercase/],
    ['spiffe://user@cluster.local/ns/a', /lowercase/],
    ['spiffe://cluster.local:8080/ns/a', /lowercase/],
    ['spiffe://cluster.local/ns//sa/b', /empty segment/],
    ['spiffe://cluster.local/ns/a/sa/b/', /empty segment/],
    ['spiffe://cluster.local/ns/./sa/b', /"\." segment/],
    ['spiffe://cluster.local/ns/../sa/b', /"\.\." segment/],
    ['spiffe://cluster.local/ns/a%20b/sa/b', /path segment may contain/],
    ['spiffe://cluster.local/ns/a/sa/b?x=1', /path segment may contain/],
    ['spiffe://cluster.local/ns/a/sa/b#frag', /path segment may contain/],
    [`spiffe://${'a'.repeat(256)}/ns/a`, /longer than 255/],
    [`spiffe://cluster.local/${'a'.repeat(MAX_SPIFFE_ID_BYTES)}`, /at most 2048 bytes/],
  ];
  for (const [uri, message] of bad) {
    it(`refuses ${uri.length > 60 ? `${uri.slice(0, 40)}… (${uri.length} chars)` : uri}`, () => {
      assert.throws(() => parseSpiffeId(uri), (err: unknown) => err instanceof SpiffeIdError && message.test(err.message));
    });
  }

  it('accepts an ID of exactly 2048 bytes and refuses 2049', () => {
    const prefix = 'spiffe://cluster.local/';
    const exact = prefix + 'a'.repeat(MAX_SPIFFE_ID_BYTES - prefix.length);
    assert.equal(parseSpiffeId(exact).segments[0].length, MAX_SPIFFE_ID_BYTES - prefix.length);
    assert.throws(() => parseSpiffeId(`${exact}a`), SpiffeIdError);
  });

  it('requires the /ns/<ns>/sa/<sa> path and Kubernetes names for workloads', () => {
    for (const uri of ['spiffe://cluster.local', 'spiffe://cluster.local/ns/a', 'spiffe://cluster.local/sa/a/ns/b',
      'spiffe://cluster.local/ns/a/sa/b/extra', 'spiffe://cluster.local/ns/A/sa/b', 'spiffe://cluster.local/ns/a/sa/B',
      'spiffe://cluster.local/ns/-a/sa/b', `spiffe://cluster.local/ns/${'a'.repeat(64)}/sa/b`]) {
      assert.throws(() => parseWorkloadSpiffeId(uri), SpiffeIdError, uri);
    }
    assert.throws(() => workloadSpiffeId({ trustDomain: 'cluster.local', namespace: 'a_b', serviceAccount: 'x' }), /namespace/);
    assert.throws(() => workloadSpiffeId({ trustDomain: 'Cluster', namespace: 'a', serviceAccount: 'x' }), /lowercase/);
  });

  it('names the trust domain problem', () => {
    assert.equal(trustDomainProblem('cluster.local'), undefined);
    assert.match(trustDomainProblem('') ?? '', /empty/);
    assert.match(trustDomainProblem('a/b') ?? '', /lowercase letters/);
  });
});
