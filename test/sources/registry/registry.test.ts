import assert from 'node:assert/strict';
import Fastify, { type FastifyInstance } from 'fastify';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EndpointRegistry, type RegistryOptions } from '../../../src/sources/registry/registry-source.js';
import { registerRegistryRoutes } from '../../../src/sources/registry/http-api.js';
import { RegistryAccess } from '../../../src/sources/registry/registry-access.js';
import type { ObjectSet } from '../../../src/sources/objects.js';
import { SnapshotStore } from '../../../src/store/snapshot-store.js';
import { EMPTY_OBJECTS, type V1Service } from '../../../src/sources/objects.js';
import { silentLogger } from '../../../src/logging.js';
import { StaticSource } from '../../support/static-source.js';

describe('REST registry', () => {
  let app: FastifyInstance;
  let registry: EndpointRegistry;
  let store: SnapshotStore;
  let base: string;

  async function startWith(...others: StaticSource[]): Promise<void> {
    return startWithOptions({}, undefined, ...others);
  }

  async function startWithOptions(options: RegistryOptions, access?: RegistryAccess, ...others: StaticSource[]): Promise<void> {
    registry = new EndpointRegistry(silentLogger(), options);
    // Only flush() publishes, so every assertion sees exactly the changes made so far.
    store = new SnapshotStore({ logger: silentLogger(), quietMs: 3_600_000, maxDelayMs: 3_600_000 });
    await store.start([...others, registry]);
    app = Fastify();
    registerRegistryRoutes(app, registry, access);
    base = await app.listen({ host: '127.0.0.1', port: 0 });
  }

  afterEach(async () => {
    await app?.close();
    await store?.stop();
  });

  async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; type: string; text: string; json: () => unknown }> {
    const res = await fetch(`${base}${path}`, {
      method,
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } } : { headers }),
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
        await call('POST', '/registry/endpoints', { address: '10.0.0.3', port: 8083, service: 'greeter', servicePort: 'grpc' });
      });
      const unknown = await call('POST', '/registry/endpoints', { address: '10.0.0.4', port: 8084, service: 'greeter', servicePort: 'named' });
      assert.equal(unknown.status, 400, unknown.text);
      assert.deepEqual(unknown.json(), { error: 'Service default/greeter has no port "named"; its ports: grpc (80), grpc-9090 (9090)' });
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
      return startWithOptions({ allowDefinedServices: true, definedService: definedIn(k8s) }, undefined, k8s);
    });

    it('the real Service wins and registrations become endpoints of the port they choose', async () => {
      await published(async () => {
        await call('POST', '/registry/endpoints', { address: '10.0.0.1', port: 1001, service: 'greeter' });
        await call('POST', '/registry/endpoints', { address: '10.0.0.2', port: 1002, service: 'greeter', servicePort: 9090 });
        await call('POST', '/registry/endpoints', { address: '10.0.0.3', port: 1003, service: 'greeter', servicePort: 'grpc-api' });
      });
      for (const servicePort of [1234, 'grpc']) {
        const refused = await call('POST', '/registry/endpoints', { address: '10.0.0.4', port: 1004, service: 'greeter', servicePort });
        assert.equal(refused.status, 400, refused.text);
        assert.deepEqual(refused.json(), {
          error: `Service default/greeter has no port ${typeof servicePort === 'number' ? servicePort : `"${servicePort}"`}; its ports: http (8080), grpc-api (9090)`,
        });
      }
      const s = store.current();
      const svc = s.services.get('greeter.default');
      assert.equal(svc?.synthetic, undefined);
      assert.equal(svc?.clusterIP, '10.96.0.5');
      assert.deepEqual(s.endpoints.get('greeter.default')?.map((e) => [e.address, e.ports]), [
        ['10.0.0.1', { http: 1001 }],
        ['10.0.0.2', { 'grpc-api': 1002 }],
        ['10.0.0.3', { 'grpc-api': 1003 }],
      ]);

      // The real Service disappears: the synthetic one takes over, with the same endpoints.
      await published(async () => k8s.set({}));
      const after = store.current();
      assert.equal(after.services.get('greeter.default')?.synthetic, true);
      assert.equal(after.endpoints.get('greeter.default')?.length, 3);
    });
  });

  describe('Services other sources define', () => {
    let files: StaticSource;
    beforeEach(() => {
      files = new StaticSource('config-dir', {
        ...EMPTY_OBJECTS,
        services: [{ metadata: { name: 'checkout', namespace: 'shop' }, spec: { ports: [{ name: 'http', port: 8080 }] } }],
      });
      return startWithOptions({ definedService: definedIn(files) }, undefined, files);
    });

    it('refuses to change their endpoints with 403 naming the Service, unless allowed', async () => {
      const before = store.current().version;
      const res = await call('POST', '/registry/endpoints', { address: '10.9.9.9', port: 8080, service: 'checkout', namespace: 'shop', labels: { version: 'v1' } });
      assert.equal(res.status, 403, res.text);
      assert.deepEqual(res.json(), {
        error: 'Service shop/checkout is defined by the config files or the cluster; the registry does not change its endpoints (pilotfish serve --registry-allow-defined-services allows it)',
      });
      const classic = await call('GET', '/edsservice/register?endpoint=10.9.9.9:8080&service=checkout&namespace=shop');
      assert.equal(classic.status, 403);
      assert.deepEqual(registry.list(), []);
      store.flush();
      assert.equal(store.current().version, before, 'nothing published');
      // Another name in the same namespace is the registry's to make.
      assert.equal((await call('POST', '/registry/endpoints', { address: '10.9.9.9', port: 8080, service: 'other', namespace: 'shop' })).status, 201);
    });
  });

  describe('access', () => {
    it('with a token, answers 401 to requests without it or with a wrong one, on every path', async () => {
      await startWithOptions({}, new RegistryAccess('s3cret-token'));
      const body = { address: '10.0.0.1', port: 80, service: 'greeter' };
      const attempts: Array<Record<string, string>> = [{}, { authorization: 'Bearer wrong' }, { authorization: 'Basic czNjcmV0LXRva2Vu' }, { authorization: 'Bearer s3cret-token2' }];
      for (const headers of attempts) {
        for (const [method, p, b] of [['POST', '/registry/endpoints', body], ['GET', '/registry/endpoints', undefined],
          ['DELETE', '/registry/services/default/greeter', undefined], ['GET', '/edsservice/register?endpoint=10.0.0.1:80', undefined]] as const) {
          const res = await call(method, p, b, headers);
          assert.equal(res.status, 401, `${method} ${p} with ${JSON.stringify(headers)}: ${res.text}`);
          assert.match(res.text, /bearer token/);
        }
      }
      assert.deepEqual(registry.list(), []);
      const ok = await call('POST', '/registry/endpoints', body, { authorization: 'Bearer s3cret-token' });
      assert.equal(ok.status, 201, ok.text);
    });

    it('without a token, serves loopback clients only', async () => {
      await startWithOptions({});
      const inject = (remoteAddress: string) => app.inject({
        method: 'POST', url: '/registry/endpoints', remoteAddress,
        headers: { 'content-type': 'application/json' }, payload: { address: '10.0.0.1', port: 80, service: 'greeter' },
      });
      const remote = await inject('10.1.2.3');
      assert.equal(remote.statusCode, 401);
      assert.match(remote.body, /beyond loopback only with a bearer token \(start pilotfish with --registry-token-file\)/);
      assert.equal((await inject('::ffff:10.1.2.3')).statusCode, 401);
      assert.deepEqual(registry.list(), []);
      assert.equal((await inject('127.0.0.1')).statusCode, 201);
      assert.equal((await inject('::1')).statusCode, 200);
    });
  });

  describe('content type', () => {
    beforeEach(() => startWith());

    it('answers 415 naming application/json to a body without the JSON content type', async () => {
      const body = JSON.stringify({ address: '10.0.0.1', port: 80, service: 'greeter' });
      const types: Array<Record<string, string>> = [{ 'content-type': 'text/plain' }, { 'content-type': 'application/x-www-form-urlencoded' }, {}];
      for (const headers of types) {
        const res = await fetch(`${base}/registry/endpoints`, { method: 'POST', body, headers });
        const text = await res.text();
        assert.equal(res.status, 415, `${JSON.stringify(headers)}: ${text}`);
        assert.deepEqual(JSON.parse(text), { error: 'send the body as JSON with Content-Type: application/json' });
      }
      assert.deepEqual(registry.list(), []);
      const ok = await call('POST', '/registry/endpoints', body, { 'content-type': 'application/json; charset=utf-8' });
      assert.equal(ok.status, 201, ok.text);
    });
  });

  describe('synthetic services', () => {
    it('are removed once their last endpoint has been gone for the grace period, and come back with a new one', async () => {
      await startWithOptions({ emptyServiceGraceMs: 30 });
      // Resolves once the registry reports (to the store) objects that satisfy pred.
      const reported = (pred: (set: ObjectSet) => boolean): Promise<void> => new Promise((resolve) => {
        const original = store.replace.bind(store);
        store.replace = (name, objects) => {
          original(name, objects);
          if (name === registry.name && pred(objects)) { store.replace = original; resolve(); }
        };
      });
      // A typo'd service name: registered and deregistered.
      const gone = reported((set) => set.services.length === 0);
      await call('POST', '/registry/endpoints', { address: '10.0.0.1', port: 80, service: 'greeterr' });
      await call('DELETE', '/registry/endpoints', { address: '10.0.0.1', port: 80, service: 'greeterr' });
      assert.deepEqual(registry.serviceKeys(), ['default/greeterr'], 'kept during the grace period');
      assert.equal(registry.objects().endpointSlices.length, 0);
      await gone;
      assert.deepEqual(registry.serviceKeys(), []);
      store.flush();
      assert.equal(store.current().services.has('greeterr.default'), false);

      // Back within the grace period: the timer is cancelled.
      await call('POST', '/registry/endpoints', { address: '10.0.0.1', port: 80, service: 'web' });
      await call('DELETE', '/registry/endpoints', { address: '10.0.0.1', port: 80, service: 'web' });
      const back = reported((set) => set.endpointSlices.length === 1);
      await call('POST', '/registry/endpoints', { address: '10.0.0.2', port: 80, service: 'web' });
      await back;
      // Proving that a timer did not fire needs its period to pass: no event marks an absence.
      await new Promise((resolve) => setTimeout(resolve, 90));
      assert.deepEqual(registry.serviceKeys(), ['default/web'], 'the timer was cancelled');
    });

    it('can be deleted with all their endpoints; 404 for a service the registry does not have', async () => {
      await startWith();
      await call('POST', '/registry/endpoints', { address: '10.0.0.1', port: 80, service: 'web', namespace: 'shop' });
      await call('POST', '/registry/endpoints', { address: '10.0.0.2', port: 80, service: 'web', namespace: 'shop' });
      await call('POST', '/registry/endpoints', { address: '10.0.0.3', port: 80, service: 'api', namespace: 'shop' });
      const res = await published(() => call('DELETE', '/registry/services/shop/web'));
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.json(), { deleted: { namespace: 'shop', service: 'web', endpoints: 2 } });
      assert.deepEqual(registry.list().map((r) => r.service), ['api']);
      assert.equal(store.current().services.has('web.shop'), false);
      assert.equal(registry.size, 1);
      const again = await call('DELETE', '/registry/services/shop/web');
      assert.equal(again.status, 404);
      assert.deepEqual(again.json(), { error: 'service shop/web is not in the registry' });
      const bad = await call('DELETE', '/registry/services/shop/Web_1');
      assert.equal(bad.status, 400);
    });
  });

  describe('state file', () => {
    let dir: string;
    beforeEach(async () => { dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'pilotfish-registry-')); });
    afterEach(async () => { await fsp.rm(dir, { recursive: true, force: true }); });

    async function restarted(stateFile: string): Promise<EndpointRegistry> {
      await app.close();
      await store.stop();
      await startWithOptions({ stateFile });
      return registry;
    }

    it('brings back every registration after a restart, without a clean stop', async () => {
      const stateFile = path.join(dir, 'registry.json');
      await startWithOptions({ stateFile });
      await call('POST', '/registry/endpoints', { address: '10.0.0.1', port: 80, service: 'web', zone: 'a', labels: { v: '1' } });
      await call('POST', '/registry/endpoints', { address: '10.0.0.2', port: 81, service: 'web', servicePort: 9090 });
      await call('POST', '/registry/endpoints', { address: '10.0.0.3', port: 80, service: 'api', namespace: 'shop' });
      await call('POST', '/registry/endpoints', { address: '10.0.0.4', port: 80, service: 'gone' });
      await call('DELETE', '/registry/endpoints', { address: '10.0.0.2', port: 81, service: 'web' });
      await call('DELETE', '/registry/services/default/gone');
      await call('POST', '/registry/endpoints', { address: '10.0.0.1', port: 80, service: 'web', zone: 'b' });
      const before = registry.list();
      // Not stopped: what is on disk is what a kill -9 leaves.
      const journal = await fsp.readFile(`${stateFile}.journal`, 'utf8');
      assert.equal(journal.trim().split('\n').length, 7, 'one journal line per change');
      const again = await restarted(stateFile);
      assert.deepEqual(again.list(), before);
      assert.deepEqual(again.serviceKeys(), ['default/web', 'shop/api'], 'a service emptied before the restart is not brought back');
      store.flush();
      assert.deepEqual(store.current().endpoints.get('web.default')?.map((e) => [e.address, e.locality.zone]), [['10.0.0.1', 'b']]);
      assert.equal(await fsp.readFile(`${stateFile}.journal`, 'utf8'), '', 'the journal is folded into the state file at start');
      assert.equal((JSON.parse(await fsp.readFile(stateFile, 'utf8')) as { registrations: unknown[] }).registrations.length, 2);
    });

    it('folds a long journal into the state file as it goes, and ignores a cut-off last line', async () => {
      const stateFile = path.join(dir, 'registry.json');
      await startWithOptions({ stateFile });
      // Concurrent, as from many clients: written in groups, applied in the order they came.
      await Promise.all([
        ...Array.from({ length: 100 }, (_, i) => registry.register({ address: `10.0.0.${i}`, port: 80, service: 'web' })),
        ...Array.from({ length: 1500 }, (_, i) => registry.register({ address: '10.0.1.1', port: 80, service: 'web', zone: `z${i}` })),
      ]);
      // A compaction runs between two groups: a change made now is written after it.
      await registry.register({ address: '10.0.0.0', port: 80, service: 'web' });
      const journalLines = (await fsp.readFile(`${stateFile}.journal`, 'utf8')).split('\n').filter((l) => l !== '').length;
      assert.ok(journalLines < 1600, `compacted along the way (${journalLines} lines left)`);
      await fsp.appendFile(`${stateFile}.journal`, '{"put": {"address": "10.9');
      const again = await restarted(stateFile);
      assert.equal(again.size, 101);
      assert.equal(again.list().find((r) => r.address === '10.0.1.1')?.zone, 'z1499');
    });

    it('refuses to start on a state file that is not a registry state, rather than overwrite it', async () => {
      const stateFile = path.join(dir, 'registry.json');
      await fsp.writeFile(stateFile, 'not json');
      registry = new EndpointRegistry(silentLogger(), { stateFile });
      await assert.rejects(registry.start({ replace: () => undefined }), /registry state file .*registry.json is not valid JSON .*move it away to start empty/);
      assert.equal(await fsp.readFile(stateFile, 'utf8'), 'not json');
    });
  });
});

