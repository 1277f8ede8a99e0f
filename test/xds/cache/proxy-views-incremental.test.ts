// MeshProxyViews keeps each service's encoded parts across config changes and puts sidecar
// route configurations together from encoded virtual hosts. Whatever it reuses, every proxy
// must get exactly the bytes that generating and encoding its whole configuration afresh gives
// (the golden input: every routing field, two namespaces, both kinds); and a config change must
// encode only what it changed.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { V1Service } from '@kubernetes/client-node';
import { objectSetOf, parseConfigText } from '../../../src/sources/config-dir/parse-file.js';
import type { CustomObject, ObjectSet } from '../../../src/sources/objects.js';
import { SnapshotStore } from '../../../src/store/snapshot-store.js';
import { silentLogger } from '../../../src/logging.js';
import { META_KIND, META_LABELS, META_NAMESPACE, type NodeInfo } from '../../../src/xds/node-info.js';
import { proxyIdentityFromNode } from '../../../src/xds/cache/proxy-identity.js';
import { ResourceEncoder } from '../../../src/xds/cache/encoder.js';
import { generateAll } from '../../../src/xds/generate/index.js';
import { MeshProxyViews } from '../../../src/xds/cache/proxy-views.js';
import type { ProxyView, XdsResource } from '../../../src/xds/proxy-view.js';
import { CLUSTER, ENDPOINT, LISTENER, ROUTE, shortTypeName, type XdsTypeUrl } from '../../../src/xds/types.js';
import { ManualTimers } from '../../support/manual-timers.js';
import { StaticSource } from '../../support/static-source.js';
import { REPO_ROOT } from '../../support/golden.js';
import { assertViewsFresh } from '../../support/fresh-views.js';

const INPUT = path.join(REPO_ROOT, 'test/golden/xds/full/input/mesh.yaml');
const TYPES: readonly XdsTypeUrl[] = [CLUSTER, ENDPOINT, LISTENER, ROUTE];

const sidecar = (id: string, namespace: string, labels: Record<string, string>): NodeInfo =>
  ({ id, metadata: { [META_KIND]: 'sidecar', [META_NAMESPACE]: namespace, [META_LABELS]: labels } });
const grpcClient = (id: string, namespace: string): NodeInfo => ({ id, metadata: { [META_KIND]: 'grpc', [META_NAMESPACE]: namespace } });

const NODES: readonly NodeInfo[] = [
  sidecar('web', 'shop', { app: 'web' }),
  sidecar('reviews-v2', 'shop', { app: 'reviews', version: 'v2', track: 'canary' }),
  sidecar('ratings', 'shop', { app: 'ratings' }),
  sidecar('stranger', 'other', { app: 'stranger' }),
  grpcClient('grpc-shop', 'shop'),
  grpcClient('grpc-other', 'other'),
];

function goldenObjects(): ObjectSet {
  const parsed = parseConfigText(INPUT, readFileSync(INPUT, 'utf8'));
  assert.deepEqual(parsed.errors, []);
  return objectSetOf(parsed.objects);
}

function httpService(name: string, namespace: string, port: number, clusterIP: string): V1Service {
  return { metadata: { name, namespace }, spec: { clusterIP, selector: { app: name }, ports: [{ name: 'http', port, targetPort: 8080 }] } };
}

