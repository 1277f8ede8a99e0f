// Identity costs: how fast the mesh CA signs, and what the pod agent costs in every pod.
// - Signing: CSRs made the way agents make them (EC P-256, SPIFFE URI SAN), signed by the CA in
//   this process one at a time and 16 at a time (replicas sign concurrently after a rollout); the
//   CSR service's own checks (parse, signature, identity) are part of it, TokenReview is not (it is
//   the API server's cost, cached per token in production).
// - Agent: the real agent in a child process, getting certificates with a short lifetime from a
//   CSR server in this process, so it renews several times while its RSS and CPU are read from
//   /proc. The figure per pod is its RSS at rest and its CPU per renewal and per hour at the
//   default 24 h lifetime.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { newWorkloadKey } from '../src/agent/workload-key.js';
import { silentLogger } from '../src/logging.js';
import { validateCaFiles } from '../src/security/ca/ca-material.js';
import { MeshCa } from '../src/security/ca/mesh-ca.js';
import { generateRootCaFiles } from '../src/security/ca/self-signed-root.js';
import { CsrService } from '../src/security/csr/csr-service.js';
import { createCsrServer } from '../src/security/csr/http2-handler.js';
import type { TokenAuthenticator } from '../src/security/csr/token-authenticator.js';
import { workloadSpiffeId } from '../src/security/spiffe.js';
import { REPO_ROOT } from './server-process.js';

export interface IdentityResult {
  readonly signing: { readonly csrs: number; readonly sequentialPerSecond: number; readonly concurrentPerSecond: number; readonly concurrency: number };
  readonly agent: {
    readonly lifetimeSeconds: number; readonly windowSeconds: number; readonly renewals: number;
    readonly rssBytes: number; readonly cpuMsPerRenewal: number; readonly cpuMsAtRestPerMinute: number;
  };
}

export interface IdentityBenchOptions {
  readonly quick: boolean;
  readonly log: (line: string) => void;
}

/** One identity for every token: the benchmark measures signing, not the API server. */
const ACCEPT_ALL: TokenAuthenticator = {
  authenticate: async () => ({ ok: true, namespace: 'bench', serviceAccount: 'agent', username: 'system:serviceaccount:bench:agent' }),
};

async function newCa(): Promise<MeshCa> {
  return MeshCa.create(validateCaFiles(await generateRootCaFiles(), 'benchmark root'));
}

async function signingRate(ca: MeshCa, csrs: number, concurrency: number): Promise<IdentityResult['signing']> {
  const service = new CsrService({ ca, authenticator: ACCEPT_ALL, logger: silentLogger(), maxInFlight: concurrency * 2 });
  const id = workloadSpiffeId({ trustDomain: 'cluster.local', namespace: 'bench', serviceAccount: 'agent' });
  const bodies: string[] = [];
  for (let i = 0; i < csrs; i++) bodies.push(JSON.stringify({ csr: (await newWorkloadKey(id)).csrPem }));
  const sign = async (body: string): Promise<void> => {
    const r = await service.handle({ authorization: 'Bearer bench', contentType: 'application/json', body });
    if (r.status !== 200) throw new Error(`the CA refused a benchmark CSR: ${JSON.stringify(r.body)}`);
  };
  let start = process.hrtime.bigint();
  for (const b of bodies) await sign(b);
  const sequential = csrs / (Number(process.hrtime.bigint() - start) / 1e9);
  start = process.hrtime.bigint();
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < bodies.length) await sign(bodies[next++]);
  }));
  const concurrent = csrs / (Number(process.hrtime.bigint() - start) / 1e9);
  return { csrs, sequentialPerSecond: sequential, concurrentPerSecond: concurrent, concurrency };
}

/** utime + stime of a process, in ms, and its RSS in bytes, from /proc. */
async function procUsage(pid: number): Promise<{ cpuMs: number; rssBytes: number }> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  // Linux reports CPU time in clock ticks of 1/100 s (USER_HZ) on every architecture Node runs on.
  return { cpuMs: ticks * 10, rssBytes: rssKb * 1024 };
}

