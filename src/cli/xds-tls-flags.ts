// What `serve` and `controller` share for the TLS xDS port: its flags turned into settings, and
// the port assembled from a CA store and a token authenticator (security/xds-port.ts).
import { isIP } from 'node:net';
import { splitHostPort } from '../host-port.js';
import { parseDuration } from '../api/routing/v1alpha1/duration.js';
import type { Logger } from '../logging.js';
import { MeshCaReloader } from '../security/ca/ca-reloader.js';
import type { CaStore } from '../security/ca/ca-store.js';
import { loadOrCreateMeshCa } from '../security/ca/load.js';
import type { TokenAuthenticator } from '../security/csr/token-authenticator.js';
import { servingDnsNames } from '../security/serving-certificate.js';
import { secureXdsPort, type SecureXdsPort } from '../security/xds-port.js';
import { trustDomainFlag, UsageError } from './flags.js';

export interface XdsTlsSettings {
  readonly address: string;
  readonly trustDomain: string;
  /** Every name the serving certificate carries. */
  readonly hosts: readonly string[];
  /** Lifetime of the workload certificates the CSR endpoint issues. */
  readonly workloadTtlMs: number;
}

/** One second is the shortest lifetime that still leaves the agent time to renew; the CA caps the longest at 7 days. */
const MIN_WORKLOAD_TTL_MS = 1000;
const MAX_WORKLOAD_TTL_MS = 7 * 24 * 3600_000;

/** The flags of the TLS port; `service`/`namespace` name the Service whose DNS names the certificate carries. */
export function xdsTlsSettings(command: string, address: string,
  v: { 'trust-domain'?: string; 'xds-tls-hosts'?: string; 'workload-cert-ttl'?: string },
  service: string, namespace: string, more: readonly string[] = []): XdsTlsSettings {
  const trustDomain = trustDomainFlag(v['trust-domain'], command);
  const extra = (v['xds-tls-hosts'] ?? '').split(',').map((h) => h.trim()).filter((h) => h !== '');
  const { host } = splitHostPort(address);
  // A concrete listening address is a name clients may dial; the unspecified ones are not.
  const listening = host !== '0.0.0.0' && host !== '::' && host !== '' ? [host] : [];
  const hosts = servingDnsNames(service, namespace, [...more, ...listening, ...extra]);
  for (const h of hosts) {
    if (isIP(h) === 0 && !/^[a-z0-9*]([-a-z0-9.]*[a-z0-9])?$/i.test(h)) {
      throw new UsageError(`pilotfish ${command}: --xds-tls-hosts: ${JSON.stringify(h)} is neither a DNS name nor an IP address`);
    }
  }
  const ttlText = v['workload-cert-ttl'] ?? '24h';
  const workloadTtlMs = parseDuration(ttlText);
  if (workloadTtlMs === undefined || workloadTtlMs < MIN_WORKLOAD_TTL_MS || workloadTtlMs > MAX_WORKLOAD_TTL_MS) {
    throw new UsageError(`pilotfish ${command}: --workload-cert-ttl must be a duration from 1s to 168h, like "24h" or "90m" (got ${JSON.stringify(ttlText)})`);
  }
  return { address, trustDomain, hosts, workloadTtlMs };
}

/**
 * Loads (or creates) the CA, follows its store from then on (a root rotation needs no restart),
 * issues the serving certificate, and returns the port to pass to the control plane.
 */
export async function openXdsTlsPort(settings: XdsTlsSettings, store: CaStore, tokens: TokenAuthenticator, logger: Logger): Promise<SecureXdsPort> {
  const reloader = new MeshCaReloader(store, await loadOrCreateMeshCa(store, { logger }), { logger: logger.child({ component: 'mesh-ca' }) });
  const port = await secureXdsPort({
    address: settings.address, ca: reloader, trustDomain: settings.trustDomain, tokens, hosts: settings.hosts, logger,
    workloadTtlMs: settings.workloadTtlMs,
  });
  reloader.start();
  return { ...port, stop: () => { reloader.stop(); port.stop(); } };
}
