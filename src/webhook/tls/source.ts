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

type CertificateListener = (pair: KeyPairPem) => void;

export interface ServingCertificateSource {
  /** The current certificate; later ones go to the listener. Rejects if there is no usable one. */
  start(onChange: CertificateListener): Promise<KeyPairPem>;
  stop(): void;
}

/** Throws, naming the problem, unless cert and key form a usable pair. */
function checkPair(pair: KeyPairPem, what: string): void {
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
  /** The contents last read and judged (good or not): only a change of them is worth a check. */
  private lastSeen: string | undefined;
  private reloading: Promise<void> = Promise.resolve();
  private reloadQueued = false;

  constructor(private readonly certFile: string, private readonly keyFile: string, private readonly logger: Logger) {}

  private async read(): Promise<KeyPairPem> {
    const [certPem, keyPem] = await Promise.all([readFile(this.certFile, 'utf8'), readFile(this.keyFile, 'utf8')]);
    return { certPem, keyPem };
  }

  async start(onChange: CertificateListener): Promise<KeyPairPem> {
    const first = await this.read();
    checkPair(first, `${this.certFile} + ${this.keyFile}`);
    this.current = this.lastSeen = first.certPem + first.keyPem;
    // Directories, not files: cert-manager and kubelet secret volumes replace files by renaming
    // a symlink, which a watch on the old file would never report. Anything else written in the
    // directory (a log file, say) reports too, so a burst of events makes one reload, and a reload
    // that finds the same contents stops there (checking a pair costs about a millisecond).
    const dirs = [...new Set([path.dirname(path.resolve(this.certFile)), path.dirname(path.resolve(this.keyFile))])];
    for (const dir of dirs) {
      const w = watch(dir, () => {
        if (this.reloadQueued) return;
        this.reloadQueued = true;
        this.reloading = this.reloading.then(() => {
          // Cleared before reading: an event from now on may be a newer write, and gets its own reload.
          this.reloadQueued = false;
          return this.reload(onChange);
        });
      });
      w.on('error', (err) => this.logger.error('watching TLS files failed', { dir, error: err.message }));
      this.watchers.push(w);
    }
    return first;
  }

  private async reload(onChange: CertificateListener): Promise<void> {
    let pair: KeyPairPem;
    try {
      pair = await this.read();
    } catch (err) {
      // A file replaced right now (renamed away and back) can be missing for a moment.
      this.lastSeen = undefined;
      this.logger.warn('TLS files not reloaded; keeping the current certificate', {
        certFile: this.certFile, keyFile: this.keyFile, reason: (err as Error).message,
      });
      return;
    }
    const contents = pair.certPem + pair.keyPem;
    if (contents === this.lastSeen) {
      this.logger.debug('TLS directory changed, certificate files did not; not checked again', { certFile: this.certFile, keyFile: this.keyFile });
      return;
    }
    this.lastSeen = contents;
    if (contents === this.current) return;
    try {
      checkPair(pair, `${this.certFile} + ${this.keyFile}`);
    } catch (err) {
      // Often transient: the cert was written and the key not yet. The next change retries.
      this.logger.warn('TLS files not reloaded; keeping the current certificate', {
        certFile: this.certFile, keyFile: this.keyFile, reason: (err as Error).message,
      });
      return;
    }
    this.current = contents;
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
