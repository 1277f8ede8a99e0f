// Config scoping against the built binary, with real ADS clients on 127.0.0.1: under
// `--default-scope namespace` a sidecar gets only its own namespace's Services (and pilotfish's),
// and a change to a Service outside its scope — a new Service, or new endpoints of an existing
// one — pushes nothing to it, over SotW and Delta alike, while the sidecars whose scope includes
// the Service get it. A TrafficScope widens one workload's scope; a bad edit of it keeps the last
// accepted version.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { META_KIND, META_LABELS, type NodeInfo } from '../../src/xds/node-info.js';
import { CLUSTER, ENDPOINT, LISTENER, shortTypeName } from '../../src/xds/types.js';
import { AdsClient, DeltaAdsClient, type DeltaResponse, type SotwResponse } from '../support/ads-client.js';
import { PilotfishProcess } from '../support/pilotfish-process.js';

const cluster = (name: string, ns: string): string => `outbound|80||${name}.${ns}.svc.cluster.local`;

function node(ns: string, app: string, ip: string): NodeInfo {
  return { id: `sidecar~${ip}~${app}-1.${ns}~${ns}.svc.cluster.local`, metadata: { [META_KIND]: 'sidecar', [META_LABELS]: { app } } };
}

/** A Namespace with HTTP Services on port 80, each with one endpoint per address. */
function namespaceYaml(ns: string, services: Record<string, string[]>, extra: Record<string, unknown>[] = []): string {
  const objects: Record<string, unknown>[] = [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }];
  for (const [name, ips] of Object.entries(services)) {
    objects.push({
      apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns },
      spec: { clusterIP: `10.96.${ns.charCodeAt(0)}.${objects.length}`, ports: [{ name: 'http', port: 80 }] },
    });
    objects.push({
      apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
      metadata: { name: `${name}-1`, namespace: ns, labels: { 'kubernetes.io/service-name': name } },
      addressType: 'IPv4', ports: [{ name: 'http', port: 80 }], endpoints: ips.map((ip) => ({ addresses: [ip] })),
    });
  }
  return [...objects, ...extra].map((o) => YAML.stringify(o)).join('---\n');
}

function describeSotw(r: SotwResponse): string {
  return `${shortTypeName(r.typeUrl)} ${r.resources.map((x) => x.name).sort().join(' ')}`;
}

function describeDelta(r: DeltaResponse): string {
  return `${shortTypeName(r.typeUrl)} +${r.names.join(' +')} -${r.removed.join(' -')}`;
}

function endpointCount(value: unknown): number {
  return (value as { endpoints?: { lb_endpoints?: unknown[] }[] }).endpoints?.reduce((n, l) => n + (l.lb_endpoints?.length ?? 0), 0) ?? 0;
}

/**
 * What a sidecar holds, kept from the responses it ACKs; subscribed as Envoy is: wildcard CDS and
 * LDS, EDS for the outbound clusters it holds.
 */
abstract class Sidecar<R extends SotwResponse | DeltaResponse> {
  /** Every response after start(), in order, described. */
  readonly seen: string[] = [];
  readonly clusters = new Set<string>();
  readonly listeners = new Set<string>();
  /** Endpoints per cluster, from the latest assignment of each. */
  readonly endpoints = new Map<string, number>();

  protected abstract receive(): Promise<R>;
  protected abstract apply(r: R): void;

  outbound(): string[] {
    return [...this.clusters].filter((c) => c.startsWith('outbound|')).sort();
  }

  /** The next response, applied and ACKed. */
  async next(): Promise<R> {
    const r = await this.receive();
    this.apply(r);
    return r;
  }

  /** Reads responses until `done` holds (at once if it already does). */
  async until(done: () => boolean): Promise<void> {
    while (!done()) await this.next();
  }
}

class SotwSidecar extends Sidecar<SotwResponse> {
  private constructor(readonly client: AdsClient) { super(); }

  static async start(address: string, n: NodeInfo): Promise<SotwSidecar> {
    const s = new SotwSidecar(await AdsClient.connect(address, n));
    s.client.request(CLUSTER, []);
    s.client.request(LISTENER, []);
    await s.until(() => s.clusters.size > 0 && s.listeners.size > 0 && s.outbound().every((c) => s.endpoints.has(c)));
    s.seen.length = 0;
    return s;
  }

  protected receive(): Promise<SotwResponse> {
    return this.client.next();
  }

