// The CSR service on HTTP/2 (POST /v1/certificate), as a stream handler to mount on the control
// plane's TLS port next to gRPC, plus a stand-alone TLS server for `serve`-style use and tests.
// The body is read only up to the limit; the whole request must arrive within a deadline.
import {
  constants, createSecureServer, type Http2SecureServer, type IncomingHttpHeaders, type SecureServerOptions,
  type ServerHttp2Stream,
} from 'node:http2';
import type { Logger } from '../../logging.js';
import { MAX_CSR_BODY_BYTES, type CsrResponse, type CsrService } from './csr-service.js';

export const CSR_PATH = '/v1/certificate';
/** A request must be complete within this long, or its stream is cancelled. */
const DEFAULT_CSR_REQUEST_TIMEOUT_MS = 10_000;
/** Sessions of the stand-alone server with no activity for this long are closed. */
const DEFAULT_CSR_IDLE_TIMEOUT_MS = 30_000;
/** After a refusal, this much more of an unread body is drained (so the client can read the answer) before the stream is cancelled. */
const MAX_DRAIN_BYTES = 1024 * 1024;

interface CsrHandlerOptions {
  readonly requestTimeoutMs?: number;
  readonly logger?: Logger;
}

type Http2StreamHandler = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => boolean;

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function respond(stream: ServerHttp2Stream, response: CsrResponse | { status: number; body: unknown }): void {
  if (stream.destroyed || stream.closed) return;
  const text = JSON.stringify(response.body);
  const headers: Record<string, string | number> = {
    ':status': response.status,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  };
  if (response.status === 401) headers['www-authenticate'] = 'Bearer realm="pilotfish"';
  if (response.status === 405) headers.allow = 'POST';
  stream.respond(headers);
  stream.end(text);
}

/** Collects at most `limit` + 1 bytes of the request body. */
function readBody(stream: ServerHttp2Stream, limit: number): Promise<{ body: Buffer; oversize: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        stream.off('data', onData);
        stream.off('end', onEnd);
        resolve({ body: Buffer.alloc(0), oversize: true });
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => resolve({ body: Buffer.concat(chunks), oversize: false });
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('error', reject);
    // Reset by the client or cancelled by the deadline: nothing to answer.
    stream.once('close', () => reject(new Error('the stream closed before the request was complete')));
  });
}

// Reads and discards what the client still sends, so it receives the answer instead of a reset,
// up to a bound past which the stream is cancelled.
function drain(stream: ServerHttp2Stream): void {
  if (stream.readableEnded) return;
  let drained = 0;
  stream.on('data', (chunk: Buffer) => {
    drained += chunk.length;
    if (drained > MAX_DRAIN_BYTES) stream.close(constants.NGHTTP2_CANCEL);
  });
  stream.resume();
}

/** A stream handler for CSR_PATH; returns false (and does nothing) for any other path. */
export function csrStreamHandler(service: CsrService, options: CsrHandlerOptions = {}): Http2StreamHandler {
  const timeoutMs = options.requestTimeoutMs ?? DEFAULT_CSR_REQUEST_TIMEOUT_MS;
  return (stream, headers) => {
    if (header(headers, ':path')?.split('?')[0] !== CSR_PATH) return false;
    stream.setTimeout(timeoutMs, () => stream.close(constants.NGHTTP2_CANCEL));
    stream.on('error', (err) => options.logger?.debug('certificate request stream error', { error: err.message }));
    const common = {
      method: header(headers, ':method'),
      authorization: header(headers, 'authorization'),
      contentType: header(headers, 'content-type'),
    };
    const declared = Number(header(headers, 'content-length') ?? NaN);
    void (async () => {
      let response: CsrResponse;
      if (Number.isFinite(declared) && declared > MAX_CSR_BODY_BYTES) {
        response = await service.handle({ ...common, body: '', oversize: true });
      } else {
        const { body, oversize } = await readBody(stream, MAX_CSR_BODY_BYTES);
        response = await service.handle({ ...common, body, oversize });
      }
      drain(stream);
      respond(stream, response);
    })().catch((err: unknown) => {
      options.logger?.debug('certificate request aborted', { error: (err as Error).message });
      if (!stream.destroyed) stream.close(constants.NGHTTP2_INTERNAL_ERROR);
    });
    return true;
  };
}

interface CsrServerOptions extends CsrHandlerOptions {
  /** TLS key and certificate (PEM) of the server, e.g. from MeshCa.issueServingCertificate(). */
  readonly key: string;
  readonly cert: string | readonly string[];
  /** Further node:http2 options (limits such as peerMaxConcurrentStreams, maxSessionMemory). */
  readonly http2?: SecureServerOptions;
  readonly idleTimeoutMs?: number;
}

/** A TLS HTTP/2 server answering CSR_PATH and 404 elsewhere (not listening yet). */
export function createCsrServer(service: CsrService, options: CsrServerOptions): Http2SecureServer {
  const handler = csrStreamHandler(service, options);
  const cert = typeof options.cert === 'string' ? options.cert : options.cert.join('');
  const server = createSecureServer({
    settings: { maxConcurrentStreams: 100 },
    ...options.http2,
    key: options.key,
    cert,
    allowHTTP1: false,
  });
  server.on('stream', (stream, headers) => {
    if (handler(stream, headers)) return;
    drain(stream);
    respond(stream, { status: 404, body: { error: 'not found', reason: 'not_found' } });
  });
  // Without a listener, node:http2 destroys a session that stays idle this long.
  server.setTimeout(options.idleTimeoutMs ?? DEFAULT_CSR_IDLE_TIMEOUT_MS);
  // A bad handshake or a reset session is the peer's problem; never the process's.
  server.on('sessionError', (err) => options.logger?.debug('certificate server session error', { error: err.message }));
  server.on('tlsClientError', (err) => options.logger?.debug('certificate server TLS error', { error: err.message }));
  return server;
}
