// The mesh CA follows its store without a restart: a root rotation is an edit of the CA directory
// or Secret (README "Root rotation"). The store is read again when it says it changed (a directory
// watch) and on a timer (a Secret, or a filesystem whose events do not arrive); material that does
// not validate is refused with one sentence and the last good CA stays in use, so an operator's
// half-copied set of files never stops signing.
import type { Logger } from '../../logging.js';
import { CA_FILE_NAMES, type CaFiles } from './ca-files.js';
import { CaMaterialError, validateCaFiles, type CaMaterial } from './ca-material.js';
import type { CaStore } from './ca-store.js';
import { MeshCa, type MeshCaOptions } from './mesh-ca.js';

/** The CA in use now, and news of its replacement. */
export interface CurrentCa {
  current(): MeshCa;
  /** Called after every swap with the new and the previous CA; returns the unsubscribe function. */
  onChange(listener: (next: MeshCa, previous: MeshCa) => void): () => void;
}

/** A CA that never changes (tests, and callers without a store). */
export function fixedCa(ca: MeshCa): CurrentCa {
  return { current: () => ca, onChange: () => () => undefined };
}

interface CaReloaderOptions {
  readonly logger: Logger;
  /** How often the store is read even without news; default 30 s (a Secret GET, or 4 small file reads). 0: never. */
  readonly pollIntervalMs?: number;
  /** Wait after a change event before reading, so the files an operator copies one by one arrive together; default 250 ms. */
  readonly settleMs?: number;
  readonly caOptions?: MeshCaOptions;
}

/** The stored text as one comparable string (entry order fixed). */
function fingerprint(files: CaFiles | undefined): string {
  return JSON.stringify(CA_FILE_NAMES.map((n) => files?.[n] ?? null));
}

/** What a signer and its peers see of the material: a new key for the same certificate is impossible (validation checks the pair). */
function sameMaterial(a: CaMaterial, b: CaMaterial): boolean {
  return a.signingCertPem === b.signingCertPem && a.chainPems.join('') === b.chainPems.join('') && a.trustBundle.join('') === b.trustBundle.join('');
}

export class MeshCaReloader implements CurrentCa {
  /** Swaps made, and stored versions refused (each distinct refused version counted once). */
  readonly stats = { reloads: 0, refused: 0 };
  private ca: MeshCa;
  private lastSeen: string | undefined;
  private readonly listeners = new Set<(next: MeshCa, previous: MeshCa) => void>();
  private pollTimer: NodeJS.Timeout | undefined;
  private settleTimer: NodeJS.Timeout | undefined;
  private unwatch: (() => void) | undefined;
  private running: Promise<boolean> | undefined;
  private again = false;
  private stopped = false;

  constructor(private readonly store: CaStore, initial: MeshCa, private readonly options: CaReloaderOptions) {
    this.ca = initial;
  }

  current(): MeshCa {
    return this.ca;
  }

  onChange(listener: (next: MeshCa, previous: MeshCa) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Starts following the store (its change events and the poll timer). */
  start(): void {
    const poll = this.options.pollIntervalMs ?? 30_000;
    if (poll > 0) this.pollTimer = setInterval(() => void this.check(), poll).unref();
    this.unwatch = this.store.watch?.(() => this.changed());
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.pollTimer);
    clearTimeout(this.settleTimer);
    this.unwatch?.();
  }

  /**
   * Reads the store now; resolves true when a new CA was swapped in. A check asked for while one
   * runs runs once more after it, so the last edit is never missed.
   */
  check(): Promise<boolean> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    const run = (async (): Promise<boolean> => {
      let swapped = false;
      do {
        this.again = false;
        swapped = (await this.checkOnce()) || swapped;
      } while (this.again && !this.stopped);
      return swapped;
    })().finally(() => { this.running = undefined; });
    this.running = run;
    return run;
  }

  private changed(): void {
    if (this.stopped) return;
    clearTimeout(this.settleTimer);
    this.settleTimer = setTimeout(() => void this.check(), this.options.settleMs ?? 250);
  }

  private async checkOnce(): Promise<boolean> {
    const log = this.options.logger;
    let files: CaFiles | undefined;
    try {
      files = await this.store.read();
    } catch (err) {
      log.warn('cannot read the mesh CA material; the current CA stays in use', { store: this.store.description, reason: (err as Error).message });
      return false;
    }
    const seen = fingerprint(files);
    if (seen === this.lastSeen || this.stopped) return false;
    this.lastSeen = seen;
    if (!files) {
      this.stats.refused += 1;
      log.warn('mesh CA material refused; the current CA stays in use', { store: this.store.description, reason: 'the material is gone' });
      return false;
    }
    let next: MeshCa;
    try {
      next = await MeshCa.create(validateCaFiles(files, this.store.description, this.options.caOptions?.now?.()), this.options.caOptions);
    } catch (err) {
      this.stats.refused += 1;
      const reason = err instanceof CaMaterialError ? err.message : `cannot use the material: ${(err as Error).message}`;
      log.warn('mesh CA material refused; the current CA stays in use', { store: this.store.description, reason });
      return false;
    }
    if (sameMaterial(next.material, this.ca.material) || this.stopped) return false;
    const previous = this.ca;
    this.ca = next;
    this.stats.reloads += 1;
    log.info('mesh CA reloaded', {
      store: this.store.description,
      signer: next.material.signingCert.subject.replace(/\n/g, ', '),
      signerChanged: next.material.signingCertPem !== previous.material.signingCertPem,
      roots: next.material.trustBundle.length,
    });
    for (const listener of this.listeners) {
      try {
        listener(next, previous);
      } catch (err) {
        log.error('a mesh CA listener failed', { reason: (err as Error).message });
      }
    }
    return true;
  }
}
