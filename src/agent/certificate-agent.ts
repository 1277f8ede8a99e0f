// The pod-side agent's certificate loop: key + CSR made here, the projected token read fresh for
// every request (kubelet rotates it), the answer checked, files written, listeners told (the SDS
// server), renewal at ~50 % of the lifetime, retries with backoff in between. Its state is plain
// data for health endpoints and metrics. When the CA's roots file changes (a root rotation step
// published by the control plane) and no longer matches the bundle the current certificate came
// with, the agent renews at once (root-watch.ts).
import { readFile } from 'node:fs/promises';
import type { Logger } from '../logging.js';
import { certificatePems } from '../security/pem.js';
import { DEFAULT_TRUST_DOMAIN, workloadSpiffeId } from '../security/spiffe.js';
import { AnswerRejectedError, checkAnswer } from './answer-check.js';
import { CaUnreachableError, postCsr, type CaAnswer, type CaRequest } from './ca-client.js';
import { writeCertificateFiles } from './cert-files.js';
import { renewalDelayMs, retryDelayMs, type ScheduleOptions } from './renewal-schedule.js';
import { watchRootFile } from './root-watch.js';
import { newWorkloadKey } from './workload-key.js';

/** Bounds on the files the agent reads (a projected token is ~1 KiB, a root bundle a few KiB). */
export const MAX_TOKEN_FILE_BYTES = 8 * 1024;
export const MAX_ROOT_FILE_BYTES = 256 * 1024;
/** Longest error text kept in the status. */
const MAX_ERROR_TEXT = 300;
/** setTimeout's ceiling (~24.8 days); longer delays are waited for in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

interface AgentConfig {
  readonly trustDomain?: string;
  readonly namespace: string;
  readonly serviceAccount: string;
  /** https://host:port of pilotfish's CA. */
  readonly caAddress: string;
  /** Name the CA's serving certificate must carry when not the host of caAddress. */
  readonly caServerName?: string;
  /** Roots that sign the CA's serving certificate: a file (re-read for every request; a mounted ConfigMap changes during a rotation) or PEM. */
  readonly caRootCertFile?: string;
  readonly caRootCertPem?: string;
  /** The projected service account token (audience pilotfish), re-read for every request. */
  readonly tokenFile: string;
  /** Where cert-chain.pem, key.pem and root-cert.pem go; none are written when absent (SDS only). */
  readonly outputDir?: string;
  readonly requestTimeoutMs?: number;
  readonly schedule?: ScheduleOptions;
  /** How often caRootCertFile is read without a change event; default 30 s (0: events only). */
  readonly rootPollMs?: number;
}

export interface WorkloadCertificate {
  readonly spiffeId: string;
  /** Leaf first. */
  readonly certChainPem: readonly string[];
  readonly privateKeyPem: string;
  readonly trustBundlePem: readonly string[];
  readonly serialNumber: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly receivedAt: Date;
}

export interface AgentError {
  readonly message: string;
  /** The CA's reason code when it refused. */
  readonly reason?: string;
  /** The CA's HTTP status when it answered. */
  readonly status?: number;
  readonly at: string;
}

export interface AgentStatus {
  readonly identity: string;
  readonly state: 'starting' | 'ready' | 'expired' | 'stopped';
  readonly serialNumber?: string;
  readonly expiresAt?: string;
  readonly receivedAt?: string;
  readonly nextAttemptAt?: string;
  readonly consecutiveFailures: number;
  readonly lastError?: AgentError;
  /** Certificates received, the first included. */
  readonly issued: number;
  /** Renewals started because the roots file changed (root rotation steps). */
  readonly earlyRenewals: number;
}

interface AgentDeps {
  readonly logger: Logger;
  readonly now?: () => Date;
  readonly random?: () => number;
  /** The transport, replaceable in tests of the loop; default postCsr over HTTP/2. */
  readonly post?: (request: CaRequest) => Promise<CaAnswer>;
}

type Listener = (certificate: WorkloadCertificate) => void;
type FailureListener = (error: AgentError) => void;

class RefusedError extends Error {
  constructor(message: string, readonly status: number, readonly reason?: string) {
    super(message);
  }
}

async function readBoundedFile(path: string, max: number, what: string): Promise<string> {
  const text = await readFile(path, 'utf8').catch((err: Error) => {
    throw new Error(`cannot read the ${what} ${path}: ${err.message}`);
  });
  if (Buffer.byteLength(text, 'utf8') > max) throw new Error(`the ${what} ${path} is larger than ${max} bytes`);
  return text;
}

function refusalText(answer: CaAnswer): { message: string; reason?: string } {
  const body = answer.body as { error?: unknown; reason?: unknown } | undefined;
  const error = typeof body?.error === 'string' ? body.error.slice(0, MAX_ERROR_TEXT) : `HTTP ${answer.status}`;
  const reason = typeof body?.reason === 'string' ? body.reason.slice(0, 64) : undefined;
  return { message: `the CA refused the certificate request: ${error}`, reason };
}

