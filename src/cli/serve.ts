// `pilotfish serve`: xDS from a config directory and the REST registry, no cluster needed.
import { stat } from 'node:fs/promises';
import { ConfigDirSource } from '../sources/config-dir/directory-source.js';
import { registerRegistryRoutes } from '../sources/registry/http-api.js';
import { RegistryAccess, readTokenFile } from '../sources/registry/registry-access.js';
import { EndpointRegistry } from '../sources/registry/registry-source.js';
import type { Source } from '../sources/source.js';
import { createLogger } from '../logging.js';
import type { ParsedLine } from './command-line.js';
import type { serveCommand } from './commands.js';
import { CommandFailure } from './failure.js';
import {
  UsageError, addressFlag, defaultScopeFlag, discoverySelectorFlag, logFormatFlag, logLevelFlag, outboundPolicyFlag, rootNamespaceFlag,
  trustDomainFlag,
} from './flags.js';
import { DEFAULT_ROOT_NAMESPACE } from '../model/peer-authentication.js';
import { startControlPlane, waitForShutdown } from './runtime.js';
import { DirectoryCaStore } from '../security/ca/directory-store.js';
import type { TokenAuthenticator } from '../security/csr/token-authenticator.js';
import { KubeTokenReviewAuthenticator } from '../security/csr/token-review.js';
import type { SecureXdsPort } from '../security/xds-port.js';
import { followCsrCounters } from '../admin/metrics.js';
import { loadKubeConfig } from './kubeconfig.js';
import { openXdsTlsPort, xdsTlsSettings } from './xds-tls-flags.js';
import { xdsConnectionSettings } from './xds-connection-flags.js';

/** Without an API server to ask, tokens cannot be checked: only certificates authenticate. */
const NO_TOKEN_REVIEWS: TokenAuthenticator = {
  authenticate: () => Promise.resolve({
    ok: false, reason: 'token_invalid', message: 'this pilotfish serve checks no tokens (no --kubeconfig); authenticate with a workload certificate',
  }),
};

async function requireDirectory(dir: string, flag: string): Promise<void> {
  const info = await stat(dir).catch((err: NodeJS.ErrnoException) => {
    throw new CommandFailure(`--${flag} ${dir}: ${err.code === 'ENOENT' ? 'no such directory' : err.message}`);
  });
  if (!info.isDirectory()) throw new CommandFailure(`--${flag} ${dir}: not a directory`);
}

export async function serve({ values }: ParsedLine<typeof serveCommand.flags>): Promise<number> {
  const outboundTrafficPolicy = outboundPolicyFlag(values['outbound-traffic-policy']);
  const identity = {
    trustDomain: trustDomainFlag(values['trust-domain'], 'serve'),
    rootNamespace: rootNamespaceFlag(values['mesh-root-namespace'], DEFAULT_ROOT_NAMESPACE, 'serve'),
  };
  const scope = { defaultScope: defaultScopeFlag(values['default-scope']), systemNamespace: values.namespace! };
  const discoverySelector = discoverySelectorFlag(values['discovery-selector'], 'serve');
  const logger = createLogger(logLevelFlag(values['log-level']), process.stderr, logFormatFlag(values['log-format']));
  const httpAddress = addressFlag(values['http-address']!, 'http-address', 'serve');
  const xdsAddress = addressFlag(values['xds-address']!, 'xds-address', 'serve');
  const maxFileBytes = countFlag(values['max-config-file-bytes']!, 'max-config-file-bytes', 1);
  const graceSeconds = countFlag(values['registry-service-grace-seconds']!, 'registry-service-grace-seconds', 0);
  const xdsConnections = xdsConnectionSettings(values, 'serve');

  const tlsAddress = values['xds-tls-address'] ? addressFlag(values['xds-tls-address'], 'xds-tls-address', 'serve') : undefined;
  if (tlsAddress && !values['ca-dir']) throw new UsageError('pilotfish serve: --xds-tls-address needs --ca-dir DIR (where the mesh CA is kept)');
  if (values['ca-dir'] && !tlsAddress) throw new UsageError('pilotfish serve: --ca-dir is only used with --xds-tls-address');
  const tlsSettings = tlsAddress
    ? xdsTlsSettings('serve', tlsAddress, values, values['service-name']!, values.namespace!, ['localhost', '127.0.0.1'])
    : undefined;

  // Checked before anything binds or logs, so this everyday mistake is one line.
  if (values['config-dir']) await requireDirectory(values['config-dir'], 'config-dir');

  const configDir = values['config-dir'] ? new ConfigDirSource(values['config-dir'], logger, { maxFileBytes }) : undefined;
  const registry = new EndpointRegistry(logger, {
    definedService: (ns, name) => configDir?.definedService(ns, name),
    allowDefinedServices: values['registry-allow-defined-services'],
    emptyServiceGraceMs: graceSeconds * 1000,
    ...(values['registry-state-file'] ? { stateFile: values['registry-state-file'] } : {}),
  });
  const token = values['registry-token-file'] ? await readTokenFile(values['registry-token-file']) : undefined;
  const sources: Source[] = [];
  if (configDir) sources.push(configDir);
  sources.push(registry);

  let tls: SecureXdsPort | undefined;
  if (tlsSettings) {
    const tokens = values.kubeconfig
      ? new KubeTokenReviewAuthenticator((await loadKubeConfig(values.kubeconfig, process.env))
        .makeApiClient((await import('@kubernetes/client-node')).AuthenticationV1Api))
      : NO_TOKEN_REVIEWS;
    tls = await openXdsTlsPort(tlsSettings, new DirectoryCaStore(values['ca-dir']!), tokens, logger);
  }

  const plane = await startControlPlane({
    sources, logger, xdsAddress, httpAddress, ...(tls ? { xdsTls: tls.tls } : {}),
    debugEndpoints: !values['no-debug-endpoints'], outboundTrafficPolicy, identity, scope,
    ...(discoverySelector ? { discoverySelector } : {}),
    configureAdmin: (admin) => registerRegistryRoutes(admin, registry, new RegistryAccess(token)),
    servingInfo: () => ({ configDir: values['config-dir'] ?? null }),
    endpointsFromPods: true,
    xdsConnections,
  });
  if (tls) {
    tls.attach(plane.xds);
    followCsrCounters(plane.observability.metrics, tls.csr.counters);
  }
  await waitForShutdown(logger, async () => {
    tls?.stop();
    await plane.close();
  });
  return 0;
}

function countFlag(text: string, name: string, min: number): number {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`pilotfish serve: --${name} must be a whole number of at least ${min} (got "${text}")`);
  return n;
}
