// A small gRPC server on node:http2 for the discovery services: bidirectional streams of
// protobuf messages, without the per-message machinery of a general gRPC server. Why not
// grpc-js: it copies every outgoing message into a newly framed buffer, and an xDS push sends the
// same few hundred kilobytes to thousands of streams; here the shared bytes are written as they
// are (see grpc-call.ts). grpc-js stays what the tests connect with, so the protocol is checked
// against a real gRPC implementation.
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { PeerCredentials } from '../../peer.js';
import { splitHostPort } from '../../../host-port.js';
import type { Logger } from '../../../logging.js';
import { BlockPool } from './block-pool.js';
import { BudgetCharge, ByteBudget } from './byte-budget.js';
import { GrpcCall } from './call.js';
import { connectionAge, DEFAULT_CONNECTION_AGE_GRACE_MS, type ConnectionAgeOptions } from './connection-age.js';
import { DRAIN_TICK_MS, drainBatchSize } from './drain-schedule.js';
import {
  encodeGrpcMessage, GrpcStatus, isAcceptedEncoding, MessageReader, ACCEPTED_ENCODINGS, type GrpcStatusCode,
  type TransportLimit,
} from './wire.js';

export interface GrpcServerOptions {
  /** Ping every connection this often; one that does not answer is closed (proxies that vanished). */
  readonly keepaliveTimeMs: number;
  readonly keepaliveTimeoutMs: number;
  /**
   * Largest request message accepted, after inflating for compressed ones (a SotW EDS request
   * restates every name it wants: ~60 bytes per service, 3 MiB for 50,000 services).
   */
  readonly maxReceiveMessageBytes: number;
  /**
   * Bytes of unfinished incoming messages one connection may hold, over all its streams (and
   * compressed messages' output while being inflated). At least maxReceiveMessageBytes, so one
   * largest message always fits. The stream whose bytes pass it is ended with RESOURCE_EXHAUSTED.
   */
  readonly maxConnectionBufferedBytes: number;
  /** The same over every connection of the server; the stream whose bytes pass it is ended the same way. */
  readonly maxProcessBufferedBytes: number;
  /**
   * HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS: streams one connection may have open at once (a
   * proxy needs one ADS stream; clients queue further streams until one ends). A stream past it
   * from a client that ignores the setting is refused (RST_STREAM REFUSED_STREAM).
   */
  readonly maxConcurrentStreams: number;
  /** A maximum age per connection (off when absent): see ConnectionAgeOptions. */
  readonly connectionAge?: ConnectionAgeOptions;
}

/** The TLS port's credentials (PEM). `ca` holds the roots client certificates must chain to. */
export interface GrpcTlsCredentials {
  readonly key: string;
  readonly cert: string;
  readonly ca: string;
}

/**
 * Answers a stream itself (true) or leaves it to gRPC dispatch (false): another service on the
 * same port (the CSR endpoint), asked before anything gRPC-specific is checked.
 */
export type StreamHandler = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => boolean;

interface GrpcTransport {
  /** Serve TLS with these credentials instead of plaintext. */
  readonly tls?: GrpcTlsCredentials;
  readonly streamHandlers?: readonly StreamHandler[];
}

export const DEFAULT_GRPC_SERVER_OPTIONS: GrpcServerOptions = {
  keepaliveTimeMs: 30_000,
  // gRPC's default: a proxy busy applying a large push may answer a ping late.
  keepaliveTimeoutMs: 20_000,
  maxReceiveMessageBytes: 16 << 20,
  maxConnectionBufferedBytes: 32 << 20,
  maxProcessBufferedBytes: 128 << 20,
  maxConcurrentStreams: 100,
};

type CallHandler = (call: GrpcCall) => void;

/** Why the server let a connection go (GOAWAY, then its calls ended with UNAVAILABLE). */
type RetireReason = 'maxAge' | 'shutdown';

const RETIRE_MESSAGES: Record<RetireReason, string> = {
  maxAge: 'pilotfish xDS connection reached its maximum age; reconnect',
  shutdown: 'pilotfish xDS server is shutting down',
};

/**
 * After its calls were ended, how long a retired connection may stay open before it is cut: a
 * client reading the status ends its streams at once; one that does not is not waited for.
 */
const RETIRED_CUT_MS = 10_000;

interface Connection {
  readonly budget: ByteBudget;
  streams: number;
  /** gRPC calls open on the connection, ended when it is retired. */
  readonly calls: Set<GrpcCall>;
  retired: boolean;
}

