// Turns the xDS server's protocol events into metrics, debug-level logs and push progress:
// who is connected, what was sent for which reason, and how long each proxy took to ACK the
// configuration a source change caused (convergence).
import type { Logger } from '../logging.js';
import { type ProxyKind } from '../model/proxy.js';
import { proxyIdentityFromNode } from '../xds/cache/proxy-identity.js';
import type { ChangeCause } from '../xds/proxy-view.js';
import type { XdsEvents } from '../xds/server/events.js';
import { shortTypeName } from '../xds/types.js';
import type { PilotfishMetrics } from './metrics.js';

type EventInfo<K extends keyof XdsEvents> = Parameters<NonNullable<XdsEvents[K]>>[0];

/** A pushed response waiting for its ACK. */
interface Pending {
  readonly nonce: string;
  readonly cause: ChangeCause;
}

/** How far the proxies got with the responses one source change caused. */
interface PushProgress {
  /** Epoch ms of the change (the snapshot's changedAt). */
  readonly since: number;
  readonly reason: string;
  /** (proxy stream, type) responses sent for it. */
  sent: number;
  acked: number;
  nacked: number;
  /** Sent but neither ACKed nor NACKed; includes ones whose stream closed first. */
  readonly pending: number;
}

/** Unanswered pushes kept per stream and type; a proxy that never ACKs must not grow this. */
const MAX_PENDING = 32;
/** Progress kept for this many recent changes (the debug endpoint shows the latest). */
const MAX_PROGRESS = 16;

export class XdsObserver implements XdsEvents {
  private readonly proxies = new Map<string, { kind: ProxyKind; streams: number }>();
  /** Proxies in `proxies` by kind, kept as they come and go: a scrape then walks none of them. */
  private readonly connectedByKind: Record<ProxyKind, number> = { sidecar: 0, grpc: 0 };
  private readonly pending = new Map<number, Map<string, Pending[]>>();
  private readonly progress = new Map<number, { reason: string; sent: number; acked: number; nacked: number }>();
  private readonly log: Logger;
  /** winston's isDebugEnabled() costs more than the rest of an event's handling. */
  private readonly debug: boolean;
  /** Label children, so an event does not validate and hash its labels each time. */
  private readonly children = new Map<string, { inc(v?: number): void }>();

  constructor(
    private readonly metrics: PilotfishMetrics,
    logger: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.log = logger.child({ component: 'xds' });
    this.debug = this.log.isDebugEnabled();
    metrics.onScrape(() => {
      for (const [kind, n] of Object.entries(this.connectedByKind)) metrics.connectedProxies.set({ kind }, n);
    });
  }

  streamOpened(e: EventInfo<'streamOpened'>): void {
    const p = this.proxies.get(e.node.id);
    if (p) p.streams++;
    else {
      const kind = proxyIdentityFromNode(e.node).kind;
      this.proxies.set(e.node.id, { kind, streams: 1 });
      this.connectedByKind[kind] += 1;
    }
    if (this.debug) this.log.debug('stream opened', { proxy: e.node.id, streamId: e.streamId, delta: e.delta });
  }

  streamClosed(e: EventInfo<'streamClosed'>): void {
    const p = this.proxies.get(e.node.id);
    if (p && --p.streams <= 0) {
      this.proxies.delete(e.node.id);
      this.connectedByKind[p.kind] -= 1;
    }
    this.pending.delete(e.streamId);
    if (this.debug) this.log.debug('stream closed', { proxy: e.node.id, streamId: e.streamId });
  }

  sent(e: EventInfo<'sent'>): void {
    const type = shortTypeName(e.typeUrl);
    const reason = e.trigger?.reason ?? 'request';
    this.child(`p|${type}|${reason}`, () => this.metrics.pushes.labels({ type, reason })).inc();
    this.child(`b|${type}`, () => this.metrics.sentBytes.labels({ type })).inc(e.bytes);
    // Per-stream detail is debug: at info a large mesh would drown the push summaries.
    if (this.debug) this.log.debug('sent', {
      proxy: e.node.id, type, version: e.version, nonce: e.nonce, resources: e.resources, bytes: e.bytes,
      reason: e.trigger?.reason ?? 'request',
    });
    if (!e.trigger) return;
    let byType = this.pending.get(e.streamId);
    if (!byType) this.pending.set(e.streamId, (byType = new Map()));
    let list = byType.get(e.typeUrl);
    if (!list) byType.set(e.typeUrl, (list = []));
    list.push({ nonce: e.nonce, cause: e.trigger });
    if (list.length > MAX_PENDING) list.shift();
    this.progressOf(e.trigger).sent++;
  }

  acked(e: EventInfo<'acked'>): void {
    if (this.debug) this.log.debug('ack', { proxy: e.node.id, type: shortTypeName(e.typeUrl), version: e.version, nonce: e.nonce });
    const now = this.now();
    for (const p of this.settle(e.streamId, e.typeUrl, e.nonce)) {
      this.metrics.convergence.observe({ type: shortTypeName(e.typeUrl) }, Math.max(0, now - p.cause.since) / 1000);
      this.progressOf(p.cause).acked++;
    }
  }

  nacked(e: EventInfo<'nacked'>): void {
    // The stream itself logs the NACK at warn with the proxy, type, version and message.
    this.metrics.nacks.inc({ type: shortTypeName(e.typeUrl) });
    for (const p of this.settle(e.streamId, e.typeUrl, e.nonce)) this.progressOf(p.cause).nacked++;
  }

  private child(key: string, make: () => { inc(v?: number): void }): { inc(v?: number): void } {
    let c = this.children.get(key);
    if (!c) this.children.set(key, (c = make()));
    return c;
  }

  /** Connected proxies by kind (a proxy with several streams counts once). */
  connected(): Record<ProxyKind, number> {
    return { ...this.connectedByKind };
  }

  /** Progress of the pushes caused by the change first seen at `since` (epoch ms). */
  progressFor(since: number): PushProgress | undefined {
    const p = this.progress.get(since);
    if (!p) return undefined;
    return { since, ...p, pending: Math.max(0, p.sent - p.acked - p.nacked) };
  }

  /**
   * Responses are answered in order, so an ACK or NACK also settles every earlier response of
   * that type on the stream (SotW servers ignore the superseded ones' late answers).
   */
  private settle(streamId: number, typeUrl: string, nonce: string): Pending[] {
    const list = this.pending.get(streamId)?.get(typeUrl);
    if (!list) return [];
    const i = list.findIndex((p) => p.nonce === nonce);
    if (i < 0) return [];
    return list.splice(0, i + 1);
  }

  private progressOf(cause: ChangeCause): { reason: string; sent: number; acked: number; nacked: number } {
    let p = this.progress.get(cause.since);
    if (!p) {
      p = { reason: cause.reason, sent: 0, acked: 0, nacked: 0 };
      this.progress.set(cause.since, p);
      if (this.progress.size > MAX_PROGRESS) this.progress.delete(this.progress.keys().next().value as number);
    }
    return p;
  }
}
