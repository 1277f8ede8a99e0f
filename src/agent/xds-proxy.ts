// The pod's only xDS connection to the control plane. Envoy and proxyless gRPC clients dial a Unix
// socket in the pod with plaintext gRPC (grpc-js-xds 1.14 knows only `insecure` and
// `google_default` channel credentials, so it cannot present a workload certificate itself, and
// Envoy should not hold a bearer token); the agent forwards each of their streams, unchanged, over
// one HTTP/2 TLS session to the control plane, authenticated with the workload certificate (or,
// before the first one exists, with the pod's projected token). Messages are never parsed here:
// the proxy moves DATA frames and relays status, so any discovery service works through it.
import http2 from 'node:http2';
import { silentLogger, type Logger } from '../logging.js';
import { encodeGrpcMessage, GrpcStatus, type GrpcStatusCode } from '../xds/server/grpc/wire.js';
import { prepareSocketPath, restrictSocket } from './unix-socket.js';

/** Only the xDS and SDS services (`/envoy.service.<x>.v3.<Service>/<Method>`) go upstream. */
const ALLOWED_PATH = /^\/envoy\.service\.[A-Za-z0-9_.]+\/[A-Za-z0-9_]+$/;
/** Hop-by-hop or connection-specific headers: HTTP/2 forbids them or they describe this hop only. */
const DROPPED_HEADERS = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'host', 'te',
  // The client's own credential never leaves the pod: the agent authenticates the session itself.
  'authorization',
]);
const END_STREAM = http2.constants.NGHTTP2_FLAG_END_STREAM;

export interface XdsProxyLimits {
  /** Local streams open at once, over all connections; more are refused with RESOURCE_EXHAUSTED. */
  readonly maxStreams: number;
  /** Local connections at once (Envoy and gRPC clients hold one or two each). */
  readonly maxConnections: number;
  /** HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS advertised to each local client. */
  readonly maxStreamsPerConnection: number;
  /**
   * Largest HTTP/2 frame accepted, locally and from upstream (SETTINGS_MAX_FRAME_SIZE): the
   * protocol minimum, which every peer must support. Messages span frames, so this bounds no
   * message; the peers bound those (pilotfish's server 64 MiB per request).
   */
  readonly maxFrameBytes: number;
  /** Largest header block accepted (SETTINGS_MAX_HEADER_LIST_SIZE), locally and from upstream. */
  readonly maxHeaderListBytes: number;
  /**
   * HTTP/2 flow-control window per stream, both sides. With backpressure from the other side
   * this is what one stream can have in flight in the agent in each direction.
   */
  readonly streamWindowBytes: number;
  /** nghttp2's memory cap per session (maxSessionMemory), in MiB. */
  readonly sessionMemoryMiB: number;
  /** How long a new local stream waits for an upstream session before UNAVAILABLE. */
  readonly upstreamWaitMs: number;
  /** How long one connection attempt (TCP, TLS and the server's SETTINGS) may take. */
  readonly connectTimeoutMs: number;
  /**
   * The upstream session is pinged this often, and dropped when a ping is not answered within
   * the same time: a control plane that vanished without closing the connection is noticed, and
   * the local streams end (UNAVAILABLE) instead of waiting for pushes that never come.
   */
  readonly keepaliveMs: number;
}

const DEFAULT_XDS_PROXY_LIMITS: XdsProxyLimits = {
  maxStreams: 256,
  maxConnections: 32,
  maxStreamsPerConnection: 64,
  maxFrameBytes: 16_384,
  maxHeaderListBytes: 16_384,
  streamWindowBytes: 1 << 20,
  sessionMemoryMiB: 32,
  upstreamWaitMs: 10_000,
  connectTimeoutMs: 10_000,
  keepaliveMs: 30_000,
};

export interface ProxyBackoff {
  /** Delay before the second attempt after a failure; doubles per failure. Default 200 ms. */
  readonly initialMs: number;
  /** Longest delay. Default 30 s. */
  readonly maxMs: number;
}

