// SDS for the pod's Envoy on a Unix socket, served by pilotfish's own xDS server: the agent's
// certificates are just two more resources to it, pushed to every stream when they change.
// Envoy gets certificate and key in one message, so it never sees a mismatched pair (the file
// readers' window described in src/security/README.md does not exist here).
import { silentLogger, type Logger } from '../logging.js';
import type { ProxyView, ProxyViews, ResourceMap, XdsResource } from '../xds/proxy-view.js';
import { startXdsServer, type XdsServer } from '../xds/server/index.js';
import { SECRET } from '../xds/types.js';
import { encodeSecret, secretMessages, type SecretMaterial } from './sds-secrets.js';
import { prepareSocketPath, restrictSocket } from './unix-socket.js';

const EMPTY: ResourceMap = new Map();
const SECRET_TYPES: ReadonlySet<string> = new Set([SECRET]);

/** Every stream sees the same two secrets: the socket's permissions, not the node, decide who may ask. */
class SecretViews implements ProxyViews {
  private secrets: ResourceMap = EMPTY;
  private readonly listeners = new Set<(types: ReadonlySet<string>) => void>();

  viewFor(): ProxyView {
    let listener: ((types: ReadonlySet<string>) => void) | undefined;
    return {
      resources: (typeUrl) => (typeUrl === SECRET ? this.secrets : EMPTY),
      onChange: (l) => {
        listener = l;
        this.listeners.add(l);
      },
      close: () => {
        if (listener) this.listeners.delete(listener);
      },
    };
  }

  /** Replaces both secrets; streams are told only when a version actually changed. */
  set(material: SecretMaterial): boolean {
    const { certificate, roots } = secretMessages(material);
    const next = new Map<string, XdsResource>();
    for (const r of [encodeSecret(certificate), encodeSecret(roots)]) next.set(r.name, r);
    const same = next.size === this.secrets.size && [...next.values()].every((r) => this.secrets.get(r.name)?.version === r.version);
    if (same) return false;
    this.secrets = next;
    for (const l of this.listeners) l(SECRET_TYPES);
    return true;
  }

  get versions(): Record<string, string> {
    return Object.fromEntries([...this.secrets.values()].map((r) => [r.name, r.version]));
  }
}

interface SdsServerOptions {
  readonly socketPath: string;
  /** Mode of the socket file; default 0600 (only the agent's UID, which Envoy shares, may connect). */
  readonly socketMode?: number;
  readonly logger?: Logger;
  /** How long close() lets streams drain; default 1000 ms (Envoy on the same pod is going away too). */
  readonly shutdownGraceMs?: number;
}

export interface SdsServer {
  readonly socketPath: string;
  /** Publishes new material (a renewal); returns whether any secret changed. */
  update(material: SecretMaterial): boolean;
  /** Current version per secret name, for the status endpoint and tests. */
  versions(): Record<string, string>;
  close(): Promise<void>;
}

/**
 * Starts the SDS server. Until the first `update`, requests are answered with no secrets; Envoy
 * then waits (its listeners using them stay warming), which is what it should do without a
 * certificate.
 */
export async function startSdsServer(opts: SdsServerOptions): Promise<SdsServer> {
  const logger = (opts.logger ?? silentLogger()).child({ component: 'sds' });
  const views = new SecretViews();
  await prepareSocketPath(opts.socketPath);
  const server: XdsServer = await startXdsServer({
    socketPath: opts.socketPath, source: views, logger, shutdownGraceMs: opts.shutdownGraceMs ?? 1000,
  });
  await restrictSocket(opts.socketPath, opts.socketMode ?? 0o600).catch(async (err: Error) => {
    await server.close();
    throw err;
  });
  return {
    socketPath: opts.socketPath,
    update: (material) => {
      const changed = views.set(material);
      if (changed) logger.info('SDS secrets updated', { versions: views.versions });
      return changed;
    },
    versions: () => views.versions,
    close: () => server.close(),
  };
}
