// The istiod comparison is only fair if both servers read the same mesh and see the same edits:
// the Istio config must carry the workload's services, endpoints and routing, and an endpoint
// change must be one more endpoint in one namespace's file for either server.
import assert from 'node:assert/strict';
import { isIPv4 } from 'node:net';
import { istioDocs, MeshFiles } from '../../bench/istiod/mesh-files.js';
import { DEFAULT_MIX, generateProxies, generateWorkload, proxyIp } from '../../bench/workload.js';
import { parseConfigText } from '../../src/sources/config-dir/parse-file.js';

type Doc = Record<string, unknown>;

const docsOf = (text: string): Doc[] => text.split('\n---\n').filter((t) => t.trim() !== '').map((t) => JSON.parse(t) as Doc);
const spec = (d: Doc | undefined): Doc => (d?.spec ?? {}) as Doc;
const named = (docs: readonly Doc[], kind: string, name: string): Doc | undefined =>
  docs.find((d) => d.kind === kind && (d.metadata as { name?: string } | undefined)?.name === name);

describe('bench/istiod mesh files', () => {
  const w = generateWorkload({ namespaces: 2, services: 40, endpointsPerService: 3, routeEvery: 20, seed: 42 });

  it('pilotfish reads the workload as generated', () => {
    assert.deepEqual(new MeshFiles(w, 'pilotfish').files(), w.files);
  });

  it('istiod reads a STATIC ServiceEntry per Service with the same addresses, zones and pod labels, and routing as VirtualService/DestinationRule', () => {
    const files = new MeshFiles(w, 'istio').files();
    const docs = [...files.values()].flatMap(docsOf);
    assert.equal(docs.filter((d) => d.kind === 'ServiceEntry').length, w.services.length);
    const svc = w.services[0];
    const se = spec(named(docs, 'ServiceEntry', svc.name));
    assert.deepEqual(se.hosts, [`${svc.name}.${svc.namespace}.svc.cluster.local`]);
    assert.deepEqual(se.addresses, [svc.clusterIP]);
    assert.equal(se.resolution, 'STATIC');
    assert.deepEqual((se.ports as Array<{ number: number }>).map((p) => p.number), svc.ports.map((p) => p.port));
    // The first service is routed: its endpoints are Pods labelled v1/v2, which the subsets select.
    const eps = se.endpoints as Array<{ address: string; labels: Record<string, string>; locality: string }>;
    assert.deepEqual(eps.map((e) => e.address), ['10.0.0.1', '10.0.0.2', '10.0.0.3']);
    assert.deepEqual(eps.map((e) => e.labels.version), ['v1', 'v2', 'v1']);
    assert.deepEqual(eps.map((e) => e.locality), ['/zone-a', '/zone-b', '/zone-c']);
    const vs = spec(named(docs, 'VirtualService', svc.name));
    assert.deepEqual(vs.hosts, [`${svc.name}.${svc.namespace}.svc.cluster.local`]);
    const dst = ((vs.http as Doc[])[0].route as Doc[])[0].destination as Doc;
    assert.deepEqual(dst, { host: `${svc.name}.${svc.namespace}.svc.cluster.local`, port: { number: svc.ports[0].port }, subset: 'v2' });
    const dr = spec(named(docs, 'DestinationRule', svc.name));
    assert.equal(dr.host, `${svc.name}.${svc.namespace}.svc.cluster.local`);
    assert.deepEqual((dr.subsets as Array<{ name: string }>).map((s) => s.name), ['v1', 'v2']);
    assert.deepEqual(istioDocs([{ kind: 'Deployment', metadata: { name: 'x' } }]), [], 'kinds with no Istio counterpart are left out');
  });

  it('an endpoint change is one more endpoint in the namespace\'s file, for both servers, and pilotfish still accepts the file', () => {
    const svc = w.services[3];
    const pilotfish = new MeshFiles(w, 'pilotfish');
    const edit = pilotfish.addEndpoint(svc, '10.250.0.1');
    assert.equal(edit.path, `${svc.namespace}/mesh.yaml`);
    const parsed = parseConfigText(`/bench/${edit.path}`, edit.text);
    assert.deepEqual(parsed.errors, []);
    const slice = parsed.objects.find((o) => o.kind === 'EndpointSlice' && o.object.metadata?.labels?.['kubernetes.io/service-name'] === svc.name);
    assert.ok(slice?.kind === 'EndpointSlice');
    assert.deepEqual(slice.object.endpoints.map((e) => e.addresses[0]), ['10.0.0.10', '10.0.0.11', '10.0.0.12', '10.250.0.1']);

    const istio = new MeshFiles(w, 'istio');
    const ie = istio.addEndpoint(svc, '10.250.0.1');
    assert.equal(ie.path, edit.path);
    const se = spec(named(docsOf(ie.text), 'ServiceEntry', svc.name));
    assert.deepEqual((se.endpoints as Array<{ address: string }>).map((e) => e.address), ['10.0.0.10', '10.0.0.11', '10.0.0.12', '10.250.0.1']);
    // Edits accumulate, and other services' documents are untouched.
    const second = istio.addEndpoint(svc, '10.250.0.2');
    assert.equal((spec(named(docsOf(second.text), 'ServiceEntry', svc.name)).endpoints as unknown[]).length, 5);
    assert.deepEqual(named(docsOf(second.text), 'ServiceEntry', w.services[1].name), named(docsOf(new MeshFiles(w, 'istio').files().get(edit.path)!), 'ServiceEntry', w.services[1].name));
  });

  it('refuses an endpoint for a service the files do not have', () => {
    const files = new MeshFiles(w, 'istio');
    assert.throws(() => files.addEndpoint({ name: 'nope', namespace: 'ns-0', clusterIP: '172.20.9.9', ports: [{ name: 'http', port: 80 }] }, '10.250.0.1'),
      /no endpoints of ns-0\/nope/);
  });
});

