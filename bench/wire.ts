// The smallest possible xDS wire handling for thousands of simulated proxies: gRPC message
// framing, a scanner that reads only the DiscoveryResponse envelope (no resource is decoded),
// and hand-built requests whose bulky resource_names part is encoded once and shared. The
// sampled proxies cross-check every envelope against the real protobufjs decode (see checks.ts),
// so a mistake here fails the benchmark instead of skewing it.

// ---- reading ----

class Reader {
  pos = 0;
  constructor(readonly buf: Uint8Array, readonly end = buf.length) {}

  varint(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (this.pos >= this.end) throw new Error('truncated varint');
      const b = this.buf[this.pos++];
      // Lengths and tags fit in 2^53; multiplication keeps them exact past 32 bits.
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
      if (shift > 63) throw new Error('varint too long');
    }
  }

  /** Start and end of a length-delimited field's bytes. */
  span(): [number, number] {
    const len = this.varint();
    const start = this.pos;
    this.pos += len;
    if (this.pos > this.end) throw new Error('truncated length-delimited field');
    return [start, this.pos];
  }

  string(): string {
    const [s, e] = this.span();
    return Buffer.from(this.buf.buffer, this.buf.byteOffset + s, e - s).toString('utf8');
  }

  skip(wireType: number): void {
    switch (wireType) {
      case 0: this.varint(); return;
      case 1: this.pos += 8; return;
      case 2: this.span(); return;
      case 5: this.pos += 4; return;
      default: throw new Error(`unsupported wire type ${wireType}`);
    }
  }
}

export interface SotwEnvelope {
  readonly versionInfo: string;
  readonly typeUrl: string;
  readonly nonce: string;
  readonly resourceCount: number;
}

/** DiscoveryResponse: version_info=1, resources=2, type_url=4, nonce=5; everything else skipped. */
export function scanSotw(buf: Uint8Array): SotwEnvelope {
  const r = new Reader(buf);
  let versionInfo = '', typeUrl = '', nonce = '', resourceCount = 0;
  while (r.pos < r.end) {
    const tag = r.varint();
    const field = Math.floor(tag / 8), wt = tag & 7;
    if (wt === 2 && field === 1) versionInfo = r.string();
    else if (wt === 2 && field === 2) { r.span(); resourceCount++; }
    else if (wt === 2 && field === 4) typeUrl = r.string();
    else if (wt === 2 && field === 5) nonce = r.string();
    else r.skip(wt);
  }
  return { versionInfo, typeUrl, nonce, resourceCount };
}

/** The resources (encoded Any messages) of a DiscoveryResponse, only when a proxy needs them. */
export function sotwAnys(buf: Uint8Array): Uint8Array[] {
  const r = new Reader(buf);
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
  const r = new Reader(buf);
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
        const inner = new Reader(buf, e);
        inner.pos = s;
        let name = '', version = '';
        let any: Uint8Array | undefined;
        while (inner.pos < e) {
          const t = inner.varint();
          if (t === 10) version = inner.string();
          else if (t === 18) { const [a, b] = inner.span(); any = buf.subarray(a, b); }
          else if (t === 26) name = inner.string();
          else inner.skip(t & 7);
        }
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
  const r = new Reader(any);
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

// ---- writing ----

function varintBytes(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n % 128) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

/** One length-delimited field: tag, length, bytes. */
export function lengthDelimited(field: number, bytes: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(varintBytes(field * 8 + 2)), Buffer.from(varintBytes(bytes.length)), bytes]);
}

export function stringField(field: number, s: string): Buffer {
  return lengthDelimited(field, Buffer.from(s, 'utf8'));
}

/** Repeated string field, encoded once per list (lists are shared between proxies of a class). */
export function repeatedStrings(field: number, names: readonly string[]): Buffer {
  return Buffer.concat(names.map((n) => stringField(field, n)));
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
  if (r.node) parts.push(lengthDelimited(2, r.node));
  if (r.versionInfo) parts.push(stringField(1, r.versionInfo));
  parts.push(cachedNames(3, r.names));
  parts.push(stringField(4, r.typeUrl));
  if (r.nonce) parts.push(stringField(5, r.nonce));
  return grpcParts(parts);
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
  if (r.node) parts.push(lengthDelimited(1, r.node));
  parts.push(stringField(2, r.typeUrl));
  if (r.subscribe && r.subscribe.length > 0) parts.push(repeatedStrings(3, r.subscribe));
  if (r.unsubscribe && r.unsubscribe.length > 0) parts.push(repeatedStrings(4, r.unsubscribe));
  if (r.nonce) parts.push(stringField(6, r.nonce));
  return grpcParts(parts);
}