/** The workload certificate the session presents (mutual TLS). */
interface ClientCertificate {
  /** Leaf first. */
  readonly certChainPem: readonly string[];
  readonly privateKeyPem: string;
  readonly serialNumber: string;
  readonly notAfter: Date;
}

interface XdsProxyOptions {
  readonly socketPath: string;
  /** Mode of the socket file; default 0600 (only the agent's UID may connect). */
  readonly socketMode?: number;
  /** https://host:port of the control plane's TLS xDS port (15012). */
  readonly upstreamAddress: string;
  /** Name the control plane's serving certificate must carry when not the host of upstreamAddress. */
  readonly serverName?: string;
  /** The roots that sign the control plane's serving certificate, read for every connection. */
  readonly upstreamRoots: () => Promise<string>;
  /** The projected token, read for every connection; without it the proxy waits for a certificate. */
  readonly token?: () => Promise<string>;
  readonly logger?: Logger;
  readonly limits?: Partial<XdsProxyLimits>;
  readonly backoff?: Partial<ProxyBackoff>;
  readonly random?: () => number;
}

type UpstreamAuth = 'certificate' | 'token';

export interface XdsProxyStatus {
  readonly upstream: 'connected' | 'connecting' | 'idle' | 'stopped';
  readonly auth?: UpstreamAuth;
  /** Serial of the certificate the current session presents. */
  readonly serialNumber?: string;
  readonly localStreams: number;
  /** Sessions still carrying streams after a rotation. */
  readonly drainingSessions: number;
  readonly sessionsOpened: number;
  readonly consecutiveFailures: number;
  readonly lastError?: string;
}

interface Upstream {
  readonly session: http2.ClientHttp2Session;
  readonly auth: UpstreamAuth;
  readonly token?: string;
  readonly serialNumber?: string;
  /** When the certificate the session presented expires (epoch ms). */
  readonly notAfter?: number;
  expiry?: NodeJS.Timeout;
  keepalive?: NodeJS.Timeout;
}

class UpstreamUnavailableError extends Error {}

function grpcTrailers(code: GrpcStatusCode, message: string): http2.OutgoingHttpHeaders {
  return { 'grpc-status': String(code), 'grpc-message': encodeGrpcMessage(message) };
}

function refuse(stream: http2.ServerHttp2Stream, code: GrpcStatusCode, message: string): void {
  if (stream.destroyed || stream.closed) return;
  if (stream.headersSent) {
    stream.close(http2.constants.NGHTTP2_CANCEL);
    return;
  }
  stream.respond({ ':status': 200, 'content-type': 'application/grpc', ...grpcTrailers(code, message) }, { endStream: true });
}

/** Headers as they go on to the other side: no pseudo-headers (but `:status` on responses), nothing hop-by-hop. */
function forwardable(headers: http2.IncomingHttpHeaders, keepStatus: boolean): http2.OutgoingHttpHeaders {
  const out: http2.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || DROPPED_HEADERS.has(name)) continue;
    if (name.startsWith(':') && !(keepStatus && name === ':status')) continue;
    out[name] = value;
  }
  return out;
}

export class XdsProxy {
  private readonly logger: Logger;
  private readonly limits: XdsProxyLimits;
  private readonly backoff: ProxyBackoff;
  private readonly random: () => number;
  private readonly server: http2.Http2Server;
  private readonly localSessions = new Set<http2.ServerHttp2Session>();
  private readonly draining = new Set<Upstream>();
  private certificate: ClientCertificate | undefined;
  private current: Upstream | undefined;
  private connecting: Promise<Upstream> | undefined;
  /** No attempt before this (epoch ms): the backoff after a failure. */
  private notBefore = 0;
  private failures = 0;
  private lastCertificateAttemptFailed = false;
  private lastError: string | undefined;
  private sessionsOpened = 0;
  /** Bumped by every new certificate, to notice one that arrived while a connection was being made. */
  private certificateGeneration = 0;
  private localStreams = 0;
  private stopped = false;
  private readonly sessionListeners = new Set<(info: { auth: UpstreamAuth; serialNumber?: string }) => void>();

