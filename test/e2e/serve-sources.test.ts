// End to end, the built `pilotfish serve` with inputs that used to take it down or lose state: a
// config directory holding an alias bomb, a circular alias and a 50 MiB file next to good files, and
// a registry with a state file killed with SIGKILL and started again.
import assert from 'node:assert/strict';
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PilotfishProcess, type LogLine } from '../support/pilotfish-process.js';

interface ModelService { key: string; ports: string[]; endpoints: number }

function service(name: string, port: number): string {
  return `apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: e2e }
spec:
  ports: [{ name: grpc, port: ${port} }]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: ${name}-1, namespace: e2e, labels: { kubernetes.io/service-name: ${name} } }
addressType: IPv4
ports: [{ name: grpc, port: 9000 }]
endpoints: [{ addresses: ["127.0.0.1"] }]
`;
}

/** The served model's services, once `pred` holds (checked after every published snapshot). */
async function modelWhen(pf: PilotfishProcess, base: string, pred: (services: ModelService[]) => boolean, what: string): Promise<ModelService[]> {
  for (;;) {
    const since = pf.logs.length;
    const model = await (await fetch(`${base}/debug/model`)).json() as { services: ModelService[] };
    if (pred(model.services)) return model.services;
    await pf.waitForLogAfter(since, (l: LogLine) => l.message === 'snapshot published', what);
  }
}

describe('e2e: serve keeps serving through bad config files', function () {
  this.timeout(120_000);
  let dir: string;
  let pf: PilotfishProcess;

  after(async () => {
    const code = pf ? await pf.stop('SIGTERM') : 0;
    if (dir) await rm(dir, { recursive: true, force: true });
    assert.equal(code, 0);
  });

  it('starts with an alias bomb, a circular alias and a 50 MiB file present, serves the rest, logs each bad file, applies edits', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'pilotfish-e2e-bad-'));
    await writeFile(path.join(dir, 'web.yaml'), service('web', 50051));
    await writeFile(path.join(dir, 'api.yaml'), service('api', 50052));
    const levels = ['a0: &a0 [x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 10; i++) levels.push(`a${i}: &a${i} [${Array.from({ length: 9 }, () => `*a${i - 1}`).join(', ')}]`);
    const bomb = path.join(dir, 'bomb.yaml');
    await writeFile(bomb, `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bomb, namespace: e2e}\ndata:\n${levels.map((l) => `  ${l}`).join('\n')}\n`);
    const circular = path.join(dir, 'circular.yaml');
    await writeFile(circular, 'apiVersion: v1\nkind: Service\nmetadata: &m {name: loop, namespace: e2e, labels: {self: *m}}\nspec: {}\n');
    const big = path.join(dir, 'big.yaml');
    const handle = await open(big, 'w');
    const chunk = Buffer.from('- [unclosed\n'.repeat(87_382)); // ~1 MiB of invalid YAML
    for (let i = 0; i < 50; i++) await handle.write(chunk);
    await handle.close();

    pf = PilotfishProcess.start(['serve', '--config-dir', dir, '--xds-address', '127.0.0.1:0', '--http-address', '127.0.0.1:0', '--log-level', 'debug']);
    const { httpAddress } = await pf.serving();
    const base = `http://${httpAddress}`;
    const services = await modelWhen(pf, base, () => true, 'a snapshot');
    assert.deepEqual(services.map((s) => [s.key, s.ports, s.endpoints]).sort(), [
      ['api.e2e', ['grpc:50052/grpc'], 1], ['web.e2e', ['grpc:50051/grpc'], 1],
    ]);
    for (const [file, reason] of [[bomb, /cannot read the document: Excessive alias count/], [circular, /circular alias at metadata.labels.self/],
      [big, /file is 52\d+ bytes, over the limit of 4194304 bytes \(--max-config-file-bytes\); not read/]] as const) {
      const line = pf.logs.find((l) => l.level === 'warn' && l.file === file);
      assert.ok(line, `no warning names ${file}`);
      assert.match(String(line.reason), reason);
    }

    await writeFile(path.join(dir, 'api.yaml'), service('api', 60052));
    await modelWhen(pf, base, (s) => s.find((x) => x.key === 'api.e2e')?.ports[0] === 'grpc:60052/grpc', 'the edit of api.yaml');
    await writeFile(path.join(dir, 'new.yaml'), service('new', 50053));
    await modelWhen(pf, base, (s) => s.some((x) => x.key === 'new.e2e'), 'the new file');
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
  });
});