describe('MeshProxyViews: incremental generation', () => {
  let store: SnapshotStore;
  let source: StaticSource;
  let encoder: ResourceEncoder;
  let mesh: MeshProxyViews;
  let base: ObjectSet;
  let views: ProxyView[];

  async function apply(objects: ObjectSet): Promise<void> {
    source.set(objects);
    store.flush();
    await mesh.update(store.current());
  }

  /** Every view holds exactly the bytes a fresh generateAll + encode of its proxy gives. */
  function assertFresh(step: string): void {
    assertViewsFresh(store.current(), NODES, views, step);
  }

  /** Every distinct resource any view holds, by identity. */
  function held(): Set<XdsResource> {
    const out = new Set<XdsResource>();
    for (const v of views) for (const t of TYPES) for (const r of v.resources(t).values()) out.add(r);
    return out;
  }

  beforeEach(async () => {
    base = goldenObjects();
    store = new SnapshotStore({ logger: silentLogger(), timers: new ManualTimers() });
    source = new StaticSource('static', base);
    encoder = new ResourceEncoder();
    mesh = new MeshProxyViews(encoder, silentLogger());
    await mesh.update(await store.start([source]));
    views = NODES.map((n) => mesh.viewFor(n));
  });

  afterEach(async () => { await store.stop(); });

  it('serves the bytes of the whole-object encoding, sidecar route configurations included', () => {
    assertFresh('initial');
    const routes = views[0].resources(ROUTE);
    assert.ok(routes.size >= 3, 'the sidecar has route configurations to compare');
  });

  it('forgets the encodings a config change left unused after the push, not in it', async () => {
    const sweeping = new ResourceEncoder();
    const own = new MeshProxyViews(sweeping, silentLogger(), { sweepDelayMs: 0 });
    await own.update(store.current());
    const ownViews = NODES.map((n) => own.viewFor(n));
    const holds = (): number => {
      const out = new Set<XdsResource>();
      for (const v of ownViews) for (const t of TYPES) for (const r of v.resources(t).values()) out.add(r);
      return out.size;
    };
    assert.equal(sweeping.size(), holds());
    // web's port moves: its cluster, listener and routes are encoded anew, the old ones unused.
    const web = base.services.find((s) => s.metadata?.name === 'web')!;
    const moved = { ...web, spec: { ...web.spec, ports: web.spec!.ports!.map((p) => ({ ...p, port: p.port + 1000 })) } };
    source.set({ ...base, services: base.services.map((s) => (s === web ? moved : s)) });
    store.flush();
    await own.update(store.current());
    // The proxies just served ask for what follows (EDS for the new cluster) while the push's
    // sweep would walk every encoding: it waits.
    assert.ok(sweeping.size() > holds(), `the old encodings are still there right after the push (${sweeping.size()} vs ${holds()})`);
    await new Promise<void>((resolve) => setTimeout(resolve, 0));
    assert.equal(sweeping.size(), holds(), 'and gone once the sweep ran');
    for (const v of ownViews) v.close();
  });

  it('a full push encodes every distinct resource once: each encoding is one a proxy holds', () => {
    // Both kinds in two namespaces: shared clusters, endpoints, scoped listeners and routes, and
    // every sidecar class's own. Anything encoded twice, or encoded and then not served, shows here.
    assert.equal(encoder.stats.encoded, held().size);
    assert.ok(encoder.stats.encoded > 50, `the mesh is not trivial (${encoder.stats.encoded} resources)`);
  });

  it('stays byte-identical to a fresh generation through service, routing and workload changes', async () => {
    const policies = base.trafficPolicies;
    const cart = httpService('cart', 'shop', 80, '10.96.0.40');
    const withCart = { ...base, services: [...base.services, cart] };
    // ratings routes to cart without naming a port (cart has one); what cart is then shows in
    // ratings' routes: dependencies across services, which the routing objects do not reveal.
    const ratingsRoute: CustomObject = {
      apiVersion: 'routing.pilotfish.io/v1alpha1', kind: 'TrafficRoute', metadata: { name: 'ratings', namespace: 'shop' },
      spec: { hosts: ['ratings'], http: [{ route: [{ destination: { host: 'cart' } }] }] },
    };
    const withRoute = { ...withCart, trafficRoutes: [...base.trafficRoutes, ratingsRoute] };
    const movedCart = { ...withRoute, services: [...base.services, httpService('cart', 'shop', 8081, '10.96.0.40')] };
    const cartPolicy: CustomObject = {
      apiVersion: 'routing.pilotfish.io/v1alpha1', kind: 'TrafficPolicy', metadata: { name: 'cart', namespace: 'shop' },
      spec: { host: 'cart', trafficPolicy: { loadBalancer: { consistentHash: { httpHeaderName: 'x-user' } } } },
    };
    const hashingCart = { ...movedCart, trafficPolicies: [...policies, cartPolicy] };
    const webPolicy = policies.find((p) => p.metadata?.name === 'web')!;
    const fasterWeb: CustomObject = {
      ...webPolicy,
      spec: { host: 'web', trafficPolicy: { portLevelSettings: [{ port: 80, localRateLimit: { maxTokens: 5, tokensPerFill: 1, fillInterval: '1s' } }] } },
    };
    /** What the sidecar's route configuration 9080 must now say about ratings, so that the step tests something. */
    const ratingsShows = (pattern: RegExp) => (): void => {
      const rc = generateAll(store.current(), proxyIdentityFromNode(NODES[0])).get(ROUTE)!.get('9080');
      assert.ok(rc && 'virtual_hosts' in rc && rc.virtual_hosts, 'route configuration 9080');
      const host = rc.virtual_hosts.find((h) => h.name === 'ratings.shop.svc.cluster.local:9080');
      assert.match(JSON.stringify(host), pattern);
    };
    const steps: [string, ObjectSet, (() => void)?][] = [
      ['a new service', withCart],
      ['a route to another service', withRoute, ratingsShows(/outbound\|80\|\|cart\.shop/)],
      ['the route destination changes its port', movedCart, ratingsShows(/outbound\|8081\|\|cart\.shop/)],
      ['a policy on the route destination', hashingCart, ratingsShows(/"hash_policy":\[\{"header":\{"header_name":"x-user"/)],
      ['a changed local rate limit of a workload', { ...hashingCart, trafficPolicies: [...policies.filter((p) => p !== webPolicy), fasterWeb, cartPolicy] }],
      ['a removed service', { ...base, services: base.services.filter((s) => s.metadata?.name !== 'ratings') }],
      ['back to the start', base],
    ];
    for (const [step, objects, check] of steps) {
      await apply(objects);
      check?.();
      assertFresh(step);
    }
  });

  it('a new service encodes only its own resources, and classes whose workload is unchanged keep theirs', async () => {
    const before = held();
    const encodedBefore = encoder.stats.encoded;
    const inbound = views.map((v) => v.resources(LISTENER).get('virtualInbound'));
    const sidecarListeners = views.slice(0, 4).map((v) => v.resources(LISTENER));
    const told = views.map((v) => {
      const seen: string[][] = [];
      v.onChange((types) => seen.push([...types].map(shortTypeName).sort()));
      return seen;
    });

    // Port 80 already has a listener and a route configuration: the new host joins them.
    await apply({ ...base, services: [...base.services, httpService('cart', 'shop', 80, '10.96.0.40')] });

    const added = [...held()].filter((r) => !before.has(r));
    assert.equal(encoder.stats.encoded - encodedBefore, added.length, 'every resource encoded is one a proxy now holds');
    const names = added.map((r) => r.name).sort();
    assert.deepEqual(names, [
      // Route configuration 80 of each sidecar namespace, put together from encoded hosts.
      '80', '80',
      // A gRPC client's listeners (the short name only in shop) and the route configuration
      // per namespace (whose domains differ: the short name again).
      'cart.shop.svc.cluster.local:80', 'cart.shop.svc.cluster.local:80', 'cart.shop.svc.cluster.local:80', 'cart.shop:80', 'cart:80',
      // The cluster of each kind (a sidecar's carries auto-mTLS transport socket matches) and the assignment.
      'outbound|80||cart.shop.svc.cluster.local', 'outbound|80||cart.shop.svc.cluster.local', 'outbound|80||cart.shop.svc.cluster.local',
    ]);
    views.slice(0, 4).forEach((v, i) => {
      assert.equal(v.resources(LISTENER), sidecarListeners[i], `${NODES[i].id}: listeners untouched`);
      assert.equal(v.resources(LISTENER).get('virtualInbound'), inbound[i]);
      assert.deepEqual(told[i], [['CDS', 'EDS', 'RDS']], `${NODES[i].id} told`);
    });
    assert.deepEqual(told[4], [['CDS', 'EDS', 'LDS', 'RDS']]);
    assertFresh('after the new service');
  });

  it('a class whose workload changed regenerates its own listeners and clusters', async () => {
    const web = views[0];
    const inbound = web.resources(LISTENER).get('virtualInbound');
    const others = views.slice(1, 4).map((v) => v.resources(LISTENER));
    const webPolicy = base.trafficPolicies.find((p) => p.metadata?.name === 'web')!;
    await apply({ ...base, trafficPolicies: base.trafficPolicies.filter((p) => p !== webPolicy) });
    assert.notEqual(web.resources(LISTENER).get('virtualInbound'), inbound, 'the rate limit left web\'s virtualInbound');
    views.slice(1, 4).forEach((v, i) => assert.equal(v.resources(LISTENER), others[i], `${NODES[i + 1].id} keeps its listeners`));
    assertFresh('after the workload change');
  });
});
