// Summarises a V8 .cpuprofile (from `node --cpu-prof`): the functions with the most self time
// and the most inclusive time, named by file:line relative to the repository, so a slow path
// can be read off without opening DevTools. `node dist/bench/profile.js FILE [N]` prints it.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { REPO_ROOT } from './server-process.js';
import { median } from './stats.js';

interface CallFrame { functionName: string; url: string; lineNumber: number; columnNumber: number }
interface ProfileNode { id: number; callFrame: CallFrame; hitCount?: number; children?: number[] }
interface CpuProfile { nodes: ProfileNode[]; startTime: number; endTime: number; samples: number[]; timeDeltas: number[] }

export interface ProfileEntry {
  readonly function: string;
  readonly location: string;
  readonly selfMs: number;
  readonly totalMs: number;
  readonly selfPercent: number;
}

export interface ProfileSummary {
  readonly file: string;
  /** Only samples under this function were counted. */
  readonly focus?: string;
  readonly focusedMs?: number;
  readonly durationMs: number;
  readonly idleMs: number;
  readonly gcMs: number;
  readonly bySelf: readonly ProfileEntry[];
  readonly byTotal: readonly ProfileEntry[];
}

const SPECIAL = new Set(['(root)', '(program)', '(idle)', '(garbage collector)']);

function location(cf: CallFrame): string {
  let url = cf.url;
  if (url.startsWith('file://')) {
    try { url = fileURLToPath(url); } catch { /* keep as is */ }
  }
  if (url.startsWith(REPO_ROOT)) url = path.relative(REPO_ROOT, url);
  url = url.replace(/^node_modules\//, '~');
  return url ? `${url}:${cf.lineNumber + 1}` : '(native)';
}

/**
 * `focus`: count only samples with a frame of this function on the stack (e.g. `apply`);
 * `window`: only samples taken in this CLOCK_MONOTONIC interval in µs (the bench logs one per change).
 */
export async function summarizeProfile(file: string, top = 15, focus?: string, window?: readonly [number, number]): Promise<ProfileSummary> {
  const p = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<number, number>();
  // In a window (one change, on a machine shared with its proxies) a sample counts for at most
  // 1.5 sampling intervals: a longer gap is time the process was not running, not time spent in
  // the function that happened to be sampled, so the figures are CPU, not wall-clock.
  const cap = window ? 1.5 * median(p.timeDeltas) / 1000 : Infinity;
  let at = p.startTime;
  for (let i = 0; i < p.samples.length; i++) {
    at += p.timeDeltas[i] ?? 0;
    if (window && (at < window[0] || at > window[1])) continue;
    const dt = Math.min((p.timeDeltas[i + 1] ?? 0) / 1000, cap);
    self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + dt);
  }
  const key = (n: ProfileNode): string => `${n.callFrame.functionName || '(anonymous)'}\u0000${location(n.callFrame)}`;
  const selfByKey = new Map<string, number>();
  const totalByKey = new Map<string, number>();
  let idle = 0, gc = 0, all = 0;
  const onStack = (id: number): boolean => {
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      if (byId.get(cur)!.callFrame.functionName === focus) return true;
    }
    return false;
  };
  let focused = 0;
  for (const [id, ms] of self) {
    const n = byId.get(id)!;
    all += ms;
    if (n.callFrame.functionName === '(idle)') idle += ms;
    if (n.callFrame.functionName === '(garbage collector)') gc += ms;
    if (focus !== undefined && !onStack(id)) continue;
    focused += ms;
    selfByKey.set(key(n), (selfByKey.get(key(n)) ?? 0) + ms);
    // Inclusive: every distinct function on the stack gets the sample once (recursion counted once).
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const k = key(byId.get(cur)!);
      if (seen.has(k)) continue;
      seen.add(k);
      totalByKey.set(k, (totalByKey.get(k) ?? 0) + ms);
    }
  }
  const busy = focus !== undefined ? focused : all - idle;
  const entry = (k: string): ProfileEntry => {
    const [fn, loc] = k.split('\u0000');
    const s = selfByKey.get(k) ?? 0;
    return { function: fn, location: loc, selfMs: s, totalMs: totalByKey.get(k) ?? 0, selfPercent: busy > 0 ? (100 * s) / busy : 0 };
  };
  const keys = [...new Set([...selfByKey.keys(), ...totalByKey.keys()])].filter((k) => !SPECIAL.has(k.split('\u0000')[0]));
  return {
    file, focus, focusedMs: focus !== undefined ? focused : undefined,
    durationMs: window ? all : (p.endTime - p.startTime) / 1000, idleMs: idle, gcMs: gc,
    bySelf: keys.map(entry).sort((a, b) => b.selfMs - a.selfMs).slice(0, top),
    byTotal: keys.map(entry).sort((a, b) => b.totalMs - a.totalMs).slice(0, top),
  };
}

export function renderProfile(s: ProfileSummary): string {
  const L: string[] = [];
  const busy = s.durationMs - s.idleMs;
  L.push(`#### ${path.relative(process.cwd(), s.file)}`, '');
  L.push(`${(s.durationMs / 1000).toFixed(1)} s profiled, ${(busy / 1000).toFixed(1)} s busy, of which GC ${(s.gcMs / 1000).toFixed(1)} s` +
    (s.focus !== undefined ? `; ${((s.focusedMs ?? 0) / 1000).toFixed(2)} s under ${s.focus}() (the tables count only those).` : '.'), '');
  L.push('| self | % of busy | total | function | where |', '|---:|---:|---:|---|---|');
  for (const e of s.bySelf) L.push(`| ${(e.selfMs / 1000).toFixed(2)} s | ${e.selfPercent.toFixed(1)} | ${(e.totalMs / 1000).toFixed(2)} s | ${e.function} | ${e.location} |`);
  L.push('', 'Most inclusive time:', '', '| total | function | where |', '|---:|---|---|');
  for (const e of s.byTotal) L.push(`| ${(e.totalMs / 1000).toFixed(2)} s | ${e.function} | ${e.location} |`);
  L.push('');
  return L.join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const [file, n, focus, span] = process.argv.slice(2);
  const window = span?.split('-').map(Number);
  if (!file || (window !== undefined && (window.length !== 2 || window.some((x) => !Number.isFinite(x))))) {
    process.stderr.write('usage: node dist/bench/profile.js FILE.cpuprofile [TOP] [FOCUS_FUNCTION or ""] [START-END (monotonic µs)]\n');
    process.exitCode = 2;
  } else {
    summarizeProfile(file, n ? Number(n) : 25, focus || undefined, window as [number, number] | undefined).then((s) => process.stdout.write(renderProfile(s)), (err: unknown) => {
      process.stderr.write(`${String(err)}\n`);
      process.exitCode = 1;
    });
  }
}
