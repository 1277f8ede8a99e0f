// gRPC's wire format on HTTP/2 (https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md):
// each message is a 5-byte prefix (compressed flag, 4-byte big-endian length) and its bytes;
// status codes and the percent-encoded grpc-message travel in trailers.
import type { BlockPool } from './block-pool.js';
import type { BudgetCharge, BudgetScope } from './byte-budget.js';

/** The gRPC status codes the xDS server uses (numbering from grpc/status.proto). */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

export type GrpcStatusCode = (typeof GrpcStatus)[keyof typeof GrpcStatus];

const STATUS_NAMES = new Map<number, string>(Object.entries(GrpcStatus).map(([k, v]) => [v, k]));

export function statusName(code: number): string {
  return STATUS_NAMES.get(code) ?? String(code);
}

/** Request encodings the server can read; responses are never compressed. */
export const ACCEPTED_ENCODINGS = ['identity', 'gzip', 'deflate'] as const;

export function isAcceptedEncoding(encoding: string): boolean {
  return (ACCEPTED_ENCODINGS as readonly string[]).includes(encoding);
}

const PREFIX_BYTES = 5;

/** The prefix of an uncompressed message of `length` bytes. */
export function messagePrefix(length: number): Buffer {
  const b = Buffer.allocUnsafe(PREFIX_BYTES);
  b[0] = 0;
  b.writeUInt32BE(length, 1);
  return b;
}

/**
 * grpc-message is percent-encoded: bytes outside printable ASCII, and '%' itself, become %XX of
 * their UTF-8 encoding, so any text survives as an HTTP/2 header value.
 */
