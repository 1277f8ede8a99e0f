// Delta (incremental) ADS against the built binary, as an Envoy sidecar speaks it: wildcard CDS
// and LDS, named RDS and EDS, subscribe, unsubscribe, removal, and a reconnect whose
// initial_resource_versions spare the resources the client already has.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { META_KIND, META_LABELS, type NodeInfo } from '../../src/xds/node-info.js';
import { CLUSTER, ENDPOINT, LISTENER, ROUTE } from '../../src/xds/types.js';
import { DeltaAdsClient, type DeltaResponse } from '../support/ads-client.js';
import { PilotfishProcess } from '../support/pilotfish-process.js';

const NS = 'dl';
const NODE: NodeInfo = {
  id: `sidecar~10.0.0.1~web-1.${NS}~${NS}.svc.cluster.local`,
  metadata: { [META_KIND]: 'sidecar', [META_LABELS]: { app: 'web' } },
};

const WEB = `outbound|80||web.${NS}.svc.cluster.local`;
const API = `outbound|9090||api.${NS}.svc.cluster.local`;
const DB = `outbound|5432||db.${NS}.svc.cluster.local`;

interface Mesh {
  web: string[];
  api?: string[];
  db: string[];
}

function meshYaml(m: Mesh): string {
  const objects: Record<string, unknown>[] = [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } }];
  const add = (name: string, port: { name: string; port: number; targetPort?: number }, ips: string[], selector?: Record<string, string>): void => {
    objects.push({
      apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: NS },
      spec: { clusterIP: `10.96.7.${objects.length}`, ports: [port], ...(selector ? { selector } : {}) },
    });
    objects.push({
      apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
      metadata: { name: `${name}-1`, namespace: NS, labels: { 'kubernetes.io/service-name': name } },
      addressType: 'IPv4', ports: [{ name: port.name, port: port.targetPort ?? port.port }],
      endpoints: ips.map((ip) => ({ addresses: [ip] })),
    });
  };
  add('web', { name: 'http', port: 80, targetPort: 8080 }, m.web, { app: 'web' });
  if (m.api) add('api', { name: 'grpc', port: 9090 }, m.api);
  add('db', { name: 'tcp-postgres', port: 5432 }, m.db);
  return objects.map((o) => YAML.stringify(o)).join('---\n');
}

/** What the client holds: name -> version, kept up to date from every response it ACKs. */
class Held {
  readonly versions = new Map<string, string>();

  take(res: DeltaResponse): DeltaResponse {
    for (const e of res.entries) this.versions.set(e.name, e.version);
    for (const name of res.removed) this.versions.delete(name);
    return res;
  }
}

