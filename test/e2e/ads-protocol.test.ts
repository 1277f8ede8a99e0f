// The ADS protocol points of the first slice, shown against the running binary with a raw client
// that sends exactly the requests each point needs.
import assert from 'node:assert/strict';
import { mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AdsClient } from '../support/ads-client.js';
import { PilotfishProcess } from '../support/pilotfish-process.js';
import { parsePrometheusText, sampleValue } from '../support/prom-text.js';
import { CLUSTER, ENDPOINT, LISTENER, ROUTE } from '../../src/xds/types.js';

function serviceYaml(name: string, port: number, endpointPorts: number[]): string {
  return `apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: proto }
spec:
  ports: [{ name: grpc, port: ${port}, appProtocol: grpc }]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: ${name}, namespace: proto, labels: { kubernetes.io/service-name: ${name} } }
addressType: IPv4
ports: [{ name: grpc, port: ${endpointPorts[0] ?? 1} }]
endpoints:
${endpointPorts.length === 0 ? '  []' : endpointPorts.map((_p, i) => `  - addresses: ["127.0.0.${i + 1}"]`).join('\n')}
`;
}

const A_CLUSTER = 'outbound|7000||alpha.proto.svc.cluster.local';
const B_CLUSTER = 'outbound|7001||beta.proto.svc.cluster.local';
const A_LISTENER = 'alpha.proto.svc.cluster.local:7000';

describe('e2e: ADS protocol against the running binary', function () {
  this.timeout(60_000);
  let dir: string;
  let pf: PilotfishProcess;
  let xds: string;
  let http: string;
  const clients: AdsClient[] = [];

  async function connect(id: string): Promise<AdsClient> {
    const c = await AdsClient.connect(xds, { id, metadata: { NAMESPACE: 'proto' } });
    clients.push(c);
    return c;
  }

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'pilotfish-ads-'));
    await writeFile(path.join(dir, 'alpha.yaml'), serviceYaml('alpha', 7000, [9000]));
    pf = PilotfishProcess.start(['serve', '--config-dir', dir, '--xds-address', '127.0.0.1:0',
      '--http-address', '127.0.0.1:0', '--log-level', 'debug']);
    ({ xdsAddress: xds, httpAddress: http } = await pf.serving());
  });

  after(async () => {
    for (const c of clients) c.close();
    await pf?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('takes the node from the first request, answers with fresh nonces, and holds on ACK', async () => {
    const c = await connect('hold');
    const cds = await c.fetch(CLUSTER);
    assert.ok(cds.names.includes(A_CLUSTER), `CDS has ${A_CLUSTER}: ${cds.names.join(', ')}`);
    assert.ok(cds.nonce.length > 0);
    c.ack(cds);
    const eds = await c.fetch(ENDPOINT, [A_CLUSTER]);
    assert.notEqual(eds.nonce, cds.nonce);
    c.ack(eds, [A_CLUSTER]);
    // An endpoint-only change must reach EDS alone: had CDS not been held after its ACK, it would
    // arrive first (push order is CDS before EDS).
    await writeFile(path.join(dir, 'alpha.yaml'), serviceYaml('alpha', 7000, [9000, 9000]));
    const next = await c.next();
    assert.equal(next.typeUrl, ENDPOINT);
    assert.equal(c.buffered(CLUSTER), 0);
    const addrs = JSON.stringify(next.resources[0].value);
    assert.match(addrs, /127\.0\.0\.2/);
    c.ack(next, [A_CLUSTER]);
  });

  it('detects a NACK by error_detail, logs it with proxy, type and message, and keeps the last good config', async () => {
    const c = await connect('nacker');
    const lds = await c.fetch(LISTENER, [A_LISTENER]);
    assert.deepEqual(lds.names, [A_LISTENER]);
    const since = pf.logs.length;
    c.nack(lds, 'listener rejected on purpose', [A_LISTENER]);
    const warn = await pf.waitForLogAfter(since, (l) => l.level === 'warn' && /NACK/i.test(l.message), 'a NACK warning');
    assert.equal(warn.proxy, 'nacker');
    assert.equal(warn.type, 'LDS');
    assert.equal(warn.error, 'listener rejected on purpose');
    const metrics = parsePrometheusText(await (await fetch(`http://${http}/metrics`)).text());
    assert.equal(sampleValue(metrics, 'pilotfish_xds_nacks_total', 'pilotfish_xds_nacks_total', { type: 'LDS' }), 1, 'the NACK is counted');
    // Nothing is resent because of the NACK: the next thing this stream sees is the answer to a
    // new request, not a retry of the rejected listener.
    c.request(ROUTE, [A_LISTENER]);
    const rds = await c.next();
    assert.equal(rds.typeUrl, ROUTE);
    assert.equal(c.buffered(LISTENER), 0);
  });

  it('resends on a newly subscribed name even when nothing changed', async () => {
    const c = await connect('resubscribe');
    const first = await c.fetch(LISTENER, [A_LISTENER]);
    c.ack(first, [A_LISTENER]);
    c.request(LISTENER, [A_LISTENER, 'alpha.proto:7000'], { versionInfo: first.versionInfo, responseNonce: first.nonce });
    const again = await c.next(LISTENER);
    assert.deepEqual(again.names, ['alpha.proto:7000', A_LISTENER].sort());
  });

  it('pushes a subscribed resource that is created later', async () => {
    const c = await connect('late');
    c.request(ENDPOINT, [B_CLUSTER]);
    await writeFile(path.join(dir, 'beta.yaml'), serviceYaml('beta', 7001, [9100]));
    // The server may first answer that nothing by that name exists yet; the push must follow.
    let eds = await c.next(ENDPOINT);
    for (let i = 0; i < 3 && eds.names.length === 0; i++) {
      c.ack(eds, [B_CLUSTER]);
      eds = await c.next(ENDPOINT);
    }
    assert.deepEqual(eds.names, [B_CLUSTER]);
  });

  it('sends full state for CDS and LDS, so a deleted service disappears', async () => {
    const c = await connect('full-state');
    const before = await c.fetch(CLUSTER);
    assert.ok(before.names.includes(B_CLUSTER), 'beta is known before deletion');
    c.ack(before);
    await unlink(path.join(dir, 'beta.yaml'));
    const after = await c.next(CLUSTER);
    assert.ok(!after.names.includes(B_CLUSTER), 'beta is gone from the full CDS state');
    assert.ok(after.names.includes(A_CLUSTER), 'alpha is still there');
  });

  it('serves the per-type services over the same cache', async () => {
    const c = await AdsClient.connect(xds, { id: 'cds-only', metadata: { NAMESPACE: 'proto' } }, { service: 'cds' });
    clients.push(c);
    const cds = await c.fetch(CLUSTER);
    assert.ok(cds.names.includes(A_CLUSTER));
  });
});