function definedIn(source: StaticSource): (namespace: string, name: string) => V1Service | undefined {
  return (namespace, name) => source.current().services.find((s) => s.metadata?.namespace === namespace && s.metadata?.name === name);
}

describe('REST registry slices', () => {
  it('puts at most 100 endpoints in a slice, and a change rebuilds only the slice it touches', () => {
    const registry = new EndpointRegistry(silentLogger());
    const address = (i: number): string => `10.0.${i >> 8}.${i & 255}`;
    for (let i = 0; i < 250; i++) registry.register({ address: address(i), port: 8080, service: 'big' });
    const before = registry.objects().endpointSlices;
    assert.deepEqual(before.map((s) => [s.metadata?.name, s.endpoints.length]), [
      ['big-registry-default-8080', 100], ['big-registry-default-8080-1', 100], ['big-registry-default-8080-2', 50],
    ]);
    registry.deregister({ address: address(150), port: 8080, service: 'big' });
    const after = registry.objects().endpointSlices;
    assert.deepEqual(after.map((s) => s.endpoints.length), [100, 99, 50]);
    assert.equal(after[0], before[0], 'untouched slice: the same object');
    assert.notEqual(after[1], before[1]);
    assert.equal(after[2], before[2]);
    // The freed place is taken by the next registration; the other slices stay as they are.
    registry.register({ address: '10.9.9.9', port: 8080, service: 'big' });
    const refilled = registry.objects().endpointSlices;
    assert.deepEqual(refilled.map((s) => s.endpoints.length), [100, 100, 50]);
    assert.equal(refilled[0], before[0]);
    assert.equal(refilled[2], before[2]);
    // The rebuilt slice is made of the same endpoint objects, plus the new one: downstream
    // (translation, per endpoint object) does the new one's work only.
    const kept = new Set(before[1]?.endpoints);
    assert.deepEqual(refilled[1]?.endpoints.filter((e) => !kept.has(e)).map((e) => e.addresses[0]), ['10.9.9.9']);
  });
});

