// `pilotfish webhook`: the sidecar injector's HTTPS server. Also exports the flag checks and the
// start function that `pilotfish controller` reuses to run the injector in the same process.
import { type KubeConfig } from '@kubernetes/client-node';
import { createLogger, type Logger } from '../logging.js';
import type { DecisionPolicy } from '../webhook/decision.js';
import type { InjectorConfig } from '../webhook/inject.js';
import {
  supportsNativeSidecars, TrustWebhookSelectors, type NamespaceLabelSource, type ServerVersionSource,
} from '../webhook/kube.js';
import { KubeCaBundleTarget, KubeSecretStore, KubeServerVersion } from '../webhook/kube-client.js';
import { watchedNamespaceLabels } from '../webhook/namespace-informer.js';
import { JsonLinesAdmissionLog, type AdmissionLog } from '../webhook/admission-log.js';
import { InjectionMetrics } from '../webhook/injection-counters.js';
import { InjectionMemo } from '../webhook/injection-memo.js';
import type { OnError } from '../webhook/review.js';
import { startWebhookServer, type WebhookServer } from '../webhook/server.js';
import { ManagedCertificates } from '../webhook/tls/managed.js';
import { FileCertificateSource, ManagedCertificateSource, type ServingCertificateSource } from '../webhook/tls/source.js';
import type { LogFormat, LogLevel } from '../log-options.js';
import { parseCommandLine, type ParsedLine } from './command-line.js';
import { webhookCommand } from './commands.js';
import { isListenError, listenFailure } from './failure.js';
import { logFormatFlag, logLevelFlag, UsageError } from './flags.js';
import { injectorConfigFromFlags, injectorFlagOptions, webhookFlagOptions, type InjectorFlagValues } from './injector-flags.js';
import { loadKubeConfig } from './kubeconfig.js';

export { boolFlag, injectorConfigFromFlags, injectorFlagOptions, webhookFlagOptions } from './injector-flags.js';

export interface WebhookSettings {
  readonly host: string;
  readonly port: number;
  readonly certFile?: string;
  readonly keyFile?: string;
  readonly namespace: string;
  readonly nativeSidecars: 'auto' | 'true' | 'false';
  readonly onError: OnError;
  readonly kubernetes: boolean;
  readonly kubeconfig?: string;
  readonly webhookConfigName: string;
  readonly tlsSecretName: string;
  readonly serviceName: string;
  readonly certCheckIntervalMs: number;
  /** More names or IPs for the self-managed certificate (e.g. 127.0.0.1 when the API server calls a URL). */
  readonly extraCertHosts: readonly string[];
  /** Everything but nativeSidecars, which `auto` decides at start. */
  readonly injectorFlags: InjectorFlagValues;
}

/** Flag values as the parser hands them over; defaults make most of them present. */
export type WebhookFlagValues = { [K in keyof typeof webhookFlagOptions]?: string } & { 'webhook-cert-hosts'?: string };

export function parseWebhookFlags(argv: readonly string[]): WebhookSettings & { logLevel: LogLevel; logFormat: LogFormat } {
  return webhookCommandSettings(parseCommandLine(webhookCommand, argv));
}

function webhookCommandSettings({ values }: ParsedLine<typeof webhookCommand.flags>): WebhookSettings & { logLevel: LogLevel; logFormat: LogFormat } {
  return { ...webhookSettingsFromValues(values, 'webhook'), logLevel: logLevelFlag(values['log-level']), logFormat: logFormatFlag(values['log-format']) };
}

/** Validates webhook flags parsed by any command that runs the injector (`webhook`, `controller`). */
export function webhookSettingsFromValues(v: WebhookFlagValues, command: string): WebhookSettings {
  const def = (k: keyof typeof webhookFlagOptions): string => {
    const o = webhookFlagOptions[k] as { default?: string };
    return v[k] ?? o.default ?? '';
  };
  const webhookAddress = def('webhook-address');
  const address = /^([A-Za-z0-9.:-]*):(\d{1,5})$/.exec(webhookAddress);
  if (!address || Number(address[2]) > 65535) {
    throw new UsageError(`pilotfish ${command}: --webhook-address must be HOST:PORT (got "${webhookAddress}")`);
  }
  const native = def('native-sidecars');
  if (native !== 'auto' && native !== 'true' && native !== 'false') {
    throw new UsageError(`pilotfish ${command}: --native-sidecars must be auto, true or false`);
  }
  const onError = def('on-error');
  if (onError !== 'allow' && onError !== 'deny') throw new UsageError(`pilotfish ${command}: --on-error must be allow or deny`);
  if ((v['tls-cert-file'] === undefined) !== (v['tls-key-file'] === undefined)) {
    throw new UsageError(`pilotfish ${command}: --tls-cert-file and --tls-key-file go together`);
  }
  const kube = def('kubernetes');
  if (kube !== 'on' && kube !== 'off') throw new UsageError(`pilotfish ${command}: --kubernetes must be on or off`);
  if (kube === 'off' && v['tls-cert-file'] === undefined) {
    throw new UsageError(`pilotfish ${command}: --kubernetes=off needs --tls-cert-file/--tls-key-file (the self-managed certificate lives in a Secret)`);
  }
  const interval = Number(def('cert-check-interval-seconds'));
  if (!Number.isFinite(interval) || interval <= 0) {
    throw new UsageError(`pilotfish ${command}: --cert-check-interval-seconds must be a positive number`);
  }
  const injectorFlags: InjectorFlagValues = {};
  for (const k of Object.keys(injectorFlagOptions) as Array<keyof typeof injectorFlagOptions>) {
    if (k !== 'native-sidecars') injectorFlags[k] = v[k];
  }
  // Validate the injector flags now, so a typo fails at start and not at the first Pod.
  injectorConfigFromFlags(injectorFlags, false, command);
  return {
    host: address[1] || '0.0.0.0',
    port: Number(address[2]),
    certFile: v['tls-cert-file'],
    keyFile: v['tls-key-file'],
    namespace: def('namespace'),
    nativeSidecars: native,
    onError,
    kubernetes: kube === 'on',
    kubeconfig: v.kubeconfig,
    webhookConfigName: def('webhook-config-name'),
    tlsSecretName: def('tls-secret-name'),
    serviceName: def('service-name'),
    extraCertHosts: (v['webhook-cert-hosts'] ?? '').split(',').map((h) => h.trim()).filter((h) => h !== ''),
    certCheckIntervalMs: interval * 1000,
    injectorFlags,
  };
}