  constructor(private readonly opts: XdsProxyOptions) {
    this.logger = (opts.logger ?? silentLogger()).child({ component: 'xds-proxy' });
    this.limits = { ...DEFAULT_XDS_PROXY_LIMITS, ...opts.limits };
    this.backoff = { initialMs: 200, maxMs: 30_000, ...opts.backoff };
    this.random = opts.random ?? Math.random;
    this.server = http2.createServer({
      settings: {
        maxConcurrentStreams: this.limits.maxStreamsPerConnection,
        maxFrameSize: this.limits.maxFrameBytes,
        maxHeaderListSize: this.limits.maxHeaderListBytes,
        initialWindowSize: this.limits.streamWindowBytes,
      },
      maxSessionMemory: this.limits.sessionMemoryMiB,
    });
    this.server.maxConnections = this.limits.maxConnections;
    this.server.on('session', (session) => {
      this.localSessions.add(session);
      session.on('error', (err: Error) => this.logger.debug('local xDS connection error', { error: err.message }));
      session.on('close', () => this.localSessions.delete(session));
    });
    this.server.on('stream', (stream, headers) => this.accept(stream, headers));
  }

  /** Binds the Unix socket. */
  async start(): Promise<void> {
    await prepareSocketPath(this.opts.socketPath);
    await new Promise<void>((resolve, reject) => {
      const failed = (err: Error): void => reject(new Error(`the xDS proxy cannot listen on ${this.opts.socketPath}: ${err.message}`));
      this.server.once('error', failed);
      this.server.listen({ path: this.opts.socketPath }, () => {
        this.server.off('error', failed);
        this.server.on('error', (err) => this.logger.error('xDS proxy socket error', { error: err.message }));
        resolve();
      });
    });
    await restrictSocket(this.opts.socketPath, this.opts.socketMode ?? 0o600);
    this.logger.info('xDS proxy listening', { socket: this.opts.socketPath, upstream: this.opts.upstreamAddress });
  }

  /**
   * A new workload certificate: the next session presents it. The current session stops taking
   * new streams and its streams drain on it (they end when their clients end them, or when the
   * certificate that session presented expires); a new session is opened right away.
   */
  setCertificate(certificate: ClientCertificate): void {
    this.certificate = certificate;
    this.certificateGeneration++;
    this.lastCertificateAttemptFailed = false;
    const old = this.current;
    if (old) {
      this.current = undefined;
      this.retire(old);
    }
    if (!this.stopped && !this.connecting) this.acquire(Date.now() + this.limits.upstreamWaitMs).catch(() => undefined);
  }

  /** Called when a session to the control plane is established (for status and tests). */
  onSession(listener: (info: { auth: UpstreamAuth; serialNumber?: string }) => void): () => void {
    this.sessionListeners.add(listener);
    return () => this.sessionListeners.delete(listener);
  }

  status(): XdsProxyStatus {
    const c = this.current;
    return {
      upstream: this.stopped ? 'stopped' : c ? 'connected' : this.connecting ? 'connecting' : 'idle',
      ...(c ? { auth: c.auth, ...(c.serialNumber ? { serialNumber: c.serialNumber } : {}) } : {}),
      localStreams: this.localStreams,
      drainingSessions: this.draining.size,
      sessionsOpened: this.sessionsOpened,
      consecutiveFailures: this.failures,
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }

  /** Ends every local stream with UNAVAILABLE, closes the sessions and the socket. */
  async close(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const up of [this.current, ...this.draining]) if (up) this.destroy(up);
    this.current = undefined;
    for (const s of this.localSessions) s.destroy();
    await closed;
    this.logger.info('xDS proxy stopped');
  }

