// The agent between real peers: a @grpc/grpc-js-xds client (bootstrap pointing at the agent's
// Unix socket, insecure channel creds) and pilotfish's in-process xDS server, reached through a
// TLS relay that demands a client certificate from the mesh CA (test/support/mtls-relay.ts, until
// the control plane's own TLS port exists). Certificates come through the real CSR service with a
// TokenReview against the fake API server.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import http2 from 'node:http2';
import type { Http2SecureServer } from 'node:http2';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as grpcXds from '@grpc/grpc-js-xds';
import { AuthenticationV1Api } from '@kubernetes/client-node';
import { runAgent, type RunningAgent, type RunningAgentStatus } from '../../src/agent/run-agent.js';
import { WORKLOAD_SECRET as DEFAULT_SECRET } from '../../src/xds/generate/tls.js';
import { XdsProxy } from '../../src/agent/xds-proxy.js';
import { newWorkloadKey } from '../../src/agent/workload-key.js';
import { silentLogger } from '../../src/logging.js';
import { validateCaFiles } from '../../src/security/ca/ca-material.js';
import { MeshCa, type ServingCertificate } from '../../src/security/ca/mesh-ca.js';
import { generateRootCaFiles } from '../../src/security/ca/self-signed-root.js';
import { CsrService } from '../../src/security/csr/csr-service.js';
import { createCsrServer } from '../../src/security/csr/http2-handler.js';
import { KubeTokenReviewAuthenticator } from '../../src/security/csr/token-review.js';
import { grpcBootstrap } from '../../src/xds/bootstrap/grpc-bootstrap.js';
import { ADS_SERVICE, methodPath } from '../../src/xds/server/services.js';
import { CLUSTER } from '../../src/xds/types.js';
import { startStack, type Stack } from '../admin/stack.js';
import { AdsClient } from '../support/ads-client.js';
import { callMany, EchoClient, echoShopService, startEchoBackend, type EchoBackend } from '../support/echo-service.js';
import { startFakeKubeApi, type FakeKubeApi } from '../support/fake-kube-api.js';
import { MtlsRelay } from '../support/mtls-relay.js';

grpcXds.register();

const BOOTSTRAP_OPTION = 'grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config';
const ID = 'spiffe://cluster.local/ns/shop/sa/frontend';
const SERVER_NAME = 'pilotfish.pilotfish-system.svc';
const ADS = methodPath(ADS_SERVICE, 'StreamAggregatedResources');
const TARGET = 'xds:///echo.shop.svc.cluster.local:50051';

function grpcNode(id: string): { id: string; metadata: Record<string, string> } {
  return { id, metadata: { NAMESPACE: 'shop', PILOTFISH_KIND: 'grpc' } };
}

function sameSerial(a: string | undefined, b: string | undefined): boolean {
  return a !== undefined && b !== undefined && a.toLowerCase() === b.toLowerCase();
}

async function getJson(address: string, path: string): Promise<{ status: number; body: RunningAgentStatus }> {
  const res = await fetch(`http://${address}${path}`);
  return { status: res.status, body: await res.json() as RunningAgentStatus };
}

/** One raw gRPC request over a Unix socket with headers of the test's choosing; resolves with the headers the proxy answered. */
function rawRequest(socketPath: string, headers: http2.OutgoingHttpHeaders): { session: http2.ClientHttp2Session; response: Promise<http2.IncomingHttpHeaders> } {
  const session = http2.connect('http://localhost', { createConnection: () => net.connect(socketPath) });
  session.on('error', () => undefined);
  const req = session.request({ ':method': 'POST', 'content-type': 'application/grpc', te: 'trailers', ...headers }, { endStream: false });
  req.on('error', () => undefined);
  return { session, response: once(req, 'response').then(([h]) => h as http2.IncomingHttpHeaders) };
}

