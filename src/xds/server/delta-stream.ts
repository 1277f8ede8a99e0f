// Incremental (Delta) streams: per-resource versions, explicit subscribe/unsubscribe,
// removals, and reconnects that tell us what the client already has.
import { createHash } from 'node:crypto';
import type { ResourceMap, XdsResource } from '../proxy-view.js';
import { deltaBodyParts, encodeDeltaBody, encodeDeltaResources, partsWithNonce, decodeDeltaRequest, type DeltaRequest } from './codec.js';
import { MergedResourceMap } from '../merged-map.js';
import { SHARED_CHANGE_MAX } from './delta-changes.js';
import type { ServerCaches } from './server-caches.js';
import type { GrpcCall } from './grpc/call.js';
import { XdsStream, type ResponseParts, type StreamContext } from './stream-base.js';
import { TypeCounters } from './stream-status.js';
import { Subscription, WILDCARD } from './subscription.js';
import { deltaVersion } from './version.js';

/** Unanswered nonces kept per type; a client that never ACKs must not grow this forever. */
const MAX_OUTSTANDING = 64;

// A connecting proxy usually gets a whole map (every cluster, every assignment it names): its
// version and encoding are the same for every proxy of the class, so they are made once per map.
function wholeMapResponse(caches: ServerCaches, all: ResourceMap, typeUrl: string, send: readonly XdsResource[]): { version: string; body: readonly Uint8Array[] } {
  // The whole map's version (see MapVersions), without sorting and hashing the send again.
  const version = createHash('sha256').update(caches.versions.of(all)).digest('hex').slice(0, 16);
  const bodies = caches.bodies;
  if (all instanceof MergedResourceMap && all.overlap === 0) {
    // A class's map: only the runs it shares (and its own few) are cached, as for SotW.
    const shared = bodies.getOrSet(all.base, 'delta|resources', () => encodeDeltaResources(all.base.values()));
    const own = bodies.getOrSet(all.extra, 'delta|resources', () => encodeDeltaResources(all.extra.values()));
    return { version, body: deltaBodyParts(version, typeUrl, [shared, own]) };
  }
  const body = bodies.getOrSet(all, `delta|${typeUrl}|*`, () =>
    encodeDeltaBody({ systemVersionInfo: version, typeUrl, resources: send, removed: [] }));
  return { version, body: [body] };
}

/** The version of `name` the client holds, as far as we know. */
function knownVersion(st: DeltaTypeState, name: string): string | undefined {
  if (st.basis === undefined) return st.initial?.get(name);
  return st.sub.covers(name) ? st.basis.get(name)?.version : undefined;
}

/** Every name the client holds with its version (only walked on full scans and for /debug). */
function* knownEntries(st: DeltaTypeState): Generator<[string, string]> {
  if (st.basis === undefined) {
    if (st.initial) yield* st.initial;
    return;
  }
  if (st.sub.wildcard) {
    for (const [name, r] of st.basis) yield [name, r.version];
    return;
  }
  for (const name of st.sub.names) {
    const r = st.basis.get(name);
    if (r) yield [name, r.version];
  }
}

interface DeltaTypeState {
  readonly sub: Subscription;
  readonly counters: TypeCounters;
  /**
   * Until the first response: name -> version the client reported on (re)connect. Afterwards
   * what the client holds is derived from `basis` (see knownVersion), not kept per stream: a
   * sidecar holds thousands of clusters and assignments, and a name -> version map of them per
   * stream was most of what a proxy cost in memory.
   */
  initial?: Map<string, string>;
  /** Names owed to the client whether or not it has them (new subscriptions). */
  readonly mustSend: Set<string>;
  /** The first wildcard request gets an answer even when there is nothing to send. */
  answerEvenIfEmpty: boolean;
  /** nonce -> system version of responses not yet ACKed or NACKed, oldest first. */
  readonly outstanding: Map<string, string>;
  /**
   * The map the last response was computed from. After a response the client holds exactly the
   * covered resources of this map, at its versions (every covered one that differed was sent,
   * every held one that is gone was removed), so the next response need only look at what
   * changed between the two maps (plus mustSend) instead of at every resource.
   */
  basis?: ResourceMap;
  /** Compare everything instead (first request, initial versions, wildcard switched). */
  fullScan: boolean;
}

export class DeltaStream extends XdsStream<DeltaRequest> {
  protected readonly types = new Map<string, DeltaTypeState>();

  constructor(call: GrpcCall, ctx: StreamContext) {
    super(call, ctx, true, (body) => decodeDeltaRequest(body));
  }

