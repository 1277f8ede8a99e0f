// `pilotfish controller`: in the cluster, the Kubernetes API is the source of truth. Every replica
// watches the API and serves xDS; the replica holding the Lease also writes routing objects'
// status (validation results, and NACKs from proxies, on the object that caused them).
import { hostname } from 'node:os';
import { splitHostPort } from '../host-port.js';
import { KubeDebugReviewer, reviewClientsFor } from '../admin/kube-debug-reviewer.js';
import { PilotfishMetrics } from '../admin/metrics.js';
import { KubeSource } from '../sources/kube/kube-source.js';
import { LeaderElector } from '../leader/leader-election.js';
import { KubeLeaseStore } from '../leader/lease-store.js';
import { NackTracker, sanitizeNackMessage } from '../leader/nack-tracker.js';
import { KubeRest } from '../kube/rest.js';
import { ROUTING_CONDITION_TYPES, routingStatuses } from '../leader/routing-conditions.js';
import { KubeStatusClient, StatusWriter } from '../leader/status-writer.js';
import { injectedNamespaces, KubeRootCertClient, RootCertPublisher } from '../leader/root-cert-publisher.js';
import { createLogger, type Logger } from '../logging.js';
import { parseDuration } from '../api/routing/v1alpha1/duration.js';
import type { RoutingObjectStatus } from '../model/routing-status.js';
import { EMPTY_SNAPSHOT } from '../model/snapshot.js';
import type { XdsServer } from '../xds/server/index.js';
import type { XdsEvents } from '../xds/server/events.js';
import { parseCommandLine, type ParsedLine } from './command-line.js';
import { controllerCommand } from './commands.js';
import {
  addressFlag, logFormatFlag, logLevelFlag, outboundPolicyFlag, rootNamespaceFlag, trustDomainFlag, UsageError,
} from './flags.js';
import type { MeshIdentityOptions } from '../model/mesh-index.js';
import { loadKubeConfig } from './kubeconfig.js';
import { routingResourceOwners } from '../leader/routing-owners.js';
import { startWebhook, webhookSettingsFromValues, type WebhookSettings } from './webhook-command.js';
import { DEFAULT_CONTROL_PLANE_NAMESPACE } from '../webhook/injection-names.js';
import { PORT_XDS } from '../model/ports.js';
import { startControlPlane, waitForShutdown, type ControlPlane } from './runtime.js';
import { AuthenticationV1Api, CoreV1Api } from '@kubernetes/client-node';
import { SecretCaStore } from '../security/ca/secret-store.js';
import { KubeTokenReviewAuthenticator } from '../security/csr/token-review.js';
import { openXdsTlsPort, xdsTlsSettings, type XdsTlsSettings } from './xds-tls-flags.js';


export interface ControllerSettings {
  readonly kubeconfig?: string;
  /** Plaintext, unauthenticated xDS: off unless --xds-address is given. */
  readonly xdsAddress?: string;
  /** The authenticated TLS port (always on). */
  readonly xdsTls: XdsTlsSettings;
  readonly httpAddress: string;
  readonly webhookAddress: string;
  readonly namespace: string;
  readonly identity: string;
  readonly leaseName: string;
  readonly leaseDurationMs: number;
  readonly debugEndpoints: boolean;
  readonly outboundTrafficPolicy: ReturnType<typeof outboundPolicyFlag>;
  /** Trust domain and mTLS root namespace (default: the control plane's namespace). */
  readonly meshIdentity: Required<MeshIdentityOptions>;
  readonly logLevel: ReturnType<typeof logLevelFlag>;
  readonly logFormat: ReturnType<typeof logFormatFlag>;
  /** The sidecar injector served in this process; undefined with --no-webhook. */
  readonly webhook?: WebhookSettings;
}

function durationFlag(text: string, name: string): number {
  const ms = /^\d+$/.test(text) ? Number(text) * 1000 : parseDuration(text);
  if (ms === undefined || ms < 1000) {
    throw new UsageError(`pilotfish controller: --${name} must be a duration of at least 1s, like "15s" or "1m" (got "${text}")`);
  }
  return ms;
}

/** Flags, with defaults from the Pod's environment (downward API) where that is where they live. */
export function parseControllerFlags(argv: readonly string[], env: NodeJS.ProcessEnv): ControllerSettings {
  return controllerSettings(parseCommandLine(controllerCommand, argv), env);
}

