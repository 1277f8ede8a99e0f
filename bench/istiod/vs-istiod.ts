// `npm run bench -- --vs istiod [--quick]`: builds istiod once (bench/istiod/build.sh, cached
// outside the repository), runs the comparison and writes its table and JSON to bench/results/.
// Never part of CI: the first build alone takes ~17 minutes on 2 cores.
import { spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../server-process.js';
import { DEFAULT_MIX, type ProxyMix } from '../workload.js';
import { runComparison, type CompareResult } from './compare.js';
import { renderComparison } from './compare-report.js';

export interface VsIstiodOptions {
  readonly quick: boolean;
  readonly proxyCounts?: readonly number[];
  readonly services: number;
  readonly namespaces: number;
  readonly endpointsPerService?: number;
  readonly reps?: number;
  readonly workers: number;
  readonly mix?: ProxyMix;
  readonly outDir: string;
  readonly log: (line: string) => void;
}

/** The built pilot-discovery: PILOTFISH_ISTIOD_BINARY, or what build.sh builds (or has cached). */
function istiodBinary(log: (line: string) => void): string {
  const given = process.env.PILOTFISH_ISTIOD_BINARY;
  if (given !== undefined && given !== '') return given;
  log('istiod: bench/istiod/build.sh (cached after the first build, which takes ~17 minutes on 2 cores)');
  const r = spawnSync('bash', [path.join(REPO_ROOT, 'bench/istiod/build.sh')], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bench/istiod/build.sh failed (exit ${r.status ?? r.signal}); it needs Go >= 1.26 and the Go module proxy`);
  const lines = r.stdout.trim().split('\n');
  return lines[lines.length - 1] ?? '';
}

export async function runVsIstiod(o: VsIstiodOptions): Promise<void> {
  const started = Date.now();
  const loadAtStart = os.loadavg();
  const binary = istiodBinary(o.log);
  const startedAt = new Date(started).toISOString();
  const suffix = `vs-istiod${o.quick ? '-quick' : ''}`;
  const write = async (result: CompareResult, complete: boolean): Promise<string> => {
    const meta = {
      startedAt, durationSeconds: (Date.now() - started) / 1000,
      machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`,
      loadAverageAtStart: loadAtStart, loadAverageAtEnd: os.loadavg(), quick: o.quick,
    };
    const markdown = renderComparison(result, meta) + (complete ? '' : '\n(partial: the run was still going when this was written)\n');
    await mkdir(o.outDir, { recursive: true });
    const json = JSON.stringify({ ...meta, complete, istiodBinary: path.basename(binary), ...result }, null, 2) + '\n';
    await writeFile(path.join(o.outDir, `${startedAt.replace(/[:.]/g, '-')}-${suffix}.json`), json);
    await writeFile(path.join(o.outDir, `latest-${suffix}.json`), json);
    await writeFile(path.join(o.outDir, `latest-${suffix}.md`), markdown);
    return markdown;
  };
  const result = await runComparison({
    proxyCounts: o.proxyCounts ?? (o.quick ? [100, 500] : [100, 500, 2000]),
    services: o.services, namespaces: o.namespaces, endpointsPerService: o.endpointsPerService ?? 10, routeEvery: 20,
    reps: o.reps ?? (o.quick ? 3 : 5), workers: o.workers, mix: o.mix ?? DEFAULT_MIX, quietMs: 300,
    istiodBinary: binary, istiodMaxRequestsPerSecond: 10_000, log: o.log,
    // A long run (istiod at 2,000 proxies) keeps what it measured if it is stopped.
    onProgress: async (partial) => { await write(partial, false); },
  });
  process.stdout.write(`${await write(result, true)}\n`);
  o.log(`results written to ${path.relative(process.cwd(), o.outDir)}/ (latest-${suffix}.md) in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}
