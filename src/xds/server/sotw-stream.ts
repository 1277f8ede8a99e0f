// State-of-the-world streams (StreamAggregatedResources and the per-type Stream* methods).
import { shortTypeName } from '../types.js';
import type { ResourceMap, XdsResource } from './config-source.js';
import { encodeSotwBody, withNonce, type SotwRequest } from './codec.js';
import { XdsStream, type StreamContext, type XdsCall } from './stream-base.js';
import { TypeCounters, type TypeStatus } from './stream-status.js';
import { Subscription } from './subscription.js';
import { mapVersion, nextNonce, setVersion } from './version.js';

interface SotwTypeState {
  readonly sub: Subscription;
  readonly counters: TypeCounters;
  /** A response is owed even if the version did not change (new names, first request). */
  force: boolean;
  sentNonce?: string;
  sentVersion?: string;
  /** What the last response carried (shared with the view, never copied). */
  sent?: readonly XdsResource[] | ResourceMap;
}

// Wildcard subscribers of one proxy class all send the same map: encode its body once.
const wildcardBodies = new WeakMap<ResourceMap, Map<string, Buffer>>();

export class SotwStream extends XdsStream<SotwRequest> {
  private readonly types = new Map<string, SotwTypeState>();

  constructor(call: XdsCall<SotwRequest>, ctx: StreamContext) {
    super(call, ctx, false);
  }

  protected wants(typeUrl: string): boolean {
    return this.types.has(typeUrl);
  }

  protected handle(typeUrl: string, req: SotwRequest): void {
    let st = this.types.get(typeUrl);
    const first = st === undefined;
    if (!st) {
      st = { sub: new Subscription(typeUrl), counters: new TypeCounters(), force: false };
      this.types.set(typeUrl, st);
    }
    // A nonce for a type we have not answered on this stream is a leftover from an earlier
    // stream: treat the request as an initial one.
    if (req.responseNonce && st.sentNonce !== undefined) {
      if (req.responseNonce !== st.sentNonce) {
        // The client has not seen our latest response yet; its next request will supersede this.
        this.log.debug('ignoring discovery request with a stale nonce', {
          typeUrl, nonce: req.responseNonce, latest: st.sentNonce,
        });
        return;
      }
      if (req.errorDetail) this.nacked(typeUrl, st, req);
      else this.acked(typeUrl, st, req);
    }
    const { added, wildcardAdded } = st.sub.replace(req.resourceNames);
    if (first || !req.responseNonce || added.length > 0 || wildcardAdded) st.force = true;
    // Even without force: an ACK or NACK leaves nothing to send unless the content moved on.
    this.markDirty(typeUrl);
  }

  protected respond(typeUrl: string): Buffer | undefined {
    const st = this.types.get(typeUrl);
    if (!st || !this.view || !this.node) return undefined;
    if (st.sub.empty && !st.force) return undefined;
    const all = this.view.resources(typeUrl);
    // A wildcard sends the whole map, whose version and body are computed once for all streams.
    const named = st.sub.wildcard ? undefined : st.sub.select(all);
    const version = named ? setVersion(named) : mapVersion(all);
    if (!st.force && version === st.sentVersion) return undefined;
    st.force = false;
    const nonce = nextNonce();
    const out = withNonce(this.body(typeUrl, version, named ?? all), nonce);
    const count = named ? named.length : all.size;
    st.sentNonce = nonce;
    st.sentVersion = version;
    st.sent = named ?? all;
    st.counters.recordSent(version, nonce);
    this.log.debug('sent discovery response', {
      type: shortTypeName(typeUrl), version, nonce, resources: count, bytes: out.length,
    });
    this.emit('sent', {
      streamId: this.id, node: this.node, typeUrl, version, nonce, resources: count, bytes: out.length,
      trigger: this.triggerFor(typeUrl),
    });
    return out;
  }

  protected typeStatuses(): TypeStatus[] {
    return [...this.types].map(([t, st]) => st.counters.snapshot(t, st.sub.wildcard, st.sub.names));
  }

  sentResources(): Map<string, readonly XdsResource[]> {
    const out = new Map<string, readonly XdsResource[]>();
    for (const [t, st] of this.types) {
      if (st.sent) out.set(t, Array.isArray(st.sent) ? st.sent : [...(st.sent as ResourceMap).values()]);
    }
    return out;
  }

  private body(typeUrl: string, versionInfo: string, resources: XdsResource[] | ResourceMap): Buffer {
    if (Array.isArray(resources)) return encodeSotwBody({ versionInfo, typeUrl, resources });
    const whole = resources as ResourceMap;
    // Keyed by type too: a source may well hand out one shared empty map for every type.
    let byType = wildcardBodies.get(whole);
    if (!byType) {
      byType = new Map();
      wildcardBodies.set(whole, byType);
    }
    let body = byType.get(typeUrl);
    if (!body) {
      body = encodeSotwBody({ versionInfo, typeUrl, resources: [...whole.values()] });
      byType.set(typeUrl, body);
    }
    return body;
  }

  private acked(typeUrl: string, st: SotwTypeState, req: SotwRequest): void {
    const version = st.sentVersion ?? req.versionInfo;
    st.counters.recordAck(version, req.responseNonce);
    this.log.debug('proxy accepted configuration (ACK)', { type: shortTypeName(typeUrl), version, nonce: req.responseNonce });
    if (this.node) this.emit('acked', { streamId: this.id, node: this.node, typeUrl, version, nonce: req.responseNonce });
  }

  private nacked(typeUrl: string, st: SotwTypeState, req: SotwRequest): void {
    const detail = req.errorDetail ?? { code: 0, message: '' };
    const rejectedVersion = st.sentVersion ?? '';
    st.counters.recordNack({
      message: detail.message, code: detail.code, version: req.versionInfo, rejectedVersion, nonce: req.responseNonce,
    });
    // Nothing is resent: the proxy keeps its last accepted config until the content changes.
    this.log.warn('proxy rejected configuration (NACK); it keeps its last accepted version', {
      proxy: this.node?.id, type: shortTypeName(typeUrl), typeUrl, version: rejectedVersion,
      acceptedVersion: req.versionInfo, nonce: req.responseNonce, code: detail.code, error: detail.message,
    });
    if (this.node) {
      this.emit('nacked', {
        streamId: this.id, node: this.node, typeUrl, version: req.versionInfo, nonce: req.responseNonce,
        message: detail.message, code: detail.code, rejectedVersion,
      });
    }
  }
}