  private accept(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
    stream.on('error', (err: Error) => this.logger.debug('local xDS stream error', { error: err.message }));
    const path = headers[':path'] ?? '';
    if (headers[':method'] !== 'POST' || !ALLOWED_PATH.test(path)) {
      // The path is the client's: logged only as far as the allowed shape goes.
      refuse(stream, GrpcStatus.UNIMPLEMENTED, 'the pilotfish agent forwards only xDS services (/envoy.service.*)');
      return;
    }
    if (this.stopped) {
      refuse(stream, GrpcStatus.UNAVAILABLE, 'the pilotfish agent is stopping');
      return;
    }
    if (this.localStreams >= this.limits.maxStreams) {
      this.logger.warn('refusing a local xDS stream: too many open', { limit: this.limits.maxStreams });
      refuse(stream, GrpcStatus.RESOURCE_EXHAUSTED, `the pilotfish agent forwards at most ${this.limits.maxStreams} streams`);
      return;
    }
    this.localStreams++;
    stream.once('close', () => this.localStreams--);
    this.acquire(Date.now() + this.limits.upstreamWaitMs).then(
      (up) => this.forward(stream, headers, path, up),
      (err: Error) => refuse(stream, GrpcStatus.UNAVAILABLE, `the control plane is not reachable: ${err.message}`),
    );
  }

  private forward(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, path: string, up: Upstream): void {
    if (stream.closed || stream.destroyed) return;
    const outgoing: http2.OutgoingHttpHeaders = {
      ...forwardable(headers, false), ':method': 'POST', ':path': path,
      // gRPC requires it; it is the one value HTTP/2 allows.
      te: 'trailers',
      ...(up.token ? { authorization: `Bearer ${up.token}` } : {}),
    };
    let upstream: http2.ClientHttp2Stream;
    try {
      upstream = up.session.request(outgoing, { endStream: false });
    } catch (err) {
      refuse(stream, GrpcStatus.UNAVAILABLE, `the control plane session is closing: ${(err as Error).message}`);
      return;
    }
    let trailers: http2.OutgoingHttpHeaders | undefined;
    let finished = false;
    upstream.on('error', (err: Error) => this.logger.debug('upstream xDS stream error', { error: err.message }));
    stream.pipe(upstream);
    stream.on('wantTrailers', () => {
      stream.sendTrailers(trailers ?? grpcTrailers(GrpcStatus.UNAVAILABLE, 'the control plane ended the stream without a status'));
    });
    upstream.on('response', (responseHeaders, flags) => {
      if (stream.closed || stream.destroyed) return;
      const forwarded = forwardable(responseHeaders, true);
      if ((flags & END_STREAM) !== 0) {
        // Trailers-only: the status is in these headers.
        finished = true;
        stream.respond(forwarded, { endStream: true });
        return;
      }
      stream.respond(forwarded, { waitForTrailers: true });
      upstream.pipe(stream);
    });
    upstream.on('trailers', (t) => {
      finished = true;
      trailers = forwardable(t, false);
    });
    upstream.on('close', () => {
      if (finished || stream.closed || stream.destroyed) return;
      // Reset, or its session went away: the client should reconnect (and will reach a new session).
      trailers = grpcTrailers(GrpcStatus.UNAVAILABLE, 'the connection to the control plane was lost');
      if (!stream.headersSent) {
        refuse(stream, GrpcStatus.UNAVAILABLE, 'the connection to the control plane was lost');
        return;
      }
      upstream.unpipe(stream);
      if (!stream.writableEnded) stream.end();
    });
    stream.on('close', () => {
      // The client went away (or we are done): nothing more to relay either way.
      if (!upstream.closed && !upstream.destroyed) upstream.close(http2.constants.NGHTTP2_CANCEL);
    });
  }