export class CertificateAgent {
  readonly spiffeId: string;
  private readonly now: () => Date;
  private readonly random: () => number;
  private readonly post: (request: CaRequest) => Promise<CaAnswer>;
  private readonly listeners = new Set<Listener>();
  private readonly failureListeners = new Set<FailureListener>();
  private latest: WorkloadCertificate | undefined;
  private timer: NodeJS.Timeout | undefined;
  private nextAttemptAt: Date | undefined;
  private failures = 0;
  private lastError: AgentError | undefined;
  private stopped = false;
  private issued = 0;
  private earlyRenewals = 0;
  private unwatchRoots: (() => void) | undefined;
  private running: Promise<WorkloadCertificate> | undefined;
  private firstWaiters: { resolve: (c: WorkloadCertificate) => void; reject: (e: Error) => void }[] = [];

  constructor(private readonly config: AgentConfig, private readonly deps: AgentDeps) {
    if (!config.caRootCertFile && !config.caRootCertPem) throw new Error('the agent needs caRootCertFile or caRootCertPem to trust the CA');
    this.spiffeId = workloadSpiffeId({
      trustDomain: config.trustDomain ?? DEFAULT_TRUST_DOMAIN, namespace: config.namespace, serviceAccount: config.serviceAccount,
    });
    this.now = deps.now ?? (() => new Date());
    this.random = deps.random ?? Math.random;
    this.post = deps.post ?? postCsr;
  }

  /** Starts the loop; resolves with the first certificate (retrying until one is issued), rejects if stopped first. */
  start(): Promise<WorkloadCertificate> {
    if (this.stopped) return Promise.reject(new Error('the certificate agent was stopped'));
    const first = this.latest ? Promise.resolve(this.latest)
      : new Promise<WorkloadCertificate>((resolve, reject) => this.firstWaiters.push({ resolve, reject }));
    if (!this.timer && !this.running && !this.latest) void this.attempt();
    if (this.config.caRootCertFile && !this.unwatchRoots) {
      this.unwatchRoots = watchRootFile(this.config.caRootCertFile, (text) => this.rootsChanged(text),
        { maxBytes: MAX_ROOT_FILE_BYTES, pollMs: this.config.rootPollMs });
    }
    return first;
  }

  stop(): void {
    this.stopped = true;
    this.unwatchRoots?.();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.nextAttemptAt = undefined;
    for (const w of this.firstWaiters.splice(0)) w.reject(new Error('the certificate agent was stopped'));
  }

  /** Called with every new certificate (the first included); returns the unsubscribe function. */
  onCertificate(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Called after every failed attempt (a retry is already scheduled); returns the unsubscribe function. */
  onFailure(listener: FailureListener): () => void {
    this.failureListeners.add(listener);
    return () => this.failureListeners.delete(listener);
  }

  current(): WorkloadCertificate | undefined {
    return this.latest;
  }

  /** Renews now (e.g. when the trust bundle changed); resolves with the new certificate or rejects with the failure. */
  renewNow(): Promise<WorkloadCertificate> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    return this.attempt();
  }

  status(): AgentStatus {
    const now = this.now().getTime();
    const c = this.latest;
    const state = this.stopped ? 'stopped' : !c ? 'starting' : c.notAfter.getTime() <= now ? 'expired' : 'ready';
    return {
      identity: this.spiffeId,
      state,
      ...(c ? { serialNumber: c.serialNumber, expiresAt: c.notAfter.toISOString(), receivedAt: c.receivedAt.toISOString() } : {}),
      ...(this.nextAttemptAt ? { nextAttemptAt: this.nextAttemptAt.toISOString() } : {}),
      consecutiveFailures: this.failures,
      ...(this.lastError ? { lastError: this.lastError } : {}),
      issued: this.issued,
      earlyRenewals: this.earlyRenewals,
    };
  }

  /**
   * The roots file changed. The bundle the control plane publishes lists the root it signs under
   * first, so any rotation step makes it differ from the bundle of the current certificate: renew
   * now, so the workload trusts the new root (step 1), holds a certificate under it (step 2), and
   * drops the old one (step 3) without waiting for its scheduled renewal. One renewal per change:
   * an answer from a replica that has not reloaded yet is kept until the next scheduled renewal.
   */
  private rootsChanged(text: string): void {
    if (this.stopped) return;
    const published = certificatePems(text);
    const current = this.latest;
    if (!current || published.length === 0 || published.join('') === current.trustBundlePem.join('')) return;
    if (this.running) {
      // That attempt may have read the previous file: look again once it is done.
      void this.running.then(() => this.rootsChanged(text), () => this.rootsChanged(text));
      return;
    }
    this.earlyRenewals += 1;
    this.deps.logger.info('the mesh roots changed; renewing the workload certificate now', {
      identity: this.spiffeId, roots: published.length, serial: current.serialNumber,
    });
    this.renewNow().catch(() => undefined);
  }

