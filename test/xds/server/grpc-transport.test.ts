import assert from 'node:assert/strict';
import { once } from 'node:events';
import http2 from 'node:http2';
import net from 'node:net';
import { gzipSync } from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import { createLogger, silentLogger } from '../../../src/logging.js';
import { encodeSotwRequest } from '../../support/xds-client-codec.js';
import { startXdsServer, type XdsServer } from '../../../src/xds/server/index.js';
import { BlockPool } from '../../../src/xds/server/grpc/block-pool.js';
import { BudgetCharge, ByteBudget } from '../../../src/xds/server/grpc/byte-budget.js';
import { inflateLimited, InflateError } from '../../../src/xds/server/grpc/inflate.js';
import { encodeGrpcMessage, GrpcStatus, GrpcWireError, MessageReader, messagePrefix } from '../../../src/xds/server/grpc/wire.js';
import { ADS_SERVICE, methodPath } from '../../../src/xds/server/services.js';
import { CLUSTER } from '../../../src/xds/types.js';
import { AdsClient } from '../../support/ads-client.js';
import { FakeProxyViews, cluster } from '../../support/fake-proxy-views.js';
import { NODE } from './harness.js';

const SOTW_PATH = methodPath(ADS_SERVICE, 'StreamAggregatedResources');

/** A reader with budgets that never refuse (the budgets have tests of their own). */
function readerOf(maxMessageBytes: number, encoding: string): { push(chunk: Buffer): Buffer[]; raw: MessageReader; readonly buffered: number } {
  const raw = new MessageReader(maxMessageBytes, encoding, new BudgetCharge(new ByteBudget(2 ** 40, 'connection')), new BlockPool(64 * 1024));
  return {
    raw,
    push: (chunk) => raw.push(chunk).map((m) => Buffer.from(m.body)),
    get buffered() { return raw.buffered; },
  };
}

function framed(body: Uint8Array): Buffer {
  return Buffer.concat([messagePrefix(body.length), body]);
}

