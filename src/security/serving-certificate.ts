// The control plane's own certificate for its TLS port (15012), issued by the mesh CA for the
// Service's DNS names and renewed at half its life: the new one serves new connections, open
// connections keep theirs (TLS does not revisit a finished handshake).
import type { Logger } from '../logging.js';
import type { MeshCa, ServingCertificate } from './ca/mesh-ca.js';

/** A failed renewal is retried this often until one succeeds (the current certificate stays in use). */
const RETRY_MS = 30_000;

/** `<service>.<namespace>.svc` and `.svc.cluster.local`, then the extra names (deduplicated). */
export function servingDnsNames(service: string, namespace: string, extra: readonly string[] = []): string[] {
  return [...new Set([`${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`, ...extra.filter((h) => h !== '')])];
}

/** Names that are IP addresses go into IP SANs, the rest into DNS SANs. */
function splitHosts(hosts: readonly string[]): { dnsNames: string[]; ipAddresses: string[] } {
  const ip = /^(\d{1,3}(\.\d{1,3}){3}|[0-9a-fA-F:]*:[0-9a-fA-F:]*)$/;
  return { dnsNames: hosts.filter((h) => !ip.test(h)), ipAddresses: hosts.filter((h) => ip.test(h)) };
}

interface ServingCertificateOptions {
  readonly ca: () => MeshCa;
  readonly hosts: readonly string[];
  readonly logger: Logger;
  /** Told of every certificate after the first (the caller installs it). */
  readonly onRenewed: (certificate: ServingCertificate) => void;
  readonly ttlMs?: number;
  readonly now?: () => number;
}

export class ServingCertificateRenewer {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  private constructor(private readonly options: ServingCertificateOptions, private current: ServingCertificate) {}

  /** Issues the first certificate (throws if the CA cannot) and schedules its renewals. */
  static async start(options: ServingCertificateOptions): Promise<ServingCertificateRenewer> {
    const first = await ServingCertificateRenewer.issue(options);
    const renewer = new ServingCertificateRenewer(options, first);
    renewer.schedule();
    return renewer;
  }

  get certificate(): ServingCertificate {
    return this.current;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** Renews at once (the CA's signer changed); a failure keeps the current certificate and retries as usual. */
  renewNow(): Promise<void> {
    clearTimeout(this.timer);
    return this.renew();
  }

  private static issue(options: ServingCertificateOptions): Promise<ServingCertificate> {
    const { dnsNames, ipAddresses } = splitHosts(options.hosts);
    return options.ca().issueServingCertificate({ dnsNames, ipAddresses, ...(options.ttlMs ? { ttlMs: options.ttlMs } : {}) });
  }

  private schedule(delayMs?: number): void {
    if (this.stopped) return;
    const now = (this.options.now ?? Date.now)();
    // Half of what is left from now: notBefore is backdated for clock skew, so it is not the issue time.
    const half = Math.max(1000, (this.current.notAfter.getTime() - now) / 2);
    this.timer = setTimeout(() => void this.renew(), delayMs ?? half);
    this.timer.unref();
  }

  private async renew(): Promise<void> {
    try {
      const next = await ServingCertificateRenewer.issue(this.options);
      if (this.stopped) return;
      this.current = next;
      this.options.onRenewed(next);
      this.options.logger.info('renewed the xDS serving certificate', { serial: next.serialNumber, notAfter: next.notAfter.toISOString() });
      this.schedule();
    } catch (err) {
      this.options.logger.error('cannot renew the xDS serving certificate; the current one stays in use', {
        error: String((err as Error).message ?? err), notAfter: this.current.notAfter.toISOString(),
      });
      this.schedule(RETRY_MS);
    }
  }
}
