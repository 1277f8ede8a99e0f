// Test-only stand-in for the control plane's TLS xDS port (15012) until it exists: an HTTP/2 TLS
// server that asks for a client certificate, records who each connection and stream authenticated
// as (certificate SPIFFE ID and serial, or bearer token), refuses streams with neither, and relays
// the rest to the in-process plaintext xDS server. It can go away and come back on the same port.
import { EventEmitter, once } from 'node:events';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';

export interface RelaySession {
  readonly id: number;
  /** The URI SAN of the client certificate, when one verified against the relay's client roots. */
  readonly spiffeId?: string;
  /** Uppercase hex, as Node reports it. */
  readonly serialNumber?: string;
  closed: boolean;
}

export interface RelayStream {
  readonly session: RelaySession;
  readonly path: string;
  /** The bearer token the stream carried, if any. */
  readonly bearer?: string;
  /** Every header as it arrived (pseudo-headers included). */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly refused: boolean;
}

export interface MtlsRelayOptions {
  readonly certChainPem: string;
  readonly keyPem: string;
  /** Roots client certificates must chain to. */
  readonly clientRoots: string;
  /** Tokens accepted from a client without a certificate (a test may add more). */
  readonly tokens: Set<string>;
  /** Plaintext xDS server, http://127.0.0.1:port. */
  readonly upstream: string;
  /**
   * Cut a connection whose client certificate does not verify, during the handshake (as a real TLS
   * port that also takes tokens does); by default such a client is treated as having none.
   */
  readonly refuseUntrustedCertificates?: boolean;
}

const UNAUTHENTICATED = '16';

export class MtlsRelay extends EventEmitter {
  readonly sessions: RelaySession[] = [];
  readonly streams: RelayStream[] = [];
  private server: http2.Http2SecureServer | undefined;
  private readonly live = new Set<http2.ServerHttp2Session>();
  private upstream: http2.ClientHttp2Session | undefined;
  private port = 0;

  private constructor(private readonly opts: MtlsRelayOptions) {
    super();
  }

  static async start(opts: MtlsRelayOptions): Promise<MtlsRelay> {
    const relay = new MtlsRelay(opts);
    await relay.listen();
    return relay;
  }

  /** Tokens accepted without a certificate; a test may add some. */
  get tokens(): Set<string> {
    return this.opts.tokens;
  }

  get origin(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  /** Resolves with the first session (past or future) that matches. */
  async waitForSession(match: (s: RelaySession) => boolean): Promise<RelaySession> {
    for (;;) {
      const found = this.sessions.find(match);
      if (found) return found;
      await once(this, 'session');
    }
  }

  async waitForStream(match: (s: RelayStream) => boolean): Promise<RelayStream> {
    for (;;) {
      const found = this.streams.find(match);
      if (found) return found;
      await once(this, 'stream');
    }
  }

  /** Goes away abruptly: every connection is destroyed and the port closed. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of this.live) s.destroy();
    this.upstream?.destroy();
    this.upstream = undefined;
    await closed;
  }

  /** Comes back on the same port. */
  async restart(): Promise<void> {
    await this.listen();
  }

  private async listen(): Promise<void> {
    const server = http2.createSecureServer({
      cert: this.opts.certChainPem, key: this.opts.keyPem, ca: this.opts.clientRoots,
      // Verified by hand below, so a client without a certificate can still use a token.
      requestCert: true, rejectUnauthorized: false,
    });
    if (this.opts.refuseUntrustedCertificates) {
      server.prependListener('secureConnection', (socket: TLSSocket) => {
        if (!socket.authorized && socket.getPeerCertificate().raw !== undefined) socket.destroy();
      });
    }
    server.on('session', (session) => {
      if (!session.destroyed && !(session.socket as TLSSocket | undefined)?.destroyed) this.track(session);
    });
    server.on('stream', (stream, headers) => this.relay(stream, headers));
    server.listen(this.port, '127.0.0.1');
    await once(server, 'listening');
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  private track(session: http2.ServerHttp2Session): void {
    const socket = session.socket as TLSSocket;
    const cert = socket.authorized ? socket.getPeerCertificate() : undefined;
    const uri = cert?.subjectaltname?.split(', ').find((n) => n.startsWith('URI:'))?.slice(4);
    const info: RelaySession = {
      id: this.sessions.length + 1, closed: false,
      ...(uri ? { spiffeId: uri } : {}), ...(cert?.serialNumber ? { serialNumber: cert.serialNumber } : {}),
    };
    this.live.add(session);
    session.on('error', () => undefined);
    session.on('close', () => {
      info.closed = true;
      this.live.delete(session);
      this.emit('sessionClosed', info);
    });
    (session as http2.ServerHttp2Session & { relaySession?: RelaySession }).relaySession = info;
    this.sessions.push(info);
    this.emit('session', info);
  }

  private relay(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
    stream.on('error', () => undefined);
    const session = (stream.session as http2.ServerHttp2Session & { relaySession?: RelaySession }).relaySession!;
    const auth = headers.authorization;
    const bearer = typeof auth === 'string' && auth.startsWith('Bearer ') ? auth.slice(7) : undefined;
    const refused = !session.spiffeId && !(bearer && this.opts.tokens.has(bearer));
    this.streams.push({ session, path: headers[':path'] ?? '', ...(bearer ? { bearer } : {}), headers: { ...headers }, refused });
    this.emit('stream');
    if (refused) {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': UNAUTHENTICATED, 'grpc-message': 'no client certificate or token' }, { endStream: true });
      return;
    }
    this.upstream ??= http2.connect(this.opts.upstream).on('error', () => undefined);
    const out: http2.OutgoingHttpHeaders = {};
    for (const [k, v] of Object.entries(headers)) if (!k.startsWith(':') && k !== 'authorization') out[k] = v;
    const up = this.upstream.request({ ...out, ':method': 'POST', ':path': headers[':path'] });
    up.on('error', () => undefined);
    let trailers: http2.OutgoingHttpHeaders | undefined;
    stream.pipe(up);
    stream.on('wantTrailers', () => stream.sendTrailers(trailers ?? { 'grpc-status': '14' }));
    up.on('response', (h, flags) => {
      const res: http2.OutgoingHttpHeaders = {};
      for (const [k, v] of Object.entries(h)) if (!k.startsWith(':') || k === ':status') res[k] = v;
      if ((flags & http2.constants.NGHTTP2_FLAG_END_STREAM) !== 0) {
        trailers = res;
        stream.respond(res, { endStream: true });
        return;
      }
      stream.respond(res, { waitForTrailers: true });
      up.pipe(stream);
    });
    up.on('trailers', (t: http2.IncomingHttpHeaders) => {
      const kept: http2.OutgoingHttpHeaders = {};
      for (const [k, v] of Object.entries(t)) if (!k.startsWith(':')) kept[k] = v;
      trailers = kept;
    });
    up.on('close', () => {
      if (!trailers && !stream.closed) stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
    });
    stream.on('close', () => {
      if (!up.closed) up.close(http2.constants.NGHTTP2_CANCEL);
    });
  }
}
