// One bidirectional gRPC call on an HTTP/2 stream: messages in, length-prefixed messages out,
// a status in trailers at the end. Responses are written as the parts they are kept in (shared
// runs of encoded resources plus a small per-stream head and tail): corked into one writev, the
// bytes go from the shared buffers to the socket without being copied into a framed message.
import http2 from 'node:http2';
import type { PeerCredentials } from '../../peer.js';
import type { BlockPool } from './block-pool.js';
import { BudgetCharge, type ByteBudget } from './byte-budget.js';
import { inflateLimited, InflateError } from './inflate.js';
import {
  budgetLimit, encodeGrpcMessage, GrpcStatus, GrpcWireError, messagePrefix, type GrpcStatusCode, type MessageReader,
  type ReadMessage, type TransportLimit,
} from './wire.js';

interface CallHandlers {
  /** `body` is only valid during the call (see MessageReader): decode it, do not keep it. */
  message(body: Buffer): void;
  /** The client half-closed: it will send nothing more. */
  end(): void;
  /** The call is over (finished, reset by the client, or its connection is gone). Called once. */
  closed(reason: string): void;
}

const RESPONSE_HEADERS = {
  ':status': 200,
  'content-type': 'application/grpc',
  'grpc-accept-encoding': 'identity,gzip,deflate',
};

/** What a call needs besides its stream: how to read it, and where its limits are counted. */
interface CallReading {
  readonly reader: MessageReader;
  /** The connection's budget, charged with compressed messages' output while they are inflated. */
  readonly budget: ByteBudget;
  /** Where compressed messages are inflated into. */
  readonly blocks: BlockPool;
  readonly maxMessageBytes: number;
  readonly encoding: string;
  readonly onLimit: (limit: TransportLimit) => void;
}

export class GrpcCall {
  private handlers: CallHandlers | undefined;
  /** A compressed message is being inflated: the stream is paused, and what follows waits. */
  private inflating = false;
  private endedWhileInflating = false;
  private readonly reader: MessageReader;
  private responded = false;
  private finished = false;
  private closedReason: string | undefined;
  private status: { code: GrpcStatusCode; details: string } | undefined;
  /**
   * What the client sent before start() (while its stream is being authenticated, on the TLS
   * port), as it came; undefined once started or closed. Charged to the connection's budget, so
   * a client cannot make the server hold more for streams it has not been let in on than for
   * those it has (the stream's flow-control window alone would let it park 1 MiB on each).
   */
  private early: Buffer[] | undefined = [];
  private readonly earlyCharge: BudgetCharge;
  private earlyEnded = false;
  private readonly onEarlyData = (chunk: Buffer): void => this.earlyData(chunk);
  private readonly onEarlyEnd = (): void => { this.earlyEnded = true; };

  /**
   * @param credentials what the client presented on the TLS port; undefined on a plaintext one
   */
  constructor(private readonly stream: http2.ServerHttp2Stream, readonly path: string, readonly peer: string,
    private readonly reading: CallReading, readonly credentials?: PeerCredentials) {
    this.reader = reading.reader;
    this.earlyCharge = new BudgetCharge(reading.budget);
    // Attached at once: an unhandled 'error' on a stream would take the process down.
    stream.on('error', (err: Error) => this.close(`stream error: ${err.message}`));
    stream.on('close', () => this.close(this.finished ? 'finished' : this.resetReason()));
    stream.on('data', this.onEarlyData);
    stream.once('end', this.onEarlyEnd);
  }

  /**
   * Starts delivering the client's messages, beginning with what it sent before. Never from
   * within this call: the caller (a stream's constructor) is not ready for messages until it
   * returns; what arrives meanwhile is held like what came before.
   */
  start(handlers: CallHandlers): void {
    this.handlers = handlers;
    process.nextTick(() => this.deliverFromNowOn());
  }

  private deliverFromNowOn(): void {
    const s = this.stream;
    s.off('data', this.onEarlyData);
    s.off('end', this.onEarlyEnd);
    const early = this.early ?? [];
    this.early = undefined;
    if (this.finished) return;
    // Given back before the bytes are read again: the reader charges what it keeps of them.
    this.earlyCharge.release();
    s.on('data', (chunk: Buffer) => this.data(chunk));
    s.on('end', () => this.ended());
    // As one chunk, so the messages in it are delivered in order even if one must be inflated.
    if (early.length > 0) this.data(early.length === 1 ? early[0] : Buffer.concat(early));
    if (this.earlyEnded) this.ended();
  }

  /** Holds what arrives before start(), refusing the stream once it would pass a budget. */
  private earlyData(chunk: Buffer): void {
    if (this.early === undefined || this.finished) return;
    const refused = this.earlyCharge.set(this.earlyCharge.bytes + chunk.length);
    if (refused) {
      this.reading.onLimit(budgetLimit(refused));
      this.finish(GrpcStatus.RESOURCE_EXHAUSTED,
        `${this.earlyCharge.bytes + chunk.length} bytes sent before the stream was authenticated would pass the ${refused}'s budget for buffered request bytes`);
      return;
    }
    this.early.push(chunk);
  }

  /** The client half-closed its side. */
  private ended(): void {
    if (this.finished) return;
    if (this.inflating) {
      this.endedWhileInflating = true;
      return;
    }
    if (this.reader.buffered > 0) {
      this.finish(GrpcStatus.INTERNAL, `the request stream ended inside a message (${this.reader.buffered} bytes of it received)`);
      return;
    }
    this.handlers?.end();
  }

