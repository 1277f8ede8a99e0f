// The proxy sessions: what the xDS server gets for each connected proxy (the proxy-view.ts
// contract), turning published mesh snapshots into per-proxy views of encoded resources. A view
// is its proxy's class's maps (proxy-classes.ts); this file matches proxies to their Pods and
// classes as they connect, as Pods change and as they leave, and applies snapshots in order
// (push.ts), recording what each push did (push-summary.ts).
import { proxyClassKey, type ProxyIdentity } from '../../model/proxy.js';
import type { MeshIdentityOptions } from '../../model/mesh-index.js';
import type { OutboundTrafficPolicy } from '../../model/outbound-policy.js';
import type { MeshSnapshot } from '../../model/snapshot.js';
import type { ScopeOptions } from '../../model/traffic-scope.js';
import type { Logger } from '../../logging.js';
import { META_NAMESPACE, META_SERVICE_ACCOUNT, type NodeInfo } from '../node-info.js';
import type { Principal } from '../peer.js';
import { ViewRefusedError, type ChangeCause, type ProxyView, type ProxyViews, type ResourceMap } from '../proxy-view.js';
import type { EncoderStats, ResourceEncoder } from './encoder.js';
import { ProxyClasses, type ClassMember, type ClassState } from './proxy-classes.js';
import { proxyIdentityFromNode } from './proxy-identity.js';
import { PodsByIp, resolveProxyIdentity, sameResolution, type ResolvedIdentity } from './proxy-resolve.js';
import { push } from './push.js';
import { PushSummaries, type PushSummary } from './push-summary.js';

type Listener = (typeUrls: ReadonlySet<string>, cause?: ChangeCause) => void;

interface MeshConfigOptions {
  /** Mesh-wide default for sidecars; a Namespace annotation overrides it. Default ALLOW_ANY. */
  readonly outboundTrafficPolicy?: OutboundTrafficPolicy;
  /** Trust domain and PeerAuthentication root namespace (defaults in MeshIndex). */
  readonly identity?: MeshIdentityOptions;
  /** The default TrafficScope and the control plane's namespace (defaults in model/traffic-scope.ts). */
  readonly scope?: ScopeOptions;
  /** How long after a push encodings no proxy holds any more are forgotten (default 1000 ms; see ProxyClasses.pushEnded). */
  readonly sweepDelayMs?: number;
}

class MeshProxyView implements ProxyView, ClassMember {
  private readonly listeners: Listener[] = [];
  closed = false;

  /**
   * `state` changes when the proxy is matched to its Pod later, or the Pod changes (see
   * proxy-resolve.ts); `base` is what the node says about itself, parsed once.
   */
  constructor(private readonly owner: MeshProxyViews, public state: ClassState<MeshProxyView>, readonly node: NodeInfo,
    readonly base: ProxyIdentity, public resolved: ResolvedIdentity, readonly principal: Principal | undefined) {}

  resources(typeUrl: string): ResourceMap {
    return this.owner.resourcesFor(this.state, typeUrl);
  }

  onChange(listener: Listener): void {
    this.listeners.push(listener);
  }

  notify(types: ReadonlySet<string>, cause: ChangeCause): void {
    for (const l of this.listeners) l(types, cause);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.owner.release(this);
  }
}

/**
 * The node as an authenticated principal may have it: its namespace and service account claims
 * (metadata or an Istio-style id) must be the principal's, and are then replaced by the
 * principal's, so every lookup (the Pod by name or by IP) and all generation happen in the
 * principal's namespace, never in the one the node names.
 */
function boundNode(node: NodeInfo, principal: Principal): NodeInfo {
  const claimed = proxyIdentityFromNode(node);
  const meta = node.metadata ?? {};
  const parts = node.id.split('~');
  const namespaceClaimed = (typeof meta[META_NAMESPACE] === 'string' && meta[META_NAMESPACE] !== '')
    || (parts.length === 4 && parts[2].lastIndexOf('.') > 0);
  if (namespaceClaimed && claimed.namespace !== principal.namespace) {
    throw new ViewRefusedError(`the node claims namespace ${show(claimed.namespace)}, but the stream authenticated as `
      + `${principal.namespace}/${principal.serviceAccount} (${principal.via})`);
  }
  if (claimed.serviceAccount !== undefined && claimed.serviceAccount !== principal.serviceAccount) {
    throw new ViewRefusedError(`the node claims service account ${show(claimed.serviceAccount)}, but the stream authenticated as `
      + `${principal.namespace}/${principal.serviceAccount} (${principal.via})`);
  }
  return { ...node, metadata: { ...meta, [META_NAMESPACE]: principal.namespace, [META_SERVICE_ACCOUNT]: principal.serviceAccount } };
}

