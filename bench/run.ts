// `npm run bench [-- --quick] [-- options]`: runs the benchmarks against the built binary on
// free local ports, prints a markdown table and writes it as JSON to bench/results/.
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { renderProfile, summarizeProfile } from './profile.js';
import { renderMarkdown, type BenchReport } from './report.js';
import { REPO_ROOT } from './server-process.js';
import { runIdentityBench, type IdentityResult } from './identity-bench.js';
import { runRegistryBurst, type RegistryBurstResult } from './registry-burst.js';
import { runWebhookBench, type WebhookResult } from './webhook-bench.js';
import { runXdsBench } from './xds-bench.js';
import { runScaleOutBench, type ScaleOutResult } from './scale-out-bench.js';
import { runVsIstiod } from './istiod/vs-istiod.js';
import { runFileEditBench } from './file-edit-bench.js';
import { DEFAULT_MIX, parseMix, PILOTFISH_MIX } from './workload.js';

const HELP = `Usage: npm run bench -- [options]
  --quick                    small subset (< 2 min): 10 endpoints/service, 100 and 500 proxies
  --proxies 100,500,1000,2000
  --endpoints 1,10,50        endpoints per service (one server per value); 1000 services by default
  --services N --namespaces N --reps N (endpoint changes per level) --new-services N
  --streams-per-connection N (default 1: one HTTP/2 connection per proxy, as real proxies)
  --workers N                proxy worker processes (default 4)
  --proxy-nice N             run the proxy workers at nice N (default 0): above 0 the server gets the cores
                             first when both want them, as on a machine of its own (the xDS levels)
  --mix sotw=S,delta=D,grpc=G shares of the proxy kinds (default sotw=0.4,delta=0.4,grpc=0.2); the full
                             matrix also runs 2,000 proxies with sotw=0.1,delta=0.7,grpc=0.2 (what a
                             pilotfish mesh runs: its injected sidecars speak Delta) at 10 endpoints
  --scoped-proxies 2000,10000  proxy counts of the scoped level (its own server: a TrafficScope per namespace naming
                             its own Services and two shared ones, --default-scope namespace; 10 endpoints/service),
                             with pilotfish's mix (sotw=0.1,delta=0.7,grpc=0.2), and at the largest count once more
                             with the SotW-heavy default mix (the stress case); --mix runs the given mix alone
  --no-scoped                skip the scoped level
  --no-unscoped              run only the scoped level of the xDS part (no server per --endpoints value)
  --cpu-prof                 write a V8 CPU profile of the server per scale (and of the webhook) to bench/results/profiles/
  --no-xds | --no-webhook | --no-identity | --no-scale-out | --no-registry   skip a part (identity: CA signing rate,
                             the pod agent's RSS and CPU; scale-out: 3 replicas, one killed and brought back;
                             registry: 10,000 registrations into one service from 8 clients, /healthz sampled)
  --out DIR                  results directory (default bench/results)
  --vs istiod                only the side-by-side comparison with istiod (builds it once, ~17 min;
                             bench/istiod/): levels 100, 500, 2,000 proxies (--quick: 100, 500)
  --file-edits               only file edit -> push start, pilotfish alone, through the comparison's file path (a
                             namespace's file rewritten in place with one more endpoint): --proxies (default 500),
                             --reps (default 30); writes bench/results/latest-file-edits.{md,json}
`;

/** A 1-minute load average above this at the start means the cores are not free. */
const BUSY_LOAD = 0.5;

function list(v: string | undefined, fallback: number[]): number[] {
  if (v === undefined) return fallback;
  const out = v.split(',').map((x) => Number(x.trim()));
  if (out.some((n) => !Number.isInteger(n) || n <= 0)) throw new Error(`not a list of positive integers: ${v}`);
  return out;
}

