// What SotW and Delta streams share: learning the node from the first request, owning the
// proxy's view, pushing in make-before-break order, backpressure, and clean teardown.
import type { NodeInfo } from '../node-info.js';
import type { Logger } from '../../logging.js';
import { PUSH_ORDER, shortTypeName } from '../types.js';
import { ViewRefusedError, type ChangeCause, type ProxyViews, type ProxyView, type XdsResource } from '../proxy-view.js';
import type { Principal } from '../peer.js';
import type { XdsEvents } from './events.js';
import type { GrpcCall } from './grpc/call.js';
import { GrpcStatus, statusName, type GrpcStatusCode } from './grpc/wire.js';
import type { LiveStream, StreamRegistry, StreamStatus, TypeCounters, TypeStatus } from './stream-status.js';
import type { Subscription } from './subscription.js';
import type { LimitCounters } from './limit-counters.js';
import { clip } from './log-text.js';
import type { NameListHolder } from './name-lists.js';
import type { ServerCaches } from './server-caches.js';
import { lenFieldBytes } from '../wire/reader.js';
import { lenTag } from '../wire/tag.js';

/** An encoded response as the parts it is kept in, and its length in bytes. */
export interface ResponseParts {
  readonly parts: readonly Uint8Array[];
  readonly length: number;
}

export interface StreamContext {
  readonly source: ProxyViews;
  readonly logger: Logger;
  readonly events: XdsEvents;
  readonly registry: StreamRegistry;
  /** Set for the per-type services (LDS, RDS, ...), whose requests may leave type_url empty. */
  readonly fixedTypeUrl?: string;
  readonly caches: ServerCaches;
  readonly limits: StreamLimits;
  readonly counters: LimitCounters;
  /** Told of the bytes a closed stream's subscriptions held (see MemoryReclaimer). */
  readonly reclaim: (bytes: number) => void;
  /** Who the stream authenticated as (TLS port); absent on plaintext streams. */
  readonly principal?: Principal;
}

export interface StreamLimits {
  /** Total length of the names one stream subscribes to, over all types (see XdsServerOptions). */
  readonly maxSubscribedNameBytes: number;
  /** Peer-supplied strings are clipped to this many characters in logs. */
  readonly maxLoggedStringChars: number;
}

interface BaseRequest {
  readonly node?: NodeInfo;
  readonly typeUrl: string;
}

type EventInfo<K extends keyof XdsEvents> = Parameters<NonNullable<XdsEvents[K]>>[0];

export abstract class XdsStream<Req extends BaseRequest> implements LiveStream {
  readonly id: number;
  protected node?: NodeInfo;
  protected view?: ProxyView;
  protected log: Logger;
  /** Checked per response and ACK: winston's isDebugEnabled() is too slow to ask each time. */
  protected debug: boolean;
  private done = false;
  private blocked = false;
  private readonly dirty = new Set<string>();
  /** Per dirty type, the oldest view change not yet sent (only outlives one flush while blocked). */
  private readonly triggers = new Map<string, ChangeCause>();
  private readonly connectedAt = new Date().toISOString();
  private readonly peer: string;
  private readonly method: string;
  /** The long name lists this stream sent, held for it in the server's NameLists until it closes. */
  private readonly lists: NameListHolder;
  /** Per type, the version whose NACK was last logged: a client repeating a NACK is logged once. */
  private readonly nackLogged = new Map<string, string>();

  constructor(
    protected readonly call: GrpcCall,
    protected readonly ctx: StreamContext,
    readonly delta: boolean,
    decode: (body: Buffer, lists: NameListHolder) => Req,
  ) {
    this.id = ctx.registry.nextId();
    this.peer = call.peer;
    this.method = call.path;
    this.log = ctx.logger.child({ streamId: this.id });
    this.debug = this.log.isDebugEnabled();
    this.lists = ctx.caches.lists.holder();
    ctx.registry.add(this);
    call.start({
      message: (body) => {
        if (!this.namesFit(body)) return;
        let req: Req;
        try {
          req = decode(body, this.lists);
        } catch (err) {
          this.terminate(GrpcStatus.INVALID_ARGUMENT, `cannot decode the discovery request: ${err instanceof Error ? err.message : String(err)}`);
          return;
        }
        this.receive(req);
      },
      // A client that half-closes will send nothing more; end our side too, as other servers do.
      end: () => this.terminate(GrpcStatus.OK, 'client ended the stream'),
      closed: (reason) => this.cleanup(reason),
    });
  }

  /** Update per-type protocol state from a request and mark what may need a response. */
  protected abstract handle(typeUrl: string, req: Req): void;
  /** Build the response owed for a type, recording it as sent, or undefined if none is owed. */
  protected abstract respond(typeUrl: string): ResponseParts | undefined;
  /** Per-type protocol state of the subclass; a type is wanted once the proxy asked for it. */
  protected abstract readonly types: ReadonlyMap<string, { readonly sub: Subscription; readonly counters: TypeCounters }>;

