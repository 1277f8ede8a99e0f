// The webhook part: `pilotfish webhook` over HTTPS (self-signed certificate, no cluster), loaded
// with a realistic Pod AdmissionReview by autocannon in its own process: admissions per second at
// saturation, then latency at fixed rates (1,000/s and half of saturation).
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createCa, issueServingCert } from '../src/webhook/tls/certs.js';
import { admissionReview } from './pod-review.js';
import { PILOTFISH_BIN } from './server-process.js';

const require = createRequire(import.meta.url);

export interface LoadFigures {
  readonly connections: number;
  readonly durationSeconds: number;
  /** Target rate, or undefined for as fast as possible. */
  readonly rate?: number;
  readonly requestsPerSecond: number;
  readonly total: number;
  readonly latencyMs: { readonly p50: number; readonly p90: number; readonly p99: number; readonly max: number };
  readonly errors: number;
  readonly non2xx: number;
}

export interface WebhookResult {
  /** How the webhook was run: the `pilotfish webhook` command. */
  readonly command: string;
  readonly payloadBytes: number;
  readonly patchOperations: number;
  readonly saturation: LoadFigures;
  readonly atFixedRate: readonly LoadFigures[];
  readonly cpuSeconds: number;
  readonly rssBytes: number;
}

interface AutocannonJson {
  latency: { p50: number; p90: number; p99: number; max: number };
  requests: { average: number; total: number };
  errors: number;
  timeouts: number;
  non2xx: number;
  duration: number;
}

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

/**
 * Starts `pilotfish webhook` without a cluster and resolves with its bound port. A build whose
 * command line lacks the subcommand runs the same runWebhookCommand through webhook-host.js.
 */
async function startWebhook(certFile: string, keyFile: string, cpuProfDir?: string): Promise<{ child: ChildProcess; port: number; command: string }> {
  const flags = ['--kubernetes', 'off', '--tls-cert-file', certFile, '--tls-key-file', keyFile,
    '--webhook-address', '127.0.0.1:0', '--native-sidecars', 'true'];
  // The profile is written when the process exits after SIGTERM (graceful shutdown).
  const node = cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`, `--cpu-prof-name=webhook-${Date.now()}.cpuprofile`] : [];
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

/** Runs autocannon in its own process and returns its figures. */
async function autocannon(url: string, bodyFile: string, o: { connections: number; seconds: number; rate?: number }): Promise<LoadFigures> {
  const bin = require.resolve('autocannon/autocannon.js');
  const args = [bin, '-j', '-n', '-c', String(o.connections), '-d', String(o.seconds), '-m', 'POST',
    '-H', 'content-type=application/json', '-i', bodyFile];
  if (o.rate !== undefined) args.push('-R', String(o.rate));
  args.push(url);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '', err = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  const line = out.trim().split('\n').pop() ?? '';
  let j: AutocannonJson;
  try {
    j = JSON.parse(line) as AutocannonJson;
  } catch {
    throw new Error(`autocannon failed (exit ${code}): ${err.slice(-500)} ${out.slice(-500)}`);
  }
  return {
    connections: o.connections, durationSeconds: j.duration, rate: o.rate,
    requestsPerSecond: j.requests.total / j.duration, total: j.requests.total,
    latencyMs: { p50: j.latency.p50, p90: j.latency.p90, p99: j.latency.p99, max: j.latency.max },
    errors: j.errors + j.timeouts, non2xx: j.non2xx,
  };
}

export async function runWebhookBench(o: { quick: boolean; log: (line: string) => void; cpuProfDir?: string }): Promise<WebhookResult> {
  const dir = await mkdtemp(path.join(tmpdir(), 'pilotfish-webhook-bench-'));
  const now = new Date();
  const ca = createCa({ commonName: 'pilotfish bench CA', now, validityDays: 1 });
  const cert = issueServingCert({ ca, hosts: ['localhost', '127.0.0.1'], now, validityDays: 1 });
  const certFile = path.join(dir, 'tls.crt'), keyFile = path.join(dir, 'tls.key'), bodyFile = path.join(dir, 'review.json');
  await writeFile(certFile, cert.certPem);
  await writeFile(keyFile, cert.keyPem);
  // One uid for every request: the webhook only echoes it (autocannon's -I id replacement sends a
  // wrong Content-Length in version 8, so it is not used).
  const body = JSON.stringify(admissionReview('5b0c1f7e-3d1a-4c8e-9a57-0e2f4b6d8c19'));
  await writeFile(bodyFile, body);
  const { child, port, command } = await startWebhook(certFile, keyFile, o.cpuProfDir);
  try {
    const first = await admitOnce(port, ca.certPem, JSON.stringify(admissionReview('0f9e8d7c-bench')));
    const url = `https://127.0.0.1:${port}/inject`;
    const seconds = o.quick ? 4 : 10;
    // Warm the JIT and TLS session caches so the first second is not what gets measured.
    await autocannon(url, bodyFile, { connections: 8, seconds: 2 });
    const cpu0 = cpuSeconds(child.pid!);
    const saturation = await autocannon(url, bodyFile, { connections: 32, seconds });
    o.log(`webhook: ${saturation.requestsPerSecond.toFixed(0)} admissions/s at saturation (p99 ${saturation.latencyMs.p99} ms)`);
    const rates = [1000, Math.max(1, Math.round(saturation.requestsPerSecond / 2))];
    const atFixedRate: LoadFigures[] = [];
    for (const rate of rates) {
      await sleep(500);
      const f = await autocannon(url, bodyFile, { connections: 16, seconds, rate });
      o.log(`webhook: at ${rate}/s: p50 ${f.latencyMs.p50} ms, p99 ${f.latencyMs.p99} ms, ${f.requestsPerSecond.toFixed(0)}/s achieved`);
      atFixedRate.push(f);
    }
    return {
      command: `${command} --kubernetes off --tls-cert-file … --tls-key-file … --native-sidecars true`,
      payloadBytes: Buffer.byteLength(body), patchOperations: first.patchOperations, saturation, atFixedRate,
      cpuSeconds: cpuSeconds(child.pid!) - cpu0, rssBytes: rss(child.pid!),
    };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => { child.once('exit', r); setTimeout(r, 5000).unref(); });
    await rm(dir, { recursive: true, force: true });
  }
}