  /** The current session, or one made for the caller; waits through backoff until `deadline`. */
  private async acquire(deadline: number): Promise<Upstream> {
    for (;;) {
      if (this.stopped) throw new UpstreamUnavailableError('the agent is stopping');
      const c = this.current;
      if (c && !c.session.closed && !c.session.destroyed) return c;
      if (!this.connecting) {
        const wait = this.notBefore - Date.now();
        if (wait > 0) {
          if (Date.now() + wait > deadline) throw new UpstreamUnavailableError(this.lastError ?? 'backing off');
          await new Promise<void>((resolve) => setTimeout(resolve, wait).unref());
          continue;
        }
        this.connecting = this.connect().finally(() => {
          this.connecting = undefined;
        });
      }
      try {
        return await this.connecting;
      } catch (err) {
        if (Date.now() >= deadline) throw err;
      }
    }
  }

  private async connect(): Promise<Upstream> {
    try {
      const generation = this.certificateGeneration;
      let up = await this.open();
      if (generation !== this.certificateGeneration && !this.stopped) {
        // A certificate arrived while this connection (with the previous one, or the token) was
        // being made: present the new one rather than keep the old credential on the session.
        this.retire(up);
        up = await this.open();
      }
      this.failures = 0;
      this.notBefore = 0;
      this.lastError = undefined;
      this.current = up;
      this.sessionsOpened++;
      this.logger.info('connected to the control plane', { upstream: this.opts.upstreamAddress, auth: up.auth, serial: up.serialNumber });
      for (const l of this.sessionListeners) l({ auth: up.auth, ...(up.serialNumber ? { serialNumber: up.serialNumber } : {}) });
      return up;
    } catch (err) {
      this.failures++;
      this.lastError = (err as Error).message.slice(0, 300);
      const exp = Math.min(this.backoff.maxMs, this.backoff.initialMs * 2 ** Math.min(this.failures - 1, 30));
      this.notBefore = Date.now() + Math.floor(exp * (0.5 + this.random() * 0.5));
      this.logger.warn('cannot connect to the control plane', {
        upstream: this.opts.upstreamAddress, error: this.lastError, attempt: this.failures,
      });
      throw err;
    }
  }

  private async open(): Promise<Upstream> {
    const roots = await this.opts.upstreamRoots();
    const cert = this.certificate && this.certificate.notAfter.getTime() > Date.now() ? this.certificate : undefined;
    // After a refused certificate, one attempt with the token (when there is one) before trying it again.
    const useCertificate = cert !== undefined && !(this.lastCertificateAttemptFailed && this.opts.token);
    if (!useCertificate) this.lastCertificateAttemptFailed = false;
    const token = useCertificate ? undefined : await this.tokenOrThrow();
    const session = http2.connect(this.opts.upstreamAddress, {
      ca: roots,
      ...(useCertificate ? { cert: cert.certChainPem.join(''), key: cert.privateKeyPem } : {}),
      ...(this.opts.serverName ? { servername: this.opts.serverName } : {}),
      settings: {
        maxFrameSize: this.limits.maxFrameBytes,
        maxHeaderListSize: this.limits.maxHeaderListBytes,
        initialWindowSize: this.limits.streamWindowBytes,
        enablePush: false,
      },
      maxSessionMemory: this.limits.sessionMemoryMiB,
    });
    try {
      await this.established(session);
    } catch (err) {
      if (useCertificate) this.lastCertificateAttemptFailed = true;
      session.destroy();
      throw err;
    }
    if (useCertificate) this.lastCertificateAttemptFailed = false;
    const up: Upstream = {
      session, auth: useCertificate ? 'certificate' : 'token',
      ...(token ? { token } : {}), ...(useCertificate ? { serialNumber: cert.serialNumber, notAfter: cert.notAfter.getTime() } : {}),
    };
    session.on('error', (err: Error) => this.logger.debug('control plane session error', { error: err.message }));
    session.on('goaway', (code: number) => this.goingAway(up, code));
    session.on('close', () => {
      clearInterval(up.keepalive);
      this.lost(up, 'the control plane session closed');
    });
    up.keepalive = setInterval(() => this.ping(up), this.limits.keepaliveMs);
    up.keepalive.unref();
    return up;
  }

