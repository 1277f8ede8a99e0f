// The webhook part: `pilotfish webhook` over HTTPS (self-signed certificate, no cluster), loaded
// with a realistic Pod AdmissionReview by load-generator.ts in its own process: admissions per
// second at saturation (closed loop, 32 connections), then latency at fixed rates (1,000/s and
// half of saturation) with an open-loop schedule measured from each request's due time.
import { NODE_FLAGS } from '../src/cli/node-flags.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createCa, issueServingCert } from '../src/webhook/tls/certs.js';
import { INJECT_PATH } from '../src/webhook/server.js';
import type { LoadReport } from './load-generator.js';
import { admissionReview } from './pod-review.js';
import { PILOTFISH_BIN } from './server-process.js';

/** What the load generator reports (load-generator.ts), with the server's CPU per admission. */
export type LoadFigures = Omit<LoadReport, 'mode' | 'reconnects'> & {
  /** Server CPU (user + system) per admission during this load. */
  readonly serverCpuMsPerAdmission: number;
};

export interface WebhookResult {
  /** How the webhook was run: the `pilotfish webhook` command. */
  readonly command: string;
  /** What generated the load and how latency is measured (for the report's text). */
  readonly loadGenerator: string;
  readonly payloadBytes: number;
  readonly patchOperations: number;
  readonly saturation: LoadFigures;
  readonly atFixedRate: readonly LoadFigures[];
  readonly cpuSeconds: number;
  readonly rssBytes: number;
  /**
   * The floor, in the same run: a bare HTTPS server (webhook-floor.ts: same certificate, Node
   * flags, connections and load generator) that only parses the AdmissionReview and answers
   * `allowed`, and pilotfish's CPU per admission as a multiple of its.
   */
  readonly floor?: {
    readonly saturation: LoadFigures;
    readonly atFixedRate: LoadFigures;
    /** pilotfish's server CPU per admission ÷ the floor's, at the same fixed rate (1,000/s). */
    readonly cpuRatioAtFixedRate: number;
    /** The same at saturation (each as fast as it goes). */
    readonly cpuRatioAtSaturation: number;
  };
}

export const LOAD_GENERATOR_DESCRIPTION =
  'load from bench/load-generator.ts in its own process (keep-alive HTTPS connections, a fresh uid per request, every answer checked; ' +
  'saturation: closed loop; fixed rates: open loop, requests due on a fixed schedule and timed from when they were due, µs resolution)';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

function rss(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? NaN) * 1024;
}

const HOST = path.join(path.dirname(fileURLToPath(import.meta.url)), 'webhook-host.js');
const FLOOR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'webhook-floor.js');

/**
 * Starts `pilotfish webhook` without a cluster and resolves with its bound port. A build whose
 * command line lacks the subcommand runs the same runWebhookCommand through webhook-host.js.
 */
