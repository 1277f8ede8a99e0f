import assert from 'node:assert/strict';
import Fastify, { type FastifyInstance } from 'fastify';
import { EndpointRegistry } from '../../../src/sources/registry/registry-source.js';
import { registerRegistryRoutes } from '../../../src/sources/registry/http-api.js';
import { SnapshotStore } from '../../../src/store/snapshot-store.js';
import { EMPTY_OBJECTS } from '../../../src/sources/objects.js';
import { silentLogger } from '../../../src/logging.js';
import { StaticSource } from '../../support/static-source.js';

describe('REST registry', () => {
  let app: FastifyInstance;
  let registry: EndpointRegistry;
  let store: SnapshotStore;
  let base: string;

  async function startWith(...others: StaticSource[]): Promise<void> {
    registry = new EndpointRegistry(silentLogger());
    // Only flush() publishes, so every assertion sees exactly the changes made so far.
    store = new SnapshotStore({ logger: silentLogger(), quietMs: 3_600_000, maxDelayMs: 3_600_000 });
    await store.start([...others, registry]);
    app = Fastify();
    registerRegistryRoutes(app, registry);
    base = await app.listen({ host: '127.0.0.1', port: 0 });
  }

  afterEach(async () => {
    await app?.close();
    await store?.stop();
  });

  async function call(method: string, path: string, body?: unknown): Promise<{ status: number; type: string; text: string; json: () => unknown }> {
    const res = await fetch(`${base}${path}`, {
      method,
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}),
    });
    const text = await res.text();
    return { status: res.status, type: res.headers.get('content-type') ?? '', text, json: () => JSON.parse(text) as unknown };
  }

  /**
   * Performs a change and publishes it. The registry reports to the store before the HTTP
   * answer is sent, so flushing the store's debounce afterwards covers the whole change.
   */
  async function published<T>(change: () => Promise<T>): Promise<T> {
    const before = store.current().version;
    const result = await change();
    store.flush();
    assert.ok(store.current().version > before, 'the change published a snapshot');
    return result;
  }

  describe('JSON API', () => {
    beforeEach(() => startWith());

    it('registers, updates, lists and deregisters endpoints', async () => {
      const created = await published(() => call('POST', '/registry/endpoints', { address: '10.0.0.1', port: 8081, service: 'greeter', zone: 'a' }));
      assert.equal(created.status, 201, created.text);
      assert.deepEqual(created.json(), {
        created: true, endpoint: { address: '10.0.0.1', port: 8081, service: 'greeter', namespace: 'default', zone: 'a', labels: {} },
      });
      const updated = await published(() => call('POST', '/registry/endpoints', { address: '10.0.0.1', port: 8081, service: 'greeter', zone: 'b' }));
      assert.equal(updated.status, 200);
      assert.equal((updated.json() as { created: boolean }).created, false);
      await published(() => call('POST', '/registry/endpoints', { address: '10.0.0.2', port: '8082', service: 'greeter', namespace: 'shop', servicePort: 50051, labels: { version: 'v2' } }));

      const list = await call('GET', '/registry/endpoints');
      assert.equal(list.status, 200);
      assert.deepEqual(list.json(), { endpoints: [
        { address: '10.0.0.1', port: 8081, service: 'greeter', namespace: 'default', zone: 'b', labels: {} },
        { address: '10.0.0.2', port: 8082, service: 'greeter', namespace: 'shop', servicePort: 50051, labels: { version: 'v2' } },
      ] });
      const filtered = await call('GET', '/registry/endpoints?namespace=shop');
      assert.equal((filtered.json() as { endpoints: unknown[] }).endpoints.length, 1);

      const s = store.current();
      assert.deepEqual(s.services.get('greeter.default'), {
        name: 'greeter', namespace: 'default', synthetic: true, ports: [{ name: 'grpc', port: 80, targetPort: 8081, protocol: 'grpc' }],
      });
      assert.deepEqual(s.endpoints.get('greeter.default')?.map((e) => [e.address, e.ports, e.ready, e.locality.zone]), [['10.0.0.1', { grpc: 8081 }, true, 'b']]);
      assert.deepEqual(s.services.get('greeter.shop')?.ports, [{ name: 'grpc', port: 50051, targetPort: 8082, protocol: 'grpc' }]);
      assert.deepEqual(s.endpoints.get('greeter.shop')?.map((e) => e.labels), [{ version: 'v2' }], 'labels reach the endpoint (subsets)');

      const deleted = await published(() => call('DELETE', '/registry/endpoints', { address: '10.0.0.1', port: 8081, service: 'greeter' }));
      assert.equal(deleted.status, 200, deleted.text);
      assert.equal(store.current().services.has('greeter.default'), true, 'the synthetic service outlives its last endpoint');
      assert.deepEqual(store.current().endpoints.get('greeter.default') ?? [], [], 'with no endpoints left');
      const byQuery = await published(() => call('DELETE', '/registry/endpoints?address=10.0.0.2&port=8082&service=greeter&namespace=shop'));
      assert.equal(byQuery.status, 200, byQuery.text);
      assert.deepEqual(registry.list(), []);
      assert.deepEqual([...store.current().services.keys()].sort(), ['greeter.default', 'greeter.shop'], 'emptied services stay known');
      assert.equal([...store.current().endpoints.values()].flat().length, 0);
    });

    it('maps endpoints on different ports onto one service port, one slice per port', async () => {
      await published(async () => {
        await call('POST', '/registry/endpoints', { address: '10.0.0.1', port: 8081, service: 'greeter' });
        await call('POST', '/registry/endpoints', { address: '10.0.0.1', port: 8082, service: 'greeter' });
        await call('POST', '/registry/endpoints', { address: '10.0.0.2', port: 8081, service: 'greeter' });
      });
      assert.deepEqual(registry.objects().endpointSlices.map((s) => [s.metadata?.name, s.ports?.[0]?.name, s.ports?.[0]?.port, s.endpoints.length]), [
        ['greeter-registry-default-8081', 'grpc', 8081, 2],
        ['greeter-registry-default-8082', 'grpc', 8082, 1],
      ]);
      const s = store.current();
      assert.deepEqual(s.services.get('greeter.default')?.ports, [{ name: 'grpc', port: 80, targetPort: 'grpc', protocol: 'grpc' }],
        'several endpoint ports: the target port is the port name');
      assert.deepEqual(s.endpoints.get('greeter.default')?.map((e) => [e.address, e.ports]), [
        ['10.0.0.1', { grpc: 8081 }], ['10.0.0.1', { grpc: 8082 }], ['10.0.0.2', { grpc: 8081 }],
      ]);
    });

    it('gives a synthetic service one port per requested service port', async () => {
      await published(async () => {
        await call('POST', '/registry/endpoints', { address: '10.0.0.1', port: 8081, service: 'greeter', servicePort: 9090 });
        await call('POST', '/registry/endpoints', { address: '10.0.0.2', port: 8082, service: 'greeter' });
        await call('POST', '/registry/endpoints', { address: '10.0.0.3', port: 8083, service: 'greeter', servicePort: 'named' });
      });
      const s = store.current();
      assert.deepEqual(s.services.get('greeter.default')?.ports.map((p) => [p.name, p.port]), [['grpc', 80], ['grpc-9090', 9090]]);
      assert.deepEqual(s.endpoints.get('greeter.default')?.map((e) => [e.address, e.ports]), [
        ['10.0.0.1', { 'grpc-9090': 8081 }], ['10.0.0.2', { grpc: 8082 }], ['10.0.0.3', { grpc: 8083 }],
      ]);
    });

    it('answers 404 with the reason when deregistering an unknown endpoint', async () => {
      const res = await call('DELETE', '/registry/endpoints', { address: '10.0.0.9', port: 80, service: 'nope' });
      assert.equal(res.status, 404);
      assert.deepEqual(res.json(), { error: 'endpoint 10.0.0.9:80 is not registered for service default/nope' });
    });

    const bad: Array<[string, unknown, RegExp]> = [
      ['a body that is not an object', [1, 2], /expected a JSON object/],
      ['a missing address', { port: 80, service: 's' }, /^address is missing$/],
      ['an invalid IP', { address: '10.0.0.256', port: 80, service: 's' }, /"10.0.0.256" is not a valid IP address/],
      ['a host name instead of an IP', { address: 'example.com', port: 80, service: 's' }, /"example.com" is not a valid IP address/],
      ['a missing port', { address: '10.0.0.1', service: 's' }, /^port is missing$/],
      ['a port out of range', { address: '10.0.0.1', port: 65536, service: 's' }, /port 65536 is out of range 1-65535/],
      ['port 0', { address: '10.0.0.1', port: 0, service: 's' }, /port 0 is out of range/],
      ['a fractional port', { address: '10.0.0.1', port: 80.5, service: 's' }, /port must be an integer/],
      ['a missing service', { address: '10.0.0.1', port: 80 }, /^service is missing$/],
      ['a service name that is not DNS-1035', { address: '10.0.0.1', port: 80, service: '1greeter' }, /invalid service name: "1greeter" is not a DNS-1035 label/],
      ['an upper-case service name', { address: '10.0.0.1', port: 80, service: 'Greeter' }, /invalid service name/],
      ['an invalid namespace', { address: '10.0.0.1', port: 80, service: 's', namespace: 'a_b' }, /invalid namespace name/],
      ['a bad servicePort', { address: '10.0.0.1', port: 80, service: 's', servicePort: 'Not A Name' }, /servicePort: port name/],
      ['a servicePort out of range', { address: '10.0.0.1', port: 80, service: 's', servicePort: 70000 }, /servicePort 70000 is out of range/],
      ['a bad zone', { address: '10.0.0.1', port: 80, service: 's', zone: 'a zone' }, /zone: label value "a zone" is invalid/],
      ['non-string labels', { address: '10.0.0.1', port: 80, service: 's', labels: { v: 1 } }, /labels\["v"\] must be a string/],
      ['an unknown field', { adress: '10.0.0.1', port: 80, service: 's' }, /unknown field "adress"/],
    ];
    for (const [what, body, reason] of bad) {
      it(`answers 400 with the reason for ${what}`, async () => {
        const res = await call('POST', '/registry/endpoints', body);
        assert.equal(res.status, 400, res.text);
        assert.match((res.json() as { error: string }).error, reason);
        assert.deepEqual(registry.list(), []);
      });
    }

    it('answers 400 for malformed JSON and for bad deregistration input', async () => {
      const malformed = await call('POST', '/registry/endpoints', '{"address": ');
      assert.equal(malformed.status, 400);
      const res = await call('DELETE', '/registry/endpoints?address=10.0.0.1&port=99999&service=s');
      assert.equal(res.status, 400);
      assert.match((res.json() as { error: string }).error, /port 99999 is out of range/);
    });
  });

  describe('classic /edsservice paths', () => {
    beforeEach(() => startWith());

    it('registers and deregisters IP:PORT for myservice in default, answering "IP:PORT ok"', async () => {
      const res = await published(() => call('GET', '/edsservice/register?endpoint=127.0.0.1:50051'));
      assert.equal(res.status, 200);
      assert.equal(res.text, '127.0.0.1:50051 ok');
      assert.match(res.type, /^text\/plain/);
      assert.deepEqual(store.current().endpoints.get('myservice.default')?.map((e) => [e.address, e.ports]), [['127.0.0.1', { grpc: 50051 }]]);

      const v6 = await published(() => call('GET', '/edsservice/register?endpoint=[::0001]:8080&service=other&namespace=shop'));
      assert.equal(v6.text, '[::1]:8080 ok');
      assert.deepEqual(registry.list({ namespace: 'shop' }).map((r) => [r.address, r.port, r.service]), [['::1', 8080, 'other']]);

      const gone = await published(() => call('GET', '/edsservice/deregister?endpoint=127.0.0.1:50051'));
      assert.equal(gone.text, '127.0.0.1:50051 ok');
      assert.equal(store.current().services.has('myservice.default'), true, 'the service stays, so proxies learn it has no endpoints');
      assert.deepEqual(store.current().endpoints.get('myservice.default')?.filter((e) => e.address === '127.0.0.1') ?? [], []);

      const again = await call('GET', '/edsservice/deregister?endpoint=127.0.0.1:50051');
      assert.equal(again.status, 404);
      assert.equal(again.text, 'endpoint 127.0.0.1:50051 is not registered for service default/myservice');
    });

    const bad: Array<[string, string, RegExp]> = [
      ['a missing endpoint', '', /^missing endpoint parameter \(endpoint=IP:PORT\)$/],
      ['an empty endpoint', '?endpoint=', /^missing endpoint parameter/],
      ['an endpoint without port', '?endpoint=10.0.0.1', /"10.0.0.1" is not IP:PORT/],
      ['an unbracketed IPv6 endpoint', '?endpoint=::1:80', /"::1:80" is not IP:PORT \(IPv6 as \[IP\]:PORT\)/],
      ['an invalid IP', '?endpoint=300.1.1.1:80', /"300.1.1.1" is not a valid IP address/],
      ['a port out of range', '?endpoint=10.0.0.1:70000', /port 70000 is out of range 1-65535/],
      ['a port that is not a number', '?endpoint=10.0.0.1:http', /port must be an integer/],
      ['an invalid service name', '?endpoint=10.0.0.1:80&service=my_service', /invalid service name: "my_service" is not a DNS-1035 label/],
      ['an invalid namespace', '?endpoint=10.0.0.1:80&namespace=-x', /invalid namespace name/],
      ['a repeated parameter', '?endpoint=10.0.0.1:80&endpoint=10.0.0.2:80', /parameter "endpoint" is given more than once/],
      ['an unknown parameter', '?endpoint=10.0.0.1:80&zone=a', /unknown parameter "zone"/],
    ];
    for (const [what, query, reason] of bad) {
      for (const op of ['register', 'deregister']) {
        it(`${op}: answers 400 with the reason for ${what}`, async () => {
          const res = await call('GET', `/edsservice/${op}${query}`);
          assert.equal(res.status, 400, res.text);
          assert.match(res.text, reason);
          assert.match(res.type, /^text\/plain/);
        });
      }
    }
  });

  describe('with a real Service from another source', () => {
    let k8s: StaticSource;
    beforeEach(() => {
      k8s = new StaticSource('k8s', {
        ...EMPTY_OBJECTS,
        services: [{
          metadata: { name: 'greeter', namespace: 'default' },
          spec: { clusterIP: '10.96.0.5', ports: [{ name: 'http', port: 8080 }, { name: 'grpc-api', port: 9090 }] },
        }],
      });
      return startWith(k8s);
    });

    it('the real Service wins and registrations become endpoints of the port they choose', async () => {
      await published(async () => {
        await call('POST', '/registry/endpoints', { address: '10.0.0.1', port: 1001, service: 'greeter' });
        await call('POST', '/registry/endpoints', { address: '10.0.0.2', port: 1002, service: 'greeter', servicePort: 9090 });
        await call('POST', '/registry/endpoints', { address: '10.0.0.3', port: 1003, service: 'greeter', servicePort: 'grpc-api' });
        await call('POST', '/registry/endpoints', { address: '10.0.0.4', port: 1004, service: 'greeter', servicePort: 1234 });
      });
      const s = store.current();
      const svc = s.services.get('greeter.default');
      assert.equal(svc?.synthetic, undefined);
      assert.equal(svc?.clusterIP, '10.96.0.5');
      assert.deepEqual(s.endpoints.get('greeter.default')?.map((e) => [e.address, e.ports]), [
        ['10.0.0.1', { http: 1001 }],
        ['10.0.0.2', { 'grpc-api': 1002 }],
        ['10.0.0.3', { 'grpc-api': 1003 }],
      ], 'a service port the real Service lacks matches nothing');

      // The real Service disappears: the synthetic one takes over, with the same endpoints.
      await published(async () => k8s.set({}));
      const after = store.current();
      assert.equal(after.services.get('greeter.default')?.synthetic, true);
      assert.equal(after.endpoints.get('greeter.default')?.length, 4);
    });
  });
});
