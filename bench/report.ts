// Renders a benchmark run as markdown: the tables README's performance section shows, plus the
// issue's targets checked against the measured numbers.
import type { Summary } from './stats.js';
import type { IdentityResult } from './identity-bench.js';
import type { RegistryBurstResult } from './registry-burst.js';
import type { WebhookResult } from './webhook-bench.js';
import type { LevelResult, ScaleResult } from './xds-bench.js';
import type { ScaleOutResult } from './scale-out-bench.js';
import { DEFAULT_MIX, describeMix, sameMix, type ProxyMix } from './workload.js';

export interface BenchReport {
  readonly startedAt: string;
  readonly durationSeconds: number;
  readonly quick: boolean;
  readonly machine: {
    cpus: number; cpuModel: string; memoryBytes: number; node: string;
    /** 1, 5 and 15 minutes, when the run started (absent in runs before it was recorded) and ended. */
    loadAverageAtStart?: number[]; loadAverage: number[];
  };
  readonly options: Record<string, unknown>;
  readonly xds: readonly ScaleResult[];
  readonly webhook?: WebhookResult;
  readonly identity?: IdentityResult;
  readonly scaleOut?: ScaleOutResult;
  readonly registry?: RegistryBurstResult;
}

const ms = (v: number | undefined): string => (v === undefined || !Number.isFinite(v) ? 'n/a' : v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${v.toFixed(v < 10 ? 1 : 0)} ms`);
const mib = (b: number | undefined): string => (b === undefined || !Number.isFinite(b) ? 'n/a' : `${(b / 2 ** 20).toFixed(0)} MiB`);
const kib = (b: number | undefined): string => (b === undefined || !Number.isFinite(b) ? 'n/a' : `${(b / 1024).toFixed(0)} KiB`);
const bytes = (b: number): string => (b >= 1e9 ? `${(b / 1e9).toFixed(2)} GB` : b >= 1e6 ? `${(b / 1e6).toFixed(1)} MB` : `${(b / 1e3).toFixed(1)} kB`);
const triple = (s: Summary): string => `${ms(s.p50)} / ${ms(s.p99)} / ${ms(s.max)}`;
const count = (n: number): string => (n >= 1000 ? `${(n / 1000).toFixed(n % 1000 === 0 ? 0 : 1)}k` : String(n));

/** The mix most levels ran with (the first level's); other levels are labelled with theirs. */
function mainMix(xds: readonly ScaleResult[]): ProxyMix | undefined {
  return xds[0]?.levels[0]?.mix;
}

function proxiesLabel(xds: readonly ScaleResult[], l: LevelResult): string {
  const main = mainMix(xds);
  return main === undefined || sameMix(l.mix, main) ? String(l.proxies) : `${l.proxies} (${Math.round(l.mix.sotw * 100)}% SotW)`;
}

function rows(xds: readonly ScaleResult[], f: (s: ScaleResult, l: LevelResult) => string[]): string[] {
  return xds.flatMap((s) => s.levels.map((l) => `| ${[count(s.endpoints), proxiesLabel(xds, l), ...f(s, l)].join(' | ')} |`));
}

export interface TargetCheck {
  readonly what: string;
  readonly limit: string;
  readonly measured: string;
  readonly pass: boolean;
}

/** The scales of the main matrix (the scoped level has tables and targets of its own). */
function unscoped(xds: readonly ScaleResult[]): ScaleResult[] {
  return xds.filter((s) => s.scoped !== true);
}

/**
 * Issue #19's numbers for the scoped level: the largest proxy count it ran with its main mix,
 * then the latency rows again for a level with another mix (the SotW-heavy stress case).
 */
export function scopedTargetChecks(r: BenchReport): TargetCheck[] {
  const scale = r.xds.find((s) => s.scoped === true);
  const main = scale?.levels[0]?.mix;
  const largest = (levels: readonly LevelResult[]): LevelResult | undefined =>
    levels.reduce<LevelResult | undefined>((best, l) => (best === undefined || l.proxies > best.proxies ? l : best), undefined);
  const level = largest(scale?.levels.filter((l) => main !== undefined && sameMix(l.mix, main)) ?? []);
  if (!scale || !level) return [];
  const stress = largest(scale.levels.filter((l) => main !== undefined && !sameMix(l.mix, main)));
  const stressRows: TargetCheck[] = stress === undefined ? [] : [
    {
      what: `full push, ${stress.proxies.toLocaleString('en-US')} proxies: ${describeMix(stress.mix)}`, limit: '≤ 1 s',
      measured: `${ms(stress.newService.converged.max)} (${Math.round(stress.newService.subscribed)} proxies)`,
      pass: stress.newService.converged.max <= 1000 && stress.newService.missing === 0,
    },
    {
      what: `endpoint change p99 beyond the debounce window, same proxies`, limit: '≤ 250 ms', measured: ms(stress.endpointChange.beyondDebounce.p99),
      pass: stress.endpointChange.beyondDebounce.p99 <= 250 && stress.endpointChange.missing === 0 && stress.endpointChange.unexpectedPushes === 0,
    },
  ];
  const where = `${count(scale.endpoints)} endpoints, ${level.proxies.toLocaleString('en-US')} proxies: ${describeMix(level.mix)}`;
  const n = level.newService;
  return [
    { what: `all proxies converge (${where})`, limit: '0 failed', measured: `${level.proxies - level.initial.failures} of ${level.proxies} in ${ms(level.initial.totalMs)}`, pass: level.initial.failures === 0 && !level.initial.timedOut },
    { what: 'full push (new service in one namespace) ACKed by every proxy whose scope has it', limit: '≤ 1 s', measured: `${ms(n.converged.max)} (${Math.round(n.subscribed)} proxies)`, pass: n.converged.max <= 1000 && n.missing === 0 },
    { what: 'proxies outside its scope that got anything for that push', limit: '0', measured: String(n.unexpectedPushes), pass: n.unexpectedPushes === 0 },
    { what: 'endpoint change p99, beyond the debounce window', limit: '≤ 250 ms', measured: ms(level.endpointChange.beyondDebounce.p99), pass: level.endpointChange.beyondDebounce.p99 <= 250 && level.endpointChange.missing === 0 && level.endpointChange.unexpectedPushes === 0 },
    { what: 'server RSS', limit: '≤ 1 GB', measured: `${(level.memory.rssBytes / 1e6).toFixed(0)} MB (${kib(level.memory.rssPerProxyBytes)} per proxy)`, pass: level.memory.rssBytes <= 1e9 },
    ...stressRows,
  ];
}

/** The issue's "done when" numbers, where this run measured them. */
export function targetChecks(r: BenchReport): TargetCheck[] {
  const out: TargetCheck[] = [];
  const scale = unscoped(r.xds).find((s) => s.endpointsPerService === 10 && s.services >= 1000);
  const main = mainMix(r.xds);
  const level = scale?.levels.find((l) => l.proxies === 2000 && main !== undefined && sameMix(l.mix, main));
  if (level) {
    const e = level.endpointChange;
    const where = `1k services × 10 endpoints, 2,000 proxies: ${describeMix(level.mix)}`;
    out.push({ what: `endpoint change p99, beyond the debounce window (${where})`, limit: '≤ 250 ms', measured: ms(e.beyondDebounce.p99), pass: e.beyondDebounce.p99 <= 250 && e.missing === 0 });
    const full = level.newService.converged.max;
    out.push({ what: 'full push (new service) ACKed by every proxy', limit: '≤ 2 s', measured: ms(full), pass: full <= 2000 && level.newService.missing === 0 });
    out.push({ what: 'server RSS with 2,000 proxies', limit: '≤ 400 MB', measured: `${(level.memory.rssBytes / 1e6).toFixed(0)} MB`, pass: level.memory.rssBytes <= 400e6 });
  }
  const w = r.webhook;
  if (w) {
    out.push({ what: 'webhook admissions/s at saturation', limit: '≥ 3,000/s', measured: `${w.saturation.requestsPerSecond.toFixed(0)}/s`, pass: w.saturation.requestsPerSecond >= 3000 });
    const at1000 = w.atFixedRate.find((f) => f.rate === 1000);
    if (at1000) out.push({ what: 'webhook p99 at 1,000 admissions/s', limit: '≤ 5 ms', measured: ms(at1000.latencyMs.p99), pass: at1000.latencyMs.p99 <= 5 && at1000.errors === 0 && at1000.non2xx === 0 });
    if (w.floor) {
      const r = w.floor.cpuRatioAtFixedRate;
      out.push({ what: 'webhook CPU per admission ÷ a bare HTTPS server\'s (same TLS, connections and load; 1,000/s)', limit: '≤ 2×', measured: `${r.toFixed(2)}×`, pass: r <= 2 });
    }
  }
  return out;
}

function otherMixNote(xds: readonly ScaleResult[]): string {
  const main = mainMix(xds);
  const other = xds.flatMap((s) => s.levels).find((l) => main !== undefined && !sameMix(l.mix, main));
  return other ? `; rows marked "(${Math.round(other.mix.sotw * 100)}% SotW)" ran ${describeMix(other.mix)}` : '';
}

/** The three per-level tables (convergence, where an endpoint change spends its time, cost) of `xds`. */
function levelTables(L: string[], xds: readonly ScaleResult[]): void {
  L.push('### Convergence', '');
  L.push('| endpoints | proxies | all connected → all ACKed | per proxy p50 / p99 | endpoint change → ACK p50 / p99 / max | same, beyond debounce p99 | subscribed | new service → all ACKed p50 / p99 / max |');
  L.push('|---:|---:|---:|---:|---:|---:|---:|---:|');
  L.push(...rows(xds, (_s, l) => [
    ms(l.initial.totalMs) + (l.initial.failures > 0 ? ` (${l.initial.failures} failed)` : '')
      + (l.initial.reconnects > 0 ? ` (${l.initial.reconnects} reconnects)` : ''),
    `${ms(l.initial.perProxy.p50)} / ${ms(l.initial.perProxy.p99)}`,
    triple(l.endpointChange.ack) + (l.endpointChange.missing > 0 ? ` (${l.endpointChange.missing} missing)` : ''),
    ms(l.endpointChange.beyondDebounce.p99),
    String(Math.round(l.endpointChange.subscribed)),
    triple(l.newService.converged) + (l.newService.missing > 0 ? ` (${l.newService.missing} missing)` : ''),
  ]));
  L.push('');

  L.push('### Where an endpoint change spends its time (medians)', '');
  L.push('| endpoints | proxies | debounce window | controller (merge, translate, snapshot) | generation + hand-off to streams | generation start → ACK p50 / p99 / max |');
  L.push('|---:|---:|---:|---:|---:|---:|');
  L.push(...rows(xds, (_s, l) => [
    '100 ms', ms(l.endpointChange.controllerMs), ms(l.endpointChange.generationMs), triple(l.endpointChange.fromGeneration),
  ]));
  L.push('');

  L.push('### Cost', '');
  L.push('| endpoints | proxies | RSS (idle → loaded) | heap | RSS per proxy | server CPU s: initial / endpoint push / full push | bytes sent: endpoint push / full push | responses: endpoint / full | resources encoded: endpoint / full | one /metrics scrape |');
  L.push('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  L.push(...rows(xds, (s, l) => [
    `${mib(s.baseline.rssBytes)} → ${mib(l.memory.rssBytes)}`,
    l.memory.heapUsedBytes === undefined ? 'n/a' : mib(l.memory.heapUsedBytes),
    kib(l.memory.rssPerProxyBytes),
    `${l.initial.cpuSeconds.toFixed(2)} / ${l.endpointChange.cpuSecondsPerPush.toFixed(2)} / ${l.newService.cpuSecondsPerPush.toFixed(2)}`,
    `${bytes(l.endpointChange.bytesPerPush)} / ${bytes(l.newService.bytesPerPush)}`,
    `${l.endpointChange.responsesPerPush} / ${l.newService.responsesPerPush}`,
    `${l.endpointChange.encodedPerPush ?? 'n/a'} / ${l.newService.encodedPerPush ?? 'n/a'}`,
    l.memory.metricsScrapeMs === undefined ? 'n/a' : ms(l.memory.metricsScrapeMs),
  ]));
  L.push('');
}

export function renderMarkdown(r: BenchReport): string {
  const L: string[] = [];
  const m = r.machine;
  L.push(`## pilotfish benchmark${r.quick ? ' (--quick)' : ''}`, '');
  L.push(`${r.startedAt}, ${m.cpus} × ${m.cpuModel}, ${(m.memoryBytes / 2 ** 30).toFixed(0)} GiB, Node ${m.node}; ` +
    `load average ${m.loadAverageAtStart ? `at the start ${m.loadAverageAtStart.map((x) => x.toFixed(2)).join(' ')}, ` : ''}` +
    `at the end ${m.loadAverage.map((x) => x.toFixed(2)).join(' ')}; took ${r.durationSeconds.toFixed(0)} s.`, '');
  if (unscoped(r.xds).length > 0) {
    const s0 = unscoped(r.xds)[0];
    L.push(`Mesh: ${s0.services} services (${s0.clusters} clusters, 1–3 HTTP/gRPC ports) in ${s0.namespaces} namespaces, ` +
      `${s0.trafficRoutes} TrafficRoutes + ${s0.trafficPolicies} TrafficPolicies; endpoints per scale: ${r.xds.map((s) => count(s.endpoints)).join(', ')}. ` +
      `Proxies: ${describeMix(s0.levels[0]?.mix ?? DEFAULT_MIX)}, one HTTP/2 connection each${otherMixNote(r.xds)}.`, '');

    levelTables(L, unscoped(r.xds));

    const checks = r.xds.flatMap((s) => s.levels.map((l) => l.checks));
    const sampled = checks.reduce((a, c) => a + c.sampled, 0);
    const resources = checks.reduce((a, c) => a + c.resources, 0);
    const failures = checks.reduce((a, c) => a + c.failures, 0);
    const verified = r.xds.flatMap((s) => s.levels.flatMap((l) => [l.endpointChange.verified, l.newService.verified]));
    const vok = verified.reduce((a, v) => a + v.ok, 0), vof = verified.reduce((a, v) => a + v.of, 0);
    const unexpected = r.xds.flatMap((s) => s.levels.map((l) => l.endpointChange.unexpectedPushes)).reduce((a, b) => a + b, 0);
    L.push(`Checks: ${sampled} sampled proxies fully decoded ${resources} resources with the Envoy protos: ${failures} failures` +
      `${failures > 0 ? ` (${checks.flatMap((c) => c.errors).slice(0, 3).join('; ')})` : ''}; ` +
      `the change itself was found in ${vok} of ${vof} sampled ACKs; ${unexpected} endpoint pushes reached proxies not subscribed to the changed cluster.`, '');
    if (r.xds.some((s) => s.levels.some((l) => l.endpointChange.encodedPerPush === undefined))) {
      L.push('Resources encoded per push: n/a where the server reports no encoding count (push log `encoded` or metric `pilotfish_xds_resources_encoded_total`).', '');
    }
  }

  const scoped = r.xds.find((s) => s.scoped === true);
  if (scoped) {
    L.push('### Scoped level (issue #19)', '');
    L.push(`Its own server, \`--default-scope namespace\`, the same mesh (${scoped.services} services, ${scoped.clusters} clusters, ${count(scoped.endpoints)} endpoints in ` +
      `${scoped.namespaces} namespaces) plus a TrafficScope per namespace naming its own Services and two shared ones; proxies: ` +
      `${describeMix(scoped.levels[0]?.mix ?? DEFAULT_MIX)}${otherMixNote([scoped])}. A new service goes to the sidecars of its namespace only ("subscribed" in the new-service ` +
      'columns); every other proxy must get nothing.', '');
    levelTables(L, [scoped]);
    const lines = scoped.levels.map((l) => `${proxiesLabel([scoped], l)} proxies: the new service reached ${Math.round(l.newService.subscribed)} sidecars, ` +
      `${l.newService.unexpectedPushes} proxies outside its scope got something; an endpoint change reached ${Math.round(l.endpointChange.subscribed)} ` +
      `subscribed proxies, ${l.endpointChange.unexpectedPushes} others got something`);
    L.push(`${lines.join('; ')}.`, '');
    // Per level: whether the latency targets hold, and what a push costs the server per proxy it
    // served against what it costs the simulated proxies sharing the same cores.
    L.push('| proxies | new service: all in-scope ACKed (≤ 1 s) | its push: start → in-scope proxies handed it / → end (every class refreshed) | endpoint change p99 beyond debounce (≤ 250 ms) | server CPU per push: new service / endpoint | per proxy served | simulated proxies\' CPU per push (their GC pauses) |');
    L.push('|---:|---:|---:|---:|---:|---:|---:|');
    for (const l of scoped.levels) {
      const n = l.newService, e = l.endpointChange;
      const perProxy = (f: typeof n | typeof e): string => (f.subscribed > 0 ? `${((1000 * f.cpuSecondsPerPush) / f.subscribed).toFixed(2)} ms` : '–');
      L.push(`| ${proxiesLabel([scoped], l)} | ${ms(n.converged.max)} (${Math.round(n.subscribed)}) ${n.converged.max <= 1000 && n.missing === 0 ? 'pass' : '**FAIL**'} ` +
        `| ${n.scopedServedMs !== undefined ? `${ms(n.scopedServedMs)} / ` : ''}${ms(n.generationMs)} | ${ms(e.beyondDebounce.p99)} (${Math.round(e.subscribed)}) ${e.beyondDebounce.p99 <= 250 && e.missing === 0 ? 'pass' : '**FAIL**'} ` +
        `| ${n.cpuSecondsPerPush.toFixed(2)} / ${e.cpuSecondsPerPush.toFixed(2)} s | ${perProxy(n)} / ${perProxy(e)} ` +
        `| ${n.clientCpuSecondsPerPush.toFixed(2)} / ${e.clientCpuSecondsPerPush.toFixed(2)} s${n.clientGcMsPerPush !== undefined ? ` (${ms(n.clientGcMsPerPush)} / ${ms(e.clientGcMsPerPush)})` : ''} |`);
    }
    L.push('');
    const proxyNice = r.options['proxyNice'];
    if (typeof proxyNice === 'number' && proxyNice !== 0) L.push(`The proxy workers ran at nice ${proxyNice} (\`--proxy-nice\`): the server got the cores first.`, '');
    L.push('| target | limit | measured | |', '|---|---:|---:|---|');
    for (const t of scopedTargetChecks(r)) L.push(`| ${t.what} | ${t.limit} | ${t.measured} | ${t.pass ? 'pass' : '**FAIL**'} |`);
    L.push('');
  }

  const w = r.webhook;
  if (w) {
    L.push('### Webhook', '');
    L.push(`\`${w.command}\`, AdmissionReview of a ${(w.payloadBytes / 1024).toFixed(1)} KiB Pod (Deployment-made, 2 containers, probes, projected token), answered with a ${w.patchOperations}-operation JSONPatch; ${w.loadGenerator}.`, '');
    L.push('| load | admissions/s | p50 | p90 | p99 | max | errors |');
    L.push('|---|---:|---:|---:|---:|---:|---:|');
    const row = (label: string, f: WebhookResult['saturation']): string =>
      `| ${label} | ${f.requestsPerSecond.toFixed(0)} | ${ms(f.latencyMs.p50)} | ${ms(f.latencyMs.p90)} | ${ms(f.latencyMs.p99)} | ${ms(f.latencyMs.max)} | ${f.errors + f.non2xx} |`;
    L.push(row(`saturation (${w.saturation.connections} connections)`, w.saturation));
    for (const f of w.atFixedRate) L.push(row(`fixed ${f.rate}/s`, f));
    L.push('');
    const fl = w.floor;
    if (fl) {
      const cpu = (f: WebhookResult['saturation']): string => `${f.serverCpuMsPerAdmission.toFixed(3)} ms`;
      const at1000 = w.atFixedRate.find((f) => f.rate === fl.atFixedRate.rate);
      L.push('Server CPU per admission against the floor, a bare HTTPS server (`bench/webhook-floor.ts`: same certificate, Node flags, connections and load generator) that only parses the AdmissionReview and answers `allowed`, measured in the same run:', '');
      L.push('| load | pilotfish | floor | ratio |', '|---|---:|---:|---:|');
      L.push(`| saturation | ${cpu(w.saturation)} | ${cpu(fl.saturation)} | ${fl.cpuRatioAtSaturation.toFixed(2)}× |`);
      if (at1000) L.push(`| fixed ${fl.atFixedRate.rate}/s | ${cpu(at1000)} | ${cpu(fl.atFixedRate)} | ${fl.cpuRatioAtFixedRate.toFixed(2)}× |`);
      L.push('');
    }
  }

  const id = r.identity;
  if (id) {
    L.push('### Identity', '');
    L.push('| what | measured |', '|---|---:|');
    L.push(`| CA signing, one CSR at a time (EC P-256, checks included, TokenReview excluded) | ${id.signing.sequentialPerSecond.toFixed(0)} CSRs/s |`);
    L.push(`| CA signing, ${id.signing.concurrency} at a time | ${id.signing.concurrentPerSecond.toFixed(0)} CSRs/s |`);
    L.push(`| pod agent RSS at rest (certificate files + SDS) | ${mib(id.agent.rssBytes)} |`);
    L.push(`| pod agent CPU at rest | ${id.agent.cpuMsAtRestPerMinute.toFixed(0)} ms/min |`);
    L.push(`| pod agent CPU per renewal (new key, CSR, checks, files, SDS push; ${id.agent.renewals} renewals of ${id.agent.lifetimeSeconds} s certificates in ${id.agent.windowSeconds} s) | ${ms(id.agent.cpuMsPerRenewal)} |`);
    L.push('');
  }

  const so = r.scaleOut;
  if (so) {
    L.push('### Scale-out', '');
    L.push(`${so.replicas} replicas of \`pilotfish serve\` on the same files (${so.services} services, ${count(so.endpoints)} endpoints), ` +
      `${so.proxies} proxies spread over them (least connections per new connection), maximum connection age ${so.maxAgeSeconds} s (±10 %).`, '');
    L.push('| what | measured |', '|---|---:|');
    L.push(`| connected per replica, converged | ${so.initialShares.join(' / ')} |`);
    L.push(`| one replica killed (SIGKILL, ${so.kill.victimProxies} proxies): all its proxies converged again on the others | ${ms(so.kill.reconvergedMs)} |`);
    L.push(`| xDS streams lost (proxies keep their config meanwhile) / connections refused by the dead replica | ${so.kill.lostStreams} / ${so.kill.refusedConnections} |`);
    L.push(`| proxies left without a stream | ${so.kill.proxiesWithoutStream} |`);
    L.push(`| brought back: every share within ±15 % of even after | ${so.evenAfterSeconds === undefined ? 'not within the run' : `${so.evenAfterSeconds} s`} |`);
    L.push('');
    L.push('Connected proxies per replica after the return, every second: ' + so.rebalance.map((x) => `${x.atSeconds} s ${x.shares.join('/')}`).join(', ') + '.', '');
  }

  const reg = r.registry;
  if (reg) {
    L.push('### Registry burst', '');
    L.push(`\`pilotfish serve --registry-state-file …\`: ${reg.registrations.toLocaleString('en-US')} registrations into one service over HTTP from ${reg.clients} concurrent keep-alive clients (bench/registry-client.ts, its own process), each answer after its change is on disk; /healthz sampled every 10 ms from the first registration until the last snapshot's push is done.`, '');
    L.push('| total | server CPU | pushes | /healthz p50 | p99 | max | samples | server loop delay max | failures |');
    L.push('|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    L.push(`| ${ms(reg.totalMs)} | ${reg.serverCpuSeconds.toFixed(2)} s | ${reg.pushes} | ${ms(reg.healthzMs.p50)} | ${ms(reg.healthzMs.p99)} | ${ms(reg.healthzMs.max)} | ${reg.healthzMs.n} | ${reg.loopDelayMaxMs !== undefined ? ms(reg.loopDelayMaxMs) : '–'} | ${reg.failures} |`);
    const verdict = (ok: boolean): string => (ok ? 'pass' : '**FAIL**');
    L.push('', `Issue 16 targets: all in under 10 s: ${verdict(reg.totalMs < 10_000 && reg.failures === 0)}; no /healthz stall over 50 ms: ${verdict(reg.healthzMs.max <= 50)}.`, '');
  }

  const targets = targetChecks(r);
  if (targets.length > 0) {
    L.push('### Targets (issue #7)', '');
    L.push('| target | limit | measured | |', '|---|---:|---:|---|');
    for (const t of targets) L.push(`| ${t.what} | ${t.limit} | ${t.measured} | ${t.pass ? 'pass' : '**FAIL**'} |`);
    L.push('');
    const main = mainMix(r.xds);
    for (const s of r.xds) {
      for (const l of s.levels) {
        if (main === undefined || sameMix(l.mix, main)) continue;
        L.push(`Same targets with ${describeMix(l.mix)} (${count(s.endpoints)} endpoints, ${l.proxies} proxies): endpoint change p99 beyond debounce ` +
          `${ms(l.endpointChange.beyondDebounce.p99)}, full push ${ms(l.newService.converged.max)}, RSS ${(l.memory.rssBytes / 1e6).toFixed(0)} MB ` +
          `(${bytes(l.newService.bytesPerPush)} per full push, against ${bytes(s.levels.find((m) => m.proxies === l.proxies && sameMix(m.mix, main))?.newService.bytesPerPush ?? NaN)} with the main mix).`, '');
      }
    }
  }
  return L.join('\n');
}
