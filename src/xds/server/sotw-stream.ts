// State-of-the-world streams (StreamAggregatedResources and the per-type Stream* methods).
import { isFullState, shortTypeName } from '../types.js';
import type { ResourceMap, XdsResource } from '../proxy-view.js';
import { encodeSotwBody, encodeSotwResources, partsWithNonce, sotwBodyParts, decodeSotwRequest, type SotwRequest } from './codec.js';
import type { GrpcCall } from './grpc/call.js';
import { XdsStream, type ResponseParts, type StreamContext } from './stream-base.js';
import { TypeCounters } from './stream-status.js';
import { Subscription } from './subscription.js';
import { MergedResourceMap } from '../merged-map.js';
import type { MapDiff } from './map-diff.js';

interface SotwTypeState {
  readonly sub: Subscription;
  readonly counters: TypeCounters;
  /** A response is owed even if the version did not change (new names, first request). */
  force: boolean;
  sentNonce?: string;
  sentVersion?: string;
  /** The map the last response was taken from (shared with the view, never copied). */
  sent?: readonly XdsResource[] | ResourceMap;
  /** RDS/EDS: the map the client's current resources were taken from; a push sends what differs. */
  basis?: ResourceMap;
  /** RDS/EDS: names subscribed since the last response, to be sent even if unchanged. */
  readonly added: Set<string>;
  /** The next response carries the whole subscribed set (a client starting or restarting). */
  full: boolean;
  /** Interned id of the subscribed names (undefined: recompute), shared by equal subscriptions. */
  namesId?: number;
  /** namesId of the last response: while it is the current one, the client holds exactly `basis`'s subscribed part. */
  sentNamesId?: number;
}

/**
 * Whether any of `names` differs between `from` and `to` (changed, added or removed), given
 * their diff: the shorter of the two lists is walked.
 */
function touchesNames(diff: MapDiff, from: ResourceMap, to: ResourceMap, names: ReadonlySet<string>): boolean {
  if (diff.changed.length + diff.removed.length === 0) return false;
  if (names.size < diff.changed.length + diff.removed.length) {
    for (const n of names) if (from.get(n)?.version !== to.get(n)?.version) return true;
    return false;
  }
  for (const n of diff.changed) if (names.has(n)) return true;
  for (const n of diff.removed) if (names.has(n)) return true;
  return false;
}

export class SotwStream extends XdsStream<SotwRequest> {
  protected readonly types = new Map<string, SotwTypeState>();

  // Wildcard subscribers of one proxy class all send the same map: its body is encoded once
  // (bodies live in the server's shared, bounded body cache).

  constructor(call: GrpcCall, ctx: StreamContext) {
    super(call, ctx, false, decodeSotwRequest);
  }

  protected handle(typeUrl: string, req: SotwRequest): void {
    let st = this.types.get(typeUrl);
    const first = st === undefined;
    if (!st) {
      st = { sub: new Subscription(typeUrl, this.ctx.caches.subscriptions), counters: new TypeCounters(), force: false, added: new Set(), full: true };
      this.types.set(typeUrl, st);
    }
    // A nonce for a type we have not answered on this stream is a leftover from an earlier
    // stream: treat the request as an initial one.
    if (req.responseNonce && st.sentNonce !== undefined) {
      if (req.responseNonce !== st.sentNonce) {
        // The client has not seen our latest response yet; its next request will supersede this.
        if (this.debug) this.log.debug('ignoring discovery request with a stale nonce', {
          typeUrl: this.clip(typeUrl), nonce: this.clip(req.responseNonce), latest: st.sentNonce,
        });
        return;
      }
      if (req.errorDetail) this.nacked(typeUrl, st, req);
      else this.acked(typeUrl, st, req);
    }
    const sizeBefore = st.sub.names.size;
    const { added, wildcardAdded } = st.sub.replace(req.resourceNames);
    if (added.length > 0 || st.sub.names.size !== sizeBefore) st.namesId = undefined;
    for (const name of added) st.added.add(name);
    if (first || !req.responseNonce) st.full = true;
    if (first || !req.responseNonce || added.length > 0 || wildcardAdded) st.force = true;
    // Even without force: an ACK or NACK leaves nothing to send unless the content moved on.
    this.markDirty(typeUrl);
  }