describe('e2e: the registry after kill -9', function () {
  this.timeout(120_000);
  let dir: string;
  const processes: PilotfishProcess[] = [];

  after(async () => {
    for (const p of processes) await p.stop('SIGKILL');
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  function start(stateFile: string): PilotfishProcess {
    const pf = PilotfishProcess.start(['serve', '--xds-address', '127.0.0.1:0', '--http-address', '127.0.0.1:0', '--log-level', 'debug',
      '--registry-state-file', stateFile]);
    processes.push(pf);
    return pf;
  }

  it('brings back every registered endpoint', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'pilotfish-e2e-registry-'));
    const stateFile = path.join(dir, 'registry.json');
    const first = start(stateFile);
    const base = `http://${(await first.serving()).httpAddress}`;
    const bodies = [
      { address: '10.0.0.1', port: 8080, service: 'greeter', zone: 'a' },
      { address: '10.0.0.2', port: 8080, service: 'greeter', labels: { version: 'v2' } },
      { address: '10.0.0.3', port: 9090, service: 'shop', namespace: 'store', servicePort: 9090 },
      { address: '10.0.0.4', port: 8080, service: 'greeter' },
    ];
    for (const body of bodies) {
      const res = await fetch(`${base}/registry/endpoints`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      assert.equal(res.status, 201, await res.text());
    }
    const removed = await fetch(`${base}/registry/endpoints?address=10.0.0.4&port=8080&service=greeter`, { method: 'DELETE' });
    assert.equal(removed.status, 200, await removed.text());
    const before = await (await fetch(`${base}/registry/endpoints`)).json() as { endpoints: unknown[] };
    assert.equal(before.endpoints.length, 3);
    assert.equal(await first.stop('SIGKILL'), null, 'killed, not exited');

    const second = start(stateFile);
    const again = `http://${(await second.serving()).httpAddress}`;
    const after = await (await fetch(`${again}/registry/endpoints`)).json() as { endpoints: unknown[] };
    assert.deepEqual(after, before);
    const services = await modelWhen(second, again, () => true, 'a snapshot');
    assert.deepEqual(services.map((s) => [s.key, s.endpoints]).sort(), [['greeter.default', 2], ['shop.store', 1]]);
    assert.ok(second.logs.some((l) => l.message === 'registry state loaded' && l.endpoints === 3));
  });

  it('takes 10,000 registrations into one service while /healthz stays responsive (figures reported)', async function () {
    // Seconds on a quiet machine; minutes when other jobs share the cores. Only a hang should fail it.
    this.timeout(600_000);
    const pf = start(path.join(dir, 'scale.json'));
    const base = `http://${(await pf.serving()).httpAddress}`;
    const cpu = async (): Promise<number> => {
      // utime + stime of the server, in clock ticks (100 per second on Linux).
      const fields = (await readFile(`/proc/${pf.child.pid}/stat`, 'utf8')).split(') ')[1]?.split(' ') ?? [];
      return (Number(fields[11]) + Number(fields[12])) / 100;
    };
    let done = false;
    let maxHealthz = 0;
    const healthz = (async () => {
      while (!done) {
        const t = performance.now();
        assert.equal((await fetch(`${base}/healthz`)).status, 200);
        maxHealthz = Math.max(maxHealthz, performance.now() - t);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();
    const cpuBefore = await cpu();
    const started = performance.now();
    await Promise.all(Array.from({ length: 8 }, async (_, w) => {
      for (let i = w; i < 10_000; i += 8) {
        const res = await fetch(`${base}/registry/endpoints`, {
          method: 'POST', headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ address: `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`, port: 8080, service: 'big' }),
        });
        assert.equal(res.status, 201, await res.text());
      }
    }));
    const total = performance.now() - started;
    const serverCpu = await cpu() - cpuBefore;
    await modelWhen(pf, base, (s) => s.some((x) => x.key === 'big.default' && x.endpoints === 10_000), 'all 10,000 endpoints');
    done = true;
    await healthz;
    const load = (await readFile('/proc/loadavg', 'utf8')).split(' ')[0];
    console.log(`      10,000 registrations into one service over HTTP (8 clients, state file on): ${(total / 1000).toFixed(1)} s, `
      + `server CPU ${serverCpu.toFixed(1)} s; max /healthz latency ${maxHealthz.toFixed(0)} ms; load average ${load}`);
  });
});
