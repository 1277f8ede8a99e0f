// The agent's xDS proxy against the control plane's real TLS port when the server asks for a new
// session (its maximum connection age: GOAWAY, then UNAVAILABLE after a grace): the agent opens
// its next mTLS session before the old one is gone, and a grpc-js-xds client behind it never
// sees a failed call while its xDS stream moves from session to session.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpcXds from '@grpc/grpc-js-xds';
import { newWorkloadKey } from '../../src/agent/workload-key.js';
import { XdsProxy } from '../../src/agent/xds-proxy.js';
import { silentLogger } from '../../src/logging.js';
import { validateCaFiles } from '../../src/security/ca/ca-material.js';
import { MeshCa } from '../../src/security/ca/mesh-ca.js';
import { generateRootCaFiles } from '../../src/security/ca/self-signed-root.js';
import type { TokenAuthenticator } from '../../src/security/csr/token-authenticator.js';
import { secureXdsPort, type SecureXdsPort } from '../../src/security/xds-port.js';
import { EMPTY_OBJECTS } from '../../src/sources/objects.js';
import { SnapshotStore } from '../../src/store/snapshot-store.js';
import { grpcBootstrap } from '../../src/xds/bootstrap/grpc-bootstrap.js';
import { ResourceEncoder } from '../../src/xds/cache/encoder.js';
import { MeshProxyViews } from '../../src/xds/cache/proxy-views.js';
import { startXdsServer, type XdsServer } from '../../src/xds/server/index.js';
import { EchoClient, echoShopService, startEchoBackend, type EchoBackend } from '../support/echo-service.js';
import { StaticSource } from '../support/static-source.js';
import { RecordedEvents } from '../xds/server/harness.js';

grpcXds.register();

const BOOTSTRAP_OPTION = 'grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config';
const SERVER_NAME = 'pilotfish.pilotfish-system.svc';
const ID = 'spiffe://cluster.local/ns/shop/sa/frontend';
/** Certificates only: a token is never what this test's sessions present. */
const NO_TOKENS: TokenAuthenticator = { authenticate: () => Promise.resolve({ ok: false, reason: 'token_invalid', message: 'no tokens here' }) };

describe('agent/xds-proxy: a control plane asking for a new session (maximum connection age)', function () {
  this.timeout(60_000);
  let ca: MeshCa;
  let port: SecureXdsPort;
  let store: SnapshotStore;
  let xds: XdsServer;
  let echo: EchoBackend;
  let dir: string;
  let proxy: XdsProxy;
  let client: EchoClient | undefined;
  const events = new RecordedEvents();

  before(async () => {
    ca = await MeshCa.create(validateCaFiles(await generateRootCaFiles(), 'test'));
    echo = await startEchoBackend('echo');
    const { service, slice } = echoShopService(echo.port);
    const source = new StaticSource('test', { ...EMPTY_OBJECTS, services: [service], endpointSlices: [slice] });
    store = new SnapshotStore({ logger: silentLogger(), quietMs: 1 });
    const mesh = new MeshProxyViews(new ResourceEncoder(), silentLogger());
    store.subscribe((s) => { void mesh.update(s); });
    await mesh.update(await store.start([source]));
    port = await secureXdsPort({ address: '127.0.0.1:0', ca, hosts: ['127.0.0.1', SERVER_NAME], logger: silentLogger(), tokens: NO_TOKENS });
    // Short ages for the test; the grace leaves the agent time to finish a TLS handshake on a busy machine.
    xds = await startXdsServer({
      tls: port.tls, source: mesh, logger: silentLogger(), events, connectionAge: { maxAgeMs: 1500, jitter: 0.1, graceMs: 1000 },
    });
    port.attach(xds);
    dir = await mkdtemp(join(tmpdir(), 'pf-agent-age-'));
  });

  after(async () => {
    client?.close();
    await proxy?.close();
    port?.stop();
    await xds?.close();
    await store?.stop();
    await echo?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('opens the next mTLS session before the old one closes; the client behind it never fails a call', async () => {
    const socketPath = join(dir, 'xds.sock');
    const bundle = ca.trustBundle.join('');
    proxy = new XdsProxy({
      socketPath, upstreamAddress: `https://127.0.0.1:${xds.tlsPort}`, serverName: SERVER_NAME,
      upstreamRoots: () => Promise.resolve(bundle), backoff: { initialMs: 20, maxMs: 200 },
    });
    await proxy.start();
    const key = await newWorkloadKey(ID);
    const issued = await ca.sign(key.csrPem, { trustDomain: 'cluster.local', namespace: 'shop', serviceAccount: 'frontend' });
    proxy.setCertificate({ certChainPem: issued.certChain, privateKeyPem: key.privateKeyPem, serialNumber: issued.serialNumber, notAfter: issued.notAfter });

    // At each new session: was the one before still open (draining)?
    const sessions: { draining: number; auth: string }[] = [];
    proxy.onSession((info) => sessions.push({ draining: proxy.status().drainingSessions, auth: info.auth }));

    const bootstrap = grpcBootstrap({ nodeId: 'aged-client', xdsAddress: `unix://${socketPath}`, namespace: 'shop' });
    client = new EchoClient('xds:///echo.shop.svc.cluster.local:50051', { [BOOTSTRAP_OPTION]: JSON.stringify(bootstrap) });
    const failures: string[] = [];
    let calls = 0;
    // Calls until the agent has been moved three times by the server.
    while (sessions.length < 4) {
      const r = await client.call({ deadlineMs: 20_000 });
      calls++;
      if (!r.ok) failures.push(`${r.code}: ${r.details}`);
    }
    assert.deepEqual(failures, [], `${failures.length} of ${calls} calls failed`);
    assert.equal(sessions[0].draining, 0);
    for (const [i, s] of sessions.slice(1).entries()) {
      assert.ok(s.draining >= 1, `session ${i + 2} was established after the previous one had closed (make-before-break)`);
      assert.equal(s.auth, 'certificate');
    }
    // The client's xDS stream itself moved: one per session on the server, each authenticated.
    const opened = events.all('streamOpened').filter((e) => e.node.id === 'aged-client');
    assert.ok(opened.length >= 3, `the xDS stream was re-opened on the new sessions (${opened.length} opened)`);
    assert.equal(proxy.status().consecutiveFailures, 0);
  });
});