  protected apply(r: SotwResponse): void {
    this.seen.push(describeSotw(r));
    this.client.ack(r);
    const names = r.resources.map((x) => x.name);
    if (r.typeUrl === CLUSTER) {
      this.clusters.clear();
      for (const name of names) this.clusters.add(name);
      this.client.request(ENDPOINT, this.outbound());
    } else if (r.typeUrl === LISTENER) {
      this.listeners.clear();
      for (const name of names) this.listeners.add(name);
    } else if (r.typeUrl === ENDPOINT) {
      // SotW EDS responses carry what changed or was newly subscribed; the rest is kept.
      for (const x of r.resources) this.endpoints.set(x.name, endpointCount(x.value));
    }
  }
}

class DeltaSidecar extends Sidecar<DeltaResponse> {
  private constructor(readonly client: DeltaAdsClient) { super(); }

  static async start(address: string, n: NodeInfo): Promise<DeltaSidecar> {
    const s = new DeltaSidecar(await DeltaAdsClient.connect(address, n));
    s.client.request(CLUSTER);
    s.client.request(LISTENER);
    await s.until(() => s.clusters.size > 0 && s.listeners.size > 0 && s.outbound().every((c) => s.endpoints.has(c)));
    s.seen.length = 0;
    return s;
  }

  protected receive(): Promise<DeltaResponse> {
    return this.client.next();
  }

  protected apply(r: DeltaResponse): void {
    this.seen.push(describeDelta(r));
    this.client.ack(r);
    const held = r.typeUrl === CLUSTER ? this.clusters : r.typeUrl === LISTENER ? this.listeners : undefined;
    if (held) {
      for (const name of r.names) held.add(name);
      for (const name of r.removed) held.delete(name);
    }
    if (r.typeUrl === CLUSTER) {
      const added = r.names.filter((c) => c.startsWith('outbound|'));
      if (added.length > 0) this.client.request(ENDPOINT, { subscribe: added });
    } else if (r.typeUrl === ENDPOINT) {
      for (const x of r.resources) this.endpoints.set(x.name, endpointCount(x.value));
    }
  }
}

