// `npm run bench -- --file-edits`: only the file edit -> push start figure, pilotfish alone,
// through the comparison's own file path (bench/istiod/compare.ts: a namespace's file rewritten
// in place with one more endpoint, the simulated proxies connected), with enough changes for a
// p99. Short enough (a few minutes) to run under the shared bench lock.
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { round, type Summary } from './stats.js';
import { DEFAULT_MIX } from './workload.js';
import { DEBOUNCE_MS, runComparison, type ChangeResult } from './istiod/compare.js';

export interface FileEditOptions {
  readonly proxyCounts: readonly number[];
  readonly services: number;
  readonly namespaces: number;
  readonly endpointsPerService: number;
  readonly reps: number;
  readonly workers: number;
  readonly outDir: string;
  readonly log: (line: string) => void;
}

const ms = (v: number | undefined): string => (v === undefined || !Number.isFinite(v) ? '–' : `${round(v, 1)} ms`);
const spread = (s: Summary | undefined): string => (s === undefined ? '–' : `${ms(s.p50)} / ${ms(s.p99)} / ${ms(s.max)}`);

export async function runFileEditBench(o: FileEditOptions): Promise<void> {
  const startedAt = new Date().toISOString();
  const loadAtStart = os.loadavg();
  const result = await runComparison({
    proxyCounts: o.proxyCounts, services: o.services, namespaces: o.namespaces, endpointsPerService: o.endpointsPerService,
    routeEvery: 20, reps: o.reps, workers: o.workers, mix: DEFAULT_MIX, quietMs: 300,
    istiodBinary: '', istiodMaxRequestsPerSecond: 0, log: o.log, servers: ['pilotfish'], fileEditsOnly: true,
  });
  const loadAtEnd = os.loadavg();
  const w = result.workload;
  const lines = [
    '### File edit → push start (pilotfish alone)', '',
    `Run ${startedAt}; load average at the start ${loadAtStart.map((x) => x.toFixed(2)).join(' ')}, at the end ` +
      `${loadAtEnd.map((x) => x.toFixed(2)).join(' ')}. Mesh: ${w.services} services, ${w.endpoints} endpoints, ${w.namespaces} namespaces ` +
      `(one file each). Each change rewrites a namespace's file in place with one more endpoint; debounce ${DEBOUNCE_MS} ms, ` +
      `target p99 ≤ ${DEBOUNCE_MS + 20} ms.`, '',
    '| proxies | changes | write → push start p50 / p99 / max | write → change seen p50 / p99 | change seen → push start p50 / p99 | push start → ACK p99 |',
    '|---:|---:|---:|---:|---:|---:|',
  ];
  for (const level of result.levels) {
    const f: ChangeResult | undefined = level.endpointFile;
    if (f === undefined) {
      lines.push(`| ${level.proxies} | – | ${level.failed ?? 'no figure'} | | | |`);
      continue;
    }
    lines.push(`| ${level.proxies} | ${f.reps} | ${spread(f.writeToPushStart)} | ${ms(f.writeToChangeSeen?.p50)} / ${ms(f.writeToChangeSeen?.p99)} | ` +
      `${ms(f.changeSeenToPushStart?.p50)} / ${ms(f.changeSeenToPushStart?.p99)} | ${ms(f.pushStartToAck.p99)} |`);
  }
  const markdown = `${lines.join('\n')}\n`;
  await mkdir(o.outDir, { recursive: true });
  const json = `${JSON.stringify({ startedAt, loadAverageAtStart: loadAtStart, loadAverageAtEnd: loadAtEnd, ...result }, null, 2)}\n`;
  await writeFile(path.join(o.outDir, `${startedAt.replace(/[:.]/g, '-')}-file-edits.json`), json);
  await writeFile(path.join(o.outDir, 'latest-file-edits.json'), json);
  await writeFile(path.join(o.outDir, 'latest-file-edits.md'), markdown);
  process.stdout.write(markdown);
}