describe('bench proxy addresses', () => {
  it('are distinct IPv4 addresses at 2,000 proxies and more (istiod refuses 10.200.0.256)', () => {
    const w = generateWorkload({ namespaces: 2, services: 10, endpointsPerService: 1, routeEvery: 0, seed: 1 });
    const ips = generateProxies(w, 3000).map((p) => p.ip);
    const bad = ips.filter((ip) => !isIPv4(ip) || ip.endsWith('.0') || ip.endsWith('.255'));
    assert.deepEqual(bad, []);
    assert.equal(new Set(ips).size, ips.length);
    assert.equal(proxyIp(253), '10.200.0.254');
    assert.equal(proxyIp(254), '10.200.1.1');
    assert.throws(() => proxyIp(254 * 256), /out of range/);
  });
});

describe('bench proxy kinds', () => {
  it("give every namespace's sidecars the mix's SotW/Delta proportions, and the mesh the whole mix", () => {
    const w = generateWorkload({ namespaces: 10, services: 100, endpointsPerService: 1, routeEvery: 0, seed: 1 });
    const specs = generateProxies(w, 1000, { mix: DEFAULT_MIX });
    const total = { sotw: 0, delta: 0, grpc: 0 };
    const byNs = new Map<string, { sotw: number; delta: number }>();
    for (const s of specs) {
      total[s.kind]++;
      if (s.kind === 'grpc') continue;
      const c = byNs.get(s.namespace) ?? { sotw: 0, delta: 0 };
      c[s.kind]++;
      byNs.set(s.namespace, c);
    }
    assert.deepEqual(total, { sotw: 400, delta: 400, grpc: 200 });
    assert.equal(byNs.size, 10);
    // Before, sidecar k ran in namespace k mod 10 and took the k-th kind of an S/D alternation:
    // the even namespaces were all SotW, the odd all Delta.
    for (const [ns, c] of byNs) assert.ok(Math.abs(c.sotw - c.delta) <= 1, `${ns}: ${c.sotw} SotW, ${c.delta} Delta`);
  });
});