  private ping(up: Upstream): void {
    if (up.session.destroyed) return;
    const timer = setTimeout(() => {
      this.logger.warn('the control plane stopped answering pings; dropping the session', { upstream: this.opts.upstreamAddress });
      up.session.destroy();
    }, this.limits.keepaliveMs);
    timer.unref();
    try {
      up.session.ping((err) => {
        clearTimeout(timer);
        if (err && !up.session.destroyed) up.session.destroy();
      });
    } catch {
      clearTimeout(timer);
      up.session.destroy();
    }
  }

  private async tokenOrThrow(): Promise<string> {
    if (!this.opts.token) throw new UpstreamUnavailableError('no workload certificate yet, and no token to authenticate with');
    const token = (await this.opts.token()).trim();
    if (token === '') throw new UpstreamUnavailableError('the service account token file is empty');
    return token;
  }

  /**
   * Resolves once the server's SETTINGS arrive: in TLS 1.3 the server checks our certificate after
   * the client considers the handshake done, so only its first frame proves it accepted us.
   */
  private established(session: http2.ClientHttp2Session): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => done(new Error(`no answer within ${this.limits.connectTimeoutMs} ms`)), this.limits.connectTimeoutMs);
      const onError = (err: Error): void => done(err);
      const onClose = (): void => done(new Error('the connection closed during the handshake'));
      const done = (err?: Error): void => {
        clearTimeout(timer);
        session.off('remoteSettings', onSettings);
        session.off('error', onError);
        session.off('close', onClose);
        if (err) reject(err);
        else resolve();
      };
      const onSettings = (): void => done();
      session.once('remoteSettings', onSettings);
      session.once('error', onError);
      session.once('close', onClose);
    });
  }

  private lost(up: Upstream, reason: string): void {
    if (this.current === up) {
      this.current = undefined;
      if (!this.stopped) this.logger.warn('lost the control plane session', { reason });
    }
    // `closed` only means no new streams (our own close() during a rotation sets it); a draining
    // session leaves the set when it is destroyed.
    if (up.session.destroyed) {
      this.draining.delete(up);
      clearTimeout(up.expiry);
    }
  }

  /**
   * The control plane asked this session to go (GOAWAY: its maximum connection age, or a replica
   * shutting down): the server ends the session's streams shortly, with UNAVAILABLE, and the
   * proxies then open new ones. The next session is opened now, so those streams find it up (and,
   * through the Service, most likely on another replica); this one takes no new stream and
   * keeps its streams until the server ends them.
   */
  private goingAway(up: Upstream, code: number): void {
    if (this.current !== up) return;
    this.current = undefined;
    if (this.stopped) return;
    const graceful = code === http2.constants.NGHTTP2_NO_ERROR;
    this.logger.info('the control plane asked for a new session (GOAWAY)', { upstream: this.opts.upstreamAddress, graceful, streams: this.localStreams });
    if (graceful) this.retire(up);
    if (this.localStreams > 0 && !this.connecting) this.acquire(Date.now() + this.limits.upstreamWaitMs).catch(() => undefined);
  }

  /** Stops new streams on `up`; its streams finish there, or end when its certificate expires. */
  private retire(up: Upstream): void {
    this.draining.add(up);
    up.session.close(() => {
      this.draining.delete(up);
      clearTimeout(up.expiry);
    });
    if (up.notAfter !== undefined) {
      up.expiry = setTimeout(() => this.destroy(up), Math.max(0, up.notAfter - Date.now()));
      up.expiry.unref();
    }
  }

  private destroy(up: Upstream): void {
    clearTimeout(up.expiry);
    this.draining.delete(up);
    if (!up.session.destroyed) up.session.destroy();
  }
}
