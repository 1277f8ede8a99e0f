// End to end, as an operator sees it: the built `pilotfish serve`, a real @grpc/grpc-js-xds
// client and raw ADS clients, and the built `pilotfish proxy-status` / `proxy-config` / /metrics
// reporting who is in sync, who is behind, and why one proxy rejected its configuration.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpcXds from '@grpc/grpc-js-xds';
import { CLUSTER, ENDPOINT, LISTENER, ROUTE } from '../../src/xds/types.js';
import { AdsClient, type SotwResponse } from '../support/ads-client.js';
import { callMany, EchoClient, startEchoBackend, type EchoBackend } from '../support/echo-service.js';
import { PilotfishProcess, runPilotfish, type LogLine } from '../support/pilotfish-process.js';
import { parsePrometheusText, sampleValue } from '../support/prom-text.js';
import { routeNames } from '../admin/stack.js';

grpcXds.register();

const BOOTSTRAP_OPTION = 'grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config';
const TARGET = 'xds:///echo.obs.svc.cluster.local:50051';
const NACK_MESSAGE = 'raw-proxy rejects ClusterLoadAssignment: endpoint 127.0.0.1 is not allowed here';

function echoYaml(ports: number[]): string {
  return `apiVersion: v1
kind: Namespace
metadata: { name: obs }
---
apiVersion: v1
kind: Service
metadata: { name: echo, namespace: obs }
spec:
  ports: [{ name: grpc, port: 50051, targetPort: 50051, appProtocol: grpc }]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: echo-1
  namespace: obs
  labels: { kubernetes.io/service-name: echo }
addressType: IPv4
ports: [{ name: grpc, port: ${ports[0]} }]
endpoints:
${ports.map(() => '  - addresses: ["127.0.0.1"]\n    conditions: { ready: true }\n').join('')}`;
}

/** proxy-status rows by proxy name: [kind, CDS, LDS, RDS, EDS, last NACK]. */
function parseTable(out: string): Map<string, string[]> {
  const [header, ...rows] = out.trimEnd().split('\n').map((l) => l.split(/\s{2,}/));
  assert.deepEqual(header, ['NAME', 'KIND', 'CDS', 'LDS', 'RDS', 'EDS', 'LAST NACK']);
  return new Map(rows.map(([name, ...rest]) => [name, rest]));
}

