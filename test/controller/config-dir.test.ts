import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { ConfigDirSource, loadConfigDir } from '../../src/controller/config-dir.js';
import type { ObjectSet } from '../../src/controller/objects.js';
import { SnapshotStore } from '../../src/controller/store.js';
import { createLogger, silentLogger, type Logger } from '../../src/logging.js';

function service(name: string, port: number, namespace = 'demo'): string {
  return `apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: ${namespace}}
spec:
  ports: [{name: http, port: ${port}}]
`;
}

function slice(name: string, service: string, address: string, namespace = 'demo'): string {
  return `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: ${name}, namespace: ${namespace}, labels: {kubernetes.io/service-name: ${service}}}
addressType: IPv4
ports: [{name: http, port: 8080}]
endpoints: [{addresses: [${address}]}]
`;
}

class RecordingSink {
  calls: ObjectSet[] = [];
  replace(_source: string, objects: ObjectSet): void {
    this.calls.push(objects);
  }
  get last(): ObjectSet {
    const last = this.calls[this.calls.length - 1];
    assert.ok(last, 'the source reported nothing');
    return last;
  }
}

function servicePorts(set: ObjectSet): Record<string, number | undefined> {
  return Object.fromEntries(set.services.map((s) => [s.metadata?.name ?? '', s.spec?.ports?.[0]?.port]));
}

