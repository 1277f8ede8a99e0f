// Incremental (Delta) streams: per-resource versions, explicit subscribe/unsubscribe,
// removals, and reconnects that tell us what the client already has.
import { shortTypeName } from '../types.js';
import type { XdsResource } from './config-source.js';
import { encodeDeltaResponse, type DeltaRequest } from './codec.js';
import { XdsStream, type StreamContext, type XdsCall } from './stream-base.js';
import { TypeCounters, type TypeStatus } from './stream-status.js';
import { Subscription } from './subscription.js';
import { deltaVersion, nextNonce } from './version.js';

/** Unanswered nonces kept per type; a client that never ACKs must not grow this forever. */
const MAX_OUTSTANDING = 64;

interface DeltaTypeState {
  readonly sub: Subscription;
  readonly counters: TypeCounters;
  /** name -> version the client has, as far as we know. */
  readonly known: Map<string, string>;
  /** Names owed to the client whether or not it has them (new subscriptions). */
  readonly mustSend: Set<string>;
  /** The first wildcard request gets an answer even when there is nothing to send. */
  answerEvenIfEmpty: boolean;
  /** What the client was sent and not told to remove: its resources as far as we know. */
  readonly sent: Map<string, XdsResource>;
  /** nonce -> system version of responses not yet ACKed or NACKed, oldest first. */
  readonly outstanding: Map<string, string>;
}

export class DeltaStream extends XdsStream<DeltaRequest> {
  private readonly types = new Map<string, DeltaTypeState>();

  constructor(call: XdsCall<DeltaRequest>, ctx: StreamContext) {
    super(call, ctx, true);
  }

  protected wants(typeUrl: string): boolean {
    return this.types.has(typeUrl);
  }

  protected handle(typeUrl: string, req: DeltaRequest): void {
    let st = this.types.get(typeUrl);
    const first = st === undefined;
    if (!st) {
      st = {
        sub: new Subscription(typeUrl), counters: new TypeCounters(), known: new Map(), mustSend: new Set(),
        answerEvenIfEmpty: false, outstanding: new Map(), sent: new Map(),
      };
      this.types.set(typeUrl, st);
    }
    if (req.responseNonce) this.settle(typeUrl, st, req);

    // Subscription changes are honoured even with a stale nonce: in Delta they are not restated later.
    const wasWildcard = st.sub.wildcard;
    const change = st.sub.update(req.subscribe, req.unsubscribe, first);
    if (first) {
      for (const [name, version] of req.initialVersions) {
        if (st.sub.covers(name)) st.known.set(name, version);
      }
      if (st.sub.wildcard) st.answerEvenIfEmpty = true;
    }
    for (const name of change.added) {
      // On (re)connect, a version the client reported means it has that resource: no resend.
      if (!(first && req.initialVersions.has(name))) st.mustSend.add(name);
    }
    for (const name of change.removed) {
      if (st.sub.wildcard) {
        // The client cannot tell whether the wildcard still covers it: resend it or remove it.
        st.mustSend.add(name);
      } else {
        st.known.delete(name);
        st.mustSend.delete(name);
      }
    }
    if (wasWildcard && !st.sub.wildcard) {
      for (const name of [...st.known.keys()]) {
        if (!st.sub.names.has(name)) st.known.delete(name);
      }
    }
    this.markDirty(typeUrl);
  }

  protected respond(typeUrl: string): Buffer | undefined {
    const st = this.types.get(typeUrl);
    if (!st || !this.view || !this.node) return undefined;
    const all = this.view.resources(typeUrl);
    const send: XdsResource[] = [];
    const consider = (r: XdsResource): void => {
      if (st.mustSend.has(r.name) || st.known.get(r.name) !== r.version) send.push(r);
    };
    if (st.sub.wildcard) {
      for (const r of all.values()) consider(r);
    } else {
      for (const name of st.sub.names) {
        const r = all.get(name);
        if (r) consider(r);
      }
    }
    const removed: string[] = [];
    for (const name of st.known.keys()) if (!all.has(name)) removed.push(name);
    // A subscribed name that does not exist is reported as removed, so the client need not wait.
    for (const name of st.mustSend) if (!all.has(name) && !st.known.has(name)) removed.push(name);
    st.mustSend.clear();
    if (send.length === 0 && removed.length === 0 && !st.answerEvenIfEmpty) return undefined;
    st.answerEvenIfEmpty = false;
    for (const r of send) {
      st.known.set(r.name, r.version);
      st.sent.set(r.name, r);
    }
    for (const name of removed) {
      st.known.delete(name);
      st.sent.delete(name);
    }

    const version = deltaVersion(send, removed);
    const nonce = nextNonce();
    const out = encodeDeltaResponse({ systemVersionInfo: version, typeUrl, nonce, resources: send, removed });
    st.outstanding.set(nonce, version);
    if (st.outstanding.size > MAX_OUTSTANDING) st.outstanding.delete(st.outstanding.keys().next().value as string);
    st.counters.recordSent(version, nonce);
    this.log.debug('sent delta discovery response', {
      type: shortTypeName(typeUrl), version, nonce, resources: send.length, removed: removed.length, bytes: out.length,
    });
    this.emit('sent', {
      streamId: this.id, node: this.node, typeUrl, version, nonce, resources: send.length, bytes: out.length,
      trigger: this.triggerFor(typeUrl),
    });
    return out;
  }

  protected typeStatuses(): TypeStatus[] {
    return [...this.types].map(([t, st]) => st.counters.snapshot(t, st.sub.wildcard, st.sub.names));
  }

  sentResources(): Map<string, readonly XdsResource[]> {
    const out = new Map<string, readonly XdsResource[]>();
    for (const [t, st] of this.types) if (st.counters.sends > 0) out.set(t, [...st.sent.values()]);
    return out;
  }

  /** ACK or NACK of an earlier response; unknown nonces are stale and count for neither. */
  private settle(typeUrl: string, st: DeltaTypeState, req: DeltaRequest): void {
    const version = st.outstanding.get(req.responseNonce);
    if (version === undefined) {
      this.log.debug('delta request carries an unknown or stale nonce', { typeUrl, nonce: req.responseNonce });
      return;
    }
    // Responses are processed in order, so the ones before this nonce are settled as well.
    for (const n of [...st.outstanding.keys()]) {
      st.outstanding.delete(n);
      if (n === req.responseNonce) break;
    }
    if (!this.node) return;
    if (!req.errorDetail) {
      st.counters.recordAck(version, req.responseNonce);
      this.emit('acked', { streamId: this.id, node: this.node, typeUrl, version, nonce: req.responseNonce });
      return;
    }
    const { code, message } = req.errorDetail;
    st.counters.recordNack({ message, code, version: '', rejectedVersion: version, nonce: req.responseNonce });
    // Nothing is resent: the proxy keeps what it had until the content changes.
    this.log.warn('proxy rejected configuration (NACK); it keeps its last accepted version', {
      proxy: this.node.id, type: shortTypeName(typeUrl), typeUrl, version, nonce: req.responseNonce, code, error: message,
    });
    this.emit('nacked', {
      streamId: this.id, node: this.node, typeUrl, version: '', nonce: req.responseNonce, message, code,
      rejectedVersion: version,
    });
  }
}
