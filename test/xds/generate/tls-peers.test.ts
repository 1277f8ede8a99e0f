// The proxyless builders drive real peers: a @grpc/grpc-js-xds XdsServer (XdsServerCredentials)
// and client (XdsChannelCredentials), configured only by grpcBootstrap and by resources from
// src/xds/generate/tls.ts served by pilotfish's own xDS server, with SVIDs in the files the pod
// agent writes. Real TLS handshakes: the server sees the client's SPIFFE ID under STRICT, a
// plaintext client fails under STRICT and succeeds under PERMISSIVE, a policy switch takes effect
// without restarting either side, and a server with the wrong identity or a client from another
// CA is refused. (Certificates here come from a test CA; issuing through the CSR path is the
// end-to-end test of the next step.)
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as grpcXds from '@grpc/grpc-js-xds';
import type { EffectiveMtlsMode } from '../../../src/model/peer-authentication.js';
import { spiffeId } from '../../../src/model/spiffe.js';
import { grpcBootstrap } from '../../../src/xds/bootstrap/grpc-bootstrap.js';
import { grpcClusterTransportSocket, grpcServerListener, grpcUpstreamTls } from '../../../src/xds/generate/tls.js';
import { CLUSTER, LISTENER } from '../../../src/xds/types.js';
import { ECHO_SERVICE, echoOnce, OWN_CONNECTIONS } from '../../support/echo-service.js';
import { endpoints, listener, resource, routeConfig, type TypedResource } from '../../support/fake-proxy-views.js';
import { issueSvid, testCa, writeWorkloadFiles } from '../../support/spiffe-certs.js';
import { startHarness, type Harness } from '../server/harness.js';
import { callUntil } from '../../support/call-until.js';

grpcXds.register();

const BOOTSTRAP_OPTION = 'grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config';
const TD = 'cluster.local';
const SERVER_ID = spiffeId(TD, 'shop', 'echo');
const CLIENT_ID = spiffeId(TD, 'shop', 'web');
const SERVER_NODE = 'echo-server';

async function freePort(): Promise<number> {
  const s = net.createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address() as net.AddressInfo;
  s.close();
  await once(s, 'close');
  return port;
}

function echoCluster(name: string, tlsFor?: readonly string[]): TypedResource {
  return resource(CLUSTER, name, {
    name, type: 'EDS', connect_timeout: { seconds: 5 }, lb_policy: 'ROUND_ROBIN',
    eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' } },
    ...(tlsFor ? { transport_socket: grpcClusterTransportSocket(grpcUpstreamTls(tlsFor, { trustDomain: TD })) } : {}),
  });
}

