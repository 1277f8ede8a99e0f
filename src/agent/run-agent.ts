// `pilotfish agent`: everything that runs in an injected pod, in one process. It gets the
// workload's certificates (CertificateAgent), writes them for proxyless gRPC, serves them to Envoy
// over SDS, and is the pod's only connection to the control plane (the xDS proxy). A status
// endpoint says when the pod has its identity.
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { splitHostPort } from '../host-port.js';
import { silentLogger, type Logger } from '../logging.js';
import { AGENT_DEFAULTS } from './agent-defaults.js';
import { CertificateAgent, MAX_ROOT_FILE_BYTES, MAX_TOKEN_FILE_BYTES, type AgentStatus, type WorkloadCertificate } from './certificate-agent.js';
import type { ScheduleOptions } from './renewal-schedule.js';
import { startSdsServer, type SdsServer } from './sds-server.js';
import { XdsProxy, type ProxyBackoff, type XdsProxyLimits, type XdsProxyStatus } from './xds-proxy.js';

/**
 * The agent's settings, one field per flag of `pilotfish agent` (`caAddress` is `--ca-address`,
 * and so on; defaults in agent-defaults.ts). An empty string for a path or address turns that part off.
 */
export interface RunAgentConfig {
  /** `--ca-address`: https://host:port of pilotfish's TLS port (15012), where the CSR service is. */
  readonly caAddress: string;
  /** `--xds-address`: https://host:port the xDS proxy forwards to; default caAddress (the same port). */
  readonly xdsAddress?: string;
  /** `--ca-server-name`: the name pilotfish's serving certificate must carry, when not the host of the addresses. */
  readonly caServerName?: string;
  /** `--namespace`: the pod's namespace (downward API). */
  readonly namespace: string;
  /** `--service-account`: the pod's service account (downward API). */
  readonly serviceAccount: string;
  /** `--trust-domain`; default cluster.local. */
  readonly trustDomain?: string;
  /** `--token-file`: the projected service account token, audience `pilotfish`. */
  readonly tokenFile?: string;
  /** `--root-cert-file`: the roots that sign pilotfish's serving certificate (a mounted ConfigMap). */
  readonly rootCertFile?: string;
  /** `--output-dir`: where cert-chain.pem, key.pem and root-cert.pem are written for proxyless gRPC. */
  readonly outputDir?: string;
  /** `--xds-socket`: the Unix socket the xDS proxy listens on. */
  readonly xdsSocket?: string;
  /** `--sds-socket`: the Unix socket the SDS server listens on (Envoy sidecars only). */
  readonly sdsSocket?: string;
  /** `--status-address`: host:port of the status endpoint (`/healthz/ready`). */
  readonly statusAddress?: string;
}

/** Knobs that are not flags: tests shorten the schedules, the lead may expose more later. */
interface RunAgentDeps {
  readonly logger?: Logger;
  readonly schedule?: ScheduleOptions;
  readonly proxyLimits?: Partial<XdsProxyLimits>;
  readonly proxyBackoff?: Partial<ProxyBackoff>;
}

export interface RunningAgentStatus {
  readonly ready: boolean;
  readonly certificate: AgentStatus;
  readonly xdsProxy?: XdsProxyStatus;
  readonly sdsVersions?: Record<string, string>;
}

export interface RunningAgent {
  readonly certificates: CertificateAgent;
  readonly xdsProxy?: XdsProxy;
  readonly sds?: SdsServer;
  /** host:port the status endpoint is bound to (the real port when 0 was asked for). */
  readonly statusAddress?: string;
  status(): RunningAgentStatus;
  /** Resolves with the first certificate once it is written and published. */
  ready(): Promise<WorkloadCertificate>;
  /** Stops renewing, ends the local streams (UNAVAILABLE), closes the sockets and the status endpoint. */
  stop(): Promise<void>;
}

async function readBounded(path: string, max: number, what: string): Promise<string> {
  const text = await readFile(path, 'utf8').catch((err: Error) => {
    throw new Error(`cannot read the ${what} ${path}: ${err.message}`);
  });
  if (Buffer.byteLength(text, 'utf8') > max) throw new Error(`the ${what} ${path} is larger than ${max} bytes`);
  return text;
}

function setting(value: string | undefined, fallback: string): string | undefined {
  const v = value ?? fallback;
  return v === '' ? undefined : v;
}

