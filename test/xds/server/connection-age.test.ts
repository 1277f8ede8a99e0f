// The server's connection lifetime: a maximum age with jitter (GOAWAY, then the streams end with
// UNAVAILABLE after a grace, so clients reconnect) and the drain on close() (connections let go
// in batches). Clients are raw node:http2 sessions, which show the GOAWAY frame itself, and
// grpc-js, which shows that a real gRPC client reconnects and gets its configuration again.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { silentLogger } from '../../../src/logging.js';
import { connectionAge } from '../../../src/xds/server/grpc/connection-age.js';
import { drainBatchSize, MIN_DRAIN_BATCH } from '../../../src/xds/server/grpc/drain-schedule.js';
import { startXdsServer, type XdsServer } from '../../../src/xds/server/index.js';
import { CLUSTER } from '../../../src/xds/types.js';
import { AdsClient } from '../../support/ads-client.js';
import { OWN_CONNECTIONS } from '../../support/echo-service.js';
import { FakeProxyViews, cluster } from '../../support/fake-proxy-views.js';
import { encodeSotwRequest } from '../../support/xds-client-codec.js';
import { NODE } from './harness.js';

const ADS_PATH = '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources';

/** One raw HTTP/2 connection with one ADS stream asking for clusters: what it saw, in order. */
class RawAdsConnection {
  readonly seen: string[] = [];
  readonly session: http2.ClientHttp2Session;
  readonly status: Promise<{ code: string; message: string }>;
  readonly goaway: Promise<number>;
  readonly firstResponse: Promise<void>;

  constructor(address: string, id: string) {
    this.session = http2.connect(`http://${address}`);
    this.session.on('error', () => undefined);
    this.goaway = new Promise((resolve) => this.session.once('goaway', (code: number) => {
      this.seen.push('goaway');
      resolve(code);
    }));
    const stream = this.session.request({ ':method': 'POST', ':path': ADS_PATH, 'content-type': 'application/grpc', te: 'trailers' });
    stream.on('error', () => undefined);
    const body = encodeSotwRequest({ typeUrl: CLUSTER, resourceNames: [], node: { ...NODE, id } });
    const prefix = Buffer.alloc(5);
    prefix.writeUInt32BE(body.length, 1);
    stream.write(Buffer.concat([prefix, body]));
    this.firstResponse = new Promise((resolve) => stream.once('data', () => {
      this.seen.push('response');
      resolve();
    }));
    stream.resume();
    this.status = new Promise((resolve) => stream.once('trailers', (t: http2.IncomingHttpHeaders) => {
      this.seen.push('status');
      // As gRPC clients do on reading the status: the call is over on our side too.
      stream.end();
      resolve({ code: String(t['grpc-status']), message: decodeURIComponent(String(t['grpc-message'] ?? '')) });
    }));
  }

  close(): void {
    this.session.destroy();
  }
}