describe('tls: proxyless peers configured by the generated resources', function () {
  this.timeout(60_000);
  let dir: string;
  let harness: Harness;
  let port: number;
  let server: grpcXds.XdsServer;
  const clients: grpc.Client[] = [];
  let serverCerts: string;
  let clientCerts: string;
  let strangerCerts: string;

  const serverListener = (mode: EffectiveMtlsMode): TypedResource => {
    const l = grpcServerListener({ address: '127.0.0.1', port, mode, trustDomain: TD });
    return resource(LISTENER, l.name as string, l as Record<string, unknown>);
  };

  let mode: EffectiveMtlsMode | undefined;

  function nextAckOrNack(): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        harness.events.off('acked', done);
        harness.events.off('nacked', done);
        resolve();
      };
      harness.events.on('acked', done);
      harness.events.on('nacked', done);
    });
  }

  /** Serves `next` and resolves once the server's xDS client ACKed the new Listener (fails on a NACK). */
  async function setMode(next: EffectiveMtlsMode): Promise<void> {
    if (mode === next) return;
    const from = harness.events.log.length;
    harness.source.put(serverListener(next));
    mode = next;
    for (;;) {
      for (const e of harness.events.log.slice(from)) {
        const info = e.info as { node: { id: string }; typeUrl: string; message?: string };
        if (info.node.id !== SERVER_NODE || info.typeUrl !== LISTENER) continue;
        if (e.kind === 'nacked') assert.fail(`the server NACKed its Listener: ${info.message}`);
        if (e.kind === 'acked') return;
      }
      await nextAckOrNack();
    }
  }

  function bootstrapFor(nodeId: string, certs: string, xdsServer = false): string {
    return JSON.stringify(grpcBootstrap({
      nodeId, xdsAddress: harness.address, namespace: 'shop', certificates: { directory: certs, refreshIntervalMs: 1000 }, xdsServer,
    }));
  }

  function meshClient(certs: string, target = 'xds:///echo'): grpc.Client {
    const c = new grpc.Client(target, new grpcXds.XdsChannelCredentials(grpc.credentials.createInsecure()),
      { [BOOTSTRAP_OPTION]: bootstrapFor(`client-${clients.length}`, certs), ...OWN_CONNECTIONS });
    clients.push(c);
    return c;
  }

  function plaintextClient(): grpc.Client {
    const c = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), OWN_CONNECTIONS);
    clients.push(c);
    return c;
  }

  /** Calls until the outcome is `want` (test/support/call-until.ts). */
  async function eventually(client: grpc.Client, want: 'ok' | 'fails'): Promise<string> {
    return callUntil(() => echoOnce(client), want);
  }

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'pilotfish-tls-'));
    const ca = testCa('pilotfish test mesh');
    const stranger = testCa('another mesh');
    serverCerts = await writeWorkloadFiles(path.join(dir, 'server'), issueSvid(ca, SERVER_ID), ca.certPem);
    clientCerts = await writeWorkloadFiles(path.join(dir, 'client'), issueSvid(ca, CLIENT_ID), ca.certPem);
    strangerCerts = await writeWorkloadFiles(path.join(dir, 'stranger'), issueSvid(stranger, CLIENT_ID), stranger.certPem + ca.certPem);
    harness = await startHarness();
    port = await freePort();
    harness.source.put(
      serverListener('STRICT'),
      listener('echo', 'echo-route'), routeConfig('echo-route', 'echo-mtls'),
      listener('echo-plain', 'echo-plain-route'), routeConfig('echo-plain-route', 'echo-plain'),
      listener('echo-impostor', 'echo-impostor-route'), routeConfig('echo-impostor-route', 'echo-impostor'),
      echoCluster('echo-mtls', [SERVER_ID]), endpoints('echo-mtls', port),
      echoCluster('echo-plain'), endpoints('echo-plain', port),
      // The client expects another workload's identity behind this cluster.
      echoCluster('echo-impostor', [spiffeId(TD, 'shop', 'payments')]), endpoints('echo-impostor', port),
    );
    mode = 'STRICT';
    server = new grpcXds.XdsServer({ [BOOTSTRAP_OPTION]: bootstrapFor(SERVER_NODE, serverCerts, true) });
    server.addService(ECHO_SERVICE, {
      Call: (c: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        const peer = c.getAuthContext().sslPeerCertificate?.subjectaltname;
        cb(null, Buffer.from(peer ?? 'plaintext'));
      },
    });
    await new Promise<void>((resolve, reject) => {
      server.bindAsync(`127.0.0.1:${port}`, new grpcXds.XdsServerCredentials(grpc.ServerCredentials.createInsecure()),
        (err) => (err ? reject(err) : resolve()));
    });
  });

  after(async () => {
    for (const c of clients) c.close();
    if (server) server.forceShutdown();
    if (harness) await harness.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('STRICT: an mTLS client gets through and the server sees its SPIFFE ID', async () => {
    await setMode('STRICT');
    assert.equal(await eventually(meshClient(clientCerts), 'ok'), `URI:${CLIENT_ID}`);
  });

  it('STRICT: a plaintext client is refused', async () => {
    await setMode('STRICT');
    await eventually(plaintextClient(), 'fails');
    // And through xDS too: a cluster without TLS makes the xDS client fall back to plaintext.
    await eventually(meshClient(clientCerts, 'xds:///echo-plain'), 'fails');
  });

  it('STRICT: a client whose certificate comes from another CA is refused', async () => {
    await setMode('STRICT');
    // The same client setup with this CA's certificate gets through (the first test): only the issuer differs.
    await eventually(meshClient(strangerCerts), 'fails');
  });

  it('a client refuses a server whose SPIFFE ID is not the one its cluster names', async () => {
    await setMode('STRICT');
    assert.match(await eventually(meshClient(clientCerts, 'xds:///echo-impostor'), 'fails'), /No matching subject alternative name/);
  });

  it('PERMISSIVE: plaintext clients get through, and switching back to STRICT refuses them again, without restarts', async () => {
    await setMode('PERMISSIVE');
    const plain = plaintextClient();
    assert.equal(await eventually(plain, 'ok'), 'plaintext');
    assert.equal(await eventually(meshClient(clientCerts, 'xds:///echo-plain'), 'ok'), 'plaintext');
    await setMode('STRICT');
    await eventually(plaintextClient(), 'fails');
    assert.equal(await eventually(meshClient(clientCerts), 'ok'), `URI:${CLIENT_ID}`);
  });
});