export function encodeGrpcMessage(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    if (byte >= 0x20 && byte <= 0x7e && byte !== 0x25) out += String.fromCharCode(byte);
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** The transport's resource limits, as the server counts their hits. */
export type TransportLimit = 'messageBytes' | 'connectionBufferedBytes' | 'processBufferedBytes' | 'concurrentStreams';

export function budgetLimit(scope: BudgetScope): TransportLimit {
  return scope === 'connection' ? 'connectionBufferedBytes' : 'processBufferedBytes';
}

export class GrpcWireError extends Error {
  /** Set when a resource limit refused the message. */
  constructor(readonly code: GrpcStatusCode, message: string, readonly limit?: TransportLimit) {
    super(message);
  }
}

/** A message as read off the wire: compressed ones are inflated by the call (see inflate.ts). */
export interface ReadMessage {
  readonly body: Buffer;
  readonly compressed: boolean;
}

/**
 * Splits a request body into messages. Chunks arrive as HTTP/2 DATA frames cut anywhere. A
 * message within one chunk is handed out as a view of it (valid until the call that handed it
 * out returns). A message spread over several is copied as it arrives, because a chunk is a view
 * into a socket read buffer shared with other frames, which it would keep alive. Where it is
 * copied to, every byte charged to the connection's and the process's budgets before it is held
 * (see ByteBudget):
 * - a body of at most one pool block: one buffer of its exact length;
 * - a larger one: blocks of the server's pool, taken as the bytes arrive (a client announcing
 *   16 MiB and sending a few bytes holds one block), and put together when the message is
 *   complete. A stream that is refused or ends gives its blocks back to the pool at once.
 * Why blocks rather than one buffer grown by doubling: every doubling left the old buffer as
 * garbage, and a refused stream its whole buffer, so under a flood of unfinished messages the
 * garbage waiting for V8's next collection was as large as what the budgets allowed to be held,
 * and the process's RSS passed the budgets by that much (+224 to +275 MiB for a 128 MiB budget).
 */
export class MessageReader {
  /** The prefix of the message begun, until it is complete (`prefixHave` bytes of it). */
  private readonly prefix = Buffer.alloc(PREFIX_BYTES);
  private prefixHave = 0;
  /** The body's length, once the prefix is complete. */
  private bodyLength = 0;
  /** Bytes of the body received. */
  private bodyHave = 0;
  /** The body of a message of at most one block. */
  private small: Buffer | undefined;
  /** The body of a larger one, filled in order. */
  private readonly blocks: Buffer[] = [];

  constructor(private readonly maxMessageBytes: number, private readonly encoding: string,
    private readonly charge: BudgetCharge, private readonly pool: BlockPool) {}

  /** Every message completed by this chunk. Throws GrpcWireError on a message it must refuse. */
  push(chunk: Buffer): ReadMessage[] {
    const out: ReadMessage[] = [];
    let at = 0;
    if (this.prefixHave > 0) {
      at = this.fill(chunk, 0);
      if (!this.complete) return out;
      out.push(this.finishMessage());
    }
    while (chunk.length - at >= PREFIX_BYTES) {
      const end = at + PREFIX_BYTES + this.lengthAt(chunk, at);
      if (end > chunk.length) break;
      out.push(this.message(chunk[at], chunk.subarray(at + PREFIX_BYTES, end)));
      at = end;
    }
    // What is left is the start of a message this chunk does not complete.
    if (at < chunk.length) this.fill(chunk, at);
    return out;
  }

  /** Bytes of a message started but not finished: a stream that ends here was cut short. */
  get buffered(): number {
    return this.prefixHave + this.bodyHave;
  }

  /** The stream is over: what it held is freed, and given back to the budgets. */
  dispose(): void {
    if (this.blocks.length > 0) {
      // Back in the pool, not garbage: nothing for a collection to reclaim.
      this.pool.give(this.blocks.splice(0));
      this.charge.release();
    } else {
      this.charge.abandon();
    }
    this.reset();
  }

  private get complete(): boolean {
    return this.prefixHave === PREFIX_BYTES && this.bodyHave === this.bodyLength;
  }

  private reset(): void {
    this.prefixHave = 0;
    this.bodyLength = 0;
    this.bodyHave = 0;
    this.small = undefined;
  }

  /** The message begun, now complete; its storage is let go and its charge given back. */
  private finishMessage(): ReadMessage {
    let body: Buffer;
    if (this.small) body = this.small;
    else if (this.blocks.length > 0) {
      body = Buffer.concat(this.blocks, this.bodyLength);
      this.pool.give(this.blocks.splice(0));
    } else body = Buffer.alloc(0);
    const flag = this.prefix[0];
    this.reset();
    this.charge.set(0);
    return this.message(flag, body);
  }

  private message(flag: number, body: Buffer): ReadMessage {
    const compressed = flag !== 0;
    if (compressed && this.encoding === 'identity') {
      throw new GrpcWireError(GrpcStatus.INTERNAL, 'a message is marked compressed but the request has no grpc-encoding');
    }
    return { body, compressed };
  }

  /** Copies bytes of `src` from `from` into the message begun, up to its end; returns where it stopped. */
  private fill(src: Buffer, from: number): number {
    let at = from;
    if (this.prefixHave < PREFIX_BYTES) {
      const n = Math.min(PREFIX_BYTES - this.prefixHave, src.length - at);
      src.copy(this.prefix, this.prefixHave, at, at + n);
      this.prefixHave += n;
      at += n;
      if (this.prefixHave < PREFIX_BYTES) return at;
      this.bodyLength = this.lengthAt(this.prefix, 0);
      if (this.bodyLength <= this.pool.blockBytes) this.hold(this.bodyLength, () => { this.small = Buffer.allocUnsafeSlow(this.bodyLength); });
    }
    while (at < src.length && this.bodyHave < this.bodyLength) {
      let target: Buffer;
      let offset: number;
      if (this.small) {
        target = this.small;
        offset = this.bodyHave;
      } else {
        const size = this.pool.blockBytes;
        if (this.bodyHave === this.blocks.length * size) this.hold((this.blocks.length + 1) * size, () => this.blocks.push(this.pool.take()));
        target = this.blocks[this.blocks.length - 1];
        offset = this.bodyHave % size;
      }
      const n = Math.min(target.length - offset, this.bodyLength - this.bodyHave, src.length - at);
      src.copy(target, offset, at, at + n);
      this.bodyHave += n;
      at += n;
    }
    return at;
  }

  /** Charges the budgets for holding `bytes` of body (and the prefix), then takes the storage. */
  private hold(bytes: number, take: () => void): void {
    const refused = this.charge.set(PREFIX_BYTES + bytes);
    if (refused) {
      throw new GrpcWireError(GrpcStatus.RESOURCE_EXHAUSTED,
        `an unfinished message (${PREFIX_BYTES + this.bodyHave} bytes received of ${PREFIX_BYTES + this.bodyLength}) would pass the ` +
        `${refused}'s budget for buffered request bytes`, budgetLimit(refused));
    }
    take();
  }

  private lengthAt(buf: Buffer, at: number): number {
    const length = buf.readUInt32BE(at + 1);
    if (length > this.maxMessageBytes) {
      throw new GrpcWireError(GrpcStatus.RESOURCE_EXHAUSTED,
        `received a message of ${length} bytes, larger than the limit of ${this.maxMessageBytes}`, 'messageBytes');
    }
    return length;
  }
}
