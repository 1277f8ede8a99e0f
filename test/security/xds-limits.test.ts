// The xDS server's resource limits against unauthenticated clients, over real connections on
// 127.0.0.1: each limit is passed by a misbehaving client (raw HTTP/2 or grpc-js), the offending
// stream is refused with RESOURCE_EXHAUSTED and the hit counted, while a well-behaved client of
// the same server keeps being served. Small limits keep the tests quick; the defaults and the
// memory they bound are probed against the real binary in memory-probes.test.ts.
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { LogTap } from '../support/log-tap.js';
import { AdsClient, DeltaAdsClient } from '../support/ads-client.js';
import { FakeProxyViews, cluster } from '../support/fake-proxy-views.js';
import { encodeSotwRequest } from '../support/xds-client-codec.js';
import { grpcFrame, grpcPrefix, RawGrpcConnection, type RawGrpcStream } from '../support/raw-grpc-stream.js';
import { startXdsServer, DEFAULT_XDS_LIMITS, type XdsServer, type XdsServerLimits } from '../../src/xds/server/index.js';
import { GrpcStatus } from '../../src/xds/server/grpc/wire.js';
import { ADS_SERVICE, methodPath } from '../../src/xds/server/services.js';
import { CLUSTER, ENDPOINT } from '../../src/xds/types.js';
import type { NodeInfo } from '../../src/xds/node-info.js';
import type { Authentication, PeerCredentials } from '../../src/xds/peer.js';
import { makeCert } from './pki.js';

const SOTW = methodPath(ADS_SERVICE, 'StreamAggregatedResources');
const KiB = 1024;
const MiB = 1024 * KiB;

const node = (id: string): NodeInfo => ({ id, metadata: { NAMESPACE: 'shop' } });