  protected handle(typeUrl: string, req: DeltaRequest): void {
    let st = this.types.get(typeUrl);
    const first = st === undefined;
    if (!st) {
      st = {
        sub: new Subscription(typeUrl, this.ctx.caches.subscriptions), counters: new TypeCounters(), mustSend: new Set(),
        answerEvenIfEmpty: false, outstanding: new Map(), fullScan: true,
      };
      this.types.set(typeUrl, st);
    }
    if (req.responseNonce) this.settle(typeUrl, st, req);

    // Subscription changes are honoured even with a stale nonce: in Delta they are not restated later.
    const wasWildcard = st.sub.wildcard;
    if (st.basis !== undefined && !wasWildcard && st.sub.wildcardCapable && req.subscribe.includes(WILDCARD)) {
      // Wider coverage would make the derived view claim the client holds what it was never
      // sent: write down what it holds now, and work from that until the next response.
      st.initial = new Map(knownEntries(st));
      st.basis = undefined;
    }
    const change = st.sub.update(req.subscribe, req.unsubscribe, first);
    if (first) {
      for (const [name, version] of req.initialVersions) {
        if (st.sub.covers(name)) (st.initial ??= new Map()).set(name, version);
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
        // No longer covered, so no longer known (for the derived view too).
        st.initial?.delete(name);
        st.mustSend.delete(name);
      }
    }
    if (wasWildcard && !st.sub.wildcard && st.initial) {
      for (const name of [...st.initial.keys()]) {
        if (!st.sub.names.has(name)) st.initial.delete(name);
      }
    }
    if (wasWildcard !== st.sub.wildcard) st.fullScan = true;
    this.markDirty(typeUrl);
  }

  protected respond(typeUrl: string): ResponseParts | undefined {
    const st = this.types.get(typeUrl);
    if (!st || !this.view || !this.node) return undefined;
    const all = this.view.resources(typeUrl);
    const send: XdsResource[] = [];
    const removed: string[] = [];
    const consider = (r: XdsResource): void => {
      if (st.mustSend.has(r.name) || knownVersion(st, r.name) !== r.version) send.push(r);
    };
    if (st.fullScan || st.basis === undefined) {
      if (st.sub.wildcard) {
        for (const r of all.values()) consider(r);
      } else {
        for (const name of st.sub.names) {
          const r = all.get(name);
          if (r) consider(r);
        }
      }
      for (const [name] of knownEntries(st)) if (!all.has(name)) removed.push(name);
    } else {
      const diff = this.ctx.caches.diffs.diff(st.basis, all);
      for (const name of diff.changed) if (st.sub.covers(name)) consider(all.get(name)!);
      if (st.mustSend.size > 0) {
        // Owed whatever its version; the changed names above may have picked some up already.
        const picked = new Set(send.map((r) => r.name));
        for (const name of st.mustSend) {
          const r = all.get(name);
          if (r && !picked.has(name)) send.push(r);
        }
      }
      for (const name of diff.removed) if (knownVersion(st, name) !== undefined) removed.push(name);
    }
    // A subscribed name that does not exist is reported as removed, so the client need not wait.
    for (const name of st.mustSend) if (!all.has(name) && knownVersion(st, name) === undefined) removed.push(name);
    // From here on the client holds the covered part of `all` (see basis).
    st.basis = all;
    st.initial = undefined;
    st.fullScan = false;
    st.mustSend.clear();
    if (send.length === 0 && removed.length === 0 && !st.answerEvenIfEmpty) return undefined;
    st.answerEvenIfEmpty = false;

    const caches = this.ctx.caches;
    const whole = removed.length === 0 && send.length > 0 && send.length === all.size ? wholeMapResponse(caches, all, typeUrl, send) : undefined;
    const change = !whole && send.length + removed.length <= SHARED_CHANGE_MAX ? caches.deltaChanges.response(typeUrl, send, removed) : undefined;
    const version = whole?.version ?? change?.version ?? deltaVersion(send, removed);
    const nonce = caches.nonces.next();
    const out = partsWithNonce(whole?.body ?? (change ? [change.body] : [encodeDeltaBody({ systemVersionInfo: version, typeUrl, resources: send, removed })]), nonce);
    st.outstanding.set(nonce, version);
    if (st.outstanding.size > MAX_OUTSTANDING) st.outstanding.delete(st.outstanding.keys().next().value as string);
    st.counters.recordSent(version, nonce);
    this.announceSent(typeUrl, version, nonce, send.length, out.length, { removed: removed.length });
    return out;
  }

  /**
   * What the client was sent and not told to remove: the resources of the last map it was
   * answered from that it holds at that map's version. Worked out when asked (debug endpoints),
   * so a stream does not keep a second copy of its thousands of resources.
   */
  sentResources(): Map<string, readonly XdsResource[]> {
    const out = new Map<string, readonly XdsResource[]>();
    for (const [t, st] of this.types) {
      if (st.counters.sends === 0 || !st.basis) continue;
      const held: XdsResource[] = [];
      for (const [name] of knownEntries(st)) held.push(st.basis.get(name)!);
      out.set(t, held);
    }
    return out;
  }

  /** ACK or NACK of an earlier response; unknown nonces are stale and count for neither. */
  private settle(typeUrl: string, st: DeltaTypeState, req: DeltaRequest): void {
    const version = st.outstanding.get(req.responseNonce);
    if (version === undefined) {
      if (this.debug) this.log.debug('delta request carries an unknown or stale nonce', { typeUrl: this.clip(typeUrl), nonce: this.clip(req.responseNonce) });
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
    this.logNack(typeUrl, version, { nonce: this.clip(req.responseNonce), code, error: this.clip(message, 1024) });
    this.emit('nacked', {
      authenticated: this.authenticated,
      streamId: this.id, node: this.node, typeUrl, version: '', nonce: req.responseNonce, message, code,
      rejectedVersion: version,
    });
  }
}
