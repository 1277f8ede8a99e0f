// `pilotfish proxy-config` against the built `serve` and a real @grpc/grpc-js-xds client: YAML in
// Envoy's config_dump form (durations `0.025s`, wrappers as plain values), the route table with
// each route's match, weighted destinations and the TrafficRoute it came from, `all` and
// `bootstrap`.
import assert from 'node:assert/strict';
import path from 'node:path';
import * as grpcXds from '@grpc/grpc-js-xds';
import { parse as parseYaml } from 'yaml';
import { EchoClient } from '../support/echo-service.js';
import { PilotfishProcess, REPO_ROOT, runPilotfish } from '../support/pilotfish-process.js';

grpcXds.register();

const BOOTSTRAP_OPTION = 'grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config';
type Obj = Record<string, unknown>;

describe('e2e: proxy-config on what a proxyless client was sent', function () {
  this.timeout(60_000);
  let pf: PilotfishProcess;
  let client: EchoClient;
  let server: string;

  before(async () => {
    pf = PilotfishProcess.start(['serve', '--config-dir', path.join(REPO_ROOT, 'examples/demo'), '--xds-address', '127.0.0.1:0',
      '--http-address', '127.0.0.1:0', '--log-level', 'debug']);
    const addrs = await pf.serving();
    server = `http://${addrs.httpAddress}`;
    const out = await runPilotfish(['bootstrap', '--node-id', 'pc-client', '--xds-address', addrs.xdsAddress, '--namespace', 'demo']);
    assert.equal(out.code, 0, out.stderr);
    client = new EchoClient('xds:///greeter.demo.svc.cluster.local:50051', { [BOOTSTRAP_OPTION]: out.stdout });
    // Nothing listens behind the demo's endpoints: the call fails, but only after the client has
    // fetched listener, route, cluster and endpoints, each of which it ACKs.
    void client.call({ deadlineMs: 5_000 });
    await pf.waitForLog((l) => l.message === 'ack' && l.proxy === 'pc-client' && l.type === 'EDS', 'the client\'s EDS ACK');
  });

  after(async () => {
    client?.close();
    await pf?.stop();
  });

  const run = async (...args: string[]): Promise<string> => {
    const r = await runPilotfish(['proxy-config', ...args, '--proxy', 'pc-client', '--server', server]);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  };

  it('the route table shows matches, weighted destinations and the TrafficRoute of every route', async () => {
    const rows = (await run('route')).trimEnd().split('\n').map((l) => l.split(/\s{2,}/));
    assert.deepEqual(rows[0], ['ROUTE CONFIG', 'DOMAINS', 'NAME', 'MATCH', 'DESTINATION', 'FROM']);
    const byName = new Map(rows.slice(1).map((r) => [r[2], r]));
    assert.deepEqual(byName.get('canary-testers')?.slice(3), ['prefix / x-canary=true', 'outbound|50051|v2|greeter.demo.svc.cluster.local', 'TrafficRoute/demo/greeter']);
    assert.deepEqual(byName.get('split')?.slice(3), [
      'prefix /',
      'outbound|50051|v1|greeter.demo.svc.cluster.local 80%, outbound|50051|v2|greeter.demo.svc.cluster.local 20%',
      'TrafficRoute/demo/greeter',
    ]);
  });

  it('-o yaml shows durations as `0.025s` and wrappers as plain values, as Envoy\'s config_dump does', async () => {
    const text = await run('route', '-o', 'yaml');
    assert.doesNotMatch(text, /seconds:|nanos:|\bvalue: /, text);
    const [rc] = parseYaml(text) as Obj[];
    const vhost = (rc!.virtual_hosts as Obj[])[0]!;
    const split = (vhost.routes as Obj[]).find((r) => r.name === 'split')!;
    const action = split.route as { weighted_clusters: { clusters: Array<{ weight: unknown }> }; retry_policy: Obj };
    assert.deepEqual(action.weighted_clusters.clusters.map((c) => c.weight), [80, 20]);
    assert.equal(action.retry_policy.num_retries, 2);
    const backOff = action.retry_policy.retry_back_off as Obj | undefined;
    if (backOff !== undefined) assert.match(String(backOff.base_interval), /^\d+(\.\d+)?s$/);
  });

  it('all lists every type; bootstrap shows the node the proxy presented', async () => {
    const all = await run('all');
    for (const title of ['CLUSTERS', 'LISTENERS', 'ROUTES', 'ENDPOINTS']) assert.match(all, new RegExp(`^${title}$`, 'm'));
    const json = JSON.parse(await run('all', '-o', 'json')) as Record<string, Obj[]>;
    assert.deepEqual(Object.keys(json), ['clusters', 'listeners', 'routes', 'endpoints']);
    assert.ok(json.clusters!.some((c) => c.name === 'outbound|50051|v1|greeter.demo.svc.cluster.local'));
    const boot = parseYaml(await run('bootstrap')) as { node: { id: string; metadata: Obj }; stream: { peer: string } };
    assert.equal(boot.node.id, 'pc-client');
    assert.equal(boot.node.metadata.NAMESPACE, 'demo');
    assert.match(boot.stream.peer, /^127\.0\.0\.1:\d+$/);
  });
});