function int(v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`not a non-negative integer: ${v}`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      proxies: { type: 'string' }, endpoints: { type: 'string' }, services: { type: 'string' },
      namespaces: { type: 'string' }, reps: { type: 'string' }, 'new-services': { type: 'string' },
      'streams-per-connection': { type: 'string' }, workers: { type: 'string' }, mix: { type: 'string' },
      'proxy-nice': { type: 'string' },
      'scoped-proxies': { type: 'string' }, 'no-scoped': { type: 'boolean', default: false },
      'no-unscoped': { type: 'boolean', default: false },
      'cpu-prof': { type: 'boolean', default: false }, 'no-xds': { type: 'boolean', default: false },
      'no-webhook': { type: 'boolean', default: false }, 'no-identity': { type: 'boolean', default: false },
      'no-scale-out': { type: 'boolean', default: false }, 'no-registry': { type: 'boolean', default: false },
      out: { type: 'string' }, help: { type: 'boolean', default: false }, vs: { type: 'string' },
      'file-edits': { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  const quick = values.quick === true;
  const outDir = path.resolve(values.out ?? path.join(REPO_ROOT, 'bench/results'));
  const profDir = values['cpu-prof'] ? path.join(outDir, 'profiles') : undefined;
  if (profDir) {
    await mkdir(profDir, { recursive: true });
    // Only this run's profiles are summarised at the end.
    for (const f of await readdir(profDir)) if (f.endsWith('.cpuprofile')) await rm(path.join(profDir, f));
  }
  const log = (line: string): void => { process.stderr.write(`${line}\n`); };
  if (values.vs !== undefined) {
    if (values.vs !== 'istiod') throw new Error(`--vs: only istiod can be compared with (got ${values.vs})`);
    await runVsIstiod({
      quick, outDir, log, proxyCounts: values.proxies === undefined ? undefined : list(values.proxies, []),
      services: int(values.services, 1000), namespaces: int(values.namespaces, 10),
      endpointsPerService: values.endpoints === undefined ? undefined : list(values.endpoints, [10])[0],
      reps: values.reps === undefined ? undefined : int(values.reps, 5), workers: int(values.workers, 4),
      mix: values.mix === undefined ? undefined : parseMix(values.mix),
    });
    return;
  }
  if (values['file-edits']) {
    await runFileEditBench({
      proxyCounts: list(values.proxies, [500]), services: int(values.services, 1000), namespaces: int(values.namespaces, 10),
      endpointsPerService: list(values.endpoints, [10])[0] ?? 10, reps: int(values.reps, 30), workers: int(values.workers, 4), outDir, log,
    });
    return;
  }
  const started = Date.now();
  // The figures assume the cores are free: another job, or a run that just ended (this VM stays
  // 30-50 % slower for minutes after sustained load), makes every latency worse.
  const loadAtStart = os.loadavg();
  if (loadAtStart[0] > BUSY_LOAD) {
    log(`warning: the machine is busy (load average ${loadAtStart.map((x) => x.toFixed(2)).join(' ')}); ` +
      'figures will be slower than on an idle machine; for comparable results wait until the 1-minute load average is below ' +
      `${BUSY_LOAD}`);
  }

  const proxyCounts = list(values.proxies, quick ? [100, 500] : [100, 500, 1000, 2000]);
  const endpointsPerService = values['no-unscoped'] ? [] : list(values.endpoints, quick ? [10] : [1, 10, 50]);
  const mix = values.mix === undefined ? DEFAULT_MIX : parseMix(values.mix);
  // The extra level with pilotfish's own mix belongs to the full matrix (and to any run that asks
  // for 2,000 proxies at 10 endpoints with the default mix), not to --quick.
  const extra = !quick && values.mix === undefined && proxyCounts.includes(2000) && endpointsPerService.includes(10);
  const xdsOptions = {
    proxyCounts,
    endpointsPerService,
    mix,
    extraLevel: extra ? { endpointsPerService: 10, proxies: 2000, mix: PILOTFISH_MIX } : undefined,
    services: int(values.services, 1000),
    namespaces: int(values.namespaces, 10),
    routeEvery: 20,
    edsReps: int(values.reps, quick ? 3 : 5),
    newServiceReps: int(values['new-services'], 1),
    streamsPerConnection: int(values['streams-per-connection'], 1),
    workers: int(values.workers, 4),
    proxyNice: int(values['proxy-nice'], 0),
    quietMs: 300,
    cpuProfDir: profDir,
    log,
    // The scoped level runs what a pilotfish mesh runs (injected sidecars speak Delta), and at its
    // largest count the SotW-heavy stress mix as well; --mix runs that mix alone.
    ...(values['no-scoped'] ? {} : {
      scoped: {
        proxyCounts: list(values['scoped-proxies'], quick ? [1000] : [2000, 10000]), endpointsPerService: 10,
        mix: values.mix === undefined ? PILOTFISH_MIX : mix, ...(values.mix === undefined && !quick ? { stressMix: DEFAULT_MIX } : {}),
      },
    }),
  };
  // The webhook first: it is short, and on this VM a few minutes of both cores at full load
  // (the xDS part) leave the next minute ~30-40 % slower, which a throughput figure would show.
  let webhook: WebhookResult | undefined;
  if (!values['no-webhook']) webhook = await runWebhookBench({ quick, log, cpuProfDir: profDir });
  // Short and light (one core at most), so it runs before the xDS part too.
  const identity: IdentityResult | undefined = values['no-identity'] ? undefined : await runIdentityBench({ quick, log });
  // Short (seconds) and without proxies: before the xDS part, for the same reason.
  const registry: RegistryBurstResult | undefined = values['no-registry']
    ? undefined
    : await runRegistryBurst({ registrations: 10_000, clients: 8, log, ...(profDir !== undefined ? { cpuProfDir: profDir } : {}) });
  const xds = values['no-xds'] ? [] : await runXdsBench(xdsOptions);
  // Three replicas and their proxies on the same 2 cores: a small mesh and a shortened maximum
  // connection age keep it to about a minute.
  const scaleOut: ScaleOutResult | undefined = values['no-scale-out'] ? undefined : await runScaleOutBench({
    replicas: 3, proxies: quick ? 150 : 300, services: 100, namespaces: 10, endpointsPerService: 10,
    maxAgeSeconds: quick ? 10 : 15, workers: 2, log,
  });

  const report: BenchReport = {
    startedAt: new Date(started).toISOString(),
    durationSeconds: (Date.now() - started) / 1000,
    quick,
    machine: {
      cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? '', memoryBytes: os.totalmem(), node: process.version,
      loadAverageAtStart: loadAtStart, loadAverage: os.loadavg(),
    },
    options: { ...xdsOptions, log: undefined, cpuProfDir: profDir ? path.relative(REPO_ROOT, profDir) : undefined },
    xds,
    webhook,
    identity,
    ...(scaleOut ? { scaleOut } : {}),
    registry,
  };
  let markdown = renderMarkdown(report);
  if (profDir) {
    // The server's CPU profiles (one per endpoint scale), summarised: where the time went.
    const files = (await readdir(profDir)).filter((f) => f.endsWith('.cpuprofile')).sort();
    const parts = ['### Server CPU profiles', ''];
    for (const f of files) {
      parts.push(renderProfile(await summarizeProfile(path.join(profDir, f), 15)));
      // The xDS server's pushes run under `apply`; the webhook has no such root.
      if (!f.startsWith('webhook-')) parts.push(renderProfile(await summarizeProfile(path.join(profDir, f), 12, 'apply')));
    }
    markdown += `\n${parts.join('\n')}`;
  }
  process.stdout.write(markdown);
  await mkdir(outDir, { recursive: true });
  const stamp = report.startedAt.replace(/[:.]/g, '-');
  const json = JSON.stringify(report, null, 2) + '\n';
  // A scoped-only run is kept apart from the full matrix's latest results.
  const kind = values['no-unscoped'] ? '-scoped' : quick ? '-quick' : '';
  await writeFile(path.join(outDir, `${stamp}${kind}.json`), json);
  await writeFile(path.join(outDir, `latest${kind}.json`), json);
  await writeFile(path.join(outDir, `latest${kind}.md`), markdown);
  log(`results written to ${path.relative(process.cwd(), outDir)}/ in ${report.durationSeconds.toFixed(0)} s`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exitCode = 1;
});