describe('e2e: Delta xDS against pilotfish serve, with sidecar resources', function () {
  this.timeout(60_000);
  let dir: string;
  let pf: PilotfishProcess;
  let xdsAddress: string;
  const open: DeltaAdsClient[] = [];

  /**
   * Rewrites mesh.yaml in place. (Not write-and-rename: Node 20's recursive fs.watch on Linux
   * keeps watching the replaced inode and can miss the new file.)
   */
  async function writeMesh(m: Mesh): Promise<number> {
    const since = pf ? pf.logs.length : 0;
    await writeFile(path.join(dir, 'mesh.yaml'), meshYaml(m));
    return since;
  }

  async function connect(): Promise<DeltaAdsClient> {
    const c = await DeltaAdsClient.connect(xdsAddress, NODE);
    open.push(c);
    return c;
  }

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'pilotfish-delta-'));
    await writeMesh({ web: ['10.1.0.1'], api: ['10.1.1.1'], db: ['10.1.2.1'] });
    pf = PilotfishProcess.start(['serve', '--config-dir', dir, '--xds-address', '127.0.0.1:0',
      '--http-address', '127.0.0.1:0', '--log-level', 'debug']);
    xdsAddress = (await pf.serving()).xdsAddress;
  });

  afterEach(function () {
    // The server's side of the story is what explains a failure here.
    if (this.currentTest?.state === 'failed') {
      process.stderr.write(`last pilotfish log lines:\n${pf.logs.slice(-40).map((l) => JSON.stringify(l)).join('\n')}\n`);
    }
  });

  after(async () => {
    for (const c of open) c.close();
    const code = pf ? await pf.stop('SIGTERM') : 0;
    if (dir) await rm(dir, { recursive: true, force: true });
    assert.equal(code, 0);
  });

  it('subscribes, unsubscribes, sees removals, and on reconnect gets only what changed', async () => {
    const c = await connect();
    const cds = new Held();
    const eds = new Held();

    // Wildcard CDS: the sidecar topology's clusters.
    c.request(CLUSTER);
    const clusters = cds.take(await c.next(CLUSTER));
    c.ack(clusters);
    assert.deepEqual(clusters.names, [
      'BlackHoleCluster', 'InboundPassthroughCluster', 'PassthroughCluster', 'inbound|8080||', DB, WEB, API,
    ].sort());

    // Wildcard LDS: capture listeners and one listener per service port.
    c.request(LISTENER);
    const listeners = await c.next(LISTENER);
    c.ack(listeners);
    assert.deepEqual(listeners.names, ['0.0.0.0_5432', '0.0.0.0_80', '0.0.0.0_9090', 'virtualInbound', 'virtualOutbound']);
    const outbound = listeners.resources.find((r) => r.name === 'virtualOutbound')?.value as { use_original_dst?: { value: boolean } };
    assert.equal(outbound.use_original_dst?.value, true);

    // Named RDS (one per HTTP port) and EDS.
    c.request(ROUTE, { subscribe: ['80', '9090'] });
    const routes = await c.next(ROUTE);
    c.ack(routes);
    assert.deepEqual(routes.names, ['80', '9090']);
    c.request(ENDPOINT, { subscribe: [WEB, API, DB] });
    const endpoints = eds.take(await c.next(ENDPOINT));
    c.ack(endpoints);
    assert.deepEqual(endpoints.names, [DB, WEB, API].sort());

    // Unsubscribe db: a change to its endpoints is then not sent. The api change that follows is
    // the next EDS response, so had anything been sent for db it would have arrived first.
    c.request(ENDPOINT, { unsubscribe: [DB] });
    eds.versions.delete(DB);
    // Requests are handled in order: once this answer is back, the unsubscription has been processed.
    c.request(ENDPOINT, { subscribe: ['barrier'] });
    const barrier = await c.next(ENDPOINT);
    c.ack(barrier);
    assert.deepEqual([barrier.names, barrier.removed], [[], ['barrier']], 'an unknown name is answered as removed; db is not resent');
    c.request(ENDPOINT, { unsubscribe: ['barrier'] });
    let since = await writeMesh({ web: ['10.1.0.1'], api: ['10.1.1.1'], db: ['10.1.2.1', '10.1.2.2'] });
    await pf.waitForLogAfter(since, (l) => l.message === 'push', 'the db change to be pushed');
    await writeMesh({ web: ['10.1.0.1'], api: ['10.1.1.1', '10.1.1.2'], db: ['10.1.2.1', '10.1.2.2'] });
    const apiChange = eds.take(await c.next(ENDPOINT));
    c.ack(apiChange);
    assert.deepEqual(apiChange.names, [API]);
    assert.deepEqual(apiChange.removed, []);

    // Removal: api disappears from every type that had it.
    since = await writeMesh({ web: ['10.1.0.1'], db: ['10.1.2.1', '10.1.2.2'] });
    const cdsRemoval = cds.take(await c.next(CLUSTER));
    c.ack(cdsRemoval);
    assert.deepEqual(cdsRemoval.removed, [API]);
    assert.deepEqual(cdsRemoval.names, []);
    const edsRemoval = eds.take(await c.next(ENDPOINT));
    c.ack(edsRemoval);
    assert.deepEqual(edsRemoval.removed, [API]);
    const ldsRemoval = await c.next(LISTENER);
    c.ack(ldsRemoval);
    assert.deepEqual(ldsRemoval.removed, ['0.0.0.0_9090']);
    const rdsRemoval = await c.next(ROUTE);
    c.ack(rdsRemoval);
    assert.deepEqual(rdsRemoval.removed, ['9090']);

    // Subscribing db again sends it at once (its current version).
    c.request(ENDPOINT, { subscribe: [DB] });
    const dbAgain = eds.take(await c.next(ENDPOINT));
    c.ack(dbAgain);
    assert.deepEqual(dbAgain.names, [DB]);

    // Reconnect. While away, web's endpoints change; the clusters and db's endpoints do not.
    c.close();
    await pf.waitForLogAfter(since, (l) => l.message === 'stream closed' && l.proxy === NODE.id, 'the server to see the stream close');
    since = await writeMesh({ web: ['10.1.0.1', '10.1.0.2'], db: ['10.1.2.1', '10.1.2.2'] });
    await pf.waitForLogAfter(since, (l) => l.message === 'push', 'the web change to be processed');
    const again = await connect();
    again.request(CLUSTER, { initialVersions: cds.versions });
    const cdsAgain = await again.next(CLUSTER);
    again.ack(cdsAgain);
    assert.deepEqual(cdsAgain.names, [], 'no cluster is resent: the client has every one at its current version');
    assert.deepEqual(cdsAgain.removed, []);
    again.request(ENDPOINT, { subscribe: [WEB, DB], initialVersions: eds.versions });
    const edsAgain = await again.next(ENDPOINT);
    assert.deepEqual(edsAgain.names, [WEB], 'only web changed while the client was away');
    assert.deepEqual(edsAgain.removed, []);
  });
});