  protected wants(typeUrl: string): boolean {
    return this.types.has(typeUrl);
  }
  protected typeStatuses(): TypeStatus[] {
    return [...this.types].map(([t, st]) => st.counters.snapshot(t, st.sub.wildcard, st.sub.names));
  }
  abstract sentResources(): ReadonlyMap<string, readonly XdsResource[]>;

  status(): StreamStatus | undefined {
    if (!this.node) return undefined;
    return {
      streamId: this.id, nodeId: this.node.id, node: this.node, delta: this.delta, method: this.method,
      peer: this.peer, ...(this.ctx.principal ? { principal: this.ctx.principal } : {}), connectedAt: this.connectedAt, types: this.typeStatuses(),
    };
  }

  /** Ends the stream with a gRPC status (OK ends it normally). */
  terminate(code: GrpcStatusCode, details: string): void {
    if (this.done) return;
    // UNAVAILABLE is our own shutdown, already logged once for the whole server.
    if (code === GrpcStatus.UNAVAILABLE) this.log.debug('closing xDS stream', { reason: details });
    else if (code !== GrpcStatus.OK) {
      this.log.warn('closing xDS stream', { code: statusName(code), reason: this.clip(details) });
    }
    this.cleanup(details);
    this.call.finish(code, this.clip(details, 1024));
  }

  /** A peer-supplied string as logs may carry it (see log-text.ts). */
  protected clip(text: string, max = this.ctx.limits.maxLoggedStringChars): string {
    return clip(text, max);
  }

  /**
   * Logs a NACK at warn once per type and rejected version: a client repeating the same NACK
   * (as a broken or hostile one may, thousands of times) is counted, not logged each time.
   */
  protected logNack(typeUrl: string, rejectedVersion: string, fields: Record<string, unknown>): void {
    const repeated = this.nackLogged.get(typeUrl) === rejectedVersion;
    if (repeated && !this.debug) return;
    if (!repeated && this.wants(typeUrl)) this.nackLogged.set(typeUrl, rejectedVersion);
    const line = {
      type: this.clip(shortTypeName(typeUrl)), typeUrl: this.clip(typeUrl), version: this.clip(rejectedVersion), ...fields,
    };
    if (repeated) this.log.debug('proxy repeated a NACK already logged', line);
    else this.log.warn('proxy rejected configuration (NACK); it keeps its last accepted version', line);
  }

  protected markDirty(typeUrl: string): void {
    this.dirty.add(typeUrl);
  }

  /** The view change a response for this type is being sent for, if any (for the `sent` event). */
  protected triggerFor(typeUrl: string): ChangeCause | undefined {
    return this.triggers.get(typeUrl);
  }

  /** Logs (at debug) and reports one response written to this stream. */
  protected announceSent(typeUrl: string, version: string, nonce: string, resources: number, bytes: number,
    extra: Record<string, unknown> = {}): void {
    // Checked first: a dropped debug line still costs ~20 µs in winston's stream machinery, and
    // this runs once per response (thousands per push).
    if (this.debug) {
      this.log.debug(this.delta ? 'sent delta discovery response' : 'sent discovery response', {
        type: this.clip(shortTypeName(typeUrl)), version, nonce, resources, ...extra, bytes,
      });
    }
    this.emit('sent', {
      streamId: this.id, node: this.node!, typeUrl, version, nonce, resources, bytes, trigger: this.triggerFor(typeUrl),
    });
  }

  protected emit<K extends keyof XdsEvents>(kind: K, info: EventInfo<K>): void {
    const fn = this.ctx.events[kind] as ((i: EventInfo<K>) => void) | undefined;
    if (!fn) return;
    try {
      fn.call(this.ctx.events, info);
    } catch (err) {
      // An observer's bug must not take the protocol down.
      this.log.error('xDS event listener threw', { event: kind, error: String(err) });
    }
  }

  private receive(req: Req): void {
    if (this.done) return;
    try {
      if (!this.view && !this.open(req)) return;
      const typeUrl = this.typeOf(req);
      if (typeUrl === undefined) return;
      this.handle(typeUrl, req);
      if (!this.withinNameBudget()) return;
      this.flush();
    } catch (err) {
      this.log.error('failed to handle a discovery request', {
        typeUrl: this.clip(req.typeUrl), error: err instanceof Error ? err.stack : String(err),
      });
      this.terminate(GrpcStatus.INTERNAL, `pilotfish failed to handle the request: ${String(err)}`);
    }
  }

  protected get authenticated(): boolean {
    return this.ctx.principal !== undefined;
  }

  private open(req: Req): boolean {
    if (!req.node) {
      this.terminate(GrpcStatus.INVALID_ARGUMENT,
        'the first discovery request of a stream must carry a node with a non-empty id');
      return false;
    }
    let view: ProxyView;
    try {
      view = this.ctx.source.viewFor(req.node, this.ctx.principal);
    } catch (err) {
      if (!(err instanceof ViewRefusedError)) throw err;
      this.terminate(GrpcStatus.PERMISSION_DENIED, err.message);
      return false;
    }
    this.node = req.node;
    this.view = view;
    this.log = this.log.child({ proxy: this.clip(req.node.id) });
    view.onChange((types, cause) => this.changed(types, cause));
    const p = this.ctx.principal;
    this.log.info('xDS stream opened', {
      delta: this.delta, method: this.method, peer: this.peer,
      ...(p ? { principal: `${p.namespace}/${p.serviceAccount}`, via: p.via } : {}),
    });
    this.emit('streamOpened', { streamId: this.id, node: req.node, delta: this.delta, authenticated: this.authenticated });
    return true;
  }