function peerOf(session: http2.Http2Session | undefined): string {
  const s = session?.socket;
  if (!s?.remoteAddress) return 'unknown';
  return s.remoteFamily === 'IPv6' ? `[${s.remoteAddress}]:${s.remotePort}` : `${s.remoteAddress}:${s.remotePort}`;
}

/** What a stream on the TLS port presented: the verified certificate of its connection, its authorization header. */
function credentialsOf(session: http2.Http2Session | undefined, headers: http2.IncomingHttpHeaders): PeerCredentials {
  const socket = session?.socket as TLSSocket | undefined;
  const certificate = socket?.authorized ? socket.getPeerX509Certificate() : undefined;
  const auth = headers.authorization;
  return { ...(certificate ? { certificate } : {}), ...(typeof auth === 'string' ? { authorization: auth } : {}) };
}

function bytesRead(session: http2.Http2Session): number {
  return session.socket?.bytesRead ?? 0;
}

function refuse(stream: http2.ServerHttp2Stream, code: GrpcStatusCode, message: string, extra: http2.OutgoingHttpHeaders = {}): void {
  stream.respond({
    ':status': 200, 'content-type': 'application/grpc', ...extra,
    'grpc-status': String(code), 'grpc-message': encodeGrpcMessage(message),
  }, { endStream: true });
}

export class GrpcServer {
  private readonly server: http2.Http2Server | http2.Http2SecureServer;
  private readonly secure: http2.Http2SecureServer | undefined;
  private readonly handlers = new Map<string, CallHandler>();
  private readonly sessions = new Map<http2.ServerHttp2Session, Connection>();
  private readonly processBudget: ByteBudget;
  /** 1 MiB: a real compressed request fits in one; larger blocks only waste a bomb's budget share. */
  private readonly blocks: BlockPool;
  /**
   * Where unfinished messages larger than one block are collected (see MessageReader). 64 KiB:
   * a message is charged by the block, so a small block keeps a large SotW ACK (a few hundred
   * KiB) cheap while it arrives, when every proxy sends one at once after a push.
   */
  private readonly messageBlocks: BlockPool;

  /**
   * @param onLimit told each time a limit refuses something
   * @param onAbandoned told of bytes let go because their stream was cut off (see MemoryReclaimer)
   */
  constructor(private readonly logger: Logger, private readonly opts: GrpcServerOptions = DEFAULT_GRPC_SERVER_OPTIONS,
    private readonly onLimit: (limit: TransportLimit) => void = () => undefined,
    onAbandoned: (bytes: number) => void = () => undefined, private readonly transport: GrpcTransport = {}) {
    if (opts.maxConnectionBufferedBytes < opts.maxReceiveMessageBytes || opts.maxProcessBufferedBytes < opts.maxConnectionBufferedBytes) {
      throw new Error('xDS server limits: need maxReceiveMessageBytes <= maxConnectionBufferedBytes <= maxProcessBufferedBytes');
    }
    this.processBudget = new ByteBudget(opts.maxProcessBufferedBytes, 'process', undefined, onAbandoned);
    this.blocks = new BlockPool(1 << 20, 2_000, onAbandoned);
    this.messageBlocks = new BlockPool(64 << 10, 2_000, onAbandoned);
    // A SotW ACK restates every subscribed name (tens of kilobytes): let it arrive in one go.
    const settings = { initialWindowSize: 1 << 20, maxConcurrentStreams: opts.maxConcurrentStreams };
    if (transport.tls) {
      const { key, cert, ca } = transport.tls;
      // The certificate is asked for but not required at the TLS layer: a pod agent without its
      // first certificate authenticates with a token on the stream instead. A certificate that
      // does not verify is a different matter (see cutUntrusted).
      this.secure = http2.createSecureServer({ key, cert, ca, requestCert: true, rejectUnauthorized: false, allowHTTP1: false, settings });
      this.secure.prependListener('secureConnection', (socket: TLSSocket) => this.cutUntrusted(socket));
      this.secure.on('tlsClientError', (err) => this.logger.debug('xDS TLS handshake failed', { error: err.message }));
      this.server = this.secure;
    } else {
      this.server = http2.createServer({ settings });
    }
    this.server.on('session', (session) => this.track(session));
    this.server.on('stream', (stream, headers) => this.route(stream, headers));
    this.server.on('sessionError', (err) => this.logger.debug('xDS connection error', { error: err.message }));
  }