export function controllerSettings({ values: v }: ParsedLine<typeof controllerCommand.flags>, env: NodeJS.ProcessEnv): ControllerSettings {
  const leaseName = v['lease-name']!;
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(leaseName)) {
    throw new UsageError(`pilotfish controller: --lease-name must be a DNS subdomain name (got "${leaseName}")`);
  }
  const namespace = v.namespace || env.POD_NAMESPACE || DEFAULT_CONTROL_PLANE_NAMESPACE;
  const xdsAddress = v['xds-address'] !== undefined ? addressFlag(v['xds-address'], 'xds-address', 'controller') : undefined;
  const xdsPort = xdsAddress !== undefined ? splitHostPort(xdsAddress).port : PORT_XDS;
  const xdsTls = xdsTlsSettings('controller', addressFlag(v['xds-tls-address']!, 'xds-tls-address', 'controller'), v,
    v['service-name']!, namespace);
  const webhook = v['no-webhook'] ? undefined : webhookSettingsFromValues({
    ...v,
    namespace,
    kubernetes: 'on',
    'xds-address': v['proxy-xds-address'] ?? `${v['service-name']}.${namespace}.svc:${xdsPort || PORT_XDS}`,
  }, 'controller');
  return {
    ...(v.kubeconfig !== undefined ? { kubeconfig: v.kubeconfig } : {}),
    ...(webhook !== undefined ? { webhook } : {}),
    ...(xdsAddress !== undefined ? { xdsAddress } : {}),
    xdsTls,
    httpAddress: addressFlag(v['http-address']!, 'http-address', 'controller'),
    webhookAddress: addressFlag(v['webhook-address']!, 'webhook-address', 'controller'),
    namespace,
    identity: v.identity || env.POD_NAME || hostname(),
    leaseName,
    leaseDurationMs: durationFlag(v['lease-duration']!, 'lease-duration'),
    debugEndpoints: !v['no-debug-endpoints'],
    outboundTrafficPolicy: outboundPolicyFlag(v['outbound-traffic-policy']),
    meshIdentity: {
      trustDomain: trustDomainFlag(v['trust-domain'], 'controller'),
      rootNamespace: rootNamespaceFlag(v['mesh-root-namespace'], namespace, 'controller'),
    },
    logLevel: logLevelFlag(v['log-level']),
    logFormat: logFormatFlag(v['log-format']),
  };
}

/** Keeps routing objects' status in line with validation and with what proxies reject. */
class RoutingStatusLoop {
  readonly nacks: NackTracker;
  private statuses: readonly RoutingObjectStatus[] = [];
  xds: XdsServer | undefined;

  constructor(private readonly writer: StatusWriter, private readonly plane: () => ControlPlane | undefined, private readonly log: Logger) {
    this.nacks = new NackTracker(() => routingResourceOwners(this.plane()?.store.current() ?? EMPTY_SNAPSHOT));
  }

  /** New validation results (the store keeps the array's identity while no status changes). */
  statusesChanged(statuses: readonly RoutingObjectStatus[]): void {
    if (statuses === this.statuses) return;
    this.statuses = statuses;
    this.refresh();
  }

  refresh(): void {
    this.writer.setDesired(routingStatuses(this.statuses, this.nacks.summary()));
  }

  readonly events: XdsEvents = {
    nacked: (e) => {
      // A plaintext stream is whoever it claims to be: its text never reaches a status.
      if (!e.authenticated) return;
      const sent = this.xds?.sentResources(e.streamId)?.get(e.typeUrl) ?? [];
      const { objects, changed } = this.nacks.nacked({
        authenticated: e.authenticated, streamId: e.streamId, proxy: e.node.id, typeUrl: e.typeUrl, message: e.message, candidates: sent.map((r) => r.name),
      });
      if (objects.length > 0) {
        this.log.warn('a proxy rejected configuration built from routing objects; see their Programmed condition', {
          proxy: sanitizeNackMessage(e.node.id, 253), type: sanitizeNackMessage(e.typeUrl, 253), objects, reason: sanitizeNackMessage(e.message),
        });
      }
      if (changed) this.refresh();
    },
    acked: (e) => { if (this.nacks.acked(e.streamId, e.typeUrl)) this.refresh(); },
    streamClosed: (e) => { if (this.nacks.streamClosed(e.streamId)) this.refresh(); },
  };
}

