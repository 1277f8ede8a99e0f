// pilotfish's CRDs (crds/*.yaml) against the real API server: it accepts them (structural schema,
// CEL rules within the cost budget), serves the kinds, stores every valid fixture, and refuses
// every invalid one that the fixtures say the schema or CEL refuses, at the same field and, for CEL
// rules, with the same message. The fixtures are the ones test/api/routing checks parsing against, so
// this closes the loop: parsing, the YAML and the real server agree.
import assert from 'node:assert/strict';
import type { CustomObject } from '../../src/model/k8s-object.js';
import type { Cluster } from '../cluster/cluster.js';
import { KubeApiError, type KubeObject } from '../cluster/kube-rest.js';
import {
  INVALID_POLICIES, INVALID_ROUTES, trafficPolicy, trafficRoute, validPolicySpec, validRouteSpec, type InvalidCase,
} from '../support/routing-fixtures.js';
import { crdManifests, createNamespace, installCrds, sharedCluster, uniqueName } from './fixture.js';

const GROUP_VERSION = 'routing.pilotfish.io/v1alpha1';

/** The fixture as a user would send it: metadata.generation and the like belong to the server. */
function inNamespace(obj: CustomObject, namespace: string, name: string): KubeObject {
  return { apiVersion: obj.apiVersion, kind: obj.kind, metadata: { name, namespace }, spec: obj.spec };
}

async function refusal(work: Promise<unknown>, what: string): Promise<KubeApiError> {
  try {
    await work;
  } catch (err) {
    if (err instanceof KubeApiError) return err;
    throw err;
  }
  assert.fail(`the API server stored ${what}`);
}

/** The fields the API server's Status names, e.g. spec.http[0].match[0].uri. */
function causeFields(err: KubeApiError): string[] {
  return (err.status.details?.causes ?? []).map((c) => c.field ?? '');
}

/**
 * The spellings of a field path: the API server writes a map key as [key] in CEL errors but as
 * .key in OpenAPI (pattern, type) errors; pilotfish always writes [key].
 */
function pathForms(path: string): string[] {
  return [...new Set([path, path.replace(/\[([^\]0-9][^\]]*)\]/g, '.$1')])];
}