describe('agent/xds-proxy: proxyless gRPC through the agent to a TLS control plane', function () {
  this.timeout(90_000);
  let api: FakeKubeApi;
  let ca: MeshCa;
  let csrServer: Http2SecureServer;
  let csrOrigin: string;
  let serving: ServingCertificate;
  let stack: Stack;
  let relay: MtlsRelay;
  let echo: EchoBackend;
  let echo2: EchoBackend;
  let dir: string;
  let tokenFile: string;
  let rootCertFile: string;
  let agent: RunningAgent;
  const clients: { close(): void }[] = [];
  const proxies: XdsProxy[] = [];

  function xdsClient(nodeId: string): EchoClient {
    const bootstrap = grpcBootstrap({ nodeId, xdsAddress: `unix://${join(dir, 'xds.sock')}`, namespace: 'shop' });
    const c = new EchoClient(TARGET, { [BOOTSTRAP_OPTION]: JSON.stringify(bootstrap) });
    clients.push(c);
    return c;
  }

  async function rawAds(socketPath: string, nodeId: string): Promise<AdsClient> {
    const c = await AdsClient.connect(`unix://${socketPath}`, grpcNode(nodeId));
    clients.push(c);
    return c;
  }

  before(async () => {
    api = await startFakeKubeApi();
    api.registerToken('token-1', { namespace: 'shop', serviceAccount: 'frontend', audiences: ['pilotfish'] });
    ca = await MeshCa.create(validateCaFiles(await generateRootCaFiles(), 'test'));
    const service = new CsrService({
      ca, authenticator: new KubeTokenReviewAuthenticator(api.kubeConfig().makeApiClient(AuthenticationV1Api)),
      logger: silentLogger(), ttlMs: 3600_000,
    });
    serving = await ca.issueServingCertificate({ dnsNames: [SERVER_NAME] });
    csrServer = createCsrServer(service, { key: serving.keyPem, cert: serving.certChain });
    csrServer.listen(0, '127.0.0.1');
    await once(csrServer, 'listening');
    csrOrigin = `https://127.0.0.1:${(csrServer.address() as AddressInfo).port}`;

    echo = await startEchoBackend('echo');
    echo2 = await startEchoBackend('echo-2');
    const echoObjects = echoShopService(echo.port);
    stack = await startStack({ services: [echoObjects.service], slices: [echoObjects.slice] });
    relay = await MtlsRelay.start({
      certChainPem: serving.certChain.join(''), keyPem: serving.keyPem, clientRoots: ca.trustBundle.join(''),
      tokens: new Set(['token-1']), upstream: `http://${stack.xdsAddress}`,
    });

    dir = await mkdtemp(join(tmpdir(), 'pf-agent-'));
    tokenFile = join(dir, 'token');
    rootCertFile = join(dir, 'root-cert.pem');
    await writeFile(tokenFile, 'token-1\n');
    await writeFile(rootCertFile, ca.trustBundle.join(''));
    agent = await runAgent({
      caAddress: csrOrigin, xdsAddress: relay.origin, caServerName: SERVER_NAME, namespace: 'shop', serviceAccount: 'frontend',
      tokenFile, rootCertFile, outputDir: join(dir, 'certs'), xdsSocket: join(dir, 'xds.sock'), sdsSocket: join(dir, 'sds.sock'),
      statusAddress: '127.0.0.1:0',
    }, { logger: silentLogger(), proxyLimits: { upstreamWaitMs: 3000 }, proxyBackoff: { initialMs: 20, maxMs: 200 } });
  });

  after(async () => {
    for (const c of clients) c.close();
    for (const p of proxies) await p.close();
    await agent?.stop();
    await relay?.stop();
    await stack?.stop();
    await echo?.close();
    await echo2?.close();
    csrServer?.close();
    await api?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('is ready once the first certificate is written; the control plane sees its SPIFFE ID; a grpc-js-xds client is configured through it', async () => {
    const cert = await agent.ready();
    const { status, body } = await getJson(agent.statusAddress!, '/healthz/ready');
    assert.equal(status, 200);
    assert.equal(body.certificate.identity, ID);
    assert.equal((await readFile(join(dir, 'certs', 'cert-chain.pem'), 'utf8')), cert.certChainPem.join(''));

    const session = await relay.waitForSession((s) => sameSerial(s.serialNumber, cert.serialNumber));
    assert.equal(session.spiffeId, ID);

    const client = xdsClient('proxyless-1');
    const r = await client.call({ deadlineMs: 20_000 });
    assert.deepEqual({ ok: r.ok, backend: r.backend }, { ok: true, backend: 'echo' }, JSON.stringify(r));
    const ads = await relay.waitForStream((s) => s.path === ADS && s.session.id === session.id);
    assert.equal(ads.bearer, undefined, 'with a certificate, no token is sent');
    assert.equal(ads.refused, false);
    assert.equal(agent.status().xdsProxy?.auth, 'certificate');
    assert.equal((await stat(join(dir, 'xds.sock'))).mode & 0o777, 0o600);
  });

  it('a renewal moves new streams to a session with the new certificate; calls never fail and old streams drain', async () => {
    const before = agent.certificates.current()!;
    const sdsBefore = agent.sds!.versions();
    const client = xdsClient('proxyless-2');
    assert.equal((await client.call({ deadlineMs: 20_000 })).ok, true);
    const oldStream = await relay.waitForStream((s) => s.path === ADS && sameSerial(s.session.serialNumber, before.serialNumber));

    const during = callMany(client, 40, { deadlineMs: 10_000 });
    const renewed = await agent.certificates.renewNow();
    assert.notEqual(renewed.serialNumber, before.serialNumber);
    const fresh = await relay.waitForSession((s) => sameSerial(s.serialNumber, renewed.serialNumber));
    assert.equal(fresh.spiffeId, ID);
    const { failures } = await during;
    assert.deepEqual(failures, []);

    // The old session was not cut: the streams on it stay until their clients end them.
    assert.equal(oldStream.session.closed, false);
    assert.ok(agent.status().xdsProxy!.drainingSessions >= 1);
    assert.deepEqual((await callMany(client, 5, { deadlineMs: 10_000 })).failures, []);

    const later = xdsClient('proxyless-3');
    assert.equal((await later.call({ deadlineMs: 20_000 })).ok, true);
    await relay.waitForStream((s) => s.path === ADS && s.session.id === fresh.id);
    assert.notEqual(agent.sds!.versions()[DEFAULT_SECRET], sdsBefore[DEFAULT_SECRET], 'SDS pushed the renewed certificate');
  });

  it('the control plane going away ends local streams with UNAVAILABLE; streams and clients recover when it is back', async () => {
    const client = xdsClient('proxyless-4');
    assert.equal((await client.call({ deadlineMs: 20_000 })).backend, 'echo');
    const raw = await rawAds(join(dir, 'xds.sock'), 'raw-1');
    await raw.fetch(CLUSTER);

    await relay.stop();
    const end = await raw.closed;
    assert.equal(end.code, grpc.status.UNAVAILABLE, end.details);

    await relay.restart();
    const again = await rawAds(join(dir, 'xds.sock'), 'raw-2');
    assert.ok((await again.fetch(CLUSTER)).names.includes('outbound|50051||echo.shop.svc.cluster.local'));

    // The grpc-js-xds client's ADS stream came back too: a change made now reaches it.
    const moved = echoShopService(echo2.port);
    await stack.change([moved.service], [moved.slice]);
    let backend: string | undefined;
    const deadline = Date.now() + 60_000;
    while (backend !== 'echo-2' && Date.now() < deadline) backend = (await client.call({ deadlineMs: 5_000 })).backend;
    assert.equal(backend, 'echo-2', 'the client never received the endpoint change after the control plane came back');
    const back = echoShopService(echo.port);
    await stack.change([back.service], [back.slice]);
  });

  it('refuses non-xDS methods (UNIMPLEMENTED) without forwarding them, and never forwards the client\'s authorization', async () => {
    const before = relay.streams.length;
    const echoViaProxy = new EchoClient(`unix://${join(dir, 'xds.sock')}`);
    clients.push(echoViaProxy);
    const r = await echoViaProxy.call({ deadlineMs: 10_000 });
    assert.equal(r.code, grpc.status.UNIMPLEMENTED, JSON.stringify(r));
    assert.match(r.details ?? '', /forwards only xDS services/);
    const health = rawRequest(join(dir, 'xds.sock'), { ':path': '/grpc.health.v1.Health/Check' });
    assert.equal((await health.response)['grpc-status'], String(grpc.status.UNIMPLEMENTED));
    health.session.destroy();
    assert.equal(relay.streams.slice(before).length, 0, 'nothing reached the control plane');

    const stolen = rawRequest(join(dir, 'xds.sock'), { ':path': ADS, authorization: 'Bearer someone-elses-token', 'x-test': 'auth-strip' });
    const seen = await relay.waitForStream((s) => s.headers['x-test'] === 'auth-strip');
    assert.equal(seen.headers.authorization, undefined);
    assert.equal(seen.session.spiffeId, ID);
    stolen.session.destroy();
  });

  it('before a certificate it authenticates with the token, re-read for each connection', async () => {
    const socketPath = join(dir, 'token.sock');
    const proxy = new XdsProxy({
      socketPath, upstreamAddress: relay.origin, serverName: SERVER_NAME,
      upstreamRoots: () => readFile(rootCertFile, 'utf8'), token: () => readFile(tokenFile, 'utf8'),
      backoff: { initialMs: 20, maxMs: 200 }, limits: { upstreamWaitMs: 3000 },
    });
    proxies.push(proxy);
    await proxy.start();
    const c = await rawAds(socketPath, 'token-client-1');
    await c.fetch(CLUSTER);
    const first = await relay.waitForStream((s) => s.headers[':path'] === ADS && s.bearer === 'token-1');
    assert.equal(first.session.spiffeId, undefined);
    assert.equal(proxy.status().auth, 'token');

    relay.tokens.add('token-2');
    await writeFile(tokenFile, 'token-2\n');
    await relay.stop();
    assert.equal((await c.closed).code, grpc.status.UNAVAILABLE);
    await relay.restart();
    const c2 = await rawAds(socketPath, 'token-client-2');
    await c2.fetch(CLUSTER);
    await relay.waitForStream((s) => s.bearer === 'token-2');
    await writeFile(tokenFile, 'token-1\n');
  });

  it('falls back to the token when the control plane refuses the certificate, and tries the certificate again next time', async () => {
    const strict = await MtlsRelay.start({
      certChainPem: serving.certChain.join(''), keyPem: serving.keyPem, clientRoots: ca.trustBundle.join(''),
      tokens: new Set(['token-1']), upstream: `http://${stack.xdsAddress}`, refuseUntrustedCertificates: true,
    });
    try {
      const other = await MeshCa.create(validateCaFiles(await generateRootCaFiles(), 'other'));
      const key = await newWorkloadKey(ID);
      const foreign = await other.sign(key.csrPem, { trustDomain: 'cluster.local', namespace: 'shop', serviceAccount: 'frontend' });
      const socketPath = join(dir, 'fallback.sock');
      const proxy = new XdsProxy({
        socketPath, upstreamAddress: strict.origin, serverName: SERVER_NAME,
        upstreamRoots: () => readFile(rootCertFile, 'utf8'), token: () => readFile(tokenFile, 'utf8'),
        backoff: { initialMs: 20, maxMs: 100 }, limits: { upstreamWaitMs: 3000 },
      });
      proxies.push(proxy);
      await proxy.start();
      proxy.setCertificate({ certChainPem: foreign.certChain, privateKeyPem: key.privateKeyPem, serialNumber: foreign.serialNumber, notAfter: foreign.notAfter });
      const c = await rawAds(socketPath, 'fallback-client');
      await c.fetch(CLUSTER);
      assert.equal(proxy.status().auth, 'token');
      const seen = await strict.waitForStream((s) => s.bearer === 'token-1');
      assert.equal(seen.session.spiffeId, undefined);
      assert.equal(strict.sessions.some((s) => s.spiffeId !== undefined), false, 'the foreign certificate never got a session');
    } finally {
      await strict.stop();
    }
  });

  it('refuses a control plane whose serving certificate is not from the configured roots', async () => {
    const other = await MeshCa.create(validateCaFiles(await generateRootCaFiles(), 'other'));
    const socketPath = join(dir, 'foreign.sock');
    const proxy = new XdsProxy({
      socketPath, upstreamAddress: relay.origin, serverName: SERVER_NAME,
      upstreamRoots: async () => other.trustBundle.join(''), token: () => readFile(tokenFile, 'utf8'),
      backoff: { initialMs: 20, maxMs: 100 }, limits: { upstreamWaitMs: 500 },
    });
    proxies.push(proxy);
    await proxy.start();
    const c = await AdsClient.connect(`unix://${socketPath}`, grpcNode('foreign-client'), { channelOptions: { 'grpc.primary_user_agent': 'foreign-test' } });
    clients.push(c);
    c.request(CLUSTER, []);
    const end = await c.closed;
    assert.equal(end.code, grpc.status.UNAVAILABLE);
    assert.match(end.details, /control plane is not reachable: .*(certificate|verify)/i);
    assert.equal(proxy.status().sessionsOpened, 0);
    assert.deepEqual(relay.streams.filter((s) => String(s.headers['user-agent']).startsWith('foreign-test')), [], 'nothing was forwarded');
  });

  it('bounds local streams: past the limit a stream is refused with RESOURCE_EXHAUSTED', async () => {
    const socketPath = join(dir, 'small.sock');
    const proxy = new XdsProxy({
      socketPath, upstreamAddress: relay.origin, serverName: SERVER_NAME,
      upstreamRoots: () => readFile(rootCertFile, 'utf8'), token: () => readFile(tokenFile, 'utf8'),
      limits: { maxStreams: 1 },
    });
    proxies.push(proxy);
    await proxy.start();
    const held = await rawAds(socketPath, 'held');
    await held.fetch(CLUSTER);
    const extra = await rawAds(socketPath, 'extra');
    extra.request(CLUSTER, []);
    const end = await extra.closed;
    assert.equal(end.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.match(end.details, /at most 1 streams/);
  });

  it('a draining session is closed when the certificate it presented expires; its streams end UNAVAILABLE', async () => {
    const current = agent.certificates.current()!;
    const socketPath = join(dir, 'expiry.sock');
    const proxy = new XdsProxy({
      socketPath, upstreamAddress: relay.origin, serverName: SERVER_NAME,
      upstreamRoots: () => readFile(rootCertFile, 'utf8'), backoff: { initialMs: 20, maxMs: 200 },
    });
    proxies.push(proxy);
    await proxy.start();
    // The real certificate, said to expire in a moment: the proxy's drain deadline is what is tested.
    const material = { certChainPem: current.certChainPem, privateKeyPem: current.privateKeyPem, serialNumber: current.serialNumber };
    proxy.setCertificate({ ...material, notAfter: new Date(Date.now() + 1500) });
    const c = await rawAds(socketPath, 'draining-client');
    await c.fetch(CLUSTER);
    assert.equal(proxy.status().auth, 'certificate');
    proxy.setCertificate({ ...material, notAfter: new Date(Date.now() + 3600_000) });
    assert.equal(proxy.status().drainingSessions, 1);
    const end = await c.closed;
    assert.equal(end.code, grpc.status.UNAVAILABLE);
    assert.equal(proxy.status().drainingSessions, 0);
  });

  it('drops a control plane that stops answering (keepalive) and ends its streams with UNAVAILABLE', async () => {
    // A TCP hop between proxy and relay that can go silent without closing anything.
    const pairs: net.Socket[][] = [];
    let frozen = false;
    const hop = net.createServer((down) => {
      const up = net.connect(Number(new URL(relay.origin).port), '127.0.0.1');
      for (const s of [down, up]) s.on('error', () => undefined);
      down.on('data', (d) => { if (!frozen) up.write(d); });
      up.on('data', (d) => { if (!frozen) down.write(d); });
      pairs.push([down, up]);
    });
    hop.listen(0, '127.0.0.1');
    await once(hop, 'listening');
    const socketPath = join(dir, 'keepalive.sock');
    const proxy = new XdsProxy({
      socketPath, upstreamAddress: `https://127.0.0.1:${(hop.address() as AddressInfo).port}`, serverName: SERVER_NAME,
      upstreamRoots: () => readFile(rootCertFile, 'utf8'), token: () => readFile(tokenFile, 'utf8'),
      limits: { keepaliveMs: 200, upstreamWaitMs: 300 }, backoff: { initialMs: 20, maxMs: 100 },
    });
    proxies.push(proxy);
    try {
      await proxy.start();
      const c = await rawAds(socketPath, 'keepalive-client');
      await c.fetch(CLUSTER);
      frozen = true;
      const end = await c.closed;
      assert.equal(end.code, grpc.status.UNAVAILABLE);
      assert.match(end.details, /connection to the control plane was lost/);
    } finally {
      for (const s of pairs.flat()) s.destroy();
      hop.close();
    }
  });

  it('before its first certificate the agent is not ready (503, with the CA\'s reason)', async () => {
    const badToken = join(dir, 'bad-token');
    await writeFile(badToken, 'not-a-registered-token');
    const pending = await runAgent({
      caAddress: csrOrigin, caServerName: SERVER_NAME, namespace: 'shop', serviceAccount: 'frontend',
      tokenFile: badToken, rootCertFile, outputDir: '', xdsSocket: '', sdsSocket: '', statusAddress: '127.0.0.1:0',
    }, { logger: silentLogger(), schedule: { initialBackoffMs: 50, maxBackoffMs: 100 } });
    try {
      await new Promise<void>((resolve) => {
        const off = pending.certificates.onFailure(() => {
          off();
          resolve();
        });
      });
      const { status, body } = await getJson(pending.statusAddress!, '/healthz/ready');
      assert.equal(status, 503);
      assert.equal(body.ready, false);
      assert.equal(body.certificate.lastError?.reason, 'token_invalid');
      assert.equal(pending.xdsProxy, undefined);
      assert.equal(pending.sds, undefined);
    } finally {
      await pending.stop();
    }
  });

  it('stops gracefully: local streams end with UNAVAILABLE, sockets and the status endpoint close', async () => {
    const raw = await rawAds(join(dir, 'xds.sock'), 'raw-stop');
    await raw.fetch(CLUSTER);
    const address = agent.statusAddress!;
    await agent.stop();
    assert.equal((await raw.closed).code, grpc.status.UNAVAILABLE);
    await assert.rejects(stat(join(dir, 'xds.sock')), /ENOENT/);
    await assert.rejects(stat(join(dir, 'sds.sock')), /ENOENT/);
    await assert.rejects(fetch(`http://${address}/healthz/ready`));
    assert.equal(agent.status().certificate.state, 'stopped');
  });
});