  private typeOf(req: Req): string | undefined {
    const fixed = this.ctx.fixedTypeUrl;
    if (fixed) {
      if (req.typeUrl && req.typeUrl !== fixed) {
        this.terminate(GrpcStatus.INVALID_ARGUMENT,
          `${this.method} serves only ${fixed}; the request asked for ${this.clip(req.typeUrl)}`);
        return undefined;
      }
      return fixed;
    }
    if (!req.typeUrl) {
      this.terminate(GrpcStatus.INVALID_ARGUMENT, 'an aggregated discovery request must set type_url');
      return undefined;
    }
    return req.typeUrl;
  }

  /**
   * A request naming more bytes of resources than a stream may subscribe to is refused before
   * it is decoded: decoding is where such a request would cost (a string and more per name).
   * resource_names (SotW) and resource_names_subscribe (Delta) are both field 3.
   */
  private namesFit(body: Buffer): boolean {
    const max = this.ctx.limits.maxSubscribedNameBytes;
    if (body.length <= max) return true;
    const bytes = lenFieldBytes(body, lenTag(3));
    if (bytes === undefined || bytes <= max) return true;
    this.ctx.counters.hit('subscribedNameBytes');
    this.terminate(GrpcStatus.RESOURCE_EXHAUSTED,
      `the request names ${bytes} bytes of resources, more than the limit of ${max} a stream may subscribe to`);
    return false;
  }

  /**
   * Subscribed names cost memory for as long as the stream lives (sets, interned strings): a
   * stream subscribing to more than its budget is refused rather than kept.
   */
  private withinNameBudget(): boolean {
    let bytes = 0;
    for (const st of this.types.values()) bytes += st.sub.nameBytes;
    const max = this.ctx.limits.maxSubscribedNameBytes;
    if (bytes <= max) return true;
    this.ctx.counters.hit('subscribedNameBytes');
    this.terminate(GrpcStatus.RESOURCE_EXHAUSTED,
      `the stream subscribes to ${bytes} bytes of resource names, more than the limit of ${max}`);
    return false;
  }

  private changed(typeUrls: ReadonlySet<string>, cause?: ChangeCause): void {
    if (this.done) return;
    try {
      for (const t of typeUrls) {
        if (!this.wants(t)) continue;
        this.markDirty(t);
        const older = this.triggers.get(t);
        if (cause && (!older || cause.since < older.since)) this.triggers.set(t, cause);
      }
      this.flush();
    } catch (err) {
      this.log.error('failed to push a configuration change', { error: err instanceof Error ? err.stack : String(err) });
      this.terminate(GrpcStatus.INTERNAL, `pilotfish failed to push configuration: ${String(err)}`);
    }
  }

  /**
   * Sends what is owed, clusters before endpoints before listeners before routes. Every owed
   * type goes out in one flush, even past the stream's buffer mark: that is at most one response
   * per type, and a proxy waiting for its routes behind a drain of its cluster list converges a
   * round trip later for nothing. After that, while the client is slow to read, changes only
   * mark types dirty, so it later gets the newest state once instead of every intermediate one.
   */
  protected flush(): void {
    if (this.blocked || this.done || this.dirty.size === 0) return;
    const ordered: string[] = PUSH_ORDER.filter((t) => this.dirty.has(t));
    for (const t of this.dirty) if (!ordered.includes(t)) ordered.push(t);
    let slow = false;
    for (const t of ordered) {
      this.dirty.delete(t);
      const out = this.respond(t);
      this.triggers.delete(t);
      if (!out) continue;
      if (!this.call.write(out.parts, out.length)) slow = true;
    }
    if (!slow) return;
    this.blocked = true;
    if (this.debug) this.log.debug('client is slow to read; coalescing further pushes');
    this.call.onDrain(() => {
      this.blocked = false;
      this.changed(new Set());
    });
  }

  private cleanup(reason: string): void {
    if (this.done) return;
    this.done = true;
    this.ctx.registry.delete(this.id);
    this.lists.releaseAll();
    let names = 0;
    for (const st of this.types.values()) names += st.sub.nameBytes;
    // Strings, and the set entries holding them: about twice their length.
    if (names > 0) this.ctx.reclaim(2 * names);
    if (!this.view || !this.node) return;
    try {
      this.view.close();
    } catch (err) {
      this.log.error('closing the proxy view failed', { error: String(err) });
    }
    this.log.info('xDS stream closed', { reason });
    this.emit('streamClosed', { streamId: this.id, node: this.node });
  }
}