export async function runAgent(config: RunAgentConfig, deps: RunAgentDeps = {}): Promise<RunningAgent> {
  const logger = deps.logger ?? silentLogger();
  const tokenFile = config.tokenFile || AGENT_DEFAULTS.tokenFile;
  const rootCertFile = config.rootCertFile || AGENT_DEFAULTS.rootCertFile;
  const outputDir = setting(config.outputDir, AGENT_DEFAULTS.outputDir);
  const xdsSocket = setting(config.xdsSocket, AGENT_DEFAULTS.xdsSocket);
  const sdsSocket = setting(config.sdsSocket, AGENT_DEFAULTS.sdsSocket);
  const statusAddress = setting(config.statusAddress, AGENT_DEFAULTS.statusAddress);

  const certificates = new CertificateAgent({
    namespace: config.namespace, serviceAccount: config.serviceAccount, trustDomain: config.trustDomain,
    caAddress: config.caAddress, caServerName: config.caServerName, caRootCertFile: rootCertFile, tokenFile,
    outputDir, schedule: deps.schedule,
  }, { logger: logger.child({ component: 'certificates' }) });

  const started: { close(): Promise<void> }[] = [];
  const stopStarted = async (): Promise<void> => {
    for (const s of started.reverse()) await s.close().catch(() => undefined);
  };
  let sds: SdsServer | undefined;
  let xdsProxy: XdsProxy | undefined;
  let boundStatus: string | undefined;
  let firstWritten = false;
  try {
    // SDS first: Envoy may start before the first certificate and should find the socket.
    if (sdsSocket) {
      sds = await startSdsServer({ socketPath: sdsSocket, logger });
      started.push(sds);
    }
    if (xdsSocket) {
      xdsProxy = new XdsProxy({
        socketPath: xdsSocket, upstreamAddress: config.xdsAddress || config.caAddress, serverName: config.caServerName,
        upstreamRoots: () => readBounded(rootCertFile, MAX_ROOT_FILE_BYTES, 'CA root certificate file'),
        token: () => readBounded(tokenFile, MAX_TOKEN_FILE_BYTES, 'service account token file'),
        logger, limits: deps.proxyLimits, backoff: deps.proxyBackoff,
      });
      await xdsProxy.start();
      started.push(xdsProxy);
    }
    const runningStatus = (): RunningAgentStatus => {
      const certificate = certificates.status();
      return {
        ready: firstWritten && certificate.state === 'ready', certificate,
        ...(xdsProxy ? { xdsProxy: xdsProxy.status() } : {}),
        ...(sds ? { sdsVersions: sds.versions() } : {}),
      };
    };
    if (statusAddress) {
      const server = await startStatusServer(statusAddress, runningStatus);
      boundStatus = server.address;
      started.push({
        close: () => new Promise<void>((resolve) => {
          server.server.close(() => resolve());
          // A prober's keep-alive connection would otherwise hold the close open.
          server.server.closeAllConnections();
        }),
      });
    }
    certificates.onCertificate((c) => {
      // The files are written before listeners are told (CertificateAgent), so this is "ready".
      firstWritten = true;
      sds?.update({ certChainPem: c.certChainPem, privateKeyPem: c.privateKeyPem, trustBundlePem: c.trustBundlePem });
      xdsProxy?.setCertificate({ certChainPem: c.certChainPem, privateKeyPem: c.privateKeyPem, serialNumber: c.serialNumber, notAfter: c.notAfter });
    });
    const first = certificates.start();
    first.catch(() => undefined);
    logger.info('pilotfish agent started', {
      identity: certificates.spiffeId, xdsSocket, sdsSocket, outputDir, statusAddress: boundStatus,
    });
    let stopping: Promise<void> | undefined;
    return {
      certificates, xdsProxy, sds, statusAddress: boundStatus,
      status: runningStatus,
      ready: () => first,
      stop: () => {
        stopping ??= (async () => {
          certificates.stop();
          await stopStarted();
          logger.info('pilotfish agent stopped');
        })();
        return stopping;
      },
    };
  } catch (err) {
    certificates.stop();
    await stopStarted();
    throw err;
  }
}

/**
 * `GET /healthz/ready`: 200 once the first certificate is written and published and while it is
 * valid, 503 before (the body is the status either way: identity, serial, expiry, errors; never
 * key material). `GET /status` always answers 200 with the same body.
 */
async function startStatusServer(address: string, status: () => RunningAgentStatus): Promise<{ server: http.Server; address: string }> {
  const { host, port } = splitHostPort(address);
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'GET' || (path !== '/healthz/ready' && path !== '/status')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    const s = status();
    res.writeHead(path === '/status' || s.ready ? 200 : 503, { 'content-type': 'application/json' }).end(`${JSON.stringify(s)}\n`);
  });
  // Requests are tiny GETs from the kubelet or an operator: no reason to wait long for one.
  server.headersTimeout = 5000;
  server.requestTimeout = 5000;
  server.maxHeadersCount = 50;
  server.maxConnections = 16;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`the agent status endpoint cannot listen on ${address}: ${err.message}`)));
    server.listen({ host, port }, () => resolve());
  });
  const bound = server.address() as AddressInfo;
  return { server, address: `${host}:${bound.port}` };
}
