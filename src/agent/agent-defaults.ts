// The agent's default paths, apart from the agent itself so the CLI's flag table can show them
// without loading the agent (commands.ts loads a command's module only when it runs).
import { DEFAULT_SDS_SOCKET } from '../xds/generate/tls.js';

/**
 * Everything the agent serves lives under /var/run/pilotfish, one emptyDir shared with Envoy (or
 * the proxyless application): the SDS socket where the generated Envoy bootstrap looks for it
 * (DEFAULT_SDS_SOCKET in xds/generate/tls.ts, relative to Envoy's working directory /).
 */
export const AGENT_DEFAULTS = {
  tokenFile: '/var/run/secrets/tokens/pilotfish-token',
  rootCertFile: '/var/run/secrets/pilotfish/root-cert.pem',
  outputDir: '/var/run/pilotfish/certs',
  xdsSocket: '/var/run/pilotfish/xds.sock',
  sdsSocket: DEFAULT_SDS_SOCKET.replace(/^\./, ''),
  statusAddress: '127.0.0.1:15020',
} as const;