  /**
   * A client presenting a certificate that does not verify against the bundle is cut before any
   * stream: it is not treated as anonymous (the agent takes the cut as the sign to fall back to
   * its token, and an attacker learns nothing from a gRPC status).
   */
  private cutUntrusted(socket: TLSSocket): void {
    if (socket.authorized) return;
    const peer = socket.getPeerCertificate();
    if (peer && Object.keys(peer).length > 0) {
      this.logger.info('cut an xDS connection whose client certificate does not verify', {
        peer: `${socket.remoteAddress ?? 'unknown'}:${socket.remotePort ?? 0}`, reason: String(socket.authorizationError),
      });
      socket.destroy();
    }
  }

  /** Serves new connections with new credentials (a renewed serving certificate); open ones are kept. */
  setTlsCredentials(credentials: GrpcTlsCredentials): void {
    if (!this.secure) throw new Error('this xDS server is not serving TLS');
    this.secure.setSecureContext({ key: credentials.key, cert: credentials.cert, ca: credentials.ca });
  }

  handle(path: string, handler: CallHandler): void {
    this.handlers.set(path, handler);
  }

  listen(address: string): Promise<number> {
    let host: string;
    let port: number;
    try {
      ({ host, port } = splitHostPort(address));
    } catch (err) {
      return Promise.reject(new Error(`xDS server cannot listen on ${address}: ${(err as Error).message}`));
    }
    // After a control-plane restart every proxy reconnects at once: a short accept queue
    // overflows while the first ones are being served, and the kernel drops or resets the rest.
    return this.listenOn({ port, host, backlog: 4096 }, address).then(() => (this.server.address() as AddressInfo).port);
  }

  /** Listens on a Unix socket (the pod-side agent's SDS server); the caller owns the path's permissions. */
  listenPath(socketPath: string): Promise<void> {
    return this.listenOn({ path: socketPath }, socketPath);
  }

