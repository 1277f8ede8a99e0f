// proxy-status and proxy-config against the real API server with two pilotfish replicas, found
// the way istioctl finds istiod: the chart's Pods in the control plane's namespace, each asked
// through the API server (`pods/NAME:15014/proxy`), and a proxy named by its Pod (`name.ns`).
// The same Pods give `pilotfish check` (without --server) each replica's readiness.
//
// Not pods/portforward: the API server hands a port-forward to the kubelet of the Pod's node, and
// this cluster has no kubelet. The pod proxy is the API server's own connection to the Pod's IP,
// which it refuses for loopback addresses — so the replicas (local processes, as everywhere in
// this suite) listen on addresses of a veth pair the test creates (its peer in a network
// namespace the test creates), and their Pods carry those addresses. Needs root and iproute2.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as grpcXds from '@grpc/grpc-js-xds';
import type { Cluster } from '../cluster/cluster.js';
import { EchoClient } from '../support/echo-service.js';
import { runPilotfish, type PilotfishProcess } from '../support/pilotfish-process.js';
import { sharedCluster } from './fixture.js';
import { CONTROL_PLANE_NAMESPACE, installPilotfish, startController } from './pilotfish-install.js';

grpcXds.register();

const BOOTSTRAP_OPTION = 'grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config';
const NETNS = `pf-replicas-${process.pid}`;
const HOST_LINK = `pfr${process.pid % 100000}h`;
const PEER_LINK = `pfr${process.pid % 100000}p`;
const SUBNET = `10.251.${process.pid % 250}`;
const REPLICA_IPS = [`${SUBNET}.1`, `${SUBNET}.2`];

function ip(...args: string[]): string {
  const r = spawnSync('ip', args, { encoding: 'utf8', timeout: 30_000 });
  if (r.error) throw new Error(`this test needs iproute2 (\`ip\`): apt-get install iproute2 (${r.error.message})`);
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')} failed: ${r.stderr.trim()} (this test needs root to create a veth pair)`);
  return r.stdout;
}