async function startWebhook(certFile: string, keyFile: string, cpuProfDir?: string): Promise<{ child: ChildProcess; port: number; command: string }> {
  const flags = ['--kubernetes', 'off', '--tls-cert-file', certFile, '--tls-key-file', keyFile,
    '--webhook-address', '127.0.0.1:0', '--native-sidecars', 'true'];
  // The profile is written when the process exits after SIGTERM (graceful shutdown).
  // The flags the image runs with (src/cli/node-flags.ts), so what is measured is what ships.
  const node = [...NODE_FLAGS, ...(cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`, `--cpu-prof-name=webhook-${Date.now()}.cpuprofile`] : [])];
  try {
    return { ...(await startWith([...node, PILOTFISH_BIN, 'webhook', ...flags])), command: 'pilotfish webhook' };
  } catch (err) {
    if (!/unknown command/.test(String(err))) throw err;
    return { ...(await startWith([...node, HOST, ...flags])), command: 'runWebhookCommand via bench/webhook-host.ts (this build has no `pilotfish webhook` yet)' };
  }
}

async function startWith(args: string[]): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const lines: string[] = [];
  const rl = readline.createInterface({ input: child.stderr! });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`pilotfish webhook did not start within 30 s:\n${lines.slice(-10).join('\n')}`)), 30_000);
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`pilotfish webhook exited (${code}):\n${lines.slice(-30).join("\n")}`)); });
    rl.on('line', (line) => {
      lines.push(line);
      try {
        const l = JSON.parse(line) as { message?: string; port?: number };
        if (l.message === 'webhook listening' && typeof l.port === 'number') {
          clearTimeout(timer);
          resolve(l.port);
        }
      } catch { /* not JSON: kept for the error message */ }
    });
  });
  // From now on the per-admission log lines are only drained: parsing them here would steal CPU
  // from the two processes being measured.
  rl.close();
  child.stderr!.resume();
  return { child, port };
}

/** One admission with a CA-verified client, to be sure the answer is a real injection. */
function admitOnce(port: number, ca: string, body: string): Promise<{ patchOperations: number }> {
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: '127.0.0.1', port, path: '/inject', method: 'POST', ca, servername: 'localhost',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => { text += d.toString(); });
      res.on('end', () => {
        try {
          const review = JSON.parse(text) as { response?: { allowed?: boolean; patchType?: string; patch?: string } };
          const r = review.response;
          if (res.statusCode !== 200 || !r?.allowed || r.patchType !== 'JSONPatch' || !r.patch) {
            reject(new Error(`webhook did not inject: ${res.statusCode} ${text.slice(0, 300)}`));
            return;
          }
          const ops = JSON.parse(Buffer.from(r.patch, 'base64').toString()) as unknown[];
          resolve({ patchOperations: ops.length });
        } catch (err) {
          reject(new Error(`webhook answer is not an AdmissionReview: ${String(err)}: ${text.slice(0, 300)}`));
        }
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

const GENERATOR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'load-generator.js');

/** The uid in the body file; the generator puts a fresh one of the same length in each request. */
const UID_PLACEHOLDER = '5b0c1f7e-3d1a-4c8e-9a57-0e2f4b6d8c19';

interface Target {
  readonly port: number;
  readonly caFile: string;
  readonly bodyFile: string;
  readonly serverPid: number;
}

/** Runs load-generator.js in its own process and returns its figures with the server's CPU per admission. */
async function generate(t: Target, o: { connections: number; seconds: number; rate?: number; expect?: 'allowed' }): Promise<LoadFigures> {
  const args = [GENERATOR, '--port', String(t.port), '--path', INJECT_PATH, '--ca', t.caFile, '--servername', 'localhost',
    '--body', t.bodyFile, '--uid-placeholder', UID_PLACEHOLDER, '--connections', String(o.connections), '--seconds', String(o.seconds)];
  if (o.rate !== undefined) args.push('--rate', String(o.rate));
  if (o.expect !== undefined) args.push('--expect', o.expect);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '', err = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  const cpu0 = cpuSeconds(t.serverPid);
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  const cpu = cpuSeconds(t.serverPid) - cpu0;
  let r: LoadReport;
  try {
    r = JSON.parse(out.trim().split('\n').pop() ?? '') as LoadReport;
  } catch {
    throw new Error(`load generator failed (exit ${code}): ${err.slice(-500)} ${out.slice(-500)}`);
  }
  return {
    connections: r.connections, durationSeconds: r.durationSeconds, rate: r.rate, requestsPerSecond: r.requestsPerSecond,
    total: r.total, latencyMs: r.latencyMs, sendLagMs: r.sendLagMs, serviceMs: r.serviceMs, errors: r.errors, non2xx: r.non2xx, firstError: r.firstError,
    serverCpuMsPerAdmission: r.total > 0 ? (cpu * 1000) / r.total : NaN,
  };
}

const fmt = (v: number): string => (v < 10 ? v.toFixed(2) : v.toFixed(0));

/** The fixed rate both servers are compared at. */
const FLOOR_RATE = 1000;

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  await new Promise((r) => { child.once('exit', r); setTimeout(r, 5000).unref(); });
}

/** The bare HTTPS floor under the same loads: saturation and the fixed rate. */
async function measureFloor(files: { certFile: string; keyFile: string; caFile: string; bodyFile: string }, seconds: number,
  log: (line: string) => void): Promise<{ saturation: LoadFigures; atFixedRate: LoadFigures }> {
  const { child, port } = await startWith([...NODE_FLAGS, FLOOR, '--cert', files.certFile, '--key', files.keyFile]);
  try {
    const target: Target = { port, caFile: files.caFile, bodyFile: files.bodyFile, serverPid: child.pid! };
    await generate(target, { connections: 8, seconds: 2, expect: 'allowed' });
    const saturation = await generate(target, { connections: 32, seconds, expect: 'allowed' });
    await sleep(500);
    const atFixedRate = await generate(target, { connections: 16, seconds, rate: FLOOR_RATE, expect: 'allowed' });
    log(`webhook floor (bare HTTPS, parse and answer allowed): ${saturation.requestsPerSecond.toFixed(0)}/s at saturation ` +
      `(${fmt(saturation.serverCpuMsPerAdmission)} CPU ms per admission), at ${FLOOR_RATE}/s ${fmt(atFixedRate.serverCpuMsPerAdmission)} CPU ms per admission`);
    return { saturation, atFixedRate };
  } finally {
    await stopChild(child);
  }
}

export async function runWebhookBench(o: { quick: boolean; log: (line: string) => void; cpuProfDir?: string }): Promise<WebhookResult> {
  const dir = await mkdtemp(path.join(tmpdir(), 'pilotfish-webhook-bench-'));
  const now = new Date();
  const ca = createCa({ commonName: 'pilotfish bench CA', now, validityDays: 1 });
  const cert = issueServingCert({ ca, hosts: ['localhost', '127.0.0.1'], now, validityDays: 1 });
  // The certificate and key get a directory of their own: the webhook watches theirs for rotations.
  await mkdir(path.join(dir, 'tls'));
  const certFile = path.join(dir, 'tls', 'tls.crt'), keyFile = path.join(dir, 'tls', 'tls.key');
  const caFile = path.join(dir, 'ca.crt'), bodyFile = path.join(dir, 'review.json');
  await writeFile(certFile, cert.certPem);
  await writeFile(keyFile, cert.keyPem);
  await writeFile(caFile, ca.certPem);
  const body = JSON.stringify(admissionReview(UID_PLACEHOLDER));
  await writeFile(bodyFile, body);
  const { child, port, command } = await startWebhook(certFile, keyFile, o.cpuProfDir);
  try {
    const first = await admitOnce(port, ca.certPem, JSON.stringify(admissionReview('0f9e8d7c-bench')));
    const target: Target = { port, caFile, bodyFile, serverPid: child.pid! };
    const seconds = o.quick ? 4 : 10;
    // Warm the JIT so the first second is not what gets measured.
    await generate(target, { connections: 8, seconds: 2 });
    const cpu0 = cpuSeconds(child.pid!);
    const saturation = await generate(target, { connections: 32, seconds });
    const note = (f: LoadFigures): string => `${f.errors + f.non2xx > 0 ? `, ${f.errors + f.non2xx} errors (${f.firstError})` : ''}`;
    o.log(`webhook: ${saturation.requestsPerSecond.toFixed(0)} admissions/s at saturation (p99 ${fmt(saturation.latencyMs.p99)} ms, ` +
      `server ${fmt(saturation.serverCpuMsPerAdmission)} CPU ms per admission${note(saturation)})`);
    const rates = [FLOOR_RATE, Math.max(1, Math.round(saturation.requestsPerSecond / 2))];
    const atFixedRate: LoadFigures[] = [];
    for (const rate of rates) {
      await sleep(500);
      const f = await generate(target, { connections: 16, seconds, rate });
      o.log(`webhook: at ${rate}/s: p50 ${fmt(f.latencyMs.p50)} ms, p99 ${fmt(f.latencyMs.p99)} ms, max ${fmt(f.latencyMs.max)} ms ` +
        `(send lag p99 ${fmt(f.sendLagMs?.p99 ?? NaN)} ms), ${f.requestsPerSecond.toFixed(0)}/s achieved, ` +
        `server ${fmt(f.serverCpuMsPerAdmission)} CPU ms per admission${note(f)}`);
      atFixedRate.push(f);
    }
    const cpu = cpuSeconds(child.pid!) - cpu0;
    const rssBytes = rss(child.pid!);
    // The floor runs after pilotfish stopped, so the two never share the cores.
    await stopChild(child);
    await sleep(500);
    const floor = await measureFloor({ certFile, keyFile, caFile, bodyFile }, seconds, o.log);
    const atRate = atFixedRate.find((f) => f.rate === FLOOR_RATE);
    const cpuRatioAtFixedRate = atRate !== undefined ? atRate.serverCpuMsPerAdmission / floor.atFixedRate.serverCpuMsPerAdmission : NaN;
    const cpuRatioAtSaturation = saturation.serverCpuMsPerAdmission / floor.saturation.serverCpuMsPerAdmission;
    o.log(`webhook: CPU per admission ${cpuRatioAtFixedRate.toFixed(2)}× the floor at ${FLOOR_RATE}/s, ${cpuRatioAtSaturation.toFixed(2)}× at saturation`);
    return {
      command: `${command} --kubernetes off --tls-cert-file … --tls-key-file … --native-sidecars true`,
      loadGenerator: LOAD_GENERATOR_DESCRIPTION,
      payloadBytes: Buffer.byteLength(body), patchOperations: first.patchOperations, saturation, atFixedRate,
      cpuSeconds: cpu, rssBytes,
      floor: { ...floor, cpuRatioAtFixedRate, cpuRatioAtSaturation },
    };
  } finally {
    await stopChild(child);
    await rm(dir, { recursive: true, force: true });
  }
}
