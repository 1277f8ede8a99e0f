// `pilotfish controller`: in the cluster, the Kubernetes API is the source of truth. Every replica
// watches the API and serves xDS; the replica holding the Lease also writes routing objects'
// status (validation results, and NACKs from proxies, on the object that caused them) and
// AccessPolicies' Accepted condition.
import { hostname } from 'node:os';
import { splitHostPort } from '../host-port.js';
import { KubeDebugReviewer, reviewClientsFor } from '../admin/kube-debug-reviewer.js';
import { followCsrCounters, PilotfishMetrics } from '../admin/metrics.js';
import { KubeSource } from '../sources/kube/kube-source.js';
import { LeaderElector } from '../leader/leader-election.js';
import { KubeLeaseStore } from '../leader/lease-store.js';
import { NackTracker, sanitizeNackMessage } from '../leader/nack-tracker.js';
import { KubeRest } from '../kube/rest.js';
import { ROUTING_CONDITION_TYPES, routingStatuses } from '../leader/routing-conditions.js';
import { KubeStatusClient, StatusWriter, type DesiredStatus, type StatusWriterOptions } from '../leader/status-writer.js';
import { IstioEventReporter, KubeEventClient } from '../leader/istio-events.js';
import { PEER_AUTHENTICATION_CONDITION_TYPES, peerAuthenticationStatuses } from '../leader/peer-authentication-conditions.js';
import { ACCESS_CONDITION_TYPES, accessStatuses } from '../leader/access-conditions.js';
import { GATEWAY_STATUS_RENDERER, gatewayStatuses, type GatewayDesiredStatus } from '../leader/gateway-status.js';
import { injectedNamespaces, KubeRootCertClient, RootCertPublisher } from '../leader/root-cert-publisher.js';
import { createLogger, type Logger } from '../logging.js';
import { parseDuration } from '../api/routing/v1alpha1/duration.js';
import type { RoutingObjectStatus } from '../model/routing-status.js';
import { EMPTY_SCOPES, EMPTY_SNAPSHOT, type MeshSnapshot, type ScopeState } from '../model/snapshot.js';
import type { SnapshotStore } from '../store/snapshot-store.js';
import { scopeStatuses } from '../leader/scope-conditions.js';
import type { XdsServer } from '../xds/server/index.js';
import type { XdsEvents } from '../xds/server/events.js';
import { parseCommandLine, type ParsedLine } from './command-line.js';
import { controllerCommand } from './commands.js';
import {
  addressFlag, defaultScopeFlag, discoverySelectorFlag, logFormatFlag, logLevelFlag, outboundPolicyFlag, rootNamespaceFlag, trustDomainFlag, UsageError,
} from './flags.js';
import type { MeshIdentityOptions } from '../model/mesh-index.js';
import type { ScopeOptions } from '../model/traffic-scope.js';
import type { LabelSelector } from '../model/label-selector.js';
import { loadKubeConfig } from './kubeconfig.js';
import { RoutingResourceOwners } from '../leader/routing-owners.js';
import { startWebhook, webhookSettingsFromValues, type WebhookSettings } from './webhook-command.js';
import { DEFAULT_CONTROL_PLANE_NAMESPACE } from '../webhook/injection-names.js';
import { PORT_XDS } from '../model/ports.js';
import { startControlPlane, waitForShutdown, type ControlPlane } from './runtime.js';
import { AuthenticationV1Api, CoreV1Api } from '@kubernetes/client-node';
import { SecretCaStore } from '../security/ca/secret-store.js';
import { KubeTokenReviewAuthenticator } from '../security/csr/token-review.js';
import { openXdsTlsPort, xdsTlsSettings, type XdsTlsSettings } from './xds-tls-flags.js';
import { xdsConnectionSettings, type XdsConnectionSettings } from './xds-connection-flags.js';


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
  /** `--default-scope`, with the control plane's namespace as pilotfish's own. */
  readonly scope: Required<ScopeOptions>;
  /** `--discovery-selector`; undefined: every namespace is read. */
  readonly discoverySelector?: LabelSelector;
  readonly logLevel: ReturnType<typeof logLevelFlag>;
  readonly logFormat: ReturnType<typeof logFormatFlag>;
  /** Maximum xDS connection age and the drain window on SIGTERM. */
  readonly xdsConnections: XdsConnectionSettings;
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
  const discoverySelector = discoverySelectorFlag(v['discovery-selector'], 'controller');
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
    ...(discoverySelector !== undefined ? { discoverySelector } : {}),
    xdsTls,
    httpAddress: addressFlag(v['http-address']!, 'http-address', 'controller'),
    xdsConnections: xdsConnectionSettings(v, 'controller'),
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
    scope: { defaultScope: defaultScopeFlag(v['default-scope']), systemNamespace: namespace },
    logLevel: logLevelFlag(v['log-level']),
    logFormat: logFormatFlag(v['log-format']),
  };
}