describe('xDS server: gRPC wire format', () => {
  it('splits messages cut anywhere across chunks, and several in one chunk', () => {
    const a = Buffer.from('first message');
    const b = Buffer.alloc(70_000, 7);
    const c = Buffer.from('');
    const wire = Buffer.concat([framed(a), framed(b), framed(c)]);
    for (const cut of [1, 3, 5, 6, 100, 16_384, 70_004, wire.length - 1]) {
      const reader = readerOf(1 << 20, 'identity');
      const got = [...reader.push(wire.subarray(0, cut)), ...reader.push(wire.subarray(cut))];
      assert.deepEqual(got.map((m) => m.toString('hex')), [a, b, c].map((m) => m.toString('hex')), `cut at ${cut}`);
      assert.equal(reader.buffered, 0);
    }
    // Byte by byte too, and the reader reports a message still in flight.
    const reader = readerOf(1 << 20, 'identity');
    const got: Buffer[] = [];
    for (let i = 0; i < wire.length; i++) {
      got.push(...reader.push(wire.subarray(i, i + 1)));
      if (i === 10) assert.ok(reader.buffered > 0);
    }
    assert.equal(got.length, 3);
    assert.ok(got[1].equals(b));
  });

  it('collects a message larger than a block in pooled blocks, charged as they fill, back in the pool when refused', () => {
    const abandoned: number[] = [];
    const perProcess = new ByteBudget(1 << 20, 'process', undefined, (n) => abandoned.push(n));
    const budget = new ByteBudget(5 + 3 * 1024, 'connection', perProcess);
    const pool = new BlockPool(1024);
    const reader = new MessageReader(1 << 20, 'identity', new BudgetCharge(budget), pool);
    // A client announcing 10,000 bytes and sending 100 holds one block, not the announced length.
    assert.deepEqual(reader.push(Buffer.concat([messagePrefix(10_000), Buffer.alloc(100, 1)])), []);
    assert.equal(budget.used, 5 + 1024);
    assert.deepEqual(reader.push(Buffer.alloc(2_900, 2)), []);
    assert.equal(budget.used, 5 + 3 * 1024);
    const freeWhileHeld = pool.freeBytes;
    assert.throws(() => reader.push(Buffer.alloc(100, 3)), (err: unknown) =>
      err instanceof GrpcWireError && err.code === GrpcStatus.RESOURCE_EXHAUSTED && /connection's budget/.test(err.message));
    reader.dispose();
    assert.equal(perProcess.used, 0, 'the refused message\'s bytes are given back');
    assert.equal(pool.freeBytes - freeWhileHeld, 3 * 1024, 'its blocks wait in the pool for the next message');
    assert.deepEqual(abandoned, [], 'and are not garbage for the reclaimer');
    // A message of at most one block gets a buffer of its own length; a complete one leaves nothing held.
    const small = new MessageReader(1 << 20, 'identity', new BudgetCharge(budget), pool);
    small.push(Buffer.concat([messagePrefix(300), Buffer.alloc(10)]));
    assert.equal(budget.used, 5 + 300);
    assert.equal(small.push(Buffer.alloc(290, 4)).length, 1);
    assert.equal(budget.used, 0);
  });

  it('refuses a message over the limit before buffering it', () => {
    const reader = readerOf(100, 'identity');
    assert.throws(() => reader.push(messagePrefix(101)), (err: unknown) =>
      err instanceof GrpcWireError && err.code === GrpcStatus.RESOURCE_EXHAUSTED && /101 bytes.*limit of 100/.test(err.message));
  });

  it('reads gzip-compressed messages, and refuses a compressed flag without an encoding', async () => {
    const body = Buffer.from('hello '.repeat(100));
    const z = gzipSync(body);
    const msg = Buffer.concat([Buffer.from([1, 0, 0, 0, 0]), z]);
    msg.writeUInt32BE(z.length, 1);
    const read = readerOf(1 << 20, 'gzip').raw.push(msg);
    assert.equal(read[0].compressed, true);
    const budget = new ByteBudget(1 << 20, 'connection');
    const { message, release } = await inflateLimited(read[0].body, 'gzip', 1 << 20, budget, new BlockPool(64 * 1024));
    assert.ok(message.equals(body));
    assert.ok(budget.used >= body.length, 'the inflated message is charged until released');
    release();
    assert.equal(budget.used, 0);
    assert.throws(() => readerOf(1 << 20, 'identity').push(msg), /marked compressed but the request has no grpc-encoding/);
    await assert.rejects(inflateLimited(read[0].body, 'gzip', 100, budget, new BlockPool(64 * 1024)), (err: unknown) =>
      err instanceof InflateError && err.failure.kind === 'too-large');
    assert.equal(budget.used, 0, 'a refused inflation gives back what it took');
  });

  it('percent-encodes grpc-message so any text survives as a header', () => {
    assert.equal(encodeGrpcMessage('plain text: ok'), 'plain text: ok');
    assert.equal(encodeGrpcMessage('100% sure\nnext'), '100%25 sure%0Anext');
    assert.equal(encodeGrpcMessage('é'), '%C3%A9');
  });

});

describe('xDS server: gRPC transport against real clients', () => {
  let server: XdsServer;
  let address: string;
  const source = new FakeProxyViews(cluster('a'), cluster('b'));

  before(async () => {
    server = await startXdsServer({ address: '127.0.0.1:0', source, logger: silentLogger(), shutdownGraceMs: 1000 });
    address = `127.0.0.1:${server.port}`;
  });
  after(async () => {
    await server.close();
  });

  function rawCall(headers: http2.OutgoingHttpHeaders, body?: Buffer): Promise<{ headers: http2.IncomingHttpHeaders; trailers: http2.IncomingHttpHeaders; data: Buffer }> {
    return new Promise((resolve, reject) => {
      const session = http2.connect(`http://${address}`);
      session.on('error', reject);
      const req = session.request({ ':method': 'POST', ':path': SOTW_PATH, 'content-type': 'application/grpc', te: 'trailers', ...headers });
      let head: http2.IncomingHttpHeaders = {};
      let trailers: http2.IncomingHttpHeaders = {};
      const chunks: Buffer[] = [];
      req.on('response', (h) => { head = h; });
      req.on('trailers', (t) => { trailers = t; });
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('close', () => {
        session.close();
        resolve({ headers: head, trailers, data: Buffer.concat(chunks) });
      });
      req.on('error', reject);
      if (body) req.write(body);
      req.end();
    });
  }

  it('refuses to start on an address that is not HOST:PORT, naming it', async () => {
    await assert.rejects(startXdsServer({ address: 'nohost', source, logger: silentLogger() }),
      /xDS server cannot listen on nohost: invalid address "nohost": expected HOST:PORT/);
    await assert.rejects(startXdsServer({ address: '127.0.0.1:99999', source, logger: silentLogger() }), /port 99999 is out of range/);
  });

  it('a grpc-js client calling a method the server does not have gets UNIMPLEMENTED', async () => {
    const client = new grpc.Client(address, grpc.credentials.createInsecure());
    const code = await new Promise<number>((resolve) => {
      const call = client.makeBidiStreamRequest(`/${ADS_SERVICE}/NoSuchMethod`, (b: Buffer) => b, (b: Buffer) => b);
      call.on('error', (err: grpc.ServiceError) => resolve(err.code));
      call.on('data', () => undefined);
      call.write(Buffer.from('x'));
    });
    client.close();
    assert.equal(code, grpc.status.UNIMPLEMENTED);
  });

  it('answers non-gRPC requests with HTTP errors, and undecodable requests with INVALID_ARGUMENT', async () => {
    assert.equal((await rawCall({ ':method': 'GET' })).headers[':status'], 405);
    assert.equal((await rawCall({ 'content-type': 'text/plain' })).headers[':status'], 415);
    const bad = await rawCall({}, framed(Buffer.from([0xff, 0xff, 0xff])));
    assert.equal(bad.headers[':status'], 200);
    const status = bad.trailers['grpc-status'] ?? bad.headers['grpc-status'];
    const message = String(bad.trailers['grpc-message'] ?? bad.headers['grpc-message']);
    assert.equal(status, String(GrpcStatus.INVALID_ARGUMENT));
    assert.match(decodeURIComponent(message), /cannot decode the discovery request/);
    const unsupported = await rawCall({ 'grpc-encoding': 'snappy' });
    assert.equal(unsupported.headers['grpc-status'], String(GrpcStatus.UNIMPLEMENTED));
    assert.match(decodeURIComponent(String(unsupported.headers['grpc-message'])), /snappy is not supported/);
  });

  it('serves a raw HTTP/2 client: response framed, trailers with OK when the client half-closes', async () => {
    const req = encodeSotwRequest({ node: NODE, typeUrl: CLUSTER, resourceNames: [], versionInfo: '', responseNonce: '' });
    const res = await rawCall({}, framed(req));
    assert.equal(res.headers['content-type'], 'application/grpc');
    const messages = readerOf(1 << 24, 'identity').push(res.data);
    assert.equal(messages.length, 1);
    assert.ok(messages[0].includes(Buffer.from(CLUSTER)));
    assert.equal(res.trailers['grpc-status'], '0');
  });

  it('reads requests a grpc-js client compresses with gzip', async () => {
    const c = await AdsClient.connect(address, NODE, { channelOptions: { 'grpc.default_compression_algorithm': 2 } });
    try {
      assert.deepEqual((await c.fetch(CLUSTER)).names, ['a', 'b']);
    } finally {
      c.close();
    }
  });

  it('delivers a response of many megabytes intact', async () => {
    const big = new FakeProxyViews(...Array.from({ length: 20_000 }, (_, i) => cluster(`c-${i}-${'x'.repeat(100)}`)));
    const s = await startXdsServer({ address: '127.0.0.1:0', source: big, logger: silentLogger() });
    const c = await AdsClient.connect(`127.0.0.1:${s.port}`, NODE, { channelOptions: { 'grpc.max_receive_message_length': 64 << 20 } });
    try {
      const res = await c.fetch(CLUSTER);
      assert.equal(res.names.length, 20_000);
      assert.ok(res.names.includes(`c-19999-${'x'.repeat(100)}`));
      assert.equal(new Set(res.names).size, 20_000);
    } finally {
      c.close();
      await s.close();
    }
  });
});

describe('xDS server: keepalive', () => {
  it('closes a connection that goes quiet and does not answer pings, and keeps one that does', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger('info', new (await import('node:stream')).Writable({
      write(chunk: Buffer, _e, cb) {
        for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
        cb();
      },
    }));
    const s = await startXdsServer({
      address: '127.0.0.1:0', source: new FakeProxyViews(), logger, grpcOptions: { keepaliveTimeMs: 30, keepaliveTimeoutMs: 30 },
    });
    try {
      // A live client: node's HTTP/2 answers pings by itself; it sees several and stays connected.
      const live = http2.connect(`http://127.0.0.1:${s.port}`);
      for (let i = 0; i < 3; i++) await once(live, 'ping');
      assert.equal(live.closed || live.destroyed, false);
      live.close();

      // A dead one: says the HTTP/2 preface and settings, then never reads or answers again.
      const sock = net.connect(s.port, '127.0.0.1');
      await once(sock, 'connect');
      sock.write(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])]));
      sock.resume();
      await once(sock, 'close');
      assert.ok(lines.some((l) => l.message === 'closing an xDS connection that stopped answering pings'));
    } finally {
      await s.close();
    }
  });
});
