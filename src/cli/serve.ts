// `pilotfish serve`: xDS from a config directory and the REST registry, no cluster needed.
import { stat } from 'node:fs/promises';
import { ConfigDirSource } from '../controller/config-dir.js';
import { registerRegistryRoutes } from '../controller/registry-http.js';
import { EndpointRegistry } from '../controller/registry.js';
import type { Source } from '../controller/source.js';
import { createLogger } from '../logging.js';
import type { ParsedLine } from './command-line.js';
import type { serveCommand } from './commands.js';
import { CommandFailure } from './failure.js';
import { addressFlag, logFormatFlag, logLevelFlag, outboundPolicyFlag } from './flags.js';
import { startControlPlane, waitForShutdown } from './runtime.js';

async function requireDirectory(dir: string, flag: string): Promise<void> {
  const info = await stat(dir).catch((err: NodeJS.ErrnoException) => {
    throw new CommandFailure(`--${flag} ${dir}: ${err.code === 'ENOENT' ? 'no such directory' : err.message}`);
  });
  if (!info.isDirectory()) throw new CommandFailure(`--${flag} ${dir}: not a directory`);
}

export async function serve({ values }: ParsedLine<typeof serveCommand.flags>): Promise<number> {
  const outboundTrafficPolicy = outboundPolicyFlag(values['outbound-traffic-policy']);
  const logger = createLogger(logLevelFlag(values['log-level']), process.stderr, logFormatFlag(values['log-format']));
  const httpAddress = addressFlag(values['http-address']!, 'http-address', 'serve');
  const xdsAddress = addressFlag(values['xds-address']!, 'xds-address', 'serve');

  // Checked before anything binds or logs, so this everyday mistake is one line.
  if (values['config-dir']) await requireDirectory(values['config-dir'], 'config-dir');

  const registry = new EndpointRegistry(logger);
  const sources: Source[] = [];
  if (values['config-dir']) sources.push(new ConfigDirSource(values['config-dir'], logger));
  sources.push(registry);

  const plane = await startControlPlane({
    sources, logger, xdsAddress, httpAddress,
    debugEndpoints: !values['no-debug-endpoints'], outboundTrafficPolicy,
    configureAdmin: (admin) => registerRegistryRoutes(admin, registry),
    servingInfo: () => ({ configDir: values['config-dir'] ?? null }),
  });
  await waitForShutdown(logger, () => plane.close());
  return 0;
}
