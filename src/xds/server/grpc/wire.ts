// gRPC's wire format on HTTP/2 (https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md):
// each message is a 5-byte prefix (compressed flag, 4-byte big-endian length) and its bytes;
// status codes and the percent-encoded grpc-message travel in trailers.
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

/** A message's first buffer, when it is not known to be smaller: it grows from there. */
const FIRST_BUFFER_BYTES = 64 * 1024;

/** A message as read off the wire: compressed ones are inflated by the call (see inflate.ts). */
export interface ReadMessage {
  readonly body: Buffer;
  readonly compressed: boolean;
}

/**
 * Splits a request body into messages. Chunks arrive as HTTP/2 DATA frames cut anywhere. A
 * message within one chunk is handed out as a view of it (valid until the call that handed it
 * out returns). A message spread over several is copied into a buffer of its own as it arrives,
 * growing by doubling up to the length its prefix announced (a client announcing 16 MiB and
 * sending five bytes gets a small buffer). Why copy instead of keeping the chunks: a chunk is a
 * view into a socket read buffer shared with other frames, which it would keep alive, and those
 * small buffers, once freed, stay in the process (the allocator keeps them); the message's own
 * buffer is exactly what it costs, charged to the connection's and the process's budgets before
 * it is allocated (see ByteBudget), and a large one goes back to the system when freed.
 */
export class MessageReader {
  /** The message begun and not complete: its first `have` bytes (prefix included). */
  private acc: Buffer | undefined;
  private have = 0;

  constructor(private readonly maxMessageBytes: number, private readonly encoding: string,
    private readonly charge: BudgetCharge) {}

  /** Every message completed by this chunk. Throws GrpcWireError on a message it must refuse. */
  push(chunk: Buffer): ReadMessage[] {
    const out: ReadMessage[] = [];
    let at = 0;
    if (this.acc) {
      if (this.have < PREFIX_BYTES) at = this.take(chunk, 0, PREFIX_BYTES - this.have);
      if (this.have < PREFIX_BYTES) return out;
      const total = this.announced();
      at = this.take(chunk, at, total - this.have);
      if (this.have < total) return out;
      const whole = this.acc.subarray(0, total);
      this.acc = undefined;
      this.have = 0;
      this.charge.set(0);
      out.push(this.message(whole));
    }
    while (chunk.length - at >= PREFIX_BYTES) {
      const end = at + PREFIX_BYTES + this.lengthAt(chunk, at);
      if (end > chunk.length) break;
      out.push(this.message(chunk.subarray(at, end)));
      at = end;
    }
    if (at < chunk.length) this.take(chunk, at, chunk.length - at);
    return out;
  }

  /** Bytes of a message started but not finished: a stream that ends here was cut short. */
  get buffered(): number {
    return this.have;
  }

  /** The stream is over: what it held is freed, and given back to the budgets. */
  dispose(): void {
    this.acc = undefined;
    this.have = 0;
    this.charge.abandon();
  }

  private message(framed: Buffer): ReadMessage {
    const compressed = framed[0] !== 0;
    if (compressed && this.encoding === 'identity') {
      throw new GrpcWireError(GrpcStatus.INTERNAL, 'a message is marked compressed but the request has no grpc-encoding');
    }
    return { body: framed.subarray(PREFIX_BYTES), compressed };
  }

  /** The whole length (prefix included) of the message begun; its prefix must be complete. */
  private announced(): number {
    return PREFIX_BYTES + this.lengthAt(this.acc!, 0);
  }

  /** Copies up to `max` bytes of `src` from `from` into the message begun; returns where it stopped. */
  private take(src: Buffer, from: number, max: number): number {
    const n = Math.min(max, src.length - from);
    this.reserve(this.have + n, src, from);
    src.copy(this.acc!, this.have, from, from + n);
    this.have += n;
    return from + n;
  }

  /** Makes room for `size` bytes, charging the budgets first. */
  private reserve(size: number, src: Buffer, from: number): void {
    if (this.acc && this.acc.length >= size) return;
    let total = Infinity;
    if (this.have >= PREFIX_BYTES) total = this.announced();
    else if (this.have === 0 && src.length - from >= PREFIX_BYTES) total = PREFIX_BYTES + this.lengthAt(src, from);
    const grown = Math.max(size, 2 * (this.acc?.length ?? 0), Math.min(FIRST_BUFFER_BYTES, total));
    const capacity = Math.min(grown, total);
    const refused = this.charge.set(capacity);
    if (refused) {
      throw new GrpcWireError(GrpcStatus.RESOURCE_EXHAUSTED,
        `an unfinished message (${size} bytes of ${Number.isFinite(total) ? total : 'an unknown length'}) would pass the ` +
        `${refused}'s budget for buffered request bytes`, budgetLimit(refused));
    }
    const next = Buffer.allocUnsafeSlow(capacity);
    if (this.acc) this.acc.copy(next, 0, 0, this.have);
    this.acc = next;
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