describe('e2e: proxy-status, proxy-config and /metrics against a running pilotfish', function () {
  this.timeout(120_000);
  let dir: string;
  let pf: PilotfishProcess;
  let backends: EchoBackend[] = [];
  let httpBase: string;
  let xdsAddress: string;
  const closers: { close(): void }[] = [];

  async function proxyStatus(): Promise<Map<string, string[]>> {
    const r = await runPilotfish(['proxy-status', '--server', httpBase]);
    assert.equal(r.code, 0, r.stderr);
    return parseTable(r.stdout);
  }

  function acked(since: number, proxy: string, type: string, version?: unknown): Promise<LogLine> {
    return pf.waitForLogAfter(since, (l) => l.message === 'ack' && l.proxy === proxy && l.type === type
      && (version === undefined || l.version === version), `${proxy} to ACK ${type}`);
  }

  before(async () => {
    backends = [await startEchoBackend('one'), await startEchoBackend('two')];
    dir = await mkdtemp(path.join(tmpdir(), 'pilotfish-obs-'));
    await writeFile(path.join(dir, 'echo.yaml'), echoYaml([backends[0].port]));
    pf = PilotfishProcess.start(['serve', '--config-dir', dir, '--xds-address', '127.0.0.1:0',
      '--http-address', '127.0.0.1:0', '--log-level', 'debug']);
    const addrs = await pf.serving();
    httpBase = `http://${addrs.httpAddress}`;
    xdsAddress = addrs.xdsAddress;
  });

  after(async () => {
    for (const c of closers) c.close();
    const code = pf ? await pf.stop('SIGTERM') : 0;
    await Promise.all(backends.map((b) => b.close()));
    if (dir) await rm(dir, { recursive: true, force: true });
    assert.equal(code, 0, 'SIGTERM should end pilotfish cleanly');
  });

  it('reports SYNCED, then STALE while a proxy withholds its ACK, then NACKED with the message', async () => {
    // A real proxyless gRPC client: it subscribes and ACKs on its own.
    const out = await runPilotfish(['bootstrap', '--node-id', 'grpc-client', '--xds-address', xdsAddress, '--namespace', 'obs']);
    assert.equal(out.code, 0, out.stderr);
    const grpcClient = new EchoClient(TARGET, { [BOOTSTRAP_OPTION]: out.stdout });
    closers.push(grpcClient);
    assert.deepEqual((await callMany(grpcClient, 5)).failures, []);
    await Promise.all(['CDS', 'LDS', 'RDS', 'EDS'].map((t) => acked(0, 'grpc-client', t)));

    // A raw ADS client that this test answers for.
    const raw = await AdsClient.connect(xdsAddress, { id: 'raw-proxy', metadata: { NAMESPACE: 'obs', PILOTFISH_KIND: 'grpc' } });
    closers.push(raw);
    const lds = await raw.fetch(LISTENER);
    await raw.fetch(ROUTE, routeNames(lds.anys));
    const cds = await raw.fetch(CLUSTER);
    await raw.fetch(ENDPOINT, cds.names);
    await Promise.all(['CDS', 'LDS', 'RDS', 'EDS'].map((t) => acked(0, 'raw-proxy', t)));

    let table = await proxyStatus();
    assert.deepEqual(table.get('grpc-client'), ['grpc', 'SYNCED', 'SYNCED', 'SYNCED', 'SYNCED']);
    assert.deepEqual(table.get('raw-proxy'), ['grpc', 'SYNCED', 'SYNCED', 'SYNCED', 'SYNCED']);

    // An endpoint change: the gRPC client ACKs it, the raw proxy holds on to its answer.
    const since = pf.logs.length;
    await writeFile(path.join(dir, 'echo.yaml'), echoYaml([backends[1].port]));
    // A file watcher may see the write in steps; the push that matters is the one with the new port.
    let eds: SotwResponse;
    do eds = await raw.next(ENDPOINT);
    while (!JSON.stringify(eds.resources).includes(`"port_value":${backends[1].port}`));
    await acked(since, 'grpc-client', 'EDS', eds.versionInfo);
    table = await proxyStatus();
    assert.deepEqual(table.get('grpc-client'), ['grpc', 'SYNCED', 'SYNCED', 'SYNCED', 'SYNCED']);
    assert.deepEqual(table.get('raw-proxy'), ['grpc', 'SYNCED', 'SYNCED', 'SYNCED', 'STALE']);

    // Now it rejects that push.
    raw.nack(eds, NACK_MESSAGE);
    await pf.waitForLogAfter(since, (l) => l.level === 'warn' && l.proxy === 'raw-proxy' && l.type === 'EDS' && l.error === NACK_MESSAGE,
      'the NACK warning with proxy, type and message');
    table = await proxyStatus();
    assert.deepEqual(table.get('raw-proxy'), ['grpc', 'SYNCED', 'SYNCED', 'SYNCED', 'NACKED', `EDS: ${NACK_MESSAGE}`]);
    assert.deepEqual(table.get('grpc-client'), ['grpc', 'SYNCED', 'SYNCED', 'SYNCED', 'SYNCED']);
    const calls = await callMany(grpcClient, 5);
    assert.deepEqual([...calls.byBackend.keys()], ['two'], 'the gRPC client follows the change');

    // /metrics parses as Prometheus text; the one push the gRPC client ACKed was observed.
    const res = await fetch(`${httpBase}/metrics`);
    assert.equal(res.status, 200);
    const m = parsePrometheusText(await res.text());
    const count = (type: string): number | undefined =>
      sampleValue(m, 'pilotfish_proxy_convergence_time_seconds', 'pilotfish_proxy_convergence_time_seconds_count', { type });
    assert.ok((count('EDS') ?? 0) >= 1, 'the EDS-only push ACKed by the gRPC client is counted');
    assert.equal(sampleValue(m, 'pilotfish_xds_nacks_total', 'pilotfish_xds_nacks_total', { type: 'EDS' }), 1);
    assert.equal(sampleValue(m, 'pilotfish_xds_connected_proxies', 'pilotfish_xds_connected_proxies', { kind: 'grpc' }), 2);
    assert.ok(m.has('process_cpu_seconds_total'));

    // proxy-config shows what the gRPC client was sent.
    const pc = await runPilotfish(['proxy-config', 'endpoint', '--proxy', 'grpc-client', '--server', httpBase]);
    assert.equal(pc.code, 0, pc.stderr);
    assert.match(pc.stdout, new RegExp(`outbound\\|50051\\|\\|echo\\.obs\\.svc\\.cluster\\.local\\s+1\\s+127\\.0\\.0\\.1:${backends[1].port} `));
    const pcJson = await runPilotfish(['proxy-config', 'cluster', '--proxy', 'grpc-client', '--server', httpBase, '-o', 'json']);
    assert.equal(pcJson.code, 0, pcJson.stderr);
    assert.deepEqual((JSON.parse(pcJson.stdout) as { name: string }[]).map((c) => c.name), ['outbound|50051||echo.obs.svc.cluster.local']);
  });

  it('logs one info line per push summary', async () => {
    const pushes = pf.logs.filter((l) => l.message === 'push' && l.level === 'info');
    assert.ok(pushes.length >= 2, 'startup and the endpoint change');
    const last = pushes.at(-1)!;
    for (const key of ['snapshotVersion', 'trigger', 'changedTypes', 'proxies', 'durationMs']) assert.ok(key in last, `push line has ${key}`);
  });
});