/** Waits for a condition the server reaches on its own (bytes arriving), checking every few ms. */
async function until(what: string, cond: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A valid SotW CDS request of about `bytes` bytes (padded with resource names). */
function bigRequest(id: string, bytes: number): Buffer {
  const name = (i: number): string => `outbound|80||padding-${i}.ns.svc.cluster.local`.padEnd(58, 'x');
  // 58 characters and a 2-byte tag and length: 60 bytes a name.
  const names = ['a', 'b', ...Array.from({ length: Math.floor(bytes / 60) }, (_, i) => name(i))];
  return encodeSotwRequest({ node: node(id), typeUrl: CLUSTER, resourceNames: names });
}

describe('security: xDS resource limits', function () {
  this.timeout(60_000);
  let server: XdsServer;
  let address: string;
  let tap: LogTap;
  const conns: RawGrpcConnection[] = [];
  const clients: Array<AdsClient | DeltaAdsClient> = [];

  async function start(limits: Partial<XdsServerLimits>): Promise<void> {
    tap = new LogTap();
    server = await startXdsServer({
      address: '127.0.0.1:0', source: new FakeProxyViews(cluster('a'), cluster('b')), logger: tap.logger, limits,
      shutdownGraceMs: 200,
    });
    address = `127.0.0.1:${server.port}`;
  }

  async function raw(): Promise<RawGrpcConnection> {
    const c = await RawGrpcConnection.connect(address);
    conns.push(c);
    return c;
  }

  async function wellBehaved(id = 'good'): Promise<AdsClient> {
    const c = await AdsClient.connect(address, node(id));
    clients.push(c);
    assert.deepEqual((await c.fetch(CLUSTER)).names.sort(), ['a', 'b'], 'a well-behaved client is served');
    return c;
  }

  /** A stream holding `bytes` of a message announced as `announced` bytes, fully received by the server. */
  async function unfinished(conn: RawGrpcConnection, announced: number, bytes: number): Promise<RawGrpcStream> {
    const before = server.held().bufferedBytes;
    const s = conn.call(SOTW);
    await s.write(Buffer.concat([grpcPrefix(announced), Buffer.alloc(bytes, 0x0a)]));
    await until(`${bytes} buffered bytes`, () => server.held().bufferedBytes >= before + bytes + 5 || s.closed);
    return s;
  }

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    for (const c of conns.splice(0)) c.close();
    await server?.close();
  });

  /**
   * An authenticator whose answer for a token the test gives when it chooses (`Bearer ok` is let
   * in at once), as a TokenReview still in flight.
   */
  class HeldAuthenticator {
    private readonly waiting = new Map<string, (a: Authentication) => void>();
    private readonly asked = new Map<string, () => void>();

    readonly authenticate = (peer: PeerCredentials): Promise<Authentication> => {
      const token = (peer.authorization ?? '').replace(/^Bearer /, '');
      if (token === 'ok') return Promise.resolve({ ok: true, principal: { namespace: 'shop', serviceAccount: 'ok', via: 'token' } });
      this.asked.get(token)?.();
      return new Promise((resolve) => this.waiting.set(token, resolve));
    };

    /** Resolves once a stream with this token is being authenticated (call before opening it). */
    askedFor(token: string): Promise<void> {
      return new Promise((resolve) => this.asked.set(token, resolve));
    }

    answer(token: string, a: Authentication): void {
      const resolve = this.waiting.get(token);
      assert.ok(resolve, `no stream with token ${token} is waiting`);
      this.waiting.delete(token);
      resolve(a);
    }
  }

  it('counts what TLS streams send while their authentication is pending: a flood is refused, other streams go on', async () => {
    const serving = await makeCert({ subject: 'CN=pilotfish', ca: false, sans: [{ type: 'ip', value: '127.0.0.1' }] });
    const auth = new HeldAuthenticator();
    tap = new LogTap();
    server = await startXdsServer({
      source: new FakeProxyViews(cluster('a'), cluster('b')), logger: tap.logger, shutdownGraceMs: 200,
      limits: { maxReceiveMessageBytes: 1 * MiB, maxConnectionBufferedBytes: 2 * MiB, maxProcessBufferedBytes: 8 * MiB },
      tls: { address: '127.0.0.1:0', credentials: { key: serving.keyPem, cert: serving.certPem, ca: serving.certPem }, authenticate: auth.authenticate },
    });
    const conn = await RawGrpcConnection.connect(`127.0.0.1:${server.tlsPort}`, { ca: serving.certPem });
    conns.push(conn);
    const pending = async (token: string): Promise<RawGrpcStream> => {
      const asked = auth.askedFor(token);
      const s = conn.call(SOTW, { authorization: `Bearer ${token}` });
      await asked;
      return s;
    };
    // A: a real 900 KiB request; B: 900 KiB of junk. Both sent whole while their tokens are checked,
    // and held: the connection's budget (2 MiB) has 1.8 MiB of it taken.
    const frame = grpcFrame(bigRequest('patient', 900 * KiB));
    const a = await pending('a');
    await a.write(frame);
    await until('A\'s bytes counted before it is authenticated', () => server.held().bufferedBytes >= frame.length);
    const b = await pending('b');
    await b.write(Buffer.alloc(900 * KiB, 0x0a));
    await until('B\'s bytes counted too', () => server.held().bufferedBytes >= frame.length + 900 * KiB);
    // C floods past the budget before anyone has decided who it is.
    const c = await pending('c');
    c.write(Buffer.alloc(900 * KiB, 0x0a)).catch(() => undefined);
    const end = await c.ended;
    assert.equal(end.status, GrpcStatus.RESOURCE_EXHAUSTED);
    assert.match(end.message, /before the stream was authenticated would pass the connection's budget/);
    assert.equal(server.limitHits().connectionBufferedBytes, 1);
    assert.equal(a.closed || b.closed, false, 'the streams within the budget stay open');
    assert.ok(server.held().bufferedBytes <= 2 * MiB);
    // Another stream on the same connection is let in and served; so is A once its token passes,
    // from the request it sent while waiting. B's token is refused, and what it held given back.
    const ok = conn.call(SOTW, { authorization: 'Bearer ok' });
    await ok.write(grpcFrame(encodeSotwRequest({ node: node('ok'), typeUrl: CLUSTER, resourceNames: [] })));
    await ok.firstData;
    auth.answer('a', { ok: true, principal: { namespace: 'shop', serviceAccount: 'a', via: 'token' } });
    await a.firstData;
    auth.answer('b', { ok: false, reason: 'token not valid' });
    assert.equal((await b.ended).status, GrpcStatus.UNAUTHENTICATED);
    await until('the bytes held for A and B given back', () => server.held().bufferedBytes === 0);
  });

  it('has documented defaults for every limit', () => {
    assert.deepEqual(DEFAULT_XDS_LIMITS, {
      maxReceiveMessageBytes: 16 * MiB, maxConnectionBufferedBytes: 32 * MiB, maxProcessBufferedBytes: 128 * MiB,
      maxConcurrentStreams: 100, maxSubscribedNameBytes: 4 * MiB, maxNameListBytes: 64 * MiB,
      maxInternedNameBytes: 4 * MiB, maxLoggedStringChars: 128,
    });
  });

  it('refuses a message larger than maxReceiveMessageBytes from its prefix, before buffering it', async () => {
    await start({ maxReceiveMessageBytes: 1 * MiB, maxConnectionBufferedBytes: 2 * MiB, maxProcessBufferedBytes: 4 * MiB });
    const conn = await raw();
    const s = conn.call(SOTW);
    await s.write(grpcPrefix(1 * MiB + 1));
    const end = await s.ended;
    assert.equal(end.status, GrpcStatus.RESOURCE_EXHAUSTED);
    assert.match(end.message, /larger than the limit of 1048576/);
    assert.equal(server.limitHits().messageBytes, 1);
    assert.equal(server.held().bufferedBytes, 0);
    await wellBehaved();
  });

  it('bounds unfinished messages per connection: the stream passing the budget is refused, its neighbours go on', async () => {
    await start({ maxReceiveMessageBytes: 1 * MiB, maxConnectionBufferedBytes: 2 * MiB, maxProcessBufferedBytes: 8 * MiB });
    const good = await wellBehaved();
    const conn = await raw();
    // A: a real request, held back just before its end; B: junk, also unfinished.
    const frame = grpcFrame(bigRequest('patient', 900 * KiB));
    const cut = frame.length - 10;
    const a = conn.call(SOTW);
    await a.write(frame.subarray(0, cut));
    await until('A buffered', () => server.held().bufferedBytes >= cut);
    const b = await unfinished(conn, 1 * MiB, 900 * KiB);
    const c = conn.call(SOTW);
    await c.write(Buffer.concat([grpcPrefix(1 * MiB), Buffer.alloc(900 * KiB)]));
    const end = await c.ended;
    assert.equal(end.status, GrpcStatus.RESOURCE_EXHAUSTED);
    assert.match(end.message, /connection's budget/);
    assert.equal(server.limitHits().connectionBufferedBytes, 1);
    assert.equal(a.closed || b.closed, false, 'the streams within the budget stay open');
    // A finishes its message and is served; the other connection's client still is.
    await a.write(frame.subarray(cut));
    good.request(CLUSTER, ['a']);
    assert.deepEqual((await good.next(CLUSTER)).names, ['a']);
    conn.close();
    await until('the connection\'s bytes given back', () => server.held().bufferedBytes === 0);
  });

  it('bounds unfinished messages over all connections: the stream passing the process budget is refused', async () => {
    await start({ maxReceiveMessageBytes: 1 * MiB, maxConnectionBufferedBytes: 2 * MiB, maxProcessBufferedBytes: 3 * MiB });
    const streams: RawGrpcStream[] = [];
    for (let i = 0; i < 3; i++) streams.push(await unfinished(await raw(), 1 * MiB, 900 * KiB));
    const last = (await raw()).call(SOTW);
    await last.write(Buffer.concat([grpcPrefix(1 * MiB), Buffer.alloc(900 * KiB)]));
    const end = await last.ended;
    assert.equal(end.status, GrpcStatus.RESOURCE_EXHAUSTED);
    assert.match(end.message, /process's budget/);
    assert.equal(server.limitHits().processBufferedBytes, 1);
    assert.ok(streams.every((s) => !s.closed), 'earlier streams are left alone');
    assert.ok(server.held().bufferedBytes <= 3 * MiB);
    await wellBehaved();
  });

  it('inflates gzip by streaming and stops a bomb at the message limit', async () => {
    await start({ maxReceiveMessageBytes: 1 * MiB, maxConnectionBufferedBytes: 2 * MiB, maxProcessBufferedBytes: 4 * MiB });
    const good = await wellBehaved();
    const bomb = gzipSync(Buffer.alloc(64 * MiB));
    assert.ok(bomb.length < 1 * MiB, `the bomb itself is small (${bomb.length} bytes)`);
    const conn = await raw();
    const s = conn.call(SOTW, { 'grpc-encoding': 'gzip' });
    await s.write(grpcFrame(bomb, true));
    const end = await s.ended;
    assert.equal(end.status, GrpcStatus.RESOURCE_EXHAUSTED);
    assert.match(end.message, /gzip message decompresses to more than the limit of 1048576 bytes/);
    assert.equal(server.limitHits().messageBytes, 1);
    assert.equal(server.held().bufferedBytes, 0, 'what was inflated is given back');
    // A compressed request within the limit is read, in order with what follows it.
    const ok = conn.call(SOTW, { 'grpc-encoding': 'gzip' });
    await ok.write(grpcFrame(gzipSync(encodeSotwRequest({ node: node('zipped'), typeUrl: CLUSTER, resourceNames: [] })), true));
    await ok.firstData;
    good.request(CLUSTER, ['b']);
    assert.deepEqual((await good.next(CLUSTER)).names, ['b']);
  });

  it('advertises maxConcurrentStreams; a connection at the limit is counted and its next stream waits', async () => {
    await start({ maxConcurrentStreams: 3 });
    const conn = await raw();
    assert.equal(conn.session.remoteSettings.maxConcurrentStreams, 3);
    const streams: RawGrpcStream[] = [];
    for (let i = 0; i < 3; i++) {
      const s = conn.call(SOTW);
      await s.write(grpcFrame(encodeSotwRequest({ node: node(`multi-${i}`), typeUrl: CLUSTER, resourceNames: [] })));
      await s.firstData;
      streams.push(s);
    }
    assert.equal(server.limitHits().concurrentStreams, 1);
    const fourth = conn.call(SOTW);
    void fourth.write(grpcFrame(encodeSotwRequest({ node: node('multi-3'), typeUrl: CLUSTER, resourceNames: [] })));
    assert.equal(server.streams().filter((s) => s.nodeId.startsWith('multi-')).length, 3);
    // Once one ends, the waiting stream goes through.
    streams[0].stream.close();
    await fourth.firstData;
    await wellBehaved();
  });

  it('refuses a stream subscribing to more names than maxSubscribedNameBytes (SotW and Delta)', async () => {
    await start({ maxSubscribedNameBytes: 64 * KiB });
    const good = await wellBehaved();
    const names = (n: number, tag: string): string[] => Array.from({ length: n }, (_, i) => `outbound|80||${tag}-${i}.ns.svc.cluster.local`);

    const sotw = await AdsClient.connect(address, node('greedy-sotw'));
    clients.push(sotw);
    sotw.request(ENDPOINT, names(3000, 's'));
    const sotwEnd = await sotw.closed;
    assert.equal(sotwEnd.code, GrpcStatus.RESOURCE_EXHAUSTED);
    assert.match(sotwEnd.details, /more than the limit of 65536/);

    const delta = await DeltaAdsClient.connect(address, node('greedy-delta'));
    clients.push(delta);
    // Each batch is within the limit; together they pass it.
    for (let i = 0; i < 3; i++) delta.request(ENDPOINT, { subscribe: names(800, `d${i}`) });
    const deltaEnd = await delta.closed;
    assert.equal(deltaEnd.code, GrpcStatus.RESOURCE_EXHAUSTED, deltaEnd.details);
    assert.equal(server.limitHits().subscribedNameBytes, 2);
    good.request(CLUSTER, ['a']);
    assert.deepEqual((await good.next(CLUSTER)).names, ['a']);
  });

  it('releases long name lists when the streams holding them close', async () => {
    let closed = 0;
    tap = new LogTap();
    server = await startXdsServer({
      address: '127.0.0.1:0', source: new FakeProxyViews(cluster('a')), logger: tap.logger, shutdownGraceMs: 200,
      events: { streamClosed: () => { closed++; } },
    });
    address = `127.0.0.1:${server.port}`;
    const names = Array.from({ length: 2000 }, (_, i) => `outbound|80||svc-${i}.ns.svc.cluster.local`);
    const sidecars: AdsClient[] = [];
    for (let i = 0; i < 4; i++) {
      const c = await AdsClient.connect(address, node(`lists-${i}`));
      sidecars.push(c);
      // Two send the same list (kept once), two lists of their own.
      await c.fetch(ENDPOINT, i < 2 ? names : names.map((n) => `${n}-${i}`));
    }
    const held = server.held().nameListBytes;
    assert.ok(held >= 3 * 2 * 2000 * 40, `three lists held (${held} bytes)`);
    for (const c of sidecars) c.close();
    await until('every stream closed', () => closed === 4);
    assert.equal(server.held().nameListBytes, 0);
    assert.equal(server.held().bufferedBytes, 0);
  });

  it('clips peer-supplied strings in logs, and logs a repeated NACK once per stream and version', async () => {
    await start({});
    const longId = `sidecar~${'x'.repeat(100_000)}`;
    const c = await AdsClient.connect(address, node(longId));
    clients.push(c);
    const cds = await c.fetch(CLUSTER);
    const from = tap.mark();
    for (let i = 0; i < 20; i++) c.nack(cds, `bad config ${'y'.repeat(5000)}`);
    // At debug, the repeats are visible (and clipped too); at warn there is one line.
    await tap.next((e) => e.message === 'proxy repeated a NACK already logged', from);
    await until('19 repeats logged', () => tap.entries.slice(from).filter((e) => e.message === 'proxy repeated a NACK already logged').length === 19);
    const warned = tap.entries.slice(from).filter((e) => e.level === 'warn' && /NACK/.test(e.message));
    assert.equal(warned.length, 1);
    for (const e of tap.entries) {
      for (const [k, v] of Object.entries(e)) {
        if (typeof v === 'string' && k !== 'error') assert.ok(v.length <= 200, `log field ${k} of "${e.message}" is ${v.length} chars`);
        if (k === 'error' && typeof v === 'string') assert.ok(v.length <= 1100, `NACK text clipped (${v.length})`);
      }
    }
    const opened = tap.entries.find((e) => e.message === 'xDS stream opened');
    assert.match(String(opened?.proxy), /^sidecar~x+…\[100008 chars\]$/);
    assert.equal(server.streams()[0].nodeId, longId, 'only logs are clipped, not the protocol state');
  });
});
