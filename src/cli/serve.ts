// `pilotfish serve`: xDS from a config directory and the REST registry, no cluster needed.
import { ConfigDirSource } from '../sources/config-dir/directory-source.js';
import { registerRegistryRoutes } from '../sources/registry/http-api.js';
import { RegistryAccess, readTokenFile } from '../sources/registry/registry-access.js';
import { EndpointRegistry } from '../sources/registry/registry-source.js';
import type { Source } from '../sources/source.js';
import { createLogger } from '../logging.js';
import { UsageError, addressFlag, logLevelFlag, outboundPolicyFlag, parseFlags } from './flags.js';
import { startControlPlane, waitForShutdown } from './runtime.js';

export async function runServe(argv: string[]): Promise<void> {
  const { values } = parseFlags(argv, {
    'config-dir': { type: 'string' },
    'xds-address': { type: 'string', default: '0.0.0.0:15010' },
    'http-address': { type: 'string', default: '127.0.0.1:15014' },
    'log-level': { type: 'string' },
    'no-debug-endpoints': { type: 'boolean', default: false },
    'outbound-traffic-policy': { type: 'string', default: 'ALLOW_ANY' },
    'max-config-file-bytes': { type: 'string', default: '4194304' },
    'registry-token-file': { type: 'string' },
    'registry-allow-defined-services': { type: 'boolean', default: false },
    'registry-service-grace-seconds': { type: 'string', default: '30' },
    'registry-state-file': { type: 'string' },
  }, 'serve');
  const maxFileBytes = countFlag(values['max-config-file-bytes']!, 'max-config-file-bytes', 1);
  const graceSeconds = countFlag(values['registry-service-grace-seconds']!, 'registry-service-grace-seconds', 0);
  const outboundTrafficPolicy = outboundPolicyFlag(values['outbound-traffic-policy']);
  const logger = createLogger(logLevelFlag(values['log-level']));
  addressFlag(values['http-address']!, 'http-address', 'serve');
  addressFlag(values['xds-address']!, 'xds-address', 'serve');

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

  const plane = await startControlPlane({
    sources, logger, xdsAddress: values['xds-address']!, httpAddress: values['http-address']!,
    debugEndpoints: !values['no-debug-endpoints'], outboundTrafficPolicy,
    configureAdmin: (admin) => registerRegistryRoutes(admin, registry, new RegistryAccess(token)),
    servingInfo: () => ({ configDir: values['config-dir'] ?? null }),
  });
  await waitForShutdown(logger, () => plane.close());
}

function countFlag(text: string, name: string, min: number): number {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`pilotfish serve: --${name} must be a whole number of at least ${min} (got "${text}")`);
  return n;
}
