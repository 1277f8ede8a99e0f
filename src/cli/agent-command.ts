// `pilotfish agent`: the per-pod agent (src/agent/run-agent.ts), one flag per RunAgentConfig field.
import { runAgent, type RunAgentConfig } from '../agent/run-agent.js';
import { createLogger } from '../logging.js';
import type { ParsedLine } from './command-line.js';
import type { agentCommand } from './commands.js';
import { UsageError, logFormatFlag, logLevelFlag } from './flags.js';
import { waitForShutdown } from './runtime.js';

/** The flags as RunAgentConfig; the downward API's environment fills namespace and service account. */
export function agentConfig({ values: v }: ParsedLine<typeof agentCommand.flags>, env: NodeJS.ProcessEnv): RunAgentConfig {
  const caAddress = v['ca-address'];
  const namespace = v.namespace || env.POD_NAMESPACE;
  const serviceAccount = v['service-account'] || env.SERVICE_ACCOUNT;
  if (!caAddress) throw new UsageError('pilotfish agent: --ca-address is required (https://host:port of pilotfish\'s TLS port)');
  if (!namespace) throw new UsageError('pilotfish agent: --namespace (or $POD_NAMESPACE) is required');
  if (!serviceAccount) throw new UsageError('pilotfish agent: --service-account (or $SERVICE_ACCOUNT) is required');
  const opt = <K extends keyof RunAgentConfig>(key: K, value: RunAgentConfig[K] | undefined): Partial<RunAgentConfig> =>
    (value === undefined ? {} : { [key]: value });
  return {
    caAddress, namespace, serviceAccount,
    ...opt('xdsAddress', v['xds-address']),
    ...opt('caServerName', v['ca-server-name']),
    ...opt('trustDomain', v['trust-domain']),
    ...opt('tokenFile', v['token-file']),
    ...opt('rootCertFile', v['root-cert-file']),
    ...opt('outputDir', v['output-dir']),
    ...opt('xdsSocket', v['xds-socket']),
    ...opt('sdsSocket', v['sds-socket']),
    ...opt('statusAddress', v['status-address']),
  };
}

export async function agent(line: ParsedLine<typeof agentCommand.flags>, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const config = agentConfig(line, env);
  const logger = createLogger(logLevelFlag(line.values['log-level']), process.stderr, logFormatFlag(line.values['log-format']));
  const running = await runAgent(config, { logger });
  logger.info('agent started', { namespace: config.namespace, serviceAccount: config.serviceAccount, ca: config.caAddress });
  await waitForShutdown(logger, () => running.stop());
  return 0;
}