/** Keeps routing objects' status in line with validation and with what proxies reject, and TrafficScopes' with parsing. */
class RoutingStatusLoop {
  readonly nacks: NackTracker;
  private statuses: readonly RoutingObjectStatus[] = [];
  private scopes: ScopeState = EMPTY_SCOPES;
  xds: XdsServer | undefined;

  constructor(private readonly writer: StatusWriter, private readonly plane: () => ControlPlane | undefined, private readonly log: Logger) {
    const owners = new RoutingResourceOwners();
    this.nacks = new NackTracker(() => owners.of(this.plane()?.store.current() ?? EMPTY_SNAPSHOT));
  }

  /** New validation results (the store keeps the array's identity while no status changes). */
  statusesChanged(statuses: readonly RoutingObjectStatus[], scopes: ScopeState): void {
    if (statuses === this.statuses && scopes === this.scopes) return;
    this.statuses = statuses;
    this.scopes = scopes;
    this.refresh();
  }

  refresh(): void {
    this.writer.setDesired([...routingStatuses(this.statuses, this.nacks.summary()), ...scopeStatuses(this.scopes)]);
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

/** Calls `apply` with the part of the store's snapshot that `select` picks: now, and whenever it is another object. */
function followPart<T>(store: SnapshotStore, select: (snapshot: MeshSnapshot) => T, apply: (part: T) => void): void {
  let seen = select(store.current());
  apply(seen);
  store.subscribe((snapshot) => {
    const part = select(snapshot);
    if (part === seen) return;
    seen = part;
    apply(part);
  });
}

export async function controller(line: ParsedLine<typeof controllerCommand.flags>, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const s = controllerSettings(line, env);
  const logger = createLogger(s.logLevel, process.stderr, s.logFormat);
  const kc = await loadKubeConfig(s.kubeconfig, env);
  const rest = new KubeRest(kc);
  const metrics = new PilotfishMetrics();
  const source = new KubeSource({ kubeConfig: kc, logger, metrics });
  const elector = new LeaderElector({
    store: new KubeLeaseStore(rest, s.namespace, s.leaseName, Math.floor((s.leaseDurationMs * 2) / 3)),
    identity: s.identity, leaseDurationMs: s.leaseDurationMs, logger,
  });
  // Every status writer shares the client, the lease and the logger; each owns its kinds' fields.
  const statusWriter = <D extends DesiredStatus>(own: Pick<StatusWriterOptions<D>, 'live' | 'ownedTypes' | 'renderer'>): StatusWriter<D> =>
    new StatusWriter<D>({ client: new KubeStatusClient(rest), isLeader: () => elector.isLeader(), logger, ...own });
  const writer = statusWriter({
    live: (t) => source.routingObject(t.kind === 'TrafficRoute' || t.kind === 'TrafficScope' ? t.kind : 'TrafficPolicy', t.namespace, t.name),
    ownedTypes: ROUTING_CONDITION_TYPES,
  });
  const securityWriter = statusWriter({ live: (t) => source.peerAuthentication(t.namespace, t.name), ownedTypes: PEER_AUTHENTICATION_CONDITION_TYPES });
  // AccessPolicies' Accepted condition: a writer of its own, since it owns other condition types.
  const accessWriter = statusWriter({ live: (t) => source.accessPolicy(t.namespace, t.name), ownedTypes: ACCESS_CONDITION_TYPES });
  // HTTPRoutes and GRPCRoutes: status.parents[] entries of pilotfish.io/mesh, leader only.
  const gatewayWriter = statusWriter<GatewayDesiredStatus>({
    renderer: GATEWAY_STATUS_RENDERER,
    live: (t) => source.routingObject(t.kind === 'GRPCRoute' ? 'GRPCRoute' : 'HTTPRoute', t.namespace, t.name),
    ownedTypes: [],
  });
  const writers = [writer, securityWriter, accessWriter, gatewayWriter];
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
  // Published as loaded, and again at every reload of the CA (a rotation step reaches every
  // injected namespace without waiting for the publisher's periodic check).
  followCsrCounters(metrics, tls.csr.counters);
  meshRoots.bundle = () => Promise.resolve(tls.ca.current().trustBundle.join(''));
  tls.ca.onChange(() => rootCerts.kick());
  plane = await startControlPlane({
    sources: [source], logger, ...(s.xdsAddress !== undefined ? { xdsAddress: s.xdsAddress } : {}), xdsTls: tls.tls,
    httpAddress: s.httpAddress, xdsConnections: s.xdsConnections,
    debugEndpoints: s.debugEndpoints, outboundTrafficPolicy: s.outboundTrafficPolicy, identity: s.meshIdentity, metrics,
    scope: s.scope, ...(s.discoverySelector ? { discoverySelector: s.discoverySelector } : {}),
    debugReviewer: new KubeDebugReviewer(reviewClientsFor(kc), s.namespace),
    xdsEvents: loop.events,
    servingInfo: () => ({ identity: s.identity, namespace: s.namespace, kubernetes: rest.server }),
  });
  loop.xds = plane.xds;
  tls.attach(plane.xds);
  const { store } = plane;
  store.subscribe((snapshot) => loop.statusesChanged(snapshot.routing.statuses, snapshot.scopes));
  const istioEvents = new IstioEventReporter({
    client: new KubeEventClient(rest), isLeader: () => elector.isLeader(), logger, identity: s.identity,
  });
  followPart(store, (snapshot) => snapshot.routing.statuses, (statuses) => istioEvents.update(statuses));
  loop.statusesChanged(store.current().routing.statuses, store.current().scopes);
  followPart(store, (snapshot) => snapshot.routing.statuses, (statuses) => gatewayWriter.setDesired(gatewayStatuses(statuses)));
  followPart(store, (snapshot) => snapshot.security, (security) => securityWriter.setDesired(peerAuthenticationStatuses(security)));
  followPart(store, (snapshot) => snapshot.access.statuses, (statuses) => accessWriter.setDesired(accessStatuses(statuses)));
  followPart(store, (snapshot) => snapshot.namespaces, (namespaces) => rootCerts.setNamespaces(injectedNamespaces(namespaces.values())));
  // Our own status writes landing in the cache, or someone else editing status: compare again.
  source.onChange(() => { for (const w of writers) w.kick(); });
  elector.onChange((leading) => {
    if (!leading) return;
    for (const w of writers) w.kick();
    istioEvents.kick();
    // Another replica may have written meanwhile: read every ConfigMap back once.
    rootCerts.resync();
  });
  elector.start();

  const webhook = s.webhook ? await startWebhook(s.webhook, logger.child({ component: 'webhook' }), kc) : undefined;

  await waitForShutdown(logger, async () => {
    // Admissions stop first: the API server then follows the webhook's failurePolicy.
    await webhook?.server.close();
    for (const w of writers) await w.stop();
    await istioEvents.stop();
    await rootCerts.stop();
    // Released before xDS drains, so the next leader starts writing status at once.
    await elector.stop();
    tls.stop();
    await plane?.close();
  });
  return 0;
}
