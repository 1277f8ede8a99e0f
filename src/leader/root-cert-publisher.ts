// The mesh's trust bundle as a ConfigMap (`pilotfish-ca-root-cert`, key `root-cert.pem`) in every
// namespace labelled for injection, as Istio's istio-ca-root-cert: each injected pod mounts it so
// its agent can verify the control plane's TLS port before it holds a certificate of its own.
//
// Written by the Lease holder only (replicas would otherwise race on every bundle change), and
// level-triggered like the status writer: callers say which namespaces want it and that the bundle
// may have changed; one worker compares and writes the differences, retrying with backoff.
// Nothing is written when the ConfigMap already holds the bundle, and a ConfigMap is never deleted:
// a namespace that loses its label may still run pods that mount it.
import { SerialPasses } from './serial-passes.js';
import type { Logger } from '../logging.js';
import { Backoff, type BackoffOptions } from '../kube/backoff.js';
import { errorCode, errorText, KubeApiError, MERGE_PATCH, type KubeRest } from '../kube/rest.js';
import { NAMESPACE_INJECT_ENABLED, NAMESPACE_INJECT_LABEL, ROOT_CERT_CONFIGMAP, ROOT_CERT_KEY } from '../webhook/injection-names.js';

/** The parts of a ConfigMap the publisher reads. */
interface RootCertConfigMap {
  readonly data?: Readonly<Record<string, string>>;
}

interface RootCertClient {
  /** undefined when the ConfigMap does not exist. */
  get(namespace: string): Promise<RootCertConfigMap | undefined>;
  create(namespace: string, bundle: string): Promise<void>;
  /** Sets the one key; other keys someone else put there are kept. */
  update(namespace: string, bundle: string): Promise<void>;
}

interface RootCertPublisherOptions {
  readonly client: RootCertClient;
  /** The trust bundle (PEM, every root the mesh trusts); read at every comparison. */
  readonly bundle: () => Promise<string>;
  readonly isLeader: () => boolean;
  readonly logger: Logger;
  /**
   * How often the bundle is read again even if nobody said it changed (no API call unless it
   * did); default 60 s. 0: only on kick().
   */
  readonly checkIntervalMs?: number;
  /** How often every ConfigMap is read back, to repair edits and deletions; default 10 min. 0: never. */
  readonly resyncIntervalMs?: number;
  readonly backoff?: BackoffOptions;
}

/**
 * Namespaces labelled for injection, whose pods' agents need the roots. A pod injected by its own
 * label in an unlabelled namespace does not make its namespace one of these (see the README).
 */
export function injectedNamespaces(namespaces: Iterable<{ readonly name: string; readonly labels: Readonly<Record<string, string>> }>): string[] {
  const out: string[] = [];
  for (const n of namespaces) if (n.labels[NAMESPACE_INJECT_LABEL] === NAMESPACE_INJECT_ENABLED) out.push(n.name);
  return out;
}

/**
 * A ConfigMap holds at most 1 MiB; a bundle far below that is a few roots. Anything larger is a
 * broken CA source, refused (the last published bundle stays) rather than written everywhere.
 */
export const MAX_BUNDLE_BYTES = 256 * 1024;

export class RootCertPublisher {
  private namespaces = new Set<string>();
  /** Namespace -> the bundle it is known to hold (written or read back). */
  private readonly known = new Map<string, string>();
  private readonly passes = new SerialPasses(() => this.pass());
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly checkTimer: NodeJS.Timeout | undefined;
  private readonly resyncTimer: NodeJS.Timeout | undefined;
  private wasLeader = false;
  private readonly backoff: Backoff;
  private readonly log: Logger;
  readonly stats = { writes: 0, failures: 0, refusedBundles: 0 };

  constructor(private readonly opts: RootCertPublisherOptions) {
    this.log = opts.logger.child({ component: 'root-cert-publisher' });
    this.backoff = new Backoff(opts.backoff ?? { initialMs: 500, maxMs: 30_000 });
    const check = opts.checkIntervalMs ?? 60_000;
    const resync = opts.resyncIntervalMs ?? 600_000;
    if (check > 0) this.checkTimer = setInterval(() => this.kick(), check).unref();
    if (resync > 0) this.resyncTimer = setInterval(() => this.resync(), resync).unref();
  }

  /** Replaces the set of namespaces that want the ConfigMap (those labelled for injection). */
  setNamespaces(names: Iterable<string>): void {
    const next = new Set(names);
    if (next.size === this.namespaces.size && [...next].every((n) => this.namespaces.has(n))) return;
    this.namespaces = next;
    for (const ns of [...this.known.keys()]) if (!next.has(ns)) this.known.delete(ns);
    this.kick();
  }

  /** Compares again: the bundle may have changed, or leadership was gained. */
  kick(): void {
    this.passes.kick();
  }

