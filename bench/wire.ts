// The smallest possible xDS wire handling for thousands of simulated proxies: gRPC message
// framing, a scanner that reads only the DiscoveryResponse envelope (no resource is decoded),
// and hand-built requests whose bulky resource_names part is encoded once and shared. The
// sampled proxies cross-check every envelope against the real protobufjs decode (see checks.ts),
// so a mistake here fails the benchmark instead of skewing it.

import { WireReader } from '../src/xds/wire/reader.js';
import { lenField, lenFieldLength, stringField, writeStringField } from '../src/xds/wire/writer.js';

// ---- reading ----

// The varint, tag and skip code is src/xds/wire's, shared with the server and the encoder.

export interface SotwEnvelope {
  readonly versionInfo: string;
  readonly typeUrl: string;
  readonly nonce: string;
  readonly resourceCount: number;
}

/** DiscoveryResponse: version_info=1, resources=2, type_url=4, nonce=5; everything else skipped. */
export function scanSotw(buf: Uint8Array): SotwEnvelope {
  const r = new WireReader(buf);
  let versionInfo = '', typeUrl = '', nonce = '', resourceCount = 0;
  while (r.pos < r.end) {
    const tag = r.varint();
    // resources=2 first: a response is thousands of them and four other fields at most.
    if (tag === 18) {
      r.skipSpan();
      resourceCount++;
    } else if (tag === 10) versionInfo = r.string();
    else if (tag === 34) typeUrl = r.string();
    else if (tag === 42) nonce = r.string();
    else r.skip(tag & 7);
  }
  return { versionInfo, typeUrl, nonce, resourceCount };
}

/** The resources (encoded Any messages) of a DiscoveryResponse, only when a proxy needs them. */
export function sotwAnys(buf: Uint8Array): Uint8Array[] {
  const r = new WireReader(buf);
  const out: Uint8Array[] = [];
  while (r.pos < r.end) {
    const tag = r.varint();
    if (tag === 18) {
      const [s, e] = r.span();
      out.push(buf.subarray(s, e));
    } else r.skip(tag & 7);
  }
  return out;
}

export interface DeltaEntry {
  readonly name: string;
  readonly version: string;
  /** The encoded Any, or undefined when the server sent only a name (never, from pilotfish). */
  readonly any?: Uint8Array;
}

export interface DeltaEnvelope {
  readonly systemVersionInfo: string;
  readonly typeUrl: string;
  readonly nonce: string;
  readonly resources: readonly DeltaEntry[];
  readonly removed: readonly string[];
}

/**
 * DeltaDiscoveryResponse: system_version_info=1, resources=2 (Resource: version=1, resource=2,
 * name=3), type_url=4, nonce=5, removed_resources=6. Names and versions are what a delta client
 * must track; resource bodies stay undecoded views into the message.
 */
export function scanDelta(buf: Uint8Array): DeltaEnvelope {
  const r = new WireReader(buf);
  let systemVersionInfo = '', typeUrl = '', nonce = '';
  const resources: DeltaEntry[] = [];
  const removed: string[] = [];
  while (r.pos < r.end) {
    const tag = r.varint();
    const field = Math.floor(tag / 8), wt = tag & 7;
    if (wt !== 2) { r.skip(wt); continue; }
    switch (field) {
      case 1: systemVersionInfo = r.string(); break;
      case 2: {
        const [s, e] = r.span();
        // The Resource is read with the same reader, bounded to its bytes.
        const outer = r.end;
        r.pos = s;
        r.end = e;
        let name = '', version = '';
        let any: Uint8Array | undefined;
        while (r.pos < e) {
          const t = r.varint();
          if (t === 10) version = r.string();
          else if (t === 18) { const [a, b] = r.span(); any = r.buf.subarray(a, b); }
          else if (t === 26) name = r.string();
          else r.skip(t & 7);
        }
        r.end = outer;
        resources.push(any ? { name, version, any } : { name, version });
        break;
      }
      case 4: typeUrl = r.string(); break;
      case 5: nonce = r.string(); break;
      case 6: removed.push(r.string()); break;
      default: r.skip(wt);
    }
  }
  return { systemVersionInfo, typeUrl, nonce, resources, removed };
}

