// What `serve` and `controller` share for the TLS xDS port: its flags turned into settings, and
// the port assembled from a CA store and a token authenticator (security/xds-port.ts).
import { isIP } from 'node:net';
import { splitHostPort } from '../host-port.js';
import type { Logger } from '../logging.js';
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
}

/** The flags of the TLS port; `service`/`namespace` name the Service whose DNS names the certificate carries. */
export function xdsTlsSettings(command: string, address: string, v: { 'trust-domain'?: string; 'xds-tls-hosts'?: string },
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
  return { address, trustDomain, hosts };
}

/** Loads (or creates) the CA, issues the serving certificate, and returns the port to pass to the control plane. */
export async function openXdsTlsPort(settings: XdsTlsSettings, store: CaStore, tokens: TokenAuthenticator, logger: Logger): Promise<SecureXdsPort> {
  const ca = await loadOrCreateMeshCa(store, { logger });
  return secureXdsPort({ address: settings.address, ca, trustDomain: settings.trustDomain, tokens, hosts: settings.hosts, logger });
}
