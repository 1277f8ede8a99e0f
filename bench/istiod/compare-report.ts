// The comparison as markdown: a ratio table first (one row per proxy count), then every figure
// of both servers side by side with the ratio istiod ÷ pilotfish.
import { round } from '../stats.js';
import type { CompareResult, LevelRun } from './compare.js';

export interface CompareMeta {
  readonly startedAt: string;
  readonly durationSeconds: number;
  readonly machine: string;
  readonly loadAverageAtStart: readonly number[];
  readonly loadAverageAtEnd: readonly number[];
  readonly quick: boolean;
}

const mib = (b: number): string => (!Number.isFinite(b) ? '–' : `${(b / 2 ** 20).toFixed(0)} MiB`);
const ms = (v: number): string => (!Number.isFinite(v) ? '–' : v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${round(v, v >= 100 ? 0 : 1)} ms`);
const s = (v: number): string => (!Number.isFinite(v) ? '–' : `${v.toFixed(v >= 10 ? 1 : 2)} s`);
const kb = (v: number): string => (!Number.isFinite(v) ? '–' : `${(v / 1000).toFixed(v >= 10_000 ? 0 : 1)} kB`);

/** istiod ÷ pilotfish, as "35×" (or "1/3×" below 1). */
function ratio(istiod: number | undefined, pilotfish: number | undefined): string {
  if (istiod === undefined || pilotfish === undefined || !Number.isFinite(istiod) || !Number.isFinite(pilotfish) || pilotfish <= 0) return '–';
  const r = istiod / pilotfish;
  if (r >= 1) return `${r >= 10 ? r.toFixed(0) : r.toFixed(1)}×`;
  return r > 0 ? `1/${(1 / r).toFixed(1)}×` : '0×';
}

function pair(result: CompareResult, proxies: number): { p?: LevelRun; i?: LevelRun } {
  return {
    p: result.levels.find((l) => l.server === 'pilotfish' && l.proxies === proxies),
    i: result.levels.find((l) => l.server === 'istiod' && l.proxies === proxies),
  };
}

function proxyCounts(result: CompareResult): number[] {
  return [...new Set(result.levels.map((l) => l.proxies))].sort((a, b) => a - b);
}

/** The largest proxy count both servers held. */
export function largestHeld(result: CompareResult): number | undefined {
  const held = proxyCounts(result).filter((n) => {
    const { p, i } = pair(result, n);
    return p?.failed === undefined && i?.failed === undefined && p !== undefined && i !== undefined;
  });
  return held[held.length - 1];
}

/** For a level one server did not hold: what each used meanwhile (CPU to converge, RSS). */
function attemptCost(p: LevelRun | undefined, i: LevelRun | undefined): string {
  const part = (l: LevelRun | undefined): string | undefined => l?.initial === undefined ? undefined
    : `${l.server} ${s(l.initial.cpuSeconds)} CPU, ${mib(l.memory?.rssBytes ?? NaN)} RSS${l.failed !== undefined ? ` (${l.proxies - l.initial.failures} converged in ${ms(l.initial.totalMs)})` : ''}`;
  const parts = [part(p), part(i)].filter((x): x is string => x !== undefined);
  return parts.length === 0 ? '' : `; meanwhile ${parts.join(' vs ')}`;
}

function ratioTable(result: CompareResult): string[] {
  const lines = [
    '| proxies | converge: server CPU pilotfish / istiod | ratio | RSS pilotfish / istiod | ratio | endpoint change p99, push start → ACK | ratio | write → ACK p99 | ratio | full push, all ACKed p99 | ratio | unneeded pushes per endpoint change (pilotfish / istiod) |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const n of proxyCounts(result)) {
    const { p, i } = pair(result, n);
    if (i?.failed !== undefined || p?.failed !== undefined) {
      lines.push(`| ${n} | ${p?.failed !== undefined ? `pilotfish failed: ${p.failed}` : ''}${i?.failed !== undefined ? `istiod did not hold it: ${i.failed}` : ''}` +
        `${attemptCost(p, i)} |||||||||||`);
      continue;
    }
    lines.push(`| ${n} | ${s(p?.initial?.cpuSeconds ?? NaN)} / ${s(i?.initial?.cpuSeconds ?? NaN)} | ${ratio(i?.initial?.cpuSeconds, p?.initial?.cpuSeconds)} ` +
      `| ${mib(p?.memory?.rssBytes ?? NaN)} / ${mib(i?.memory?.rssBytes ?? NaN)} | ${ratio(i?.memory?.rssBytes, p?.memory?.rssBytes)} ` +
      `| ${ms(p?.endpointFile?.pushStartToAck.p99 ?? NaN)} / ${ms(i?.endpointFile?.pushStartToAck.p99 ?? NaN)} | ${ratio(i?.endpointFile?.pushStartToAck.p99, p?.endpointFile?.pushStartToAck.p99)} ` +
      `| ${ms(p?.endpointFile?.writeToAck.p99 ?? NaN)} / ${ms(i?.endpointFile?.writeToAck.p99 ?? NaN)} | ${ratio(i?.endpointFile?.writeToAck.p99, p?.endpointFile?.writeToAck.p99)} ` +
      `| ${ms(p?.fullPush?.writeToLastAck.p99 ?? NaN)} / ${ms(i?.fullPush?.writeToLastAck.p99 ?? NaN)} | ${ratio(i?.fullPush?.writeToLastAck.p99, p?.fullPush?.writeToLastAck.p99)} ` +
      `| ${p?.endpointFile?.unneededProxiesPerChange ?? '–'} / ${i?.endpointFile?.unneededProxiesPerChange ?? '–'} |`);
  }
  return lines;
}

type Row = readonly [string, (l: LevelRun) => number | undefined, (v: number) => string];

const ROWS: readonly Row[] = [
  ['all connected → all ACKed', (l) => l.initial?.totalMs, ms],
  ['per proxy p99', (l) => l.initial?.perProxy.p99, ms],
  ['server CPU, initial convergence', (l) => l.initial?.cpuSeconds, s],
  ['proxies\' CPU, initial convergence', (l) => l.initial?.clientCpuSeconds, s],
  ['RSS, steady state', (l) => l.memory?.rssBytes, mib],
  ['peak RSS', (l) => l.memory?.peakRssBytes, mib],
  ['bytes per proxy: CDS', (l) => l.initial?.bytesPerProxy.cds, kb],
  ['bytes per proxy: EDS', (l) => l.initial?.bytesPerProxy.eds, kb],
  ['bytes per proxy: LDS', (l) => l.initial?.bytesPerProxy.lds, kb],
  ['bytes per proxy: RDS', (l) => l.initial?.bytesPerProxy.rds, kb],
  ['endpoint change (file): write → push start p50', (l) => l.endpointFile?.writeToPushStart.p50, ms],
  ['endpoint change (file): write → push start p99', (l) => l.endpointFile?.writeToPushStart.p99, ms],
  ['endpoint change (file): push start → ACK p50', (l) => l.endpointFile?.pushStartToAck.p50, ms],
  ['endpoint change (file): push start → ACK p99', (l) => l.endpointFile?.pushStartToAck.p99, ms],
  ['endpoint change (file): write → ACK p99', (l) => l.endpointFile?.writeToAck.p99, ms],
  ['endpoint change: server CPU per change', (l) => l.endpointFile?.cpuSecondsPerChange, s],
  ['endpoint change: bytes per change', (l) => l.endpointFile?.bytesPerChange, kb],
  ['endpoint change: responses per change', (l) => l.endpointFile?.responsesPerChange, (v) => String(v)],
  ['endpoint change: proxies pushed what they did not need', (l) => l.endpointFile?.unneededProxiesPerChange, (v) => String(v)],
  ['endpoint change: responses they did not need', (l) => l.endpointFile?.unneededResponsesPerChange, (v) => String(v)],
  ['full push (new service file): write → push start', (l) => l.fullPush?.writeToPushStart.p50, ms],
  ['full push: write → all ACKed p99', (l) => l.fullPush?.writeToLastAck.p99, ms],
  ['full push: server CPU', (l) => l.fullPush?.cpuSecondsPerChange, s],
  ['full push: bytes', (l) => l.fullPush?.bytesPerChange, kb],
];

function levelTable(result: CompareResult, n: number): string[] {
  const { p, i } = pair(result, n);
  const lines = [`#### ${n} proxies`, '', '| figure | pilotfish | istiod | istiod ÷ pilotfish |', '|---|---:|---:|---:|'];
  for (const [label, get, fmt] of ROWS) {
    const a = p !== undefined ? get(p) : undefined;
    const b = i !== undefined ? get(i) : undefined;
    lines.push(`| ${label} | ${a === undefined ? '–' : fmt(a)} | ${b === undefined ? (i?.failed !== undefined ? 'did not hold' : '–') : `${fmt(b)}${i?.failed !== undefined ? ' (partial)' : ''}`} | ${ratio(b, a)} |`);
  }
  const reg = p?.endpointRegistry;
  if (reg !== undefined) {
    lines.push(`| pilotfish's registry path (POST /registry/endpoints): call → push start p50 / p99 | ${ms(reg.writeToPushStart.p50)} / ${ms(reg.writeToPushStart.p99)} | | |`);
    lines.push(`| registry path: push start → ACK p99, call → ACK p99 | ${ms(reg.pushStartToAck.p99)}, ${ms(reg.writeToAck.p99)} | | |`);
  }
  const failures = [p, i].filter((l): l is LevelRun => l?.failed !== undefined).map((l) => `${l.server}: ${l.failed}`);
  if (failures.length > 0) {
    lines.push('', ...failures.map((f) => `- ${f}`));
    lines.push('- "did not hold": that server\'s convergence figures above are those of the proxies that converged before the bench gave up, its CPU and RSS what it used meanwhile; the later phases did not run.');
  }
  return lines;
}