interface AgentRun { readonly renewals: number; readonly cpuMs: number; readonly rssBytes: number }

/** Runs the agent for `windowSeconds` against a CA issuing certificates of `lifetimeSeconds`. */
async function agentRun(ca: MeshCa, lifetimeSeconds: number, windowSeconds: number, log: (line: string) => void): Promise<AgentRun> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pilotfish-agent-bench-'));
  const serving = await ca.issueServingCertificate({ dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  const service = new CsrService({ ca, authenticator: ACCEPT_ALL, logger: silentLogger(), ttlMs: lifetimeSeconds * 1000 });
  const server = createCsrServer(service, { key: serving.keyPem, cert: serving.certChain });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await writeFile(path.join(dir, 'token'), 'bench-token');
  await writeFile(path.join(dir, 'root-cert.pem'), ca.trustBundle.join(''));
  const config = {
    caAddress: `https://127.0.0.1:${port}`, namespace: 'bench', serviceAccount: 'agent',
    tokenFile: path.join(dir, 'token'), rootCertFile: path.join(dir, 'root-cert.pem'),
    outputDir: path.join(dir, 'certs'), sdsSocket: path.join(dir, 'sds.sock'), xdsSocket: '', statusAddress: '',
  };
  // The same V8 flags the injected container runs with.
  const child = spawn(process.execPath, ['--max-semi-space-size=8', path.join(REPO_ROOT, 'dist/bench/agent-child.js'), JSON.stringify(config)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    let certificates = 0;
    let firstSeen: () => void = () => undefined;
    const first = new Promise<void>((resolve) => { firstSeen = resolve; });
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line === 'certificate' && ++certificates === 1) firstSeen();
    });
    await first;
    const pid = child.pid!;
    // Let start-up garbage go before measuring what the agent costs at rest.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const start = await procUsage(pid);
    const startCerts = certificates;
    log(`identity: agent (pid ${pid}) with ${lifetimeSeconds} s certificates, measured for ${windowSeconds} s`);
    const samples: number[] = [];
    const until = Date.now() + windowSeconds * 1000;
    // Sampled once a second: the RSS between renewals is what a pod pays all day.
    while (Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      samples.push((await procUsage(pid)).rssBytes);
    }
    const end = await procUsage(pid);
    samples.sort((a, b) => a - b);
    return { renewals: certificates - startCerts, cpuMs: end.cpuMs - start.cpuMs, rssBytes: samples[Math.floor(samples.length / 2)] ?? end.rssBytes };
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The agent at rest (24 h certificates: no renewal in the window) gives its RSS and idle CPU; the
 * agent renewing every few seconds gives the CPU of a renewal, its idle share taken out.
 */
async function agentCost(ca: MeshCa, quick: boolean, log: (line: string) => void): Promise<IdentityResult['agent']> {
  const windowSeconds = quick ? 20 : 60;
  const lifetimeSeconds = 10;
  const rest = await agentRun(ca, 24 * 3600, windowSeconds, log);
  const renewing = await agentRun(ca, lifetimeSeconds, windowSeconds, log);
  const idleMs = (rest.cpuMs / windowSeconds) * windowSeconds;
  return {
    lifetimeSeconds, windowSeconds, renewals: renewing.renewals,
    rssBytes: rest.rssBytes,
    cpuMsPerRenewal: renewing.renewals > 0 ? Math.max(0, renewing.cpuMs - idleMs) / renewing.renewals : NaN,
    cpuMsAtRestPerMinute: (rest.cpuMs / windowSeconds) * 60,
  };
}

export async function runIdentityBench(options: IdentityBenchOptions): Promise<IdentityResult> {
  const ca = await newCa();
  options.log('identity: signing rate');
  const signing = await signingRate(ca, options.quick ? 200 : 1000, 16);
  options.log(`identity: ${signing.sequentialPerSecond.toFixed(0)} CSRs/s one at a time, ${signing.concurrentPerSecond.toFixed(0)} CSRs/s 16 at a time`);
  const agent = await agentCost(ca, options.quick, options.log);
  return { signing, agent };
}
