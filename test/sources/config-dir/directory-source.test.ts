import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { ConfigDirSource, loadConfigDir, type ConfigDirOptions } from '../../../src/sources/config-dir/directory-source.js';
import type { ObjectSet } from '../../../src/sources/objects.js';
import { parseConfigText, type DocumentReuse, type ParsedText } from '../../../src/sources/config-dir/parse-file.js';
import { SnapshotStore } from '../../../src/store/snapshot-store.js';
import { createLogger, silentLogger, type Logger } from '../../../src/logging.js';
import { ManualTimers } from '../../support/manual-timers.js';

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

/** A Service and its EndpointSlice as generated manifests often are: one JSON object per document. */
function jsonService(name: string, port: number, namespace = 'demo'): string {
  return `${JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, spec: { ports: [{ name: 'http', port }] } })}\n`;
}

function jsonSlice(name: string, service: string, addresses: readonly string[], namespace = 'demo'): string {
  return `${JSON.stringify({
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name, namespace, labels: { 'kubernetes.io/service-name': service } },
    addressType: 'IPv4', ports: [{ name: 'http', port: 8080 }], endpoints: addresses.map((a) => ({ addresses: [a] })),
  })}\n`;
}

/** Nine levels of nine aliases each: 9^9 nodes if expanded. */
function aliasBomb(): string {
  const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x]'];
  for (let i = 1; i < 10; i++) lines.push(`a${i}: &a${i} [${Array.from({ length: 9 }, () => `*a${i - 1}`).join(', ')}]`);
  return `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bomb}\ndata:\n${lines.map((l) => `  ${l}`).join('\n')}\n`;
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
    const source = new ConfigDirSource(dir, logger, { watch: false, maxFileBytes: 1024 });
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
    ['an unknown kind of pilotfish\'s API group', 'apiVersion: routing.pilotfish.io/v1alpha1\nkind: TrafficRoot\nmetadata: {name: a}\n', 1, /unknown kind "TrafficRoot"/],
    ['a Service port without a number', 'apiVersion: v1\nkind: Service\nmetadata: {name: a, namespace: demo}\nspec: {ports: [{name: http}]}\n', 1, /Service demo\/a: spec.ports\[0\].port is missing/],
    ['an EndpointSlice without its service label', `${service('a', 10)}---\n${slice('a-1', 'a', '10.0.0.1').replace('labels: {kubernetes.io/service-name: a}', 'labels: {}')}`, 2, /kubernetes.io\/service-name"\] is missing/],
    ['a duplicate of an object of another file', `${service('b', 10)}`, 1, /duplicate Service demo\/b: already defined in .*b.yaml \(document 1\)/],
    ['an alias bomb', aliasBomb(), 1, /cannot read the document: .*[Ee]xcessive alias count/],
    ['a circular alias', 'apiVersion: v1\nkind: Service\nmetadata: &m {name: a, namespace: demo, labels: {self: *m}}\nspec: {}\n', 1, /circular alias at metadata.labels.self/],
    ['a file over the size limit', `# ${'x'.repeat(2048)}\n${service('a', 10)}`, null, /file is \d+ bytes, over the limit of 1024 bytes \(--max-config-file-bytes\); not read/],
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

  it('refuses a 50 MiB file from its size, naming it, and serves the other files', async () => {
    await write('a.yaml', service('a', 1));
    const big = path.join(dir, 'big.yaml');
    // Sparse: 50 MiB of size without writing 50 MiB.
    const handle = await fsp.open(big, 'w');
    await handle.truncate(50 * 1024 * 1024);
    await handle.close();
    const source = new ConfigDirSource(dir, silentLogger(), { watch: false });
    sources.push(source);
    const sink = new RecordingSink();
    await source.start(sink);
    assert.deepEqual(servicePorts(sink.last), { a: 1 });
    assert.deepEqual(source.errors(), [{
      file: big, document: null, reason: 'file is 52428800 bytes, over the limit of 4194304 bytes (--max-config-file-bytes); not read',
    }]);
  });

  it('starts with an alias bomb, a circular alias and an oversized file present, reporting each by path', async () => {
    const bomb = await write('bomb.yaml', aliasBomb());
    const circular = await write('circular.yaml', 'apiVersion: v1\nkind: Service\nmetadata: &m {name: c, namespace: demo}\nspec: {ports: *m, selector: {x: *m}}\n');
    const big = await write('big.yaml', `# ${'x'.repeat(4096)}\n`);
    await write('good.yaml', service('good', 1));
    const { logger, lines } = capturingLogger();
    const { source, sink } = await started(logger);
    assert.deepEqual(servicePorts(sink.last), { good: 1 });
    assert.deepEqual(source.errors().map((e) => [path.basename(e.file), e.document]), [['big.yaml', null], ['bomb.yaml', 1], ['circular.yaml', 1]]);
    const warned = new Set(lines().filter((l) => l.level === 'warn').map((l) => l.file));
    assert.deepEqual(warned, new Set([bomb, circular, big]));
  });

  it('skips kinds pilotfish does not use with one debug line each, serving the rest of the manifest', async () => {
    const file = await write('app.yaml', `apiVersion: v1
kind: Namespace
metadata: {name: demo}
---
${service('web', 80)}---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: demo}
spec: {replicas: 2}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: web, namespace: demo}
data: {a: b}
`);
    const { logger, lines } = capturingLogger();
    const { source, sink } = await started(logger);
    assert.deepEqual(source.errors(), []);
    assert.deepEqual(servicePorts(sink.last), { web: 80 });
    assert.equal(sink.last.namespaces.length, 1);
    const skipped = lines().filter((l) => l.message === 'skipping a kind pilotfish does not use');
    assert.deepEqual(skipped.map((l) => [l.level, l.file, l.document, l.kind]), [['debug', file, 3, 'Deployment'], ['debug', file, 4, 'ConfigMap']]);
  });

  it('keeps the last good content of a file emptied for a rewrite; deleting the file removes it', async () => {
    const a = await write('a.yaml', service('a', 1));
    const { source, sink } = await started();
    await write('a.yaml', '');
    await source.reload();
    assert.deepEqual(servicePorts(sink.last), { a: 1 });
    assert.match(source.errors()[0]?.reason ?? '', /file is empty \(being rewritten\?\); keeping its last good content/);
    await write('a.yaml', service('a', 2));
    await source.reload();
    assert.deepEqual(servicePorts(sink.last), { a: 2 });
    assert.deepEqual(source.errors(), []);
    await fsp.rm(a);
    await source.reload();
    assert.deepEqual(servicePorts(sink.last), {});
  });

  describe('watching', () => {
    let store: SnapshotStore;
    afterEach(async () => { await store?.stop(); });

    async function watched(options: ConfigDirOptions = {}): Promise<ConfigDirSource> {
      const source = new ConfigDirSource(dir, silentLogger(), { settleMs: 20, ...options });
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

    it("editors' probe, swap, backup and temp files cost no listing and no read; a temp file renamed onto a config file applies", async () => {
      await write('a.yaml', service('a', 1));
      await write('sub/b.yaml', service('b', 1));
      const io: string[] = [];
      await watched({ onIo: (what, p) => io.push(`${what} ${path.relative(dir, p) || '.'}`) });
      io.length = 0;
      for (const d of ['', 'sub/']) {
        // vim's probe (created and removed at once), a swap file, a backup, a writer's temp file.
        await write(`${d}4913`, '');
        await fsp.rm(path.join(dir, `${d}4913`));
        await write(`${d}.a.yaml.swp`, 'swap');
        await write(`${d}a.yaml~`, service('a', 9));
        await write(`${d}notes.tmp`, 'tmp');
      }
      // Events of one folder arrive in order, and this file's last document is YAML, so it is
      // applied only once settled: after a listing any of the names above would have caused.
      let next = store.next((s) => s.services.has('c.demo'));
      await write('c.yaml', service('c', 1));
      await next;
      assert.deepEqual([...new Set(io)], ['read c.yaml'], 'only the config file written is read; the tree is not listed');

      for (const [rel, name] of [['a.yaml', 'a'], ['sub/b.yaml', 'b']] as const) {
        io.length = 0;
        next = store.next((s) => s.services.get(`${name}.demo`)?.ports[0]?.port === 2);
        await write(`${rel}.tmp`, service(name, 2));
        await fsp.rename(path.join(dir, `${rel}.tmp`), path.join(dir, rel));
        await next;
        assert.deepEqual([...new Set(io)], [`read ${rel}`], `the rename onto ${rel} reads it, and only it`);
      }
      assert.equal(store.current().services.get('a.demo')?.ports[0]?.port, 2, 'a.yaml~ was never loaded');

      // Folders still count: one renamed is listed again, its file served from the new place.
      io.length = 0;
      next = store.next((s) => s.services.get('b.demo')?.ports[0]?.port === 3);
      await fsp.rename(path.join(dir, 'sub'), path.join(dir, 'moved'));
      await write('moved/b.yaml', service('b', 3));
      await next;
      assert.ok(io.includes('list .'), JSON.stringify(io));
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

    it('an edit reads and parses only the changed file, once', async () => {
      for (let i = 0; i < 20; i++) await write(`ns-${i}/mesh.yaml`, service(`s${i}`, 1, `ns-${i}`));
      const parsed: string[] = [];
      const parse = (file: string, text: string, previous?: DocumentReuse): ParsedText => {
        parsed.push(path.relative(dir, file));
        return parseConfigText(file, text, previous);
      };
      await watched({ parse });
      assert.equal(parsed.length, 20, 'the initial scan parses every file once');
      parsed.length = 0;
      for (let port = 2; port <= 4; port++) {
        const next = store.next((s) => s.services.get('s7.ns-7')?.ports[0]?.port === port);
        await write('ns-7/mesh.yaml', service('s7', port, 'ns-7'));
        await next;
      }
      assert.deepEqual(parsed, ['ns-7/mesh.yaml', 'ns-7/mesh.yaml', 'ns-7/mesh.yaml']);
    });

    it("starts the store's quiet period at the write: settling and reading overlap the debounce", async () => {
      await write('a.yaml', service('a', 1));
      const timers = new ManualTimers();
      let announced: () => void = () => undefined;
      const seen = new Promise<void>((resolve) => { announced = resolve; });
      // The store as the source sees it, noting when the source announces a change.
      class ObservedStore extends SnapshotStore {
        override changeComing(source: string): void {
          super.changeComing(source);
          announced();
        }
      }
      const source = new ConfigDirSource(dir, silentLogger(), { settleMs: 20 });
      store = new ObservedStore({ logger: silentLogger(), quietMs: 100, timers });
      await store.start([source]);
      const arrived = new Promise<void>((resolve) => {
        const off = source.onReload((r) => { if (r.changed) { off(); resolve(); } });
      });
      await write('a.yaml', service('a', 2));
      await seen;
      timers.advance(80);
      await arrived;
      assert.equal(store.current().services.get('a.demo')?.ports[0]?.port, 1, 'not before the quiet period is over');
      timers.advance(20);
      assert.equal(store.current().services.get('a.demo')?.ports[0]?.port, 2,
        'published 100 ms after the write was seen; a quiet period counted from the content would end at 180');
    });

    it('a file rewritten in place (truncate, then write in parts) never withdraws its objects', async () => {
      await write('a.yaml', `${service('a', 1)}---\n${slice('a-1', 'a', '10.0.0.1')}`);
      await write('b.yaml', service('b', 1));
      // Pauses in the write longer than the store's quiet time (10 ms), shorter than the settle window.
      const source = await watched({ settleMs: 100 });
      const missing: number[] = [];
      const off = store.subscribe((s) => {
        if (!s.services.has('a.demo') || (s.endpoints.get('a.demo')?.length ?? 0) === 0) missing.push(s.version);
      });
      try {
        for (let port = 2; port <= 11; port++) {
          const next = store.next((s) => s.services.get('a.demo')?.ports[0]?.port === port);
          const text = `${service('a', port)}---\n${slice('a-1', 'a', '10.0.0.1')}`;
          const cut = text.indexOf('---');
          const handle = await fsp.open(path.join(dir, 'a.yaml'), 'w');
          // A slow writer: empty, then the Service alone (valid YAML!), then the rest.
          await new Promise((resolve) => setTimeout(resolve, 30));
          await handle.write(text.slice(0, cut));
          await new Promise((resolve) => setTimeout(resolve, 30));
          await handle.write(text.slice(cut));
          await handle.close();
          await next;
        }
        // And an edit to the other file still applies.
        const next = store.next((s) => s.services.get('b.demo')?.ports[0]?.port === 2);
        await write('b.yaml', service('b', 2));
        await next;
      } finally {
        off();
      }
      assert.deepEqual(missing, [], 'snapshots without a.yaml\'s objects');
      assert.deepEqual(source.errors(), []);
    });

    describe('before the settle window ends', () => {
      const NOT_WHOLE = 'config file read before it settled is not evidently whole; applying it once settled';
      // A settle window no test waits out: whatever is applied here was applied early.
      const LONG = { settleMs: 600_000, maxSettleMs: 600_000 };
      let lines: Array<Record<string, unknown>>;
      let seen: () => void;

      function loggingSource(options: ConfigDirOptions): ConfigDirSource {
        const stream = new PassThrough();
        lines = [];
        seen = () => undefined;
        let partial = '';
        stream.on('data', (c: Buffer) => {
          const parts = (partial + c.toString()).split('\n');
          partial = parts.pop() ?? '';
          for (const l of parts) if (l !== '') lines.push(JSON.parse(l) as Record<string, unknown>);
          seen();
        });
        return new ConfigDirSource(dir, createLogger('debug', stream), options);
      }

      /** The first log line from index `from` on that matches. */
      function logged(from: number, match: (l: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
        return new Promise((resolve) => {
          const check = (): void => {
            const hit = lines.slice(from).find(match);
            if (hit !== undefined) { seen = () => undefined; resolve(hit); }
          };
          seen = check;
          check();
        });
      }

      it('applies a rewrite whose text shows it is whole as soon as it is quiet, parsing it once', async () => {
        await write('a.yaml', `${jsonService('a', 1)}---\n${jsonSlice('a-1', 'a', ['10.0.0.1'])}`);
        const parsed: string[] = [];
        const parse = (file: string, text: string, previous?: DocumentReuse): ParsedText => {
          parsed.push(path.basename(file));
          return parseConfigText(file, text, previous);
        };
        const source = new ConfigDirSource(dir, silentLogger(), { ...LONG, parse });
        store = new SnapshotStore({ logger: silentLogger(), quietMs: 10 });
        await store.start([source]);
        parsed.length = 0;
        for (let port = 2; port <= 4; port++) {
          const next = store.next((s) => s.services.get('a.demo')?.ports[0]?.port === port && s.endpoints.get('a.demo')?.length === port);
          const addresses = Array.from({ length: port }, (_, i) => `10.0.0.${i + 1}`);
          await write('a.yaml', `${jsonService('a', port)}---\n${jsonSlice('a-1', 'a', addresses)}`);
          await next;
        }
        assert.deepEqual(parsed, ['a.yaml', 'a.yaml', 'a.yaml']);
      });

      it('never applies a rewrite paused after a whole document that leaves out the rest of the file', async () => {
        await write('a.yaml', `${jsonService('a', 1)}---\n${jsonSlice('a-1', 'a', ['10.0.0.1'])}`);
        const source = loggingSource(LONG);
        store = new SnapshotStore({ logger: silentLogger(), quietMs: 10 });
        await store.start([source]);
        const withdrawn: number[] = [];
        const off = store.subscribe((s) => {
          if (!s.services.has('a.demo') || (s.endpoints.get('a.demo')?.length ?? 0) === 0) withdrawn.push(s.version);
        });
        try {
          for (let port = 2; port <= 4; port++) {
            const from = lines.length;
            const applied = store.next((s) => s.services.get('a.demo')?.ports[0]?.port === port).then(() => {
              throw new Error(`the half-written file (port ${port}, no slice) was applied`);
            });
            const handle = await fsp.open(path.join(dir, 'a.yaml'), 'w');
            // The Service alone is whole JSON, and valid: only the missing slice gives it away.
            await handle.write(jsonService('a', port));
            const turnedDown = await Promise.race([
              logged(from, (l) => l.message === NOT_WHOLE && /objects it serves are missing/.test(String(l.reason))), applied,
            ]);
            applied.catch(() => undefined);
            assert.equal(path.basename(String(turnedDown.file)), 'a.yaml');
            assert.equal(store.current().services.get('a.demo')?.ports[0]?.port, port - 1, 'the half-written file was not applied');
            const next = store.next((s) => s.services.get('a.demo')?.ports[0]?.port === port);
            await handle.write(`---\n${jsonSlice('a-1', 'a', ['10.0.0.1'])}`);
            await handle.close();
            await next;
          }
        } finally {
          off();
        }
        assert.deepEqual(withdrawn, [], 'snapshots without a.yaml\'s endpoints');
        assert.deepEqual(source.errors(), []);
      });

      it('leaves a file whose last document is YAML to its settled read', async () => {
        await write('a.yaml', service('a', 1));
        await write('b.yaml', jsonService('b', 1));
        const source = loggingSource(LONG);
        store = new SnapshotStore({ logger: silentLogger(), quietMs: 10 });
        await store.start([source]);
        const from = lines.length;
        await write('a.yaml', service('a', 2));
        const turnedDown = await logged(from, (l) => l.message === NOT_WHOLE);
        assert.match(String(turnedDown.reason), /last document is YAML/);
        // Another file's whole edit still goes through meanwhile.
        const next = store.next((s) => s.services.get('b.demo')?.ports[0]?.port === 2);
        await write('b.yaml', jsonService('b', 2));
        const s = await next;
        assert.equal(s.services.get('a.demo')?.ports[0]?.port, 1, 'the YAML edit waits for its settle window');
      });
    });

    it('a new bad file (alias bomb) does not stop edits to the others', async () => {
      await write('a.yaml', service('a', 1));
      const source = await watched();
      const reported = new Promise<void>((resolve) => {
        const off = source.onReload((r) => { if (r.errors.length > 0) { off(); resolve(); } });
      });
      await write('bomb.yaml', aliasBomb());
      await reported;
      const next = store.next((s) => s.services.get('a.demo')?.ports[0]?.port === 2);
      await write('a.yaml', service('a', 2));
      await next;
      assert.deepEqual(source.errors().map((e) => path.basename(e.file)), ['bomb.yaml']);
    });

    it('follows a ConfigMap volume update (the ..data symlink swapped to a new folder)', async () => {
      await write('..2026_1/a.yaml', service('a', 1));
      await fsp.symlink('..2026_1', path.join(dir, '..data'));
      await fsp.symlink('..data/a.yaml', path.join(dir, 'a.yaml'));
      await watched();
      assert.equal(store.current().services.get('a.demo')?.ports[0]?.port, 1);
      const next = store.next((s) => s.services.get('a.demo')?.ports[0]?.port === 2);
      // What the kubelet does: a new timestamped folder, a new symlink renamed over ..data.
      await write('..2026_2/a.yaml', service('a', 2));
      await fsp.symlink('..2026_2', path.join(dir, '..data_tmp'));
      await fsp.rename(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
      await fsp.rm(path.join(dir, '..2026_1'), { recursive: true });
      await next;
    });
  });
});
