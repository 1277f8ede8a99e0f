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
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
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

export const PREFIX_BYTES = 5;

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

/** Messages up to this size that arrive in pieces are put together in one reused buffer. */
const SCRATCH_MAX = 1 << 20;

/**
 * The buffer messages are put together in, one per server (its streams take turns: a message is
 * only valid until the call that handed it out returns). A SotW ACK restates every subscribed
 * name (tens of kilobytes, several DATA frames), thousands arrive per push, and a fresh
 * allocation for each cost more than everything else done with it.
 */
export class ScratchBuffer {
  private buf = Buffer.allocUnsafe(64 * 1024);

  /** `total` bytes of `chunks` in one buffer: the scratch buffer when it fits (shared), else a new one. */
  join(chunks: readonly Buffer[], total: number): { buf: Buffer; shared: boolean } {
    if (total > SCRATCH_MAX) return { buf: Buffer.concat(chunks, total), shared: false };
    if (this.buf.length < total) this.buf = Buffer.allocUnsafe(Math.min(SCRATCH_MAX, Math.max(total, this.buf.length * 2)));
    let at = 0;
    for (const c of chunks) at += c.copy(this.buf, at);
    return { buf: this.buf.subarray(0, total), shared: true };
  }
}

/** A message as read off the wire: compressed ones are inflated by the call (see inflate.ts). */
export interface ReadMessage {
  readonly body: Buffer;
  readonly compressed: boolean;
}

/**
 * Splits a request body into messages. Chunks arrive as HTTP/2 DATA frames cut anywhere. A
 * message is a view, valid only until the call that handed it out returns: one that fits in a
 * chunk is a view of it, one spread over several is put together in a buffer that is reused.
 * Bytes of a message not complete yet are charged to the connection's and the process's
 * budgets (see ByteBudget); a message that would pass either is refused.
 */
export class MessageReader {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly maxMessageBytes: number, private readonly encoding: string,
    private readonly charge: BudgetCharge, private readonly scratch: ScratchBuffer) {}

  /** Every message completed by this chunk. Throws GrpcWireError on a message it must refuse. */
  push(chunk: Buffer): ReadMessage[] {
    let buf = chunk;
    let shared = false;
    if (this.pendingBytes > 0) {
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
      // A large message arrives in many chunks: join them once, when it is complete.
      if (this.pendingBytes < this.needed()) {
        this.chargePending();
        return [];
      }
      ({ buf, shared } = this.scratch.join(this.pending, this.pendingBytes));
      this.pending = [];
      this.pendingBytes = 0;
    }
    const out: ReadMessage[] = [];
    let anyCompressed = false;
    let at = 0;
    while (buf.length - at >= PREFIX_BYTES) {
      const end = at + PREFIX_BYTES + this.lengthAt(buf, at);
      if (end > buf.length) break;
      const compressed = buf[at] !== 0;
      if (compressed) {
        if (this.encoding === 'identity') {
          throw new GrpcWireError(GrpcStatus.INTERNAL, 'a message is marked compressed but the request has no grpc-encoding');
        }
        anyCompressed = true;
      }
      out.push({ body: buf.subarray(at + PREFIX_BYTES, end), compressed });
      at = end;
    }
    if (at < buf.length) {
      const rest = buf.subarray(at);
      // Copied when the buffer is reused, or when a small tail would pin a whole chunk.
      this.pending.push(shared || rest.length < buf.length / 2 ? Buffer.from(rest) : rest);
      this.pendingBytes = rest.length;
    }
    this.chargePending();
    // Inflating is asynchronous, and the scratch buffer is another stream's by then.
    if (anyCompressed && shared) return out.map((m) => ({ body: Buffer.from(m.body), compressed: m.compressed }));
    return out;
  }

  /** Bytes the pending message needs in all (prefix included); the prefix alone if it is not complete yet. */
  private needed(): number {
    if (this.pendingBytes < PREFIX_BYTES) return PREFIX_BYTES;
    // The prefix itself was cut: join what there is once, so the first chunk holds it from now on.
    if (this.pending[0].length < PREFIX_BYTES) this.pending = [Buffer.concat(this.pending, this.pendingBytes)];
    return PREFIX_BYTES + this.lengthAt(this.pending[0], 0);
  }

  private chargePending(): void {
    const refused = this.charge.set(this.pendingBytes);
    if (!refused) return;
    throw new GrpcWireError(GrpcStatus.RESOURCE_EXHAUSTED,
      `an unfinished message of ${this.pendingBytes} bytes would pass the ${refused}'s budget for buffered request bytes`,
      budgetLimit(refused));
  }

  private lengthAt(buf: Buffer, at: number): number {
    const length = buf.readUInt32BE(at + 1);
    if (length > this.maxMessageBytes) {
      throw new GrpcWireError(GrpcStatus.RESOURCE_EXHAUSTED,
        `received a message of ${length} bytes, larger than the limit of ${this.maxMessageBytes}`, 'messageBytes');
    }
    return length;
  }

  /** Bytes of a message started but not finished: a stream that ends here was cut short. */
  get buffered(): number {
    return this.pendingBytes;
  }

  /** The stream is over: what it held is freed, and given back to the budgets. */
  dispose(): void {
    this.pending = [];
    this.pendingBytes = 0;
    this.charge.release();
  }
}