  /** Forgets what the ConfigMaps are known to hold, so each is read back (and repaired) once. */
  resync(): void {
    this.known.clear();
    this.kick();
  }

  /** Resolves when no work is pending or running (a scheduled retry does not count). */
  async idle(): Promise<void> {
    await this.passes.idle();
  }

  async stop(): Promise<void> {
    clearTimeout(this.retryTimer);
    clearInterval(this.checkTimer);
    clearInterval(this.resyncTimer);
    await this.passes.stop();
  }

  private async pass(): Promise<void> {
    if (!this.opts.isLeader()) {
      // Another replica writes meanwhile: what we knew may be stale when we lead again.
      if (this.wasLeader) this.known.clear();
      this.wasLeader = false;
      return;
    }
    this.wasLeader = true;
    const bundle = await this.readBundle();
    if (bundle === undefined) return;
    let failed = false;
    for (const ns of [...this.namespaces].sort()) {
      if (this.passes.stopped || !this.opts.isLeader()) return;
      if (this.known.get(ns) === bundle) continue;
      if (!await this.publish(ns, bundle)) failed = true;
    }
    if (failed) {
      clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => this.kick(), this.backoff.next());
    } else {
      this.backoff.reset();
    }
  }

  private async readBundle(): Promise<string | undefined> {
    let bundle: string;
    try {
      bundle = await this.opts.bundle();
    } catch (err) {
      this.stats.refusedBundles++;
      this.log.warn('trust bundle unavailable; nothing published', { reason: errorText(err) });
      return undefined;
    }
    const bytes = Buffer.byteLength(bundle);
    if (!bundle.includes('-----BEGIN CERTIFICATE-----') || bytes > MAX_BUNDLE_BYTES) {
      this.stats.refusedBundles++;
      this.log.warn('trust bundle refused; the published one stays', {
        reason: bytes > MAX_BUNDLE_BYTES ? `${bytes} bytes exceed ${MAX_BUNDLE_BYTES}` : 'no PEM certificate in it',
      });
      return undefined;
    }
    return bundle;
  }

  /** False when the write failed and should be retried. */
  private async publish(namespace: string, bundle: string): Promise<boolean> {
    const c = this.opts.client;
    try {
      const live = await c.get(namespace);
      if (live === undefined) {
        await c.create(namespace, bundle);
      } else if (live.data?.[ROOT_CERT_KEY] !== bundle) {
        await c.update(namespace, bundle);
      } else {
        this.known.set(namespace, bundle);
        return true;
      }
      this.known.set(namespace, bundle);
      this.stats.writes++;
      this.log.info('trust bundle published', { namespace, configMap: ROOT_CERT_CONFIGMAP, created: live === undefined });
      return true;
    } catch (err) {
      // The namespace is gone (or going): nothing to publish into until it is labelled again.
      if (errorCode(err) === 404 || (err instanceof KubeApiError && err.reason === 'Forbidden' && /being terminated/.test(err.message))) {
        return true;
      }
      // Anything else, a create that lost a race with someone else's included: read it again next time.
      this.stats.failures++;
      this.log.warn('publishing the trust bundle failed; will retry', { namespace, reason: errorText(err).slice(0, 300) });
      return false;
    }
  }
}

/** RootCertClient over the API server's REST interface. */
export class KubeRootCertClient implements RootCertClient {
  constructor(private readonly rest: KubeRest, private readonly timeoutMs = 10_000) {}

  private path(namespace: string, name?: string): string {
    const base = `/api/v1/namespaces/${encodeURIComponent(namespace)}/configmaps`;
    return name === undefined ? base : `${base}/${encodeURIComponent(name)}`;
  }

  async get(namespace: string): Promise<RootCertConfigMap | undefined> {
    try {
      return await this.rest.request<RootCertConfigMap>('GET', this.path(namespace, ROOT_CERT_CONFIGMAP), { timeoutMs: this.timeoutMs });
    } catch (err) {
      if (errorCode(err) === 404) return undefined;
      throw err;
    }
  }

  async create(namespace: string, bundle: string): Promise<void> {
    await this.rest.request('POST', this.path(namespace), {
      body: {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: ROOT_CERT_CONFIGMAP, namespace, labels: { 'app.kubernetes.io/managed-by': 'pilotfish' } },
        data: { [ROOT_CERT_KEY]: bundle },
      },
      timeoutMs: this.timeoutMs,
    });
  }

  async update(namespace: string, bundle: string): Promise<void> {
    await this.rest.request('PATCH', this.path(namespace, ROOT_CERT_CONFIGMAP), {
      body: { data: { [ROOT_CERT_KEY]: bundle } },
      contentType: MERGE_PATCH,
      timeoutMs: this.timeoutMs,
    });
  }
}