  protected respond(typeUrl: string): ResponseParts | undefined {
    const st = this.types.get(typeUrl);
    if (!st || !this.view || !this.node) return undefined;
    if (st.sub.empty && !st.force) return undefined;
    const all = this.view.resources(typeUrl);
    const sub = st.sub;
    // A wildcard sends the whole map, whose version and body are computed once for all streams.
    let named: XdsResource[] | undefined;
    const selectNamed = (): XdsResource[] => (named ??= sub.select(all));
    const caches = this.ctx.caches;
    if (!sub.wildcard && !st.force && st.basis !== undefined && st.namesId !== undefined && st.namesId === st.sentNamesId
      && !touchesNames(caches.diffs.diff(st.basis, all), st.basis, all, sub.names)) {
      // Nothing this stream names changed (a push for names other proxies subscribe to, or an
      // ACK): the client's view is this map's too. Found without hashing the named set: a
      // proxyless client is told of every change to its kind's maps, and most name none of it.
      st.basis = all;
      st.sent = all;
      return undefined;
    }
    if (!sub.wildcard && st.namesId === undefined) st.namesId = caches.sotw.nameSetIdOf(sub);
    const version = sub.wildcard ? caches.versions.of(all) : caches.sotw.namedVersion(all, st.namesId!, selectNamed);
    if (!st.force && version === st.sentVersion) return undefined;

    let carry: readonly XdsResource[] | ResourceMap;
    let bodyKey: string | undefined;
    if (!sub.wildcard && !isFullState(typeUrl) && st.basis !== undefined && !st.full) {
      // RDS and EDS are not state-of-the-world types: a client keeps what it was sent until a
      // response replaces it, so a push carries only what changed since the last response plus
      // what was newly subscribed (one ClusterLoadAssignment for an endpoint change, not every
      // one a sidecar subscribes to). Only the names that changed are looked at.
      const basis = st.basis;
      const part: XdsResource[] = [];
      for (const name of caches.diffs.diff(basis, all).changed) if (sub.names.has(name)) part.push(all.get(name)!);
      for (const name of st.added) {
        const r = all.get(name);
        if (r && basis.get(name)?.version === r.version) part.push(r);
      }
      if (part.length > 0) {
        carry = part;
        if (st.added.size === 0) bodyKey = `${typeUrl}|${st.namesId}|${caches.sotw.mapId(basis)}`;
      } else if (!st.force) {
        // Only removals: SotW cannot remove an RDS/EDS resource, and the client's view stays right.
        return undefined;
      } else {
        // A request for names that do not exist (yet) is still answered, with what it holds.
        carry = selectNamed();
        bodyKey = `${typeUrl}|${st.namesId}|all`;
      }
    } else {
      carry = sub.wildcard ? all : selectNamed();
      bodyKey = sub.wildcard ? undefined : `${typeUrl}|${st.namesId}|all`;
    }
    st.force = false;
    st.full = false;
    st.added.clear();
    const nonce = caches.nonces.next();
    const out = partsWithNonce(this.body(typeUrl, version, carry, all, bodyKey), nonce);
    const count = Array.isArray(carry) ? carry.length : (carry as ResourceMap).size;
    st.sentNonce = nonce;
    st.sentVersion = version;
    st.sentNamesId = st.namesId;
    // What the client now holds is the subscribed part of this map, even when the push carried
    // less; sentResources() picks it out only when asked (debug), not on every push.
    st.sent = all;
    if (!sub.wildcard) st.basis = all;
    st.counters.recordSent(version, nonce);
    this.announceSent(typeUrl, version, nonce, count, out.length);
    return out;
  }

  sentResources(): Map<string, readonly XdsResource[]> {
    const out = new Map<string, readonly XdsResource[]>();
    for (const [t, st] of this.types) {
      if (!st.sent) continue;
      if (Array.isArray(st.sent)) out.set(t, st.sent);
      else out.set(t, st.sub.wildcard ? [...(st.sent as ResourceMap).values()] : st.sub.select(st.sent as ResourceMap));
    }
    return out;
  }

  private body(typeUrl: string, versionInfo: string, resources: readonly XdsResource[] | ResourceMap,
    from: ResourceMap, key: string | undefined): readonly Uint8Array[] {
    const bodies = this.ctx.caches.bodies;
    if (Array.isArray(resources)) {
      if (key === undefined) return [encodeSotwBody({ versionInfo, typeUrl, resources })];
      return [bodies.getOrSet(from, `sotw|${key}`, () => encodeSotwBody({ versionInfo, typeUrl, resources }))];
    }
    const whole = resources as ResourceMap;
    if (whole instanceof MergedResourceMap && whole.overlap === 0) {
      // A class's clusters or listeners: the kind's (or namespace's) many, encoded once for every
      // class, plus its own few. Only the parts are cached: the response is put together from
      // them (one copy, which adding the nonce costs anyway), so no class-sized body is kept.
      const shared = bodies.getOrSet(whole.base, 'sotw|resources', () => encodeSotwResources(whole.base.values()));
      const own = bodies.getOrSet(whole.extra, 'sotw|resources', () => encodeSotwResources(whole.extra.values()));
      return sotwBodyParts(versionInfo, typeUrl, [shared, own]);
    }
    // Keyed by type too: a source may well hand out one shared empty map for every type.
    return [bodies.getOrSet(whole, `sotw|${typeUrl}|*`, () => encodeSotwBody({ versionInfo, typeUrl, resources: [...whole.values()] }))];
  }

  private acked(typeUrl: string, st: SotwTypeState, req: SotwRequest): void {
    const version = st.sentVersion ?? req.versionInfo;
    st.counters.recordAck(version, req.responseNonce);
    if (this.debug) this.log.debug('proxy accepted configuration (ACK)', { type: this.clip(shortTypeName(typeUrl)), version: this.clip(version), nonce: this.clip(req.responseNonce) });
    if (this.node) this.emit('acked', { streamId: this.id, node: this.node, typeUrl, version, nonce: req.responseNonce });
  }

  private nacked(typeUrl: string, st: SotwTypeState, req: SotwRequest): void {
    const detail = req.errorDetail ?? { code: 0, message: '' };
    const rejectedVersion = st.sentVersion ?? '';
    st.counters.recordNack({
      message: detail.message, code: detail.code, version: req.versionInfo, rejectedVersion, nonce: req.responseNonce,
    });
    // Nothing is resent: the proxy keeps its last accepted config until the content changes.
    this.logNack(typeUrl, rejectedVersion, {
      acceptedVersion: this.clip(req.versionInfo), nonce: this.clip(req.responseNonce), code: detail.code, error: this.clip(detail.message, 1024),
    });
    if (this.node) {
      this.emit('nacked', {
      authenticated: this.authenticated,
        streamId: this.id, node: this.node, typeUrl, version: req.versionInfo, nonce: req.responseNonce,
        message: detail.message, code: detail.code, rejectedVersion,
      });
    }
  }
}
