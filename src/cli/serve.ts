// `pilotfish serve`: xDS from a config directory and the REST registry, no cluster needed.
import { ConfigDirSource } from '../sources/config-dir/directory-source.js';
import { registerRegistryRoutes } from '../sources/registry/http-api.js';
import { EndpointRegistry } from '../sources/registry/registry-source.js';
import type { Source } from '../sources/source.js';
import { createLogger } from '../logging.js';
import { addressFlag, logLevelFlag, outboundPolicyFlag, parseFlags } from './flags.js';
import { startControlPlane, waitForShutdown } from './runtime.js';

export async function runServe(argv: string[]): Promise<void> {
  const { values } = parseFlags(argv, {
    'config-dir': { type: 'string' },
    'xds-address': { type: 'string', default: '0.0.0.0:15010' },
    'http-address': { type: 'string', default: '0.0.0.0:15014' },
    'log-level': { type: 'string' },
    'no-debug-endpoints': { type: 'boolean', default: false },
    'outbound-traffic-policy': { type: 'string', default: 'ALLOW_ANY' },
  }, 'serve');
  const outboundTrafficPolicy = outboundPolicyFlag(values['outbound-traffic-policy']);
  const logger = createLogger(logLevelFlag(values['log-level']));
  addressFlag(values['http-address']!, 'http-address', 'serve');
  addressFlag(values['xds-address']!, 'xds-address', 'serve');

  const registry = new EndpointRegistry(logger);
  const sources: Source[] = [];
  if (values['config-dir']) sources.push(new ConfigDirSource(values['config-dir'], logger));
  sources.push(registry);

  const plane = await startControlPlane({
    sources, logger, xdsAddress: values['xds-address']!, httpAddress: values['http-address']!,
    debugEndpoints: !values['no-debug-endpoints'], outboundTrafficPolicy,
    configureAdmin: (admin) => registerRegistryRoutes(admin, registry),
    servingInfo: () => ({ configDir: values['config-dir'] ?? null }),
  });
  await waitForShutdown(logger, () => plane.close());
}
