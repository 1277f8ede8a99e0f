// gRPC calls made by hand over node:http2, for tests that must send what no gRPC library
// would: unfinished messages, compressed bombs, many streams on one connection.
import http2 from 'node:http2';

export interface RawEnd {
  /** grpc-status from the trailers (or the trailers-only response); undefined if the stream was reset. */
  readonly status?: number;
  readonly message: string;
  readonly rstCode: number;
}

/** A gRPC-framed message: compressed flag, 4-byte length, bytes. */
export function grpcFrame(body: Uint8Array, compressed = false): Buffer {
  const head = Buffer.alloc(5);
  head[0] = compressed ? 1 : 0;
  head.writeUInt32BE(body.length, 1);
  return Buffer.concat([head, body]);
}

/** Only the 5-byte prefix of a message announced as `length` bytes long. */
export function grpcPrefix(length: number): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(length, 1);
  return head;
}

export class RawGrpcStream {
  /** Resolves with how the call ended. */
  readonly ended: Promise<RawEnd>;
  /** Resolves with the first DATA the server sends (a response message began). */
  readonly firstData: Promise<Buffer>;
  private headers: http2.IncomingHttpHeaders = {};

  constructor(readonly stream: http2.ClientHttp2Stream) {
    stream.on('error', () => undefined);
    this.firstData = new Promise((resolve) => stream.once('data', (d: Buffer) => resolve(d)));
    // Ended at the status (a client still writing may see the server's reset late), or at close.
    this.ended = new Promise((resolve) => {
      const done = (): void => {
        const status = this.headers['grpc-status'];
        resolve({
          status: status === undefined ? undefined : Number(status),
          message: decodeURIComponent(String(this.headers['grpc-message'] ?? '')),
          rstCode: stream.rstCode ?? 0,
        });
      };
      const headers = (h: http2.IncomingHttpHeaders): void => {
        this.headers = { ...this.headers, ...h };
        if (h['grpc-status'] !== undefined) {
          done();
          stream.close(http2.constants.NGHTTP2_CANCEL);
        }
      };
      stream.on('response', headers);
      stream.on('trailers', headers);
      stream.on('close', done);
    });
  }

  /** Writes bytes, resolving once they are handed to the session (flow control permitting). */
  write(bytes: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => this.stream.write(bytes, (err) => (err ? reject(err) : resolve())));
  }

  /** Closed, or the server gave its status (see ended). */
  get closed(): boolean {
    return this.stream.closed || this.headers['grpc-status'] !== undefined;
  }
}

/** One HTTP/2 connection to a gRPC server, with calls opened by hand. */
export class RawGrpcConnection {
  private constructor(readonly session: http2.ClientHttp2Session) {}

  /** Over TLS when `tls` is given (`ca`: the roots the server's certificate chains to). */
  static async connect(address: string, tls?: { readonly ca: string }): Promise<RawGrpcConnection> {
    // A test writes megabytes into a stream at once: the client session must be allowed to hold
    // them (node's default of 10 MB makes it refuse frames, the server's reply among them).
    const session = tls
      ? http2.connect(`https://${address}`, { maxSessionMemory: 1024, ca: tls.ca })
      : http2.connect(`http://${address}`, { maxSessionMemory: 1024 });
    session.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      session.once('remoteSettings', () => resolve());
      session.once('error', reject);
    });
    return new RawGrpcConnection(session);
  }

  call(path: string, extraHeaders: http2.OutgoingHttpHeaders = {}): RawGrpcStream {
    return new RawGrpcStream(this.session.request({
      ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers', ...extraHeaders,
    }));
  }

  close(): void {
    this.session.destroy();
  }
}