  private listenOn(options: { port?: number; host?: string; backlog?: number; path?: string }, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const failed = (err: Error): void => reject(new Error(`xDS server cannot listen on ${what}: ${err.message}`));
      this.server.once('error', failed);
      this.server.listen(options, () => {
        this.server.off('error', failed);
        this.server.on('error', (err) => this.logger.error('xDS server socket error', { error: err.message }));
        resolve();
      });
    });
  }

  /**
   * Stops accepting connections and lets the open ones go: each gets a GOAWAY and its calls end
   * with UNAVAILABLE (clients reconnect, to another replica), in batches spread over
   * `drainWindowMs` (see drain-schedule.ts). Resolves when every connection is closed, or
   * `graceMs` after the last batch by cutting the rest.
   */
  close(graceMs: number, onTimeout: () => void, drainWindowMs = 0): Promise<void> {
    return new Promise((resolve) => {
      let done = false;
      let tick: NodeJS.Timeout | undefined;
      const finish = (): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        clearTimeout(tick);
        resolve();
      };
      const queue = [...this.sessions.keys()];
      const batch = drainBatchSize(queue.length, drainWindowMs);
      const batches = Math.ceil(queue.length / batch);
      const timer = setTimeout(() => {
        onTimeout();
        for (const s of this.sessions.keys()) s.destroy();
        finish();
      }, Math.max(0, batches - 1) * DRAIN_TICK_MS + graceMs);
      this.server.close(() => finish());
      const next = (): void => {
        for (const s of queue.splice(0, batch)) this.retire(s, 'shutdown', 0);
        if (queue.length > 0) tick = setTimeout(next, DRAIN_TICK_MS);
      };
      next();
    });
  }

  /**
   * Lets one connection go: GOAWAY now (the client opens no new stream on it), and after
   * `graceMs` its calls end with UNAVAILABLE, the status xDS clients reconnect on. The
   * connection closes when its last stream has; one still open RETIRED_CUT_MS later is cut.
   */
  private retire(session: http2.ServerHttp2Session, reason: RetireReason, graceMs: number): void {
    const conn = this.sessions.get(session);
    if (!conn || conn.retired || session.destroyed) return;
    conn.retired = true;
    this.logger.debug('letting an xDS connection go', { peer: peerOf(session), reason, calls: conn.calls.size });
    try {
      session.close();
    } catch {
      session.destroy();
      return;
    }
    const end = (): void => {
      for (const call of [...conn.calls]) call.finish(GrpcStatus.UNAVAILABLE, RETIRE_MESSAGES[reason]);
      const cut = setTimeout(() => session.destroy(), RETIRED_CUT_MS);
      cut.unref();
      session.once('close', () => clearTimeout(cut));
    };
    if (graceMs <= 0) {
      end();
      return;
    }
    const grace = setTimeout(end, graceMs);
    grace.unref();
    session.once('close', () => clearTimeout(grace));
  }

  get connections(): number {
    return this.sessions.size;
  }

  private track(session: http2.ServerHttp2Session): void {
    this.sessions.set(session, {
      budget: new ByteBudget(this.opts.maxConnectionBufferedBytes, 'connection', this.processBudget), streams: 0, calls: new Set(), retired: false,
    });
    const ageOptions = this.opts.connectionAge ?? {};
    const age = connectionAge(ageOptions, Math.random);
    const expiry = age === undefined ? undefined
      : setTimeout(() => this.retire(session, 'maxAge', ageOptions.graceMs ?? DEFAULT_CONNECTION_AGE_GRACE_MS), age);
    expiry?.unref();
    // Only a quiet connection is pinged, and only silence condemns it: a proxy busy reading a
    // large push (its ACKs still coming) may answer a ping late, and must not be cut off for it.
    let seen = bytesRead(session);
    let timeout: NodeJS.Timeout | undefined;
    const check = setInterval(() => {
      if (timeout || session.destroyed) return;
      const now = bytesRead(session);
      if (now !== seen) {
        seen = now;
        return;
      }
      timeout = setTimeout(() => {
        timeout = undefined;
        if (bytesRead(session) !== seen) return;
        this.logger.info('closing an xDS connection that stopped answering pings', { peer: peerOf(session) });
        session.destroy();
      }, this.opts.keepaliveTimeoutMs);
      try {
        session.ping((err) => {
          clearTimeout(timeout);
          timeout = undefined;
          seen = bytesRead(session);
          if (err && !session.destroyed) session.destroy();
        });
      } catch {
        session.destroy();
      }
    }, this.opts.keepaliveTimeMs);
    check.unref();
    session.on('error', (err: Error) => this.logger.debug('xDS connection error', { peer: peerOf(session), error: err.message }));
    session.on('close', () => {
      clearTimeout(expiry);
      clearInterval(check);
      clearTimeout(timeout);
      this.sessions.delete(session);
    });
  }

  /** Bytes of unfinished incoming messages held now, over every connection. */
  get bufferedBytes(): number {
    return this.processBudget.used;
  }

  private route(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
    stream.on('error', () => { /* reported by the call, or nothing to report for a refused one */ });
    const conn = this.sessions.get(stream.session as http2.ServerHttp2Session);
    if (!conn) {
      stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
      return;
    }
    conn.streams++;
    stream.once('close', () => { conn.streams--; });
    if (conn.streams >= this.opts.maxConcurrentStreams) this.onLimit('concurrentStreams');
    if (conn.streams > this.opts.maxConcurrentStreams) {
      // The client ignored the setting: refused before anything is read, so it may retry.
      stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
      return;
    }
    for (const h of this.transport.streamHandlers ?? []) if (h(stream, headers)) return;
    const path = headers[':path'] ?? '';
    if (headers[':method'] !== 'POST') {
      stream.respond({ ':status': 405, allow: 'POST' }, { endStream: true });
      return;
    }
    const contentType = String(headers['content-type'] ?? '');
    if (!contentType.startsWith('application/grpc')) {
      stream.respond({ ':status': 415 }, { endStream: true });
      return;
    }
    const encoding = String(headers['grpc-encoding'] ?? 'identity');
    if (!isAcceptedEncoding(encoding)) {
      refuse(stream, GrpcStatus.UNIMPLEMENTED, `request encoding ${encoding} is not supported (${ACCEPTED_ENCODINGS.join(', ')})`);
      return;
    }
    const handler = this.handlers.get(path);
    if (!handler) {
      refuse(stream, GrpcStatus.UNIMPLEMENTED, `unknown method ${path}`);
      return;
    }
    const max = this.opts.maxReceiveMessageBytes;
    const call = new GrpcCall(stream, path, peerOf(stream.session), {
      reader: new MessageReader(max, encoding, new BudgetCharge(conn.budget), this.messageBlocks),
      budget: conn.budget, blocks: this.blocks, maxMessageBytes: max, encoding, onLimit: this.onLimit,
    }, this.secure ? credentialsOf(stream.session, headers) : undefined);
    conn.calls.add(call);
    stream.once('close', () => conn.calls.delete(call));
    handler(call);
  }
}