export async function controller(line: ParsedLine<typeof controllerCommand.flags>, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const s = controllerSettings(line, env);
  const logger = createLogger(s.logLevel, process.stderr, s.logFormat);
  const kc = loadKubeConfig(s.kubeconfig, env);
  const rest = new KubeRest(kc);
  const metrics = new PilotfishMetrics();
  const source = new KubeSource({ kubeConfig: kc, logger, metrics });
  const elector = new LeaderElector({
    store: new KubeLeaseStore(rest, s.namespace, s.leaseName, Math.floor((s.leaseDurationMs * 2) / 3)),
    identity: s.identity, leaseDurationMs: s.leaseDurationMs, logger,
  });
  const writer = new StatusWriter({
    client: new KubeStatusClient(rest),
    live: (t) => source.routingObject(t.kind === 'TrafficRoute' ? 'TrafficRoute' : 'TrafficPolicy', t.namespace, t.name),
    isLeader: () => elector.isLeader(),
    ownedTypes: ROUTING_CONDITION_TYPES,
    logger,
  });
  // The mesh CA's trust bundle (PEM): `meshRoots.bundle` is replaced where the CA is loaded; until
  // then nothing is published and the publisher logs why.
  const meshRoots = { bundle: (): Promise<string> => Promise.reject(new Error('the mesh CA is not loaded')) };
  const rootCerts = new RootCertPublisher({
    client: new KubeRootCertClient(rest),
    bundle: () => meshRoots.bundle(),
    isLeader: () => elector.isLeader(),
    logger,
  });
  let plane: ControlPlane | undefined;
  const loop = new RoutingStatusLoop(writer, () => plane, logger.child({ component: 'routing-status' }));
  logger.info('starting controller', {
    server: rest.server, identity: s.identity, namespace: s.namespace, lease: s.leaseName, leaseDurationMs: s.leaseDurationMs,
  });

  // The mesh CA is shared by every replica through the Secret: the first one creates it.
  const tls = await openXdsTlsPort(s.xdsTls, new SecretCaStore(kc.makeApiClient(CoreV1Api), s.namespace),
    new KubeTokenReviewAuthenticator(kc.makeApiClient(AuthenticationV1Api)), logger);
  meshRoots.bundle = () => Promise.resolve(tls.trustBundle());
  plane = await startControlPlane({
    sources: [source], logger, ...(s.xdsAddress !== undefined ? { xdsAddress: s.xdsAddress } : {}), xdsTls: tls.tls,
    httpAddress: s.httpAddress,
    debugEndpoints: s.debugEndpoints, outboundTrafficPolicy: s.outboundTrafficPolicy, identity: s.meshIdentity, metrics,
    debugReviewer: new KubeDebugReviewer(reviewClientsFor(kc), s.namespace),
    xdsEvents: loop.events,
    servingInfo: () => ({ identity: s.identity, namespace: s.namespace, kubernetes: rest.server }),
  });
  loop.xds = plane.xds;
  tls.attach(plane.xds);
  const { store } = plane;
  store.subscribe((snapshot) => loop.statusesChanged(snapshot.routing.statuses));
  loop.statusesChanged(store.current().routing.statuses);
  store.subscribe((snapshot) => rootCerts.setNamespaces(injectedNamespaces(snapshot.namespaces.values())));
  rootCerts.setNamespaces(injectedNamespaces(store.current().namespaces.values()));
  // Our own status writes landing in the cache, or someone else editing status: compare again.
  source.onChange(() => writer.kick());
  elector.onChange((leading) => {
    if (!leading) return;
    writer.kick();
    // Another replica may have written meanwhile: read every ConfigMap back once.
    rootCerts.resync();
  });
  elector.start();

  const webhook = s.webhook ? await startWebhook(s.webhook, logger.child({ component: 'webhook' }), kc) : undefined;

  await waitForShutdown(logger, async () => {
    // Admissions stop first: the API server then follows the webhook's failurePolicy.
    await webhook?.server.close();
    await writer.stop();
    await rootCerts.stop();
    // Released before xDS drains, so the next leader starts writing status at once.
    await elector.stop();
    tls.stop();
    await plane?.close();
  });
  return 0;
}