describe('cluster: pilotfish CRDs on the real API server', function () {
  this.timeout(300_000);
  let cluster: Cluster;
  let ns: string;
  let counter = 0;
  const name = (): string => `obj-${++counter}`;

  before(async () => {
    cluster = await sharedCluster();
    await installCrds(cluster, await crdManifests());
    ns = uniqueName('crds');
    await createNamespace(cluster, ns);
  });

  it('serves TrafficRoute and TrafficPolicy, with a status subresource and short names', async () => {
    const resources = (await cluster.admin.call<{ resources: Array<{ name: string; kind: string; shortNames?: string[] }> }>(
      'GET', `/apis/${GROUP_VERSION}`)).resources;
    const byName = new Map(resources.map((r) => [r.name, r]));
    assert.equal(byName.get('trafficroutes')?.kind, 'TrafficRoute');
    assert.equal(byName.get('trafficpolicies')?.kind, 'TrafficPolicy');
    assert.ok(byName.has('trafficroutes/status'), 'TrafficRoute has no status subresource');
    assert.ok(byName.has('trafficpolicies/status'), 'TrafficPolicy has no status subresource');
    assert.deepEqual(byName.get('trafficroutes')?.shortNames, ['tr']);
  });

  describe('stores valid objects', () => {
    const valid: Array<[string, CustomObject]> = [
      ['a TrafficRoute using every feature', trafficRoute(validRouteSpec())],
      ['a TrafficPolicy using every feature', trafficPolicy(validPolicySpec())],
      ['a minimal TrafficRoute', trafficRoute({ hosts: ['a'], http: [{ route: [{ destination: { host: 'a' } }] }] })],
      ['a minimal TrafficPolicy', trafficPolicy({ host: 'a' })],
    ];
    for (const [what, obj] of valid) {
      it(what, async () => {
        const sent = inNamespace(obj, ns, name());
        const stored = await cluster.admin.create(sent);
        // Nothing pruned or defaulted away: the spec comes back as sent.
        assert.deepEqual(stored.spec, sent.spec);
        assert.equal(stored.metadata?.generation, 1);
      });
    }
  });

  describe('refuses what the schema and its CEL rules refuse, naming the field', () => {
    const cases: InvalidCase[] = [...INVALID_ROUTES, ...INVALID_POLICIES].filter((c) => c.by === 'schema');
    for (const c of cases) {
      it(`${c.object.kind}: ${c.name} (${c.path})`, async () => {
        const err = await refusal(cluster.admin.create(inNamespace(c.object, ns, name())), `${c.object.kind} "${c.name}"`);
        const forms = pathForms(c.path);
        if (err.code === 400) {
          // Strict field validation (what kubectl sends) refuses unknown fields while decoding,
          // before the schema: 400 BadRequest naming the first unknown field at or under the path.
          assert.equal(err.status.reason, 'BadRequest', err.message);
          assert.ok(forms.some((f) => err.status.message?.includes(`unknown field "${f}`)), `no unknown field at ${c.path}: ${err.status.message}`);
          return;
        }
        assert.equal(err.code, 422, err.message);
        assert.equal(err.status.reason, 'Invalid', err.message);
        assert.ok(causeFields(err).some((f) => forms.includes(f)), `no error at ${c.path}; the API server said: ${err.status.message}`);
        // A CEL rule's message is the CRD's own text, so the server must say it word for word.
        const celMessage = typeof c.message === 'string' && !/^must |^is required|^unknown field|^duplicate/.test(c.message);
        if (celMessage) assert.ok(err.status.message?.includes(c.message as string), `expected "${String(c.message)}" in: ${err.status.message}`);
      });
    }
  });

  it('gives a clear message for an invalid TrafficRoute, as a user sees it', async () => {
    const bad = trafficRoute({ hosts: ['reviews'], http: [{ match: [{ uri: { exact: '/a', prefix: '/a' } }], route: [{ destination: { host: 'reviews' } }] }] });
    const err = await refusal(cluster.admin.create(inNamespace(bad, ns, 'two-uri-kinds')), 'a TrafficRoute with two uri kinds');
    assert.equal(err.code, 422);
    assert.equal(err.status.message,
      'TrafficRoute.routing.pilotfish.io "two-uri-kinds" is invalid: spec.http[0].match[0].uri: '
      + 'Invalid value: "object": exactly one of exact, prefix or regex must be set');
  });

  describe('stores what only pilotfish can refuse (it reports those in status)', () => {
    for (const c of [...INVALID_ROUTES, ...INVALID_POLICIES].filter((x) => x.by === 'parser')) {
      it(`${c.object.kind}: ${c.name}`, async () => {
        const stored = await cluster.admin.create(inNamespace(c.object, ns, name()));
        assert.ok(stored.metadata?.uid);
      });
    }
  });

  describe('TrafficScope', () => {
    const scope = (spec: unknown): KubeObject => ({ apiVersion: GROUP_VERSION, kind: 'TrafficScope', metadata: { name: name(), namespace: ns }, spec });

    it('is served with a status subresource and its short name, and stores a valid scope as sent', async () => {
      const resources = (await cluster.admin.call<{ resources: Array<{ name: string; kind: string; shortNames?: string[] }> }>(
        'GET', `/apis/${GROUP_VERSION}`)).resources;
      const byName = new Map(resources.map((r) => [r.name, r]));
      assert.equal(byName.get('trafficscopes')?.kind, 'TrafficScope');
      assert.ok(byName.has('trafficscopes/status'));
      assert.deepEqual(byName.get('trafficscopes')?.shortNames, ['ts']);
      const sent = scope({ selector: { matchLabels: { app: 'web' } }, egress: { hosts: ['./*', 'pilotfish-system/*', '*/reviews.books.svc.cluster.local'] } });
      assert.deepEqual((await cluster.admin.create(sent)).spec, sent.spec);
    });

    it('refuses a host that is not <namespace>/<host>, and a selector without labels (CEL), naming the field', async () => {
      const host = await refusal(cluster.admin.create(scope({ egress: { hosts: ['reviews'] } })), 'a host without namespace');
      assert.equal(host.code, 422, host.message);
      assert.ok(causeFields(host).includes('spec.egress.hosts[0]'), host.status.message);
      const selector = await refusal(cluster.admin.create(scope({ selector: { matchLabels: {} }, egress: { hosts: ['./*'] } })), 'an empty selector');
      assert.equal(selector.code, 422, selector.message);
      assert.match(selector.status.message ?? '', /a selector needs at least one label in matchLabels/);
    });
  });
});