  private attempt(): Promise<WorkloadCertificate> {
    if (this.running) return this.running;
    const run = this.fetchOnce().then(
      (certificate) => {
        this.running = undefined;
        this.succeeded(certificate);
        return certificate;
      },
      (err: unknown) => {
        this.running = undefined;
        this.failed(err instanceof Error ? err : new Error(String(err)));
        throw err;
      },
    );
    this.running = run;
    run.catch(() => undefined);
    return run;
  }

  private async fetchOnce(): Promise<WorkloadCertificate> {
    const token = (await readBoundedFile(this.config.tokenFile, MAX_TOKEN_FILE_BYTES, 'service account token file')).trim();
    if (token === '') throw new Error(`the service account token file ${this.config.tokenFile} is empty`);
    const caBundlePem = this.config.caRootCertFile
      ? await readBoundedFile(this.config.caRootCertFile, MAX_ROOT_FILE_BYTES, 'CA root certificate file')
      : this.config.caRootCertPem ?? '';
    const key = await newWorkloadKey(this.spiffeId);
    const answer = await this.post({
      address: this.config.caAddress, caBundlePem, serverName: this.config.caServerName, token, csrPem: key.csrPem,
      timeoutMs: this.config.requestTimeoutMs,
    });
    if (answer.status !== 200) {
      const { message, reason } = refusalText(answer);
      throw new RefusedError(message, answer.status, reason);
    }
    const receivedAt = this.now();
    const checked = checkAnswer(answer.body, { spiffeId: this.spiffeId, publicKeySpki: key.publicKeySpki, now: receivedAt });
    const certificate: WorkloadCertificate = {
      spiffeId: this.spiffeId, certChainPem: checked.certChain, privateKeyPem: key.privateKeyPem, trustBundlePem: checked.trustBundle,
      serialNumber: checked.serialNumber, notBefore: checked.notBefore, notAfter: checked.notAfter, receivedAt,
    };
    if (this.config.outputDir) {
      await writeCertificateFiles(this.config.outputDir, {
        certChainPem: checked.certChain.join(''), privateKeyPem: key.privateKeyPem, trustBundlePem: checked.trustBundle.join(''),
      });
    }
    return certificate;
  }

  private succeeded(certificate: WorkloadCertificate): void {
    this.latest = certificate;
    this.issued += 1;
    this.failures = 0;
    this.deps.logger.info('workload certificate received', {
      identity: this.spiffeId, serial: certificate.serialNumber, expiresAt: certificate.notAfter.toISOString(),
    });
    for (const w of this.firstWaiters.splice(0)) w.resolve(certificate);
    for (const listener of this.listeners) {
      try {
        listener(certificate);
      } catch (err) {
        this.deps.logger.error('certificate listener failed', { error: (err as Error).message });
      }
    }
    if (this.stopped) return;
    // Anchored on when the certificate arrived, not on now: writing files and telling listeners
    // (slow on a busy node) must not push the renewal later into the certificate's life.
    const renewAt = certificate.receivedAt.getTime() + renewalDelayMs(certificate.receivedAt.getTime(), certificate.notAfter.getTime(), this.random, this.config.schedule);
    this.schedule(Math.max(0, renewAt - this.now().getTime()));
  }

  private failed(err: Error): void {
    this.failures += 1;
    const at = this.now();
    this.lastError = {
      message: err.message.slice(0, MAX_ERROR_TEXT),
      ...(err instanceof RefusedError ? { status: err.status, ...(err.reason ? { reason: err.reason } : {}) } : {}),
      at: at.toISOString(),
    };
    const remaining = this.latest ? this.latest.notAfter.getTime() - at.getTime() : undefined;
    const kind = err instanceof RefusedError ? 'refused' : err instanceof AnswerRejectedError ? 'bad_answer'
      : err instanceof CaUnreachableError ? 'unreachable' : 'local';
    this.deps.logger.warn('workload certificate request failed', {
      identity: this.spiffeId, kind, reason: this.lastError.reason, error: this.lastError.message, attempt: this.failures,
      ...(remaining !== undefined ? { currentExpiresInMs: remaining } : {}),
    });
    if (!this.stopped) this.schedule(retryDelayMs(this.failures - 1, remaining, this.random, this.config.schedule));
    const error = this.lastError;
    for (const listener of this.failureListeners) {
      try {
        listener(error);
      } catch (err) {
        this.deps.logger.error('certificate failure listener failed', { error: (err as Error).message });
      }
    }
  }

  private schedule(delayMs: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.nextAttemptAt = new Date(this.now().getTime() + delayMs);
    const step = Math.min(delayMs, MAX_TIMER_MS);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (step < delayMs) this.schedule(delayMs - step);
      else void this.attempt();
    }, step);
  }
}