describe('e2e: config scoping (--default-scope namespace, TrafficScope)', function () {
  this.timeout(60_000);
  let dir: string;
  let pf: PilotfishProcess;
  let address: string;
  const closers: { close(): void }[] = [];

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'pilotfish-scope-'));
    await writeFile(path.join(dir, 'a.yaml'), namespaceYaml('a', { web: ['10.1.1.1'] }));
    await writeFile(path.join(dir, 'b.yaml'), namespaceYaml('b', { api: ['10.1.2.1'] }));
    await writeFile(path.join(dir, 'system.yaml'), namespaceYaml('pilotfish-system', { telemetry: ['10.1.9.1'] }));
    pf = PilotfishProcess.start(['serve', '--config-dir', dir, '--xds-address', '127.0.0.1:0', '--http-address', '127.0.0.1:0',
      '--default-scope', 'namespace']);
    address = (await pf.serving()).xdsAddress;
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') {
      process.stderr.write(`last pilotfish log lines:\n${pf.logs.slice(-30).map((l) => JSON.stringify(l)).join('\n')}\n`);
    }
  });

  after(async () => {
    for (const c of closers) c.close();
    const code = pf ? await pf.stop('SIGTERM') : 0;
    if (dir) await rm(dir, { recursive: true, force: true });
    assert.equal(code, 0);
  });

  it('sends each sidecar its own namespace and pilotfish\'s, and pushes nothing for a change outside its scope', async () => {
    const aSotw = await SotwSidecar.start(address, node('a', 'client', '10.0.1.1'));
    const aDelta = await DeltaSidecar.start(address, node('a', 'client', '10.0.1.2'));
    const bSotw = await SotwSidecar.start(address, node('b', 'client', '10.0.2.1'));
    const bDelta = await DeltaSidecar.start(address, node('b', 'client', '10.0.2.2'));
    closers.push(aSotw.client, aDelta.client, bSotw.client, bDelta.client);
    const telemetry = cluster('telemetry', 'pilotfish-system');
    for (const a of [aSotw, aDelta]) assert.deepEqual(a.outbound(), [cluster('web', 'a'), telemetry].sort());
    for (const b of [bSotw, bDelta]) assert.deepEqual(b.outbound(), [cluster('api', 'b'), telemetry].sort());
    for (const s of [aSotw, aDelta, bSotw, bDelta]) assert.deepEqual([...s.listeners].sort(), ['0.0.0.0_80', 'virtualInbound', 'virtualOutbound']);

    // Outside a's scope: a new Service in b, and a new endpoint of b's existing one. b's sidecars
    // get the new cluster, its endpoints and api's second endpoint: the push did happen.
    await writeFile(path.join(dir, 'b.yaml'), namespaceYaml('b', { api: ['10.1.2.1', '10.1.2.2'], orders: ['10.1.2.9'] }));
    for (const b of [bSotw, bDelta]) {
      await b.until(() => b.endpoints.get(cluster('orders', 'b')) === 1 && b.endpoints.get(cluster('api', 'b')) === 2);
    }

    // Then a change inside a's scope. Each stream is answered in order, so whatever b's change had
    // sent a's sidecars would have arrived before this: the first thing they get must be this.
    await writeFile(path.join(dir, 'a.yaml'), namespaceYaml('a', { web: ['10.1.1.1'], cart: ['10.1.1.5'] }));
    const sotwFirst = await aSotw.next();
    assert.equal(sotwFirst.typeUrl, CLUSTER, `a's SotW sidecar got ${aSotw.seen.join(' | ')}`);
    assert.deepEqual(aSotw.outbound(), [cluster('cart', 'a'), cluster('web', 'a'), telemetry].sort());
    const deltaFirst = await aDelta.next();
    assert.equal(deltaFirst.typeUrl, CLUSTER, `a's Delta sidecar got ${aDelta.seen.join(' | ')}`);
    assert.deepEqual([deltaFirst.names, deltaFirst.removed], [[cluster('cart', 'a')], []]);
    for (const a of [aSotw, aDelta]) await a.until(() => a.endpoints.get(cluster('cart', 'a')) === 1);
    for (const line of [...aSotw.seen, ...aDelta.seen]) assert.doesNotMatch(line, /\.b\.svc/, `a's sidecars were sent b's config: ${line}`);
  });

  it('widens one workload with a TrafficScope, and keeps the last accepted scope through a bad edit', async () => {
    const scope = (hosts: unknown): Record<string, unknown> => ({
      apiVersion: 'routing.pilotfish.io/v1alpha1', kind: 'TrafficScope', metadata: { name: 'reader', namespace: 'a' },
      spec: { selector: { matchLabels: { app: 'reader' } }, egress: { hosts } },
    });
    const reader = await DeltaSidecar.start(address, node('a', 'reader', '10.0.1.9'));
    closers.push(reader.client);
    assert.ok(!reader.clusters.has(cluster('api', 'b')));
    const scopeFile = path.join(dir, 'scope.yaml');
    await writeFile(scopeFile, YAML.stringify(scope(['./*', 'b/api.b.svc.cluster.local'])));
    // Its own namespace stays, pilotfish's is no longer named, b's orders was never named.
    await reader.until(() => reader.endpoints.has(cluster('api', 'b')) && !reader.clusters.has(cluster('telemetry', 'pilotfish-system')));
    assert.deepEqual(reader.outbound(), [cluster('api', 'b'), cluster('cart', 'a'), cluster('web', 'a')].sort());

    const since = pf.logs.length;
    await writeFile(scopeFile, YAML.stringify(scope(['b'])));
    const warning = await pf.waitForLogAfter(since, (l) => l.message === 'TrafficScope not applied', 'the rejection of the bad edit');
    assert.equal(warning.object, 'TrafficScope a/reader');
    assert.match(String(warning.reason), /spec\.egress\.hosts\[0\]/);
    assert.equal(warning.serving, 'the last accepted version');
    // Still scoped as before: a change to b's orders (outside the kept scope) sends nothing, a
    // change to api (inside it) does, and comes first.
    const seenBefore = reader.seen.length;
    await writeFile(path.join(dir, 'b.yaml'), namespaceYaml('b', { api: ['10.1.2.1', '10.1.2.2'], orders: ['10.1.2.9', '10.1.2.10'] }));
    await writeFile(path.join(dir, 'b.yaml'), namespaceYaml('b', { api: ['10.1.2.1', '10.1.2.2', '10.1.2.3'], orders: ['10.1.2.9', '10.1.2.10'] }));
    const first = await reader.next();
    assert.equal(first.typeUrl, ENDPOINT, reader.seen.slice(seenBefore).join(' | '));
    assert.deepEqual(first.names, [cluster('api', 'b')]);
  });
});