describe('cluster: proxy-status and proxy-config through the API server, two replicas', function () {
  this.timeout(300_000);
  let cluster: Cluster;
  const replicas: PilotfishProcess[] = [];
  const clients: EchoClient[] = [];
  const pods = ['pilotfish-replica-a', 'pilotfish-replica-b'];

  before(async () => {
    cluster = await sharedCluster();
    const inst = await installPilotfish(cluster);
    spawnSync('ip', ['netns', 'del', NETNS]);
    ip('netns', 'add', NETNS);
    ip('link', 'add', HOST_LINK, 'type', 'veth', 'peer', 'name', PEER_LINK, 'netns', NETNS);
    for (const a of REPLICA_IPS) ip('addr', 'add', `${a}/24`, 'dev', HOST_LINK);
    ip('-n', NETNS, 'addr', 'add', `${SUBNET}.254/24`, 'dev', PEER_LINK);
    ip('link', 'set', HOST_LINK, 'up');
    ip('-n', NETNS, 'link', 'set', PEER_LINK, 'up');

    for (const [i, address] of REPLICA_IPS.entries()) {
      const pf = await startController(cluster, inst, 'minimal', { 'http-address': `${address}:15014` });
      replicas.push(pf);
      const name = pods[i]!;
      await cluster.admin.apply({
        apiVersion: 'v1', kind: 'Pod',
        metadata: { name, namespace: CONTROL_PLANE_NAMESPACE, labels: { 'app.kubernetes.io/name': 'pilotfish', 'app.kubernetes.io/component': 'control-plane' } },
        spec: { containers: [{ name: 'pilotfish', image: 'pilotfish:test' }] },
      }, CONTROL_PLANE_NAMESPACE);
      // No kubelet reports the Pod's address: the test does, as the kubelet would.
      await cluster.admin.patch(`/api/v1/namespaces/${CONTROL_PLANE_NAMESPACE}/pods/${name}/status`,
        { status: { podIP: address, podIPs: [{ ip: address }] } }, 'merge');

      const { xdsAddress } = await pf.serving();
      const nodeId = `client-${i + 1}`;
      const out = await runPilotfish(['bootstrap', '--node-id', nodeId, '--xds-address', xdsAddress, '--namespace', 'shop']);
      assert.equal(out.code, 0, out.stderr);
      const bootstrap = JSON.parse(out.stdout) as { node: { metadata: Record<string, string> } };
      bootstrap.node.metadata.POD_NAME = `web-${i + 1}`;
      const c = new EchoClient('xds:///web.shop.svc.cluster.local:8080', { [BOOTSTRAP_OPTION]: JSON.stringify(bootstrap) });
      clients.push(c);
      void c.call({ deadlineMs: 3_000 });
      await pf.waitForLog((l) => l.message === 'stream opened' && l.proxy === nodeId, `${nodeId}'s xDS stream`);
    }
  });

  after(async () => {
    for (const c of clients) c.close();
    await Promise.all(replicas.map((r) => r.stop()));
    for (const name of pods) await cluster?.admin.raw('DELETE', `/api/v1/namespaces/${CONTROL_PLANE_NAMESPACE}/pods/${name}`).catch(() => undefined);
    spawnSync('ip', ['netns', 'del', NETNS]);
    spawnSync('ip', ['link', 'del', HOST_LINK]);
  });

  const cli = (...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> =>
    runPilotfish([...args, '--kubeconfig', cluster.kubeconfig, '--namespace', CONTROL_PLANE_NAMESPACE]);

  it('proxy-status finds both replicas\' Pods, asks each through the API server and lists both proxies', async () => {
    const r = await cli('proxy-status');
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const rows = r.stdout.trimEnd().split('\n').map((l) => l.split(/\s{2,}/));
    assert.deepEqual(rows[0]?.slice(0, 3), ['NAME', 'KIND', 'CONTROL PLANE']);
    assert.deepEqual(rows.slice(1).map((x) => x.slice(0, 3)), [['client-1', 'grpc', pods[0]], ['client-2', 'grpc', pods[1]]]);
  });

  it('a proxy named name.namespace resolves, and proxy-config reads it from its replica', async () => {
    const s = await cli('proxy-status', 'web-2.shop');
    assert.equal(s.code, 0, s.stderr);
    assert.match(s.stdout, new RegExp(`^client-2\\s+grpc\\s+${pods[1]}\\s`, 'm'));
    assert.doesNotMatch(s.stdout, /client-1/);
    const b = await cli('proxy-config', 'bootstrap', 'web-1.shop', '-o', 'json');
    assert.equal(b.code, 0, b.stderr);
    assert.equal((JSON.parse(b.stdout) as { node: { id: string } }).node.id, 'client-1');
  });

  it('check, without --server, takes each replica Pod\'s readiness (its probe is /readyz): a Pod not Ready is a failing line', async () => {
    const ready = (name: string, status: 'True' | 'False'): Promise<unknown> => cluster.admin.patch(`/api/v1/namespaces/${CONTROL_PLANE_NAMESPACE}/pods/${name}/status`,
      { status: { conditions: [{ type: 'Ready', status, ...(status === 'False' ? { message: 'readiness probe failed' } : {}) }] } }, 'strategic');
    await ready(pods[0]!, 'True');
    await ready(pods[1]!, 'False');
    const r = await runPilotfish(['check', '--kubeconfig', cluster.kubeconfig, '--namespace', CONTROL_PLANE_NAMESPACE]);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stdout, new RegExp(`^✔ replica ${pods[0]} serves xDS \\(Pod Ready\\)$`, 'm'));
    assert.match(r.stdout, new RegExp(`^✘ replica ${pods[1]} serves xDS \\(Pod Ready\\)\n {4}hint: not ready: readiness probe failed`, 'm'));
  });

  it('a namespace without pilotfish Pods is one clear line, exit 1', async () => {
    const r = await runPilotfish(['proxy-status', '--kubeconfig', cluster.kubeconfig, '--namespace', 'default']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^pilotfish proxy-status: no running pilotfish Pod in namespace default .*is --namespace right\?\n$/);
  });
});
