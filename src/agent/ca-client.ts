// One certificate request to pilotfish's CA over HTTPS/HTTP2, trusting only the mesh root bundle
// for the server's certificate. A fresh connection per request: renewals are hours apart, and a
// kept-open session would pin one control plane replica.
import { connect, constants } from 'node:http2';

/** The CA's path (src/security/csr/http2-handler.ts serves it; a test keeps the two equal). */
export const CSR_PATH = '/v1/certificate';
/** Bound on the CA's answer (a chain and a bundle of a few certificates are a few KiB). */
const MAX_RESPONSE_BYTES = 256 * 1024;
const DEFAULT_REQUEST_TIMEOUT_MS = 15_000;

export interface CaRequest {
  /** https://host:port of the CA (pilotfish's TLS port). */
  readonly address: string;
  /** PEM of the roots that may sign the CA server's certificate. */
  readonly caBundlePem: string;
  /** Name the server certificate must carry, when not the host of `address`. */
  readonly serverName?: string;
  readonly token: string;
  readonly csrPem: string;
  readonly timeoutMs?: number;
}

export interface CaAnswer {
  readonly status: number;
  /** Parsed JSON, or undefined when the body was not JSON. */
  readonly body: unknown;
}

/** A failure to get any answer (connection, TLS, timeout, oversized or truncated response). */
export class CaUnreachableError extends Error {
  override readonly name = 'CaUnreachableError';
}

export function postCsr(request: CaRequest): Promise<CaAnswer> {
  const url = new URL(request.address);
  if (url.protocol !== 'https:') return Promise.reject(new CaUnreachableError(`the CA address must be https://, not ${url.protocol}`));
  const timeoutMs = request.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  return new Promise<CaAnswer>((resolve, reject) => {
    let settled = false;
    const session = connect(url.origin, {
      ca: request.caBundlePem,
      ...(request.serverName ? { servername: request.serverName } : {}),
    });
    const finish = (err: Error | undefined, answer?: CaAnswer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      session.close();
      if (err) {
        session.destroy();
        reject(err);
      } else if (answer) {
        resolve(answer);
      }
    };
    const timer = setTimeout(() => finish(new CaUnreachableError(`no answer from the CA within ${timeoutMs} ms`)), timeoutMs);
    session.on('error', (err) => finish(new CaUnreachableError(`cannot reach the CA at ${url.origin}: ${err.message}`)));
    const body = JSON.stringify({ csr: request.csrPem });
    const stream = session.request({
      [constants.HTTP2_HEADER_METHOD]: 'POST',
      [constants.HTTP2_HEADER_PATH]: CSR_PATH,
      authorization: `Bearer ${request.token}`,
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
    });
    let status = 0;
    let contentType = '';
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on('response', (headers) => {
      status = Number(headers[constants.HTTP2_HEADER_STATUS]);
      contentType = String(headers['content-type'] ?? '');
    });
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_RESPONSE_BYTES) {
        stream.close(constants.NGHTTP2_CANCEL);
        finish(new CaUnreachableError(`the CA's answer is larger than ${MAX_RESPONSE_BYTES} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    stream.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let parsed: unknown;
      if (contentType.split(';')[0].trim() === 'application/json') {
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = undefined;
        }
      }
      finish(undefined, { status, body: parsed });
    });
    stream.on('error', (err) => finish(new CaUnreachableError(`the certificate request failed: ${err.message}`)));
    // After 'end' this changes nothing; without it (a reset stream) it is the only news.
    stream.on('close', () => finish(new CaUnreachableError(`the CA closed the request without an answer (code ${stream.rstCode})`)));
    stream.end(body);
  });
}