/** An Any's type_url=1 and value=2. */
export function splitAny(any: Uint8Array): { typeUrl: string; value: Uint8Array } {
  const r = new WireReader(any);
  let typeUrl = '';
  let value: Uint8Array = new Uint8Array(0);
  while (r.pos < r.end) {
    const tag = r.varint();
    if (tag === 10) typeUrl = r.string();
    else if (tag === 18) { const [s, e] = r.span(); value = any.subarray(s, e); }
    else r.skip(tag & 7);
  }
  return { typeUrl, value };
}

/** Cluster: name=1, type=2 (DiscoveryType, EDS = 3), eds_cluster_config=3 (service_name=2). */
const CLUSTER_TYPE_EDS = 3;

/**
 * The EDS name an encoded Cluster (inside its Any) makes its holder ask for, or undefined for
 * a cluster of another type: what derive.ts's clusterEdsNames reads from a full protobufjs
 * decode, read off the wire instead, because a SotW sidecar gets thousands of clusters per push
 * and the simulated proxies share the cores with the server. The sampled proxies compare the two
 * for every cluster they receive (checks.ts).
 */
export function clusterEdsName(any: Uint8Array): string | undefined {
  return clusterValueEdsName(splitAny(any).value);
}

/** clusterEdsName of the Cluster message itself. */
export function clusterValueEdsName(value: Uint8Array): string | undefined {
  const r = new WireReader(value);
  const span: [number, number] = [0, 0];
  return edsNameSpan(r, 0, r.end, span) ? r.buf.toString('utf8', span[0], span[1]) : undefined;
}

/**
 * Where the EDS name of the Cluster message at [start, end) of r.buf is (service_name, or the
 * cluster's name when that is empty), written to `out`; false for a cluster of another type.
 * Allocates nothing: it runs for every cluster every SotW sidecar receives.
 */
function edsNameSpan(r: WireReader, start: number, end: number, out: [number, number]): boolean {
  const outer = r.end;
  r.pos = start;
  r.end = end;
  let nameStart = 0, nameEnd = 0, serviceStart = 0, serviceEnd = 0, type = 0;
  while (r.pos < end) {
    const tag = r.varint();
    if (tag === 10) {
      r.skipSpan();
      nameStart = r.spanStart;
      nameEnd = r.pos;
    } else if (tag === 16) type = r.varint();
    else if (tag === 26) {
      // eds_cluster_config: service_name=2.
      r.skipSpan();
      const after = r.pos;
      r.pos = r.spanStart;
      if (r.findLast(18, after)) {
        serviceStart = r.spanStart;
        serviceEnd = r.spanEnd;
      }
    } else r.skip(tag & 7);
  }
  r.end = outer;
  if (type !== CLUSTER_TYPE_EDS) return false;
  if (serviceEnd > serviceStart) {
    out[0] = serviceStart;
    out[1] = serviceEnd;
  } else {
    out[0] = nameStart;
    out[1] = nameEnd;
  }
  return true;
}

/**
 * The EDS names of a SotW CDS response as [start, end) pairs into `msg`, appended to `spans`
 * flat, in the response's order: what clusterEdsName reads from each resource, without making a
 * string (or anything else) per cluster.
 */
export function sotwEdsNameSpans(msg: Buffer, spans: number[]): void {
  const r = new WireReader(msg);
  const span: [number, number] = [0, 0];
  while (r.pos < r.end) {
    const tag = r.varint();
    if (tag !== 18) {
      r.skip(tag & 7);
      continue;
    }
    r.skipSpan();
    const anyEnd = r.pos;
    // The Any: type_url=1 (skipped), value=2 (the Cluster).
    r.pos = r.spanStart;
    if (r.findLast(18, anyEnd) && edsNameSpan(r, r.spanStart, r.spanEnd, span)) spans.push(span[0], span[1]);
    r.pos = anyEnd;
  }
}