/** A logger whose JSON lines the test can read. */
function capturingLogger(): { logger: Logger; lines: () => Array<Record<string, unknown>> } {
  const stream = new PassThrough();
  const chunks: string[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c.toString()));
  return {
    logger: createLogger('debug', stream),
    lines: () => chunks.join('').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe('ConfigDirSource', () => {
  let dir: string;
  const sources: ConfigDirSource[] = [];
  beforeEach(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'pilotfish-config-'));
  });
  afterEach(async () => {
    await Promise.all(sources.splice(0).map((s) => s.stop()));
    await fsp.rm(dir, { recursive: true, force: true });
  });
  async function write(rel: string, text: string): Promise<string> {
    const file = path.join(dir, rel);
    await fsp.mkdir(path.dirname(file), { recursive: true });
    await fsp.writeFile(file, text);
    return file;
  }
  async function started(logger: Logger = silentLogger()): Promise<{ source: ConfigDirSource; sink: RecordingSink }> {
    const source = new ConfigDirSource(dir, logger, { watch: false });
    sources.push(source);
    const sink = new RecordingSink();
    await source.start(sink);
    return { source, sink };
  }

  it('loads *.yaml and *.yml recursively, skipping other and hidden files, before start() resolves', async () => {
    await write('a.yaml', service('a', 1));
    await write('sub/deeper/b.yml', `${service('b', 2)}---\n${slice('b-1', 'b', '10.0.0.1')}`);
    await write('notes.txt', 'not: yaml config');
    await write('.c.yaml', service('c', 3));
    await write('.hidden/d.yaml', service('d', 4));
    const { source, sink } = await started();
    assert.equal(sink.calls.length, 1);
    assert.deepEqual(servicePorts(sink.last), { a: 1, b: 2 });
    assert.equal(sink.last.endpointSlices.length, 1);
    assert.deepEqual(source.errors(), []);
    assert.equal(source.name, `config-dir:${dir}`);
  });

  it('rejects start() for a directory that does not exist', async () => {
    const source = new ConfigDirSource(path.join(dir, 'missing'), silentLogger());
    await assert.rejects(source.start(new RecordingSink()), /config directory .*missing: does not exist/);
  });

  const breakages: Array<[string, string, number | null, RegExp]> = [
    ['a YAML syntax error', `${service('a', 10)}---\nmetadata: {name: [x\n`, 2, /YAML syntax error/],
    ['a document that is not an object', `${service('a', 10)}---\n42\n`, 2, /document is not an object/],
    ['a missing kind', 'apiVersion: v1\nmetadata: {name: a}\n', 1, /kind is missing/],
    ['an unknown kind', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n', 1, /unknown kind "ConfigMap"/],
    ['a Service port without a number', 'apiVersion: v1\nkind: Service\nmetadata: {name: a, namespace: demo}\nspec: {ports: [{name: http}]}\n', 1, /Service demo\/a: spec.ports\[0\].port is missing/],
    ['an EndpointSlice without its service label', `${service('a', 10)}---\n${slice('a-1', 'a', '10.0.0.1').replace('labels: {kubernetes.io/service-name: a}', 'labels: {}')}`, 2, /kubernetes.io\/service-name"\] is missing/],
    ['a duplicate of an object of another file', `${service('b', 10)}`, 1, /duplicate Service demo\/b: already defined in .*b.yaml \(document 1\)/],
  ];
  for (const [what, text, document, reason] of breakages) {
    it(`keeps a file's last good content on ${what}, while other files still update`, async () => {
      const a = await write('a.yaml', service('a', 1));
      await write('b.yaml', service('b', 2));
      const { logger, lines } = capturingLogger();
      const { source, sink } = await started(logger);
      assert.deepEqual(servicePorts(sink.last), { a: 1, b: 2 });

      await write('a.yaml', text);
      await write('b.yaml', service('b', 3));
      const result = await source.reload();
      assert.equal(result.changed, true);
      assert.deepEqual(servicePorts(sink.last), { a: 1, b: 3 }, "a's last good content stays, b's change is served");
      const errors = source.errors();
      assert.equal(errors.length, 1, JSON.stringify(errors));
      assert.equal(errors[0]?.file, a);
      assert.equal(errors[0]?.document, document);
      assert.match(errors[0]?.reason ?? '', reason);
      const logged = lines().filter((l) => l.level === 'warn');
      assert.equal(logged.length, 1, JSON.stringify(logged));
      assert.equal(logged[0]?.file, a);
      assert.equal(logged[0]?.document, document);
      assert.match(String(logged[0]?.reason), reason);

      // Reloading without a change neither reports nor logs again.
      const calls = sink.calls.length;
      assert.equal((await source.reload()).changed, false);
      assert.equal(sink.calls.length, calls);
      assert.equal(lines().filter((l) => l.level === 'warn').length, 1);

      await write('a.yaml', service('a', 4));
      await source.reload();
      assert.deepEqual(servicePorts(sink.last), { a: 4, b: 3 });
      assert.deepEqual(source.errors(), []);
      assert.ok(lines().some((l) => l.message === 'config file is valid again' && l.file === a));
    });
  }

  it('drops the objects of a deleted file, and its errors', async () => {
    await write('a.yaml', service('a', 1));
    const b = await write('b.yaml', service('b', 2));
    const { source, sink } = await started();
    await write('b.yaml', 'kind: [');
    await source.reload();
    assert.equal(source.errors().length, 1);
    await fsp.rm(b);
    await source.reload();
    assert.deepEqual(servicePorts(sink.last), { a: 1 });
    assert.deepEqual(source.errors(), []);
  });

  it('serves a file that waited on a duplicate name once the other file lets go of it', async () => {
    const a = await write('a.yaml', service('shared', 1));
    const { source, sink } = await started();
    const c = await write('c.yaml', `${service('shared', 2)}---\n${service('only-c', 3)}`);
    await source.reload();
    assert.deepEqual(servicePorts(sink.last), { shared: 1 }, 'c.yaml is rejected as a whole');
    assert.deepEqual(source.errors().map((e) => [e.file, e.document]), [[c, 1]]);
    await fsp.rm(a);
    await source.reload();
    assert.deepEqual(servicePorts(sink.last), { shared: 2, 'only-c': 3 });
    assert.deepEqual(source.errors(), []);
  });

  it('on a first load, the first file in path order owns a duplicated name', async () => {
    await write('b.yaml', service('x', 2));
    await write('a.yaml', service('x', 1));
    const { source, sink } = await started();
    assert.deepEqual(servicePorts(sink.last), { x: 1 });
    assert.deepEqual(source.errors().map((e) => path.basename(e.file)), ['b.yaml']);
  });

  it('a file that never was valid contributes nothing', async () => {
    const bad = await write('bad.yaml', 'apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {ports: [{}]}\n');
    await write('good.yaml', service('g', 1));
    const { source, sink } = await started();
    assert.deepEqual(servicePorts(sink.last), { g: 1 });
    assert.deepEqual(source.errors().map((e) => e.file), [bad]);
  });

  it('loadConfigDir loads once and returns the objects and errors', async () => {
    await write('a.yaml', service('a', 1));
    await write('b.yaml', '- not an object\n');
    const { objects, errors } = await loadConfigDir(dir, silentLogger());
    assert.deepEqual(servicePorts(objects), { a: 1 });
    assert.equal(errors.length, 1);
    assert.match(errors[0]?.reason ?? '', /document is not an object/);
  });

  describe('watching', () => {
    let store: SnapshotStore;
    afterEach(async () => { await store?.stop(); });

    async function watched(): Promise<ConfigDirSource> {
      const source = new ConfigDirSource(dir, silentLogger(), { coalesceMs: 20 });
      store = new SnapshotStore({ logger: silentLogger(), quietMs: 10 });
      await store.start([source]);
      return source;
    }

    it('publishes a snapshot after a file changes, appears or is deleted', async () => {
      await write('a.yaml', `${service('a', 1)}---\n${slice('a-1', 'a', '10.0.0.1')}`);
      await watched();
      assert.deepEqual(store.current().endpoints.get('a.demo')?.map((e) => e.address), ['10.0.0.1']);

      let next = store.next((s) => s.endpoints.get('a.demo')?.[0]?.address === '10.0.0.2');
      await write('a.yaml', `${service('a', 1)}---\n${slice('a-1', 'a', '10.0.0.2')}`);
      await next;

      next = store.next((s) => s.services.has('b.demo'));
      await write('new/dir/b.yaml', service('b', 2));
      await next;

      next = store.next((s) => !s.services.has('a.demo'));
      await fsp.rm(path.join(dir, 'a.yaml'));
      const s = await next;
      assert.deepEqual([...s.services.keys()], ['b.demo']);
    });

    it("picks up an editor's write-to-temp-and-rename as one change, never loading the temp file", async () => {
      await write('a.yaml', service('a', 1));
      const source = await watched();
      const reloads: boolean[] = [];
      source.onReload((r) => reloads.push(r.changed));
      const next = store.next((s) => s.services.get('a.demo')?.ports[0]?.port === 2);
      await write('.a.yaml.swp', service('a', 2));
      await fsp.rename(path.join(dir, '.a.yaml.swp'), path.join(dir, 'a.yaml'));
      const s = await next;
      assert.equal(s.version, 2, 'one snapshot for the whole save');
      assert.equal(reloads.filter((c) => c).length, 1, `reloads: ${JSON.stringify(reloads)}`);
    });

    it('keeps noticing saves by rename, one after another, in the root and in subdirectories', async () => {
      // Node 20's recursive fs.watch on Linux loses the file after the first rename; this guards
      // the per-directory watchers that replaced it.
      await write('a.yaml', service('a', 1));
      await write('sub/b.yaml', service('b', 1));
      await watched();
      for (let port = 2; port <= 5; port++) {
        for (const [rel, name] of [['a.yaml', 'a'], ['sub/b.yaml', 'b']] as const) {
          const next = store.next((s) => s.services.get(`${name}.demo`)?.ports[0]?.port === port);
          const tmp = path.join(dir, path.dirname(rel), `.${name}.tmp`);
          await fsp.writeFile(tmp, service(name, port));
          await fsp.rename(tmp, path.join(dir, rel));
          await next;
        }
      }
      const next = store.next((s) => s.services.has('c.demo'));
      await write('later/deeper/.c.tmp', service('c', 1));
      await fsp.rename(path.join(dir, 'later/deeper/.c.tmp'), path.join(dir, 'later/deeper/c.yaml'));
      await next;
    });

    it('reports a broken save and keeps serving the last good content', async () => {
      await write('a.yaml', service('a', 1));
      await write('b.yaml', service('b', 1));
      const source = await watched();
      const broken = new Promise<void>((resolve) => {
        const off = source.onReload((r) => { if (r.errors.length > 0) { off(); resolve(); } });
      });
      await write('a.yaml', 'apiVersion: v1\nkind: Service\nmetadata: {name: a, namespace: demo}\nspec: {ports: [{name: http}]}\n');
      await broken;
      assert.match(source.errors()[0]?.reason ?? '', /port is missing/);
      const next = store.next((s) => s.services.get('b.demo')?.ports[0]?.port === 2);
      await write('b.yaml', service('b', 2));
      const s = await next;
      assert.equal(s.services.get('a.demo')?.ports[0]?.port, 1);
    });
  });
});