describe('xDS server: connection age and drain', () => {
  describe('schedules (pure)', () => {
    it('draws each age uniformly within ±jitter of the maximum, and none when ages are off', () => {
      assert.equal(connectionAge({ maxAgeMs: 60_000, jitter: 0.1 }, () => 0), 54_000);
      assert.equal(connectionAge({ maxAgeMs: 60_000, jitter: 0.1 }, () => 0.5), 60_000);
      assert.equal(connectionAge({ maxAgeMs: 60_000, jitter: 0.1 }, () => 0.999_999), 66_000);
      assert.equal(connectionAge({ maxAgeMs: 60_000 }, () => 0), 54_000, 'the default jitter is ±10 %, as gRPC servers use');
      assert.equal(connectionAge({ maxAgeMs: 0 }, () => 0.5), undefined);
      assert.equal(connectionAge({}, () => 0.5), undefined);
      assert.throws(() => connectionAge({ maxAgeMs: 1000, jitter: 1.5 }, () => 0.5), /between 0 and 1/);
    });

    it('drains in batches of at least MIN_DRAIN_BATCH, every 100 ms, all within the window', () => {
      assert.equal(drainBatchSize(5, 10_000), MIN_DRAIN_BATCH, 'a few connections go at once');
      assert.equal(drainBatchSize(1000, 10_000), 10, '100 ticks in 10 s');
      assert.equal(drainBatchSize(10_000, 10_000), 100);
      assert.equal(drainBatchSize(10_001, 10_000), 101);
      assert.equal(drainBatchSize(300, 0), 300, 'no window: everything in one batch');
      assert.equal(drainBatchSize(0, 0), 1);
    });
  });

  describe('on a live server', () => {
    let server: XdsServer | undefined;
    const raws: RawAdsConnection[] = [];
    const clients: AdsClient[] = [];

    afterEach(async () => {
      for (const r of raws.splice(0)) r.close();
      for (const c of clients.splice(0)) c.close();
      await server?.close();
      server = undefined;
    });

    it('at its maximum age a connection gets a GOAWAY, then (after the grace) its stream ends UNAVAILABLE', async () => {
      server = await startXdsServer({
        address: '127.0.0.1:0', source: new FakeProxyViews(cluster('a')), logger: silentLogger(),
        connectionAge: { maxAgeMs: 400, jitter: 0, graceMs: 200 },
      });
      const raw = new RawAdsConnection(`127.0.0.1:${server.port}`, 'raw-1');
      raws.push(raw);
      await raw.firstResponse;
      assert.equal(await raw.goaway, http2.constants.NGHTTP2_NO_ERROR, 'a graceful GOAWAY');
      const status = await raw.status;
      assert.deepEqual(status, { code: String(grpc.status.UNAVAILABLE), message: 'pilotfish xDS connection reached its maximum age; reconnect' });
      assert.deepEqual(raw.seen, ['response', 'goaway', 'status'], 'the GOAWAY comes first, the stream ends after the grace');
      await once(raw.session, 'close');
    });

    it('a grpc-js client whose connection aged out reconnects and gets the same configuration again', async () => {
      server = await startXdsServer({
        address: '127.0.0.1:0', source: new FakeProxyViews(cluster('a'), cluster('b')), logger: silentLogger(),
        connectionAge: { maxAgeMs: 300, jitter: 0.2, graceMs: 50 },
      });
      const address = `127.0.0.1:${server.port}`;
      const first = await AdsClient.connect(address, NODE, { channelOptions: OWN_CONNECTIONS });
      clients.push(first);
      const before = await first.fetch(CLUSTER);
      const end = await first.closed;
      assert.equal(end.code, grpc.status.UNAVAILABLE, end.details);
      const again = await AdsClient.connect(address, NODE, { channelOptions: OWN_CONNECTIONS });
      clients.push(again);
      const after = await again.fetch(CLUSTER);
      assert.deepEqual(after.names, ['a', 'b']);
      assert.equal(after.versionInfo, before.versionInfo);
    });

    it('close() with a drain window lets connections go in batches, each with a GOAWAY and UNAVAILABLE', async () => {
      server = await startXdsServer({
        address: '127.0.0.1:0', source: new FakeProxyViews(cluster('a')), logger: silentLogger(), drainWindowMs: 3_000,
      });
      const count = 3 * MIN_DRAIN_BATCH;
      for (let i = 0; i < count; i++) raws.push(new RawAdsConnection(`127.0.0.1:${server.port}`, `raw-${i}`));
      await Promise.all(raws.map((r) => r.firstResponse));
      let told = 0;
      let toldWhenFirstBatchDone = -1;
      for (const r of raws) {
        void r.goaway.then(() => {
          told++;
          if (told === MIN_DRAIN_BATCH) toldWhenFirstBatchDone = raws.filter((x) => x.seen.includes('goaway')).length;
        });
      }
      const closing = server.close();
      const statuses = await Promise.all(raws.map((r) => r.status));
      await closing;
      server = undefined;
      assert.ok(toldWhenFirstBatchDone >= MIN_DRAIN_BATCH && toldWhenFirstBatchDone < count,
        `not every connection was let go in the first batch (${toldWhenFirstBatchDone} of ${count} had a GOAWAY)`);
      for (const s of statuses) assert.deepEqual(s, { code: String(grpc.status.UNAVAILABLE), message: 'pilotfish xDS server is shutting down' });
      for (const r of raws) assert.deepEqual(r.seen, ['response', 'goaway', 'status']);
    });
  });
});
