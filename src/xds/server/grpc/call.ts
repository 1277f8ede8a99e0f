// One bidirectional gRPC call on an HTTP/2 stream: messages in, length-prefixed messages out,
// a status in trailers at the end. Responses are written as the parts they are kept in (shared
// runs of encoded resources plus a small per-stream head and tail): corked into one writev, the
// bytes go from the shared buffers to the socket without being copied into a framed message.
import http2 from 'node:http2';
import { encodeGrpcMessage, GrpcStatus, GrpcWireError, messagePrefix, type GrpcStatusCode, type MessageReader } from './wire.js';

export interface CallHandlers {
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

export class GrpcCall {
  private handlers: CallHandlers | undefined;
  private responded = false;
  private finished = false;
  private closedReason: string | undefined;
  private status: { code: GrpcStatusCode; details: string } | undefined;

  constructor(private readonly stream: http2.ServerHttp2Stream, readonly path: string, readonly peer: string,
    private readonly reader: MessageReader) {
    // Attached at once: an unhandled 'error' on a stream would take the process down.
    stream.on('error', (err: Error) => this.close(`stream error: ${err.message}`));
    stream.on('close', () => this.close(this.finished ? 'finished' : this.resetReason()));
  }

  /** Starts delivering the client's messages. */
  start(handlers: CallHandlers): void {
    this.handlers = handlers;
    this.stream.on('data', (chunk: Buffer) => this.data(chunk));
    this.stream.on('end', () => {
      if (this.finished) return;
      if (this.reader.buffered > 0) {
        this.finish(GrpcStatus.INTERNAL, `the request stream ended inside a message (${this.reader.buffered} bytes of it received)`);
        return;
      }
      this.handlers?.end();
    });
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

  /** Ends the call with a status (OK is a normal end). Further writes and finishes are ignored. */
  finish(code: GrpcStatusCode, details: string): void {
    if (this.finished) return;
    this.finished = true;
    const s = this.stream;
    if (s.destroyed || s.closed) return;
    try {
      if (!this.responded) {
        // Trailers-only: nothing was sent yet, so the status goes in the only HEADERS frame.
        this.responded = true;
        s.respond({ ...RESPONSE_HEADERS, 'grpc-status': String(code), 'grpc-message': encodeGrpcMessage(details) }, { endStream: true });
        return;
      }
      this.status = { code, details };
      s.end();
    } catch {
      // The stream went away between the check and the write: its 'close' reports it.
      s.destroy();
    }
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
    let messages: Buffer[];
    try {
      messages = this.reader.push(chunk);
    } catch (err) {
      if (err instanceof GrpcWireError) this.finish(err.code, err.message);
      else this.finish(GrpcStatus.INTERNAL, `cannot read the request: ${String(err)}`);
      return;
    }
    for (const m of messages) {
      if (this.finished) return;
      this.handlers?.message(m);
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
    this.handlers?.closed(reason);
  }
}
