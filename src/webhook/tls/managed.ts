// Self-managed webhook TLS: a CA and a serving certificate kept in one Secret, the CA bundle
// patched into the MutatingWebhookConfiguration we own. Every replica runs ensure() on start
// and periodically; the Secret's resourceVersion settles races (the loser re-reads and adopts).
// A CA close to expiry is replaced while the old one stays in the bundle until it expires,
// so API servers that cached the old bundle keep trusting serving certificates during the switch.
import type { Logger } from '../../logging.js';
import type { CaBundleTarget, SecretStore, StoredSecret } from '../kube.js';
import {
  certInfo, covers, createCa, isIssuedBy, issueServingCert, keyMatches, needsRenewal, splitPem, type KeyPairPem,
} from './certs.js';

const SECRET_CA_CERT = 'ca.crt';
const SECRET_CA_KEY = 'ca.key';
export const SECRET_CA_BUNDLE = 'ca-bundle.crt';
export const SECRET_TLS_CERT = 'tls.crt';
const SECRET_TLS_KEY = 'tls.key';

interface ManagedTlsOptions {
  readonly secrets: SecretStore;
  readonly caBundleTarget: CaBundleTarget;
  readonly namespace: string;
  readonly secretName: string;
  readonly webhookConfigName: string;
  /** Names (and IPs) the serving certificate covers, e.g. pilotfish.pilotfish-system.svc. */
  readonly hosts: readonly string[];
  readonly caValidityDays?: number;
  readonly certValidityDays?: number;
  /** Renew when less than this fraction of a certificate's lifetime remains. */
  readonly renewFraction?: number;
  readonly now?: () => Date;
  readonly logger: Logger;
}

interface ManagedState {
  readonly serving: KeyPairPem;
  readonly ca: KeyPairPem;
  /** Current CA first, then older CAs that are still valid. */
  readonly caBundle: string;
}

type Data = Record<string, string>;

function valid(pem: string | undefined, now: Date): boolean {
  if (!pem) return false;
  try {
    return certInfo(pem).notAfter.getTime() > now.getTime();
  } catch {
    return false;
  }
}

export class ManagedCertificates {
  private readonly caDays: number;
  private readonly certDays: number;
  private readonly fraction: number;
  private readonly now: () => Date;
  private lastBundle: string | undefined;

  constructor(private readonly o: ManagedTlsOptions) {
    this.caDays = o.caValidityDays ?? 3650;
    this.certDays = o.certValidityDays ?? 365;
    this.fraction = o.renewFraction ?? 1 / 3;
    this.now = o.now ?? (() => new Date());
  }

  /** Reads the Secret, creates or renews what is missing or due, and patches the CA bundle. */
  async ensure(): Promise<ManagedState> {
    const { secrets, namespace, secretName, logger } = this.o;
    for (let attempt = 0; attempt < 5; attempt++) {
      const stored = await secrets.read(namespace, secretName);
      const { data, changed, reasons } = this.reconcile(stored);
      if (changed) {
        const result = stored
          ? await secrets.replace(namespace, secretName, data, stored.resourceVersion)
          : await secrets.create(namespace, secretName, data);
        if (result === 'conflict') {
          logger.info('webhook TLS secret changed concurrently; reading it again', { namespace, name: secretName });
          continue;
        }
        logger.info('webhook TLS secret written', { namespace, name: secretName, reasons });
      }
      const state: ManagedState = {
        serving: { certPem: data[SECRET_TLS_CERT], keyPem: data[SECRET_TLS_KEY] },
        ca: { certPem: data[SECRET_CA_CERT], keyPem: data[SECRET_CA_KEY] },
        caBundle: data[SECRET_CA_BUNDLE],
      };
      // Patched every time, not only on change: a `helm upgrade` can reset the field to empty.
      await this.o.caBundleTarget.setCaBundle(this.o.webhookConfigName, state.caBundle);
      if (state.caBundle !== this.lastBundle) {
        logger.info('webhook caBundle set', { webhookConfiguration: this.o.webhookConfigName, cas: splitPem(state.caBundle).length });
        this.lastBundle = state.caBundle;
      }
      return state;
    }
    throw new Error(`webhook TLS secret ${namespace}/${secretName} kept changing concurrently; giving up for now`);
  }

  /** Pure apart from key generation: the Secret data we want given what is stored. */
  private reconcile(stored: StoredSecret | undefined): { data: Data; changed: boolean; reasons: string[] } {
    const now = this.now();
    const data: Data = { ...(stored?.data ?? {}) };
    const reasons: string[] = [];

    let ca: KeyPairPem = { certPem: data[SECRET_CA_CERT] ?? '', keyPem: data[SECRET_CA_KEY] ?? '' };
    let caOk = false;
    try {
      caOk = ca.certPem !== '' && certInfo(ca.certPem).isCa && keyMatches(ca);
    } catch {
      caOk = false;
    }
    const previousCas = splitPem(data[SECRET_CA_BUNDLE] ?? '');
    if (!caOk) {
      reasons.push(stored ? 'CA missing or unreadable' : 'secret missing');
    } else if (needsRenewal(certInfo(ca.certPem), now, this.fraction)) {
      reasons.push('CA due for renewal');
      caOk = false;
    }
    if (!caOk) {
      const old = ca.certPem;
      ca = createCa({ commonName: `pilotfish-webhook-ca-${now.getTime()}`, now, validityDays: this.caDays });
      data[SECRET_CA_CERT] = ca.certPem;
      data[SECRET_CA_KEY] = ca.keyPem;
      if (old) previousCas.unshift(old);
    }
    const bundle = [ca.certPem, ...previousCas.filter((p) => p.trim() !== ca.certPem.trim() && valid(p, now))];
    const uniqueBundle = [...new Map(bundle.map((p) => [p.trim(), p])).values()].join('');
    if (uniqueBundle !== data[SECRET_CA_BUNDLE]) data[SECRET_CA_BUNDLE] = uniqueBundle;

    const serving: KeyPairPem = { certPem: data[SECRET_TLS_CERT] ?? '', keyPem: data[SECRET_TLS_KEY] ?? '' };
    let servingReason: string | undefined;
    try {
      const info = certInfo(serving.certPem);
      if (!keyMatches(serving)) servingReason = 'serving key does not match its certificate';
      else if (!isIssuedBy(serving.certPem, ca.certPem)) servingReason = 'serving certificate not issued by the current CA';
      else if (!covers(info, this.o.hosts)) servingReason = 'serving certificate does not cover the webhook host names';
      else if (needsRenewal(info, now, this.fraction)) servingReason = 'serving certificate due for renewal';
    } catch {
      servingReason = 'serving certificate missing or unreadable';
    }
    if (servingReason) {
      reasons.push(servingReason);
      const issued = issueServingCert({ ca, hosts: this.o.hosts, now, validityDays: this.certDays });
      data[SECRET_TLS_CERT] = issued.certPem;
      data[SECRET_TLS_KEY] = issued.keyPem;
    }
    const before = stored?.data ?? {};
    const changed = !stored || Object.keys(data).some((k) => data[k] !== before[k]);
    return { data, changed, reasons };
  }
}