// ---- writing ----

/** Repeated string field, written into one buffer (subscriptions name thousands of resources). */
export function repeatedStrings(field: number, names: readonly string[]): Buffer {
  const lengths = names.map((n) => Buffer.byteLength(n));
  let total = 0;
  for (const len of lengths) total += lenFieldLength(field, len);
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  names.forEach((n, i) => { at = writeStringField(out, at, field, n, lengths[i]); });
  return out;
}

const encodedLists = new WeakMap<readonly string[], Map<number, Buffer>>();

/** repeatedStrings, cached by list identity: ACKs repeat the same list over and over. */
export function cachedNames(field: number, names: readonly string[]): Buffer {
  let byField = encodedLists.get(names);
  if (!byField) encodedLists.set(names, (byField = new Map()));
  let b = byField.get(field);
  if (!b) byField.set(field, (b = repeatedStrings(field, names)));
  return b;
}

/**
 * A gRPC length-prefixed message (compressed flag 0, 4-byte big-endian length) as parts: the
 * prefix and the message's own parts, written corked, so a cached list of thousands of names
 * is not copied into every ACK.
 */
export function grpcParts(parts: readonly Uint8Array[]): Uint8Array[] {
  let len = 0;
  for (const p of parts) len += p.length;
  const head = Buffer.allocUnsafe(5);
  head[0] = 0;
  head.writeUInt32BE(len, 1);
  return [head, ...parts];
}

/** Messages up to this size that arrive in several chunks are joined in one reused buffer. */
const SCRATCH_MAX = 4 << 20;
let scratch = Buffer.allocUnsafe(1 << 20);

/**
 * Reassembles gRPC messages from HTTP/2 DATA chunks. A message arriving in one chunk is handed
 * out as a view without copying. One spread over several is joined: with `reuse`, into a buffer
 * shared by every decoder of the worker, valid only until onMessage returns (a proxy that keeps
 * messages, the sampled ones, must not reuse); otherwise into a buffer of its own.
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;

  constructor(private readonly onMessage: (msg: Buffer) => void, private readonly reuse = false) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    for (;;) {
      if (this.buffered < 5) return;
      let head = this.chunks[0];
      if (head.length < 5) {
        head = Buffer.concat(this.chunks);
        this.chunks = [head];
      }
      if (head[0] !== 0) throw new Error('compressed gRPC messages are not supported');
      const len = head.readUInt32BE(1);
      if (this.buffered < len + 5) return;
      let msg: Buffer;
      if (head.length >= len + 5) {
        msg = head.subarray(5, 5 + len);
        const rest = head.subarray(5 + len);
        if (rest.length > 0) this.chunks[0] = rest; else this.chunks.shift();
      } else {
        const all = this.join();
        msg = all.subarray(5, 5 + len);
        const rest = all.subarray(5 + len);
        // The rest outlives this call: never a view of the shared buffer.
        this.chunks = rest.length > 0 ? [Buffer.from(rest)] : [];
      }
      this.buffered -= len + 5;
      this.onMessage(msg);
    }
  }

  private join(): Buffer {
    if (!this.reuse || this.buffered > SCRATCH_MAX) return Buffer.concat(this.chunks, this.buffered);
    if (scratch.length < this.buffered) scratch = Buffer.allocUnsafe(Math.min(SCRATCH_MAX, Math.max(this.buffered, scratch.length * 2)));
    let at = 0;
    for (const c of this.chunks) at += c.copy(scratch, at);
    return scratch.subarray(0, this.buffered);
  }
}

// ---- discovery requests ----

export interface SotwRequestParts {
  /** Encoded envoy.config.core.v3.Node, sent on the first request of a stream only. */
  readonly node?: Uint8Array;
  readonly versionInfo?: string;
  readonly names: readonly string[];
  readonly typeUrl: string;
  readonly nonce?: string;
}

