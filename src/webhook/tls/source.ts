// Where the serving certificate comes from, and how a new one reaches the running server:
// files written by cert-manager (or anyone) and watched, or the self-managed Secret renewed on
// a timer. Either way a broken update is logged and the last good certificate keeps serving.
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createSecureContext } from 'node:tls';
import type { Logger } from '../../logging.js';
import { certInfo, keyMatches, type KeyPairPem } from './certs.js';
import type { ManagedCertificates } from './managed.js';

export type CertificateListener = (pair: KeyPairPem) => void;

export interface ServingCertificateSource {
  /** The current certificate; later ones go to the listener. Rejects if there is no usable one. */
  start(onChange: CertificateListener): Promise<KeyPairPem>;
  stop(): void;
}

/** Throws, naming the problem, unless cert and key form a usable pair. */
export function checkPair(pair: KeyPairPem, what: string): void {
  try {
    createSecureContext({ cert: pair.certPem, key: pair.keyPem });
  } catch (err) {
    throw new Error(`${what}: certificate and key are not a usable pair: ${(err as Error).message}`);
  }
  // Checked explicitly: depending on the order OpenSSL loads them, a mismatched key can be
  // dropped silently, leaving a context that fails every handshake.
  if (!keyMatches(pair)) throw new Error(`${what}: the private key does not belong to the certificate`);
}

export class FileCertificateSource implements ServingCertificateSource {
  private watchers: FSWatcher[] = [];
  private current: string | undefined;
  private reloading: Promise<void> = Promise.resolve();

  constructor(private readonly certFile: string, private readonly keyFile: string, private readonly logger: Logger) {}

  private async load(): Promise<KeyPairPem> {
    const [certPem, keyPem] = await Promise.all([readFile(this.certFile, 'utf8'), readFile(this.keyFile, 'utf8')]);
    const pair = { certPem, keyPem };
    checkPair(pair, `${this.certFile} + ${this.keyFile}`);
    return pair;
  }

  async start(onChange: CertificateListener): Promise<KeyPairPem> {
    const first = await this.load();
    this.current = first.certPem + first.keyPem;
    // Directories, not files: cert-manager and kubelet secret volumes replace files by renaming
    // a symlink, which a watch on the old file would never report.
    const dirs = [...new Set([path.dirname(path.resolve(this.certFile)), path.dirname(path.resolve(this.keyFile))])];
    for (const dir of dirs) {
      const w = watch(dir, () => {
        this.reloading = this.reloading.then(() => this.reload(onChange));
      });
      w.on('error', (err) => this.logger.error('watching TLS files failed', { dir, error: err.message }));
      this.watchers.push(w);
    }
    return first;
  }

  private async reload(onChange: CertificateListener): Promise<void> {
    let pair: KeyPairPem;
    try {
      pair = await this.load();
    } catch (err) {
      // Often transient: the cert was written and the key not yet. The next event retries.
      this.logger.warn('TLS files not reloaded; keeping the current certificate', {
        certFile: this.certFile, keyFile: this.keyFile, reason: (err as Error).message,
      });
      return;
    }
    if (pair.certPem + pair.keyPem === this.current) return;
    this.current = pair.certPem + pair.keyPem;
    onChange(pair);
  }

  stop(): void {
    for (const w of this.watchers) w.close();
    this.watchers = [];
  }
}

export class ManagedCertificateSource implements ServingCertificateSource {
  private timer: NodeJS.Timeout | undefined;
  private current: string | undefined;
  private listener: CertificateListener | undefined;

  constructor(
    private readonly managed: ManagedCertificates,
    private readonly checkEveryMs: number,
    private readonly logger: Logger,
  ) {}

  async start(onChange: CertificateListener): Promise<KeyPairPem> {
    const first = (await this.managed.ensure()).serving;
    checkPair(first, 'webhook TLS secret');
    this.current = first.certPem;
    this.listener = onChange;
    this.timer = setInterval(() => void this.check(), this.checkEveryMs);
    this.timer.unref();
    return first;
  }

  /** One renewal check (the timer runs it; tests and an operator-triggered refresh may too). */
  async check(): Promise<void> {
    try {
      const pair = (await this.managed.ensure()).serving;
      if (pair.certPem === this.current) return;
      checkPair(pair, 'webhook TLS secret');
      this.current = pair.certPem;
      this.listener?.(pair);
    } catch (err) {
      this.logger.error('webhook certificate check failed; keeping the current certificate', { error: (err as Error).message });
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.listener = undefined;
  }
}

export function describeCert(pem: string): { fingerprint256: string; notAfter: string; subject: string } {
  const info = certInfo(pem);
  return { fingerprint256: info.fingerprint256, notAfter: info.notAfter.toISOString(), subject: info.subject };
}