  /**
   * Writes one message given as parts (`length` bytes in all). False when the client reads more
   * slowly than we write: wait for onDrain before writing more.
   */
  write(parts: readonly Uint8Array[], length: number): boolean {
    if (this.finished || this.stream.destroyed) return true;
    this.respondOnce();
    const s = this.stream;
    s.cork();
    let ok = s.write(messagePrefix(length));
    for (const p of parts) if (p.length > 0) ok = s.write(p);
    s.uncork();
    return ok;
  }

  onDrain(fn: () => void): void {
    this.stream.once('drain', fn);
  }

  /**
   * Ends the call with a status (OK is a normal end). Further writes and finishes are ignored.
   * The call counts as closed from here: its handler lets go of it now, not when the client gets
   * round to ending its side (a client that never does is cut with its connection).
   */
  finish(code: GrpcStatusCode, details: string): void {
    if (this.finished) return;
    this.finished = true;
    this.reader.dispose();
    this.sendStatus(code, details);
    this.close(details);
  }

  private sendStatus(code: GrpcStatusCode, details: string): void {
    const s = this.stream;
    if (s.destroyed || s.closed) return;
    try {
      if (!this.responded) {
        // Trailers-only: nothing was sent yet, so the status goes in the only HEADERS frame.
        this.responded = true;
        s.respond({ ...RESPONSE_HEADERS, 'grpc-status': String(code), 'grpc-message': encodeGrpcMessage(details) }, { endStream: true });
        this.hangUp();
        return;
      }
      this.status = { code, details };
      s.end();
    } catch {
      // The stream went away between the check and the write: its 'close' reports it.
      s.destroy();
    }
  }

  /**
   * After a trailers-only status, a client that has not half-closed would keep the stream open
   * (and keep sending into it, for nothing): reset it with NO_ERROR, as gRPC servers do. Only
   * there: the reset follows the HEADERS frame already written, where after sendTrailers it can
   * overtake the trailers (grpc-js then sees no status). After trailers the stream is left to
   * the client, which ends it on reading the status; what it sends until then is dropped unread.
   */
  private hangUp(): void {
    if (!this.stream.readableEnded && !this.stream.closed) this.stream.close(http2.constants.NGHTTP2_NO_ERROR);
  }

  get isFinished(): boolean {
    return this.finished;
  }

  private respondOnce(): void {
    if (this.responded) return;
    this.responded = true;
    this.stream.respond(RESPONSE_HEADERS, { waitForTrailers: true });
    this.stream.once('wantTrailers', () => {
      const st = this.status ?? { code: GrpcStatus.OK, details: '' };
      try {
        this.stream.sendTrailers({ 'grpc-status': String(st.code), 'grpc-message': encodeGrpcMessage(st.details) });
      } catch {
        this.stream.destroy();
      }
    });
  }

  private data(chunk: Buffer): void {
    if (this.finished) return;
    let messages: ReadMessage[];
    try {
      messages = this.reader.push(chunk);
    } catch (err) {
      this.refuse(err);
      return;
    }
    this.deliver(messages, 0);
  }

  /** Hands messages from `from` on to the handlers in order, inflating compressed ones first. */
  private deliver(messages: readonly ReadMessage[], from: number): void {
    for (let i = from; i < messages.length; i++) {
      if (this.finished) return;
      const m = messages[i];
      if (!m.compressed) {
        this.handlers?.message(m.body);
        continue;
      }
      this.inflating = true;
      this.stream.pause();
      const { encoding, maxMessageBytes, budget, blocks } = this.reading;
      inflateLimited(m.body, encoding === 'gzip' ? 'gzip' : 'deflate', maxMessageBytes, budget, blocks).then(({ message, release }) => {
        try {
          if (!this.finished) this.handlers?.message(message);
        } finally {
          release();
        }
        this.inflating = false;
        this.deliver(messages, i + 1);
      }, (err: unknown) => {
        this.inflating = false;
        this.refuse(err);
      });
      return;
    }
    if (this.finished) return;
    this.stream.resume();
    if (this.endedWhileInflating) {
      this.endedWhileInflating = false;
      this.ended();
    }
  }

  /** Ends the call for a message it cannot take, counting a limit that refused it. */
  private refuse(err: unknown): void {
    if (err instanceof GrpcWireError) {
      if (err.limit) this.reading.onLimit(err.limit);
      this.finish(err.code, err.message);
    } else if (err instanceof InflateError) {
      const f = err.failure;
      if (f.kind === 'too-large') this.reading.onLimit('messageBytes');
      if (f.kind === 'budget') this.reading.onLimit(budgetLimit(f.scope));
      this.finish(f.kind === 'corrupt' ? GrpcStatus.INTERNAL : GrpcStatus.RESOURCE_EXHAUSTED, err.message);
    } else {
      this.finish(GrpcStatus.INTERNAL, `cannot read the request: ${String(err)}`);
    }
  }

  private resetReason(): string {
    const code = this.stream.rstCode;
    if (code === http2.constants.NGHTTP2_CANCEL) return 'cancelled by the client';
    if (code === undefined || code === http2.constants.NGHTTP2_NO_ERROR) return 'stream closed';
    return `stream reset (HTTP/2 error code ${code})`;
  }

  private close(reason: string): void {
    if (this.closedReason !== undefined) return;
    this.closedReason = reason;
    this.finished = true;
    this.early = undefined;
    this.earlyCharge.abandon();
    this.reader.dispose();
    this.handlers?.closed(reason);
  }
}