/** DiscoveryRequest: version_info=1, node=2, resource_names=3, type_url=4, response_nonce=5; framed. */
export function sotwRequestFrame(r: SotwRequestParts): Uint8Array[] {
  const parts: Uint8Array[] = [];
  if (r.node) parts.push(lenField(2, r.node));
  if (r.versionInfo) parts.push(stringField(1, r.versionInfo));
  parts.push(cachedNames(3, r.names));
  parts.push(stringField(4, r.typeUrl));
  if (r.nonce) parts.push(stringField(5, r.nonce));
  return grpcParts(parts);
}

/**
 * A plain SotW ACK: the same message as sotwRequestFrame, with its small fields written into
 * one buffer beside the shared names part. Every proxy ACKs every push, so this is the request
 * a simulated proxy sends most.
 */
export function sotwAckFrame(versionInfo: string, names: readonly string[], typeUrl: string, nonce: string): Uint8Array[] {
  const namesPart = cachedNames(3, names);
  const [head, tail] = smallFields([[1, versionInfo]], [[4, typeUrl], [5, nonce]], namesPart.length);
  return [head, namesPart, tail];
}

/** A plain Delta ACK: type_url=2 and response_nonce=6 in one buffer, gRPC prefix included. */
export function deltaAckFrame(typeUrl: string, nonce: string): Uint8Array[] {
  return [smallFields([[2, typeUrl], [6, nonce]], [], 0)[0]];
}

type StringFieldSpec = readonly [field: number, value: string];

/** Empty strings are left out, as proto3 does for singular fields. */
function fieldsLength(fields: readonly StringFieldSpec[]): number {
  let n = 0;
  for (const [field, v] of fields) if (v !== '') n += lenFieldLength(field, Buffer.byteLength(v));
  return n;
}

function writeFields(out: Buffer, at: number, fields: readonly StringFieldSpec[]): number {
  for (const [field, v] of fields) if (v !== '') at = writeStringField(out, at, field, v, Buffer.byteLength(v));
  return at;
}

/**
 * The 5-byte gRPC prefix and `before` in one buffer, `after` in a second, for a message whose
 * middle (`middleLength` bytes) is a shared part written between them. Empty strings are left
 * out.
 */
function smallFields(before: readonly StringFieldSpec[], after: readonly StringFieldSpec[], middleLength: number): [Buffer, Buffer] {
  const lb = fieldsLength(before), la = fieldsLength(after);
  const head = Buffer.allocUnsafe(5 + lb);
  head[0] = 0;
  head.writeUInt32BE(lb + middleLength + la, 1);
  writeFields(head, 5, before);
  const tail = Buffer.allocUnsafe(la);
  writeFields(tail, 0, after);
  return [head, tail];
}

export interface DeltaRequestParts {
  readonly node?: Uint8Array;
  readonly typeUrl: string;
  readonly subscribe?: readonly string[];
  readonly unsubscribe?: readonly string[];
  readonly nonce?: string;
}

/**
 * DeltaDiscoveryRequest: node=1, type_url=2, resource_names_subscribe=3,
 * resource_names_unsubscribe=4, response_nonce=6; framed.
 */
export function deltaRequestFrame(r: DeltaRequestParts): Uint8Array[] {
  const parts: Uint8Array[] = [];
  if (r.node) parts.push(lenField(1, r.node));
  parts.push(stringField(2, r.typeUrl));
  if (r.subscribe && r.subscribe.length > 0) parts.push(repeatedStrings(3, r.subscribe));
  if (r.unsubscribe && r.unsubscribe.length > 0) parts.push(repeatedStrings(4, r.unsubscribe));
  if (r.nonce) parts.push(stringField(6, r.nonce));
  return grpcParts(parts);
}
