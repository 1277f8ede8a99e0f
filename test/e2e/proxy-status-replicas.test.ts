// proxy-status and proxy-config ask every control-plane replica (`--server A,B`) and merge the
// answers, and name a proxy by its Pod (`name.namespace`) as istioctl does. Two built `serve`
// processes stand for two replicas; a real @grpc/grpc-js-xds client is connected to each.
import assert from 'node:assert/strict';
import path from 'node:path';
import * as grpcXds from '@grpc/grpc-js-xds';
import { EchoClient } from '../support/echo-service.js';
import { PilotfishProcess, REPO_ROOT, runPilotfish } from '../support/pilotfish-process.js';

grpcXds.register();

const BOOTSTRAP_OPTION = 'grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config';

describe('e2e: proxy-status and proxy-config across replicas, proxies named by Pod', function () {
  this.timeout(60_000);
  const replicas: PilotfishProcess[] = [];
  const servers: string[] = [];
  const clients: EchoClient[] = [];

  /** A client of `replica` whose bootstrap says it runs in Pod `pod` of namespace demo. */
  async function connect(replica: number, nodeId: string, pod: string): Promise<void> {
    const pf = replicas[replica]!;
    const { xdsAddress } = await pf.serving();
    const out = await runPilotfish(['bootstrap', '--node-id', nodeId, '--xds-address', xdsAddress, '--namespace', 'demo']);
    assert.equal(out.code, 0, out.stderr);
    const bootstrap = JSON.parse(out.stdout) as { node: { metadata: Record<string, string> } };
    bootstrap.node.metadata.POD_NAME = pod;
    const c = new EchoClient('xds:///greeter.demo.svc.cluster.local:50051', { [BOOTSTRAP_OPTION]: JSON.stringify(bootstrap) });
    clients.push(c);
    // Nothing listens behind the demo's endpoints; the call only makes the client fetch (and ACK) its config.
    void c.call({ deadlineMs: 5_000 });
    await pf.waitForLog((l) => l.message === 'ack' && l.proxy === nodeId && l.type === 'EDS', `${nodeId}'s EDS ACK`);
  }

  before(async () => {
    for (let i = 0; i < 2; i++) {
      const pf = PilotfishProcess.start(['serve', '--config-dir', path.join(REPO_ROOT, 'examples/demo'), '--xds-address', '127.0.0.1:0',
        '--http-address', '127.0.0.1:0', '--log-level', 'debug']);
      replicas.push(pf);
      servers.push(`http://${(await pf.serving()).httpAddress}`);
    }
    await connect(0, 'client-a', 'web-1');
    await connect(1, 'client-b', 'web-2');
  });

  after(async () => {
    for (const c of clients) c.close();
    await Promise.all(replicas.map((r) => r.stop()));
  });

  it('proxy-status lists the proxies of every replica, each with the replica it is connected to', async () => {
    const r = await runPilotfish(['proxy-status', '--server', servers.join(',')]);
    assert.equal(r.code, 0, r.stderr);
    const rows = r.stdout.trimEnd().split('\n').map((l) => l.split(/\s{2,}/));
    assert.deepEqual(rows[0], ['NAME', 'KIND', 'CONTROL PLANE', 'CDS', 'LDS', 'RDS', 'EDS', 'LAST NACK']);
    assert.deepEqual(rows.slice(1).map((x) => x.slice(0, 3)), [['client-a', 'grpc', servers[0]], ['client-b', 'grpc', servers[1]]]);
  });

  it('a proxy named name.namespace resolves to its node id, on whichever replica it is', async () => {
    const s = await runPilotfish(['proxy-status', 'web-2.demo', '--server', servers.join(',')]);
    assert.equal(s.code, 0, s.stderr);
    assert.match(s.stdout, /^client-b\s+grpc\s/m);
    assert.doesNotMatch(s.stdout, /client-a/);

    const c = await runPilotfish(['proxy-config', 'cluster', 'web-2.demo', '--server', servers.join(',')]);
    assert.equal(c.code, 0, c.stderr);
    assert.match(c.stdout, /^outbound\|50051\|v1\|greeter\.demo\.svc\.cluster\.local\s+EDS/m);
    const boot = await runPilotfish(['proxy-config', 'bootstrap', 'web-1.demo', '--server', servers.join(','), '-o', 'json']);
    assert.equal(boot.code, 0, boot.stderr);
    assert.equal((JSON.parse(boot.stdout) as { node: { id: string } }).node.id, 'client-a');

    const none = await runPilotfish(['proxy-config', 'cluster', 'web-9.demo', '--server', servers.join(',')]);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /proxy "web-9\.demo" has no open xDS stream/);
  });

  it('a replica that does not answer is named and fails the command; the others are still listed', async () => {
    await replicas[1]!.stop();
    const r = await runPilotfish(['proxy-status', '--server', servers.join(',')]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^client-a\s/m);
    assert.match(r.stderr, new RegExp(`cannot reach the pilotfish control plane at ${servers[1]!.replace(/[.]/g, '\\.')}`));
  });
});