/** Why the Pod a node resolved to is not the principal's, or undefined when it is (or none is known yet). */
function podMismatch(resolved: ResolvedIdentity, principal: Principal): string | undefined {
  if (resolved.pod === undefined) return undefined;
  const { namespace, serviceAccount } = resolved.identity;
  // Kubernetes gives every Pod a service account; one the source did not record is `default`.
  if (namespace === principal.namespace && (serviceAccount ?? 'default') === principal.serviceAccount) return undefined;
  return `the node names pod ${resolved.pod} (service account ${serviceAccount ?? 'default'}), but the stream authenticated as `
    + `${principal.namespace}/${principal.serviceAccount} (${principal.via})`;
}

/** A peer-supplied name as a refusal may quote it: bounded, control characters replaced. */
function show(text: string): string {
  const clean = text.replace(/[^\x20-\x7e]/g, '?');
  return JSON.stringify(clean.length > 64 ? `${clean.slice(0, 64)}…` : clean);
}

export class MeshProxyViews implements ProxyViews {
  private readonly classes: ProxyClasses<MeshProxyView>;
  private readonly podsByIp = new PodsByIp();
  private readonly summaries: PushSummaries;
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly encoder: ResourceEncoder, private readonly logger: Logger, options: MeshConfigOptions = {}) {
    this.classes = new ProxyClasses(encoder, {
      ...(options.outboundTrafficPolicy ? { outboundTrafficPolicy: options.outboundTrafficPolicy } : {}),
      ...options.scope,
    }, options.identity, options.sweepDelayMs);
    this.summaries = new PushSummaries(logger);
  }

  viewFor(claimed: NodeInfo, principal?: Principal): ProxyView {
    const node = principal ? boundNode(claimed, principal) : claimed;
    const base = proxyIdentityFromNode(node);
    const resolved = resolveProxyIdentity(node, this.classes.snapshot.pods, base, this.podsByIp);
    if (principal) {
      const mismatch = podMismatch(resolved, principal);
      if (mismatch) throw new ViewRefusedError(mismatch);
    }
    if (resolved.provisional) {
      this.logger.debug('proxy connected before its pod is known; using its own metadata until the pod appears', {
        proxy: node.id, namespace: base.namespace, podName: base.podName, ip: base.ip,
      });
    }
    const view = new MeshProxyView(this, this.classes.classFor(resolved.identity), node, base, resolved, principal);
    this.classes.join(view, view.state);
    return view;
  }

  /**
   * Matches every proxy against the new snapshot's Pods. A proxy whose class changes (its Pod
   * appeared, or was relabelled) moves to its new class; the moved views are returned, they need
   * their per-class resources re-sent.
   */
  private rematch(): MeshProxyView[] {
    const moved: MeshProxyView[] = [];
    const pods = this.classes.snapshot.pods;
    for (const state of this.classes.all()) {
      for (const view of [...state.views]) {
        const resolved = resolveProxyIdentity(view.node, pods, view.base, this.podsByIp);
        if (sameResolution(resolved, view.resolved)) continue;
        const mismatch = view.principal ? podMismatch(resolved, view.principal) : undefined;
        if (mismatch) {
          // The Pod the node names now belongs to another workload: the proxy keeps what it
          // had (its own namespace's view), and never gets that Pod's.
          this.logger.warn('an authenticated proxy names a pod of another workload; its view is not moved', {
            proxy: view.node.id.slice(0, 256), reason: mismatch,
          });
          continue;
        }
        if (view.resolved.provisional && !resolved.provisional) {
          this.logger.info('proxy matched to its pod', { proxy: view.node.id, pod: resolved.pod });
        }
        view.resolved = resolved;
        if (proxyClassKey(resolved.identity) === state.key) continue;
        this.classes.leave(view, state);
        view.state = this.classes.classFor(resolved.identity);
        this.classes.join(view, view.state);
        moved.push(view);
      }
    }
    return moved;
  }

  resourcesFor(state: ClassState<MeshProxyView>, typeUrl: string): ResourceMap {
    return this.classes.resourcesFor(state, typeUrl);
  }

  release(view: MeshProxyView): void {
    this.classes.leave(view, view.state);
  }

  current(): MeshSnapshot {
    return this.classes.snapshot;
  }

  lastPushSummary(): PushSummary | undefined {
    return this.summaries.latest();
  }

  /** Running totals of the shared encoder (cache misses and hits), for metrics. */
  encoderStats(): Readonly<EncoderStats> {
    return this.encoder.stats;
  }

  /** Called after every applied snapshot that changed something, with its summary (for metrics). */
  onPush(listener: (summary: PushSummary) => void): void {
    this.summaries.onPush(listener);
  }

  /** Applies snapshots strictly in order; resolves when every view has been notified. */
  update(snapshot: MeshSnapshot): Promise<void> {
    this.chain = this.chain
      .then(async () => this.summaries.record(await push(this.classes, snapshot, () => this.rematch())))
      .catch((err: unknown) => {
        this.logger.error('xds generation failed; proxies keep their last config', {
          snapshotVersion: snapshot.version, error: err instanceof Error ? err.stack ?? err.message : String(err),
        });
      });
    return this.chain;
  }

  proxyCount(): number {
    return this.classes.proxyCount();
  }
}
