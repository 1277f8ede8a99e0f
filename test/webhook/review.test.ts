// The AdmissionReview branches that need no socket (the HTTPS ones are in server.test.ts).
import assert from 'node:assert/strict';
import { silentLogger } from '../../src/logging.js';
import { DEFAULT_INJECTOR_CONFIG } from '../../src/webhook/inject.js';
import { TrustWebhookSelectors } from '../../src/webhook/kube.js';
import { InjectionMetrics } from '../../src/webhook/injection-counters.js';
import { admissionReviewJson, reviewAdmission, type ReviewDeps } from '../../src/webhook/review.js';

function deps(): ReviewDeps {
  return {
    injector: DEFAULT_INJECTOR_CONFIG, policy: { controlPlaneNamespace: 'pilotfish-system' },
    namespaces: new TrustWebhookSelectors(), onError: 'allow', logger: silentLogger(), metrics: new InjectionMetrics(),
  };
}

function envelope(request: Record<string, unknown>): unknown {
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request };
}

const POD = { metadata: { name: 'p', namespace: 'shop' }, spec: { containers: [{ name: 'a', image: 'x' }] } };
const KIND = { group: '', version: 'v1', kind: 'Pod' };

describe('webhook/review', () => {
  it('lets UPDATEs and subresource CREATEs (pods/binding, pods/eviction) through unchanged', async () => {
    const d = deps();
    for (const req of [
      { uid: 'u', kind: KIND, operation: 'UPDATE', object: POD },
      { uid: 'u', kind: KIND, operation: 'CREATE', subResource: 'binding', object: POD },
    ]) {
      const out = await reviewAdmission(envelope(req), d);
      assert.deepEqual(out, { status: 200, body: { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'u', allowed: true } } });
    }
    assert.equal(d.metrics.get('ignored', 'not-create'), 2);
  });

  it('a Pod from another API group is not a Pod', async () => {
    const out = await reviewAdmission(envelope({ uid: 'u', kind: { group: 'example.com', version: 'v1', kind: 'Pod' }, operation: 'CREATE', object: POD }), deps());
    assert.equal(out.status, 200);
    assert.equal(out.status === 200 && out.body.response.patch, undefined);
  });

  it('refuses envelopes it cannot answer with the reason', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [[1, 2], /not a JSON object/],
      [envelope({ kind: KIND }), /no uid/],
      [envelope({ uid: 'u', kind: KIND, operation: 'CREATE' }), /no Pod object with a spec/],
      [{ apiVersion: 'v1', kind: 'Pod' }, /expected apiVersion admission.k8s.io\/v1 kind AdmissionReview/],
    ];
    for (const [body, reason] of cases) {
      const out = await reviewAdmission(body, deps());
      assert.equal(out.status, 400);
      assert.match(out.status === 400 ? out.body.error : '', reason);
    }
  });

  it('without API access, namespaces count as selected by the webhook configuration', async () => {
    const out = await reviewAdmission(envelope({ uid: 'u', kind: KIND, operation: 'CREATE', namespace: 'shop', object: POD }), deps());
    assert.equal(out.status === 200 && out.body.response.patchType, 'JSONPatch');
  });

  it('writes every kind of answer as the same JSON text JSON.stringify gives', async () => {
    const allow = deps();
    const failing = (onError: 'allow' | 'deny'): ReviewDeps => ({
      ...deps(), onError, namespaces: { labels: () => Promise.reject(new Error('namespaces "shop" is "forbidden"\n')) },
    });
    const create = { kind: KIND, operation: 'CREATE', namespace: 'shop', object: POD };
    const answers = [
      await reviewAdmission(envelope({ uid: 'inject-"1"', ...create }), allow), // patch
      await reviewAdmission(envelope({ uid: 'u', kind: KIND, operation: 'UPDATE', object: POD }), allow), // no patch
      await reviewAdmission(envelope({ uid: 'u', ...create, object: { ...POD, metadata: { ...POD.metadata, labels: { 'sidecar.pilotfish.io/inject': 'false' } } } }), allow),
      await reviewAdmission(envelope({ uid: 'u', ...create }), failing('allow')), // warnings
      await reviewAdmission(envelope({ uid: 'u', ...create }), failing('deny')), // status
    ];
    const shapes = new Set<string>();
    for (const a of answers) {
      assert.equal(a.status, 200);
      if (a.status !== 200) continue;
      shapes.add(Object.keys(a.body.response).join(','));
      assert.equal(admissionReviewJson(a.body), JSON.stringify(a.body));
    }
    assert.deepEqual([...shapes].sort(), ['uid,allowed', 'uid,allowed,patchType,patch', 'uid,allowed,status', 'uid,allowed,warnings']);
  });

  describe('a Pod that asks for a sidecar but cannot take one gets a warning saying why', () => {
    const create = (pod: unknown, namespace = 'shop') => envelope({ uid: 'u', kind: KIND, operation: 'CREATE', namespace, object: pod });
    const withContainers = (containers: unknown[], labels: Record<string, string> = {}) =>
      ({ metadata: { name: 'p', namespace: 'shop', labels }, spec: { containers } });
    const warningsOf = (out: Awaited<ReturnType<typeof reviewAdmission>>) => {
      assert.equal(out.status, 200);
      if (out.status !== 200) return undefined;
      assert.equal(out.body.response.allowed, true);
      assert.equal(out.body.response.patch, undefined, 'not injected');
      return out.body.response.warnings;
    };

    it('a container already named like the proxy', async () => {
      const out = await reviewAdmission(create(withContainers([{ name: 'app', image: 'x' }, { name: 'pilotfish-proxy', image: 'envoy' }])), deps());
      assert.deepEqual(warningsOf(out), [
        'pilotfish: sidecar not injected: pod already has a container named pilotfish-proxy but no sidecar.pilotfish.io/status annotation',
      ]);
    });

    it('a container using a port the proxy needs', async () => {
      const out = await reviewAdmission(create(withContainers([{ name: 'app', image: 'x', ports: [{ containerPort: 15021 }] }])), deps());
      assert.deepEqual(warningsOf(out), ['pilotfish: sidecar not injected: container app uses port 15021, which the proxy needs']);
    });

    it('a long container name is shortened in the warning', async () => {
      const name = 'a'.repeat(10_000);
      const out = await reviewAdmission(create(withContainers([{ name, image: 'x', ports: [{ containerPort: 15000 }] }])), deps());
      const [w] = warningsOf(out) ?? [];
      assert.ok(w.length < 200, w);
      assert.match(w, /container a{63}… uses port 15000/);
    });

    it('no warning when the labels did not ask for a sidecar', async () => {
      const optedOut = withContainers([{ name: 'app', image: 'x', ports: [{ containerPort: 15021 }] }], { 'sidecar.pilotfish.io/inject': 'false' });
      assert.equal(warningsOf(await reviewAdmission(create(optedOut), deps())), undefined);
      const d: ReviewDeps = { ...deps(), namespaces: { labels: async () => ({}) } };
      const plain = withContainers([{ name: 'pilotfish-proxy', image: 'envoy' }]);
      assert.equal(warningsOf(await reviewAdmission(create(plain, 'plain'), d)), undefined);
      // Skipped for a reason that is what was asked for (hostNetwork): no warning either.
      const hostNet = { metadata: { name: 'p', namespace: 'shop' }, spec: { hostNetwork: true, containers: [{ name: 'app', image: 'x' }] } };
      assert.equal(warningsOf(await reviewAdmission(create(hostNet), deps())), undefined);
    });

    it('the answer on the wire carries the warning', async () => {
      const out = await reviewAdmission(create(withContainers([{ name: 'app', image: 'x', ports: [{ containerPort: 15090 }] }])), deps());
      assert.equal(out.status, 200);
      if (out.status !== 200) return;
      const wire = JSON.parse(admissionReviewJson(out.body)) as { response: { warnings?: string[] } };
      assert.deepEqual(wire.response.warnings, ['pilotfish: sidecar not injected: container app uses port 15090, which the proxy needs']);
    });
  });
});
