// `pilotfish serve`: xDS from a config directory and the REST registry, no cluster needed.
import { createAdminServer, splitHostPort } from '../admin/http-server.js';
import { ConfigDirSource } from '../controller/config-dir.js';
import { registerRegistryRoutes } from '../controller/registry-http.js';
import { EndpointRegistry } from '../controller/registry.js';
import type { Source } from '../controller/source.js';
import { SnapshotStore } from '../controller/store.js';
import { createLogger, type Logger } from '../logging.js';
import { ResourceEncoder } from '../xds/encoder.js';
import { MeshConfigSource } from '../xds/mesh-source.js';
import { startXdsServer } from '../xds/server/index.js';
import { shortTypeName } from '../xds/types.js';
import { logLevelFlag, parseFlags } from './flags.js';

export async function runServe(argv: string[]): Promise<void> {
  const { values } = parseFlags(argv, {
    'config-dir': { type: 'string' },
    'xds-address': { type: 'string', default: '0.0.0.0:15010' },
    'http-address': { type: 'string', default: '0.0.0.0:15014' },
    'log-level': { type: 'string' },
  }, 'serve');
  const logger = createLogger(logLevelFlag(values['log-level']));
  const httpAddr = splitHostPort(values['http-address']!);
  splitHostPort(values['xds-address']!);

  const registry = new EndpointRegistry(logger);
  const sources: Source[] = [];
  if (values['config-dir']) sources.push(new ConfigDirSource(values['config-dir'], logger));
  sources.push(registry);

  const store = new SnapshotStore({ logger });
  const mesh = new MeshConfigSource(new ResourceEncoder(), logger.child({ component: 'push' }));
  let ready = false;
  const admin = createAdminServer({ logger, ready: () => ready });
  registerRegistryRoutes(admin, registry);

  store.subscribe((snapshot) => { void mesh.update(snapshot); });
  const first = await store.start(sources);
  await mesh.update(first);
  const xdsLog = logger.child({ component: 'xds' });
  const xds = await startXdsServer({
    address: values['xds-address']!, source: mesh, logger,
    events: {
      // Per-stream detail is debug: at info a large mesh would drown the push summaries.
      sent: (e) => xdsLog.debug('sent', { proxy: e.node.id, type: shortTypeName(e.typeUrl), version: e.version, nonce: e.nonce, resources: e.resources, bytes: e.bytes }),
      acked: (e) => xdsLog.debug('ack', { proxy: e.node.id, type: shortTypeName(e.typeUrl), version: e.version, nonce: e.nonce }),
      streamOpened: (e) => xdsLog.debug('stream opened', { proxy: e.node.id, streamId: e.streamId, delta: e.delta }),
      streamClosed: (e) => xdsLog.debug('stream closed', { proxy: e.node.id, streamId: e.streamId }),
    },
  });
  await admin.listen({ host: httpAddr.host, port: httpAddr.port });
  const boundHttp = admin.server.address();
  const httpPort = typeof boundHttp === 'object' && boundHttp ? boundHttp.port : httpAddr.port;
  ready = true;
  const xdsHost = splitHostPort(values['xds-address']!).host;
  logger.info('serving', {
    xdsAddress: `${xdsHost}:${xds.port}`,
    httpAddress: `${httpAddr.host}:${httpPort}`,
    configDir: values['config-dir'] ?? null,
    services: first.services.size,
  });

  await waitForShutdown(logger, async () => {
    ready = false;
    await xds.close();
    await admin.close();
    await store.stop();
  });
}

/** Resolves after SIGTERM/SIGINT once cleanup ran; a second signal exits at once. */
export function waitForShutdown(logger: Logger, cleanup: () => Promise<void>): Promise<void> {
  return new Promise((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping) {
        logger.warn('second signal, exiting immediately', { signal });
        process.exit(1);
      }
      stopping = true;
      logger.info('shutting down', { signal });
      cleanup().then(
        () => { logger.info('stopped'); resolve(); },
        (err: unknown) => { logger.error('error during shutdown', { error: String(err) }); resolve(); },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}