/** The DNS names the API server may use to reach the webhook Service. */
export function serviceHosts(service: string, namespace: string): string[] {
  return [service, `${service}.${namespace}`, `${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`];
}

async function resolveNative(setting: WebhookSettings['nativeSidecars'], versions: ServerVersionSource | undefined, logger: Logger): Promise<boolean> {
  if (setting !== 'auto') return setting === 'true';
  if (!versions) {
    logger.warn('native sidecars: no Kubernetes API to ask for its version; injecting regular sidecar containers');
    return false;
  }
  try {
    const v = await versions.version();
    const native = supportsNativeSidecars(v);
    logger.info('native sidecars decided from the API server version', { version: v.gitVersion, native });
    return native;
  } catch (err) {
    logger.warn('native sidecars: API server version unknown; injecting regular sidecar containers', { error: (err as Error).message });
    return false;
  }
}

export interface RunningWebhook {
  readonly server: WebhookServer;
  readonly metrics: InjectionMetrics;
  readonly injector: InjectorConfig;
}

/**
 * Starts the injector from parsed settings; `kubeConfig` overrides loading one from the settings.
 * `admissionLog` takes the per-admission lines (by default they go through `logger`).
 */
export async function startWebhook(s: WebhookSettings, logger: Logger, kubeConfig?: KubeConfig, admissionLog?: AdmissionLog): Promise<RunningWebhook> {
  let kc: KubeConfig | undefined = kubeConfig;
  if (!kc && s.kubernetes) {
    kc = await loadKubeConfig(s.kubeconfig, process.env, '; or run with --kubernetes=off and --tls-cert-file/--tls-key-file');
  }
  logger.info('kubernetes API', kc
    ? { server: kc.getCurrentCluster()?.server ?? null }
    : { server: null, note: 'off: namespaces are taken as selected by the webhook configuration' });
  const versions = kc ? new KubeServerVersion(kc) : undefined;
  const namespaces: NamespaceLabelSource = kc ? watchedNamespaceLabels(kc, logger) : new TrustWebhookSelectors();
  const native = await resolveNative(s.nativeSidecars, versions, logger);
  const injector = injectorConfigFromFlags(s.injectorFlags, native, 'webhook');

  let certificates: ServingCertificateSource;
  if (s.certFile && s.keyFile) {
    certificates = new FileCertificateSource(s.certFile, s.keyFile, logger);
  } else {
    if (!kc) throw new UsageError('pilotfish webhook: without --tls-cert-file the Kubernetes API is needed to manage the certificate');
    const managed = new ManagedCertificates({
      secrets: new KubeSecretStore(kc),
      caBundleTarget: new KubeCaBundleTarget(kc),
      namespace: s.namespace,
      secretName: s.tlsSecretName,
      webhookConfigName: s.webhookConfigName,
      hosts: [...serviceHosts(s.serviceName, s.namespace), ...s.extraCertHosts],
      logger,
    });
    certificates = new ManagedCertificateSource(managed, s.certCheckIntervalMs, logger);
  }
  const policy: DecisionPolicy = { controlPlaneNamespace: s.namespace };
  const metrics = new InjectionMetrics();
  let server: WebhookServer;
  try {
    server = await startWebhookServer({
      host: s.host,
      port: s.port,
      certificates,
      review: { injector, policy, namespaces, onError: s.onError, logger, admissionLog, metrics, memo: new InjectionMemo() },
      logger,
    });
  } catch (err) {
    if (!isListenError(err)) throw err;
    throw listenFailure('webhook-address', `${s.host}:${s.port}`, err);
  }
  return { server, metrics, injector };
}

/** `pilotfish webhook [flags]` from its arguments (the benchmark runs it this way). */
export async function runWebhookCommand(argv: readonly string[]): Promise<void> {
  await webhook(parseCommandLine(webhookCommand, argv));
}

/** `pilotfish webhook [flags]`: runs until SIGTERM/SIGINT. */
export async function webhook(line: ParsedLine<typeof webhookCommand.flags>): Promise<number> {
  const settings = webhookCommandSettings(line);
  const logger = createLogger(settings.logLevel, process.stderr, settings.logFormat).child({ component: 'webhook' });
  // The line per admission is the webhook's hot path: as JSON it is written as the logger would, without winston.
  const admissionLog = settings.logFormat === 'json' ? new JsonLinesAdmissionLog(process.stderr, 'webhook', settings.logLevel) : undefined;
  const running = await startWebhook(settings, logger, undefined, admissionLog);
  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      logger.info('shutting down', { signal });
      running.server.close().then(() => {
        admissionLog?.flush();
        resolve();
      }, (err: unknown) => {
        admissionLog?.flush();
        logger.error('error during shutdown', { error: String(err) });
        resolve();
      });
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  return 0;
}