export function renderComparison(result: CompareResult, meta: CompareMeta): string {
  const w = result.workload;
  const out = [
    `### pilotfish and istiod, one run${meta.quick ? ' (--quick)' : ''}`,
    '',
    `Run ${meta.startedAt} on ${meta.machine}; load average at the start ${meta.loadAverageAtStart.map((x) => x.toFixed(2)).join(' ')}, ` +
    `at the end ${meta.loadAverageAtEnd.map((x) => x.toFixed(2)).join(' ')}; took ${meta.durationSeconds.toFixed(0)} s. ` +
    `Mesh: ${w.services} services, ${w.endpoints} endpoints (${w.endpointsPerService} per service), ${w.clusters} clusters, ${w.namespaces} namespaces, ` +
    `${w.routes} routes + policies (istiod: ServiceEntries, VirtualServices, DestinationRules). Proxies: ` +
    `${Math.round(result.mix.sotw * 100)}% SotW sidecars, ${Math.round(result.mix.delta * 100)}% Delta sidecars, ${Math.round(result.mix.grpc * 100)}% proxyless gRPC, ` +
    `Istio-looking nodes, the same for both. Both debounce ${result.debounceMs} ms. Changes: a namespace's file rewritten in place.`,
    '',
    ...ratioTable(result),
    '',
    `Startup: pilotfish ${ms(result.startup.pilotfish.ms)}, idle RSS ${mib(result.startup.pilotfish.idleRssBytes)}; ` +
    `istiod ${ms(result.startup.istiod.ms)}, idle RSS ${mib(result.startup.istiod.idleRssBytes)}.`,
    '',
  ];
  for (const n of proxyCounts(result)) out.push(...levelTable(result, n), '');
  const warn = (['pilotfish', 'istiod'] as const).filter((k) => result.warnings[k].length > 0);
  for (const k of warn) out.push(`${k} warnings (first ${result.warnings[k].length}): ${result.warnings[k].map((x) => `\`${x.slice(0, 160)}\``).join('; ')}`, '');
  return out.join('\n');
}