describe('REST registry at scale', () => {
  it('10,000 registrations into one service: each change costs its own size (figures reported)', async () => {
    const registry = new EndpointRegistry(silentLogger());
    const store = new SnapshotStore({ logger: silentLogger(), quietMs: 3_600_000, maxDelayMs: 3_600_000 });
    await store.start([registry]);
    try {
      const started = performance.now();
      let slowest = 0;
      for (let i = 0; i < 10_000; i++) {
        const t = performance.now();
        registry.register({ address: `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`, port: 8080, service: 'big' });
        slowest = Math.max(slowest, performance.now() - t);
      }
      const total = performance.now() - started;
      // One change into a service of 10,000, then the objects it makes (read once per snapshot).
      const t = performance.now();
      registry.register({ address: '10.9.9.9', port: 8080, service: 'big' });
      const built = registry.objects().endpointSlices.length;
      const oneChange = performance.now() - t;
      const published = store.next((s) => s.endpoints.get('big.default')?.length === 10_001);
      store.flush();
      await published;
      console.log(`      10,000 registrations into one service in process: ${total.toFixed(0)} ms (slowest ${slowest.toFixed(1)} ms); `
        + `one more plus rebuilding its objects (${built} slices): ${oneChange.toFixed(1)} ms`);
      assert.equal(built, 101);
    } finally {
      await store.stop();
    }
  });
});
