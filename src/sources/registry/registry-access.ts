// Who may use the REST registry. With a token configured, every request must carry it as a
// bearer token; without one, only clients on loopback are served (anyone who can reach the port
// could otherwise point any service's traffic at themselves).
import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import { promises as fsp } from 'node:fs';

/** Bound on the token file: a token is a line, not a document. */
const MAX_TOKEN_BYTES = 4096;

type AccessRefusal = { readonly status: 401; readonly reason: string };

export class RegistryAccess {
  private readonly digest: Buffer | undefined;

  /** `token` undefined: loopback clients only. */
  constructor(token?: string) {
    this.digest = token === undefined ? undefined : sha256(token);
  }

  get requiresToken(): boolean {
    return this.digest !== undefined;
  }

  /** undefined when the request may proceed. */
  check(remoteAddress: string | undefined, authorization: string | undefined): AccessRefusal | undefined {
    if (this.digest === undefined) {
      if (isLoopback(remoteAddress)) return undefined;
      return { status: 401, reason: 'the registry serves clients beyond loopback only with a bearer token (start pilotfish with --registry-token-file)' };
    }
    const m = /^Bearer ([^\s]+)$/i.exec(authorization ?? '');
    if (m === null) return { status: 401, reason: 'missing bearer token (Authorization: Bearer <token>)' };
    // Compared as digests: equal length, constant time.
    if (!timingSafeEqual(sha256(m[1] ?? ''), this.digest)) return { status: 401, reason: 'wrong bearer token' };
    return undefined;
  }
}

/** Reads a token file: one non-empty line, surrounding whitespace ignored. */
export async function readTokenFile(file: string): Promise<string> {
  const stat = await fsp.stat(file).catch((err: Error) => { throw new Error(`registry token file ${file}: ${err.message}`); });
  if (stat.size > MAX_TOKEN_BYTES) throw new Error(`registry token file ${file} is ${stat.size} bytes, over the limit of ${MAX_TOKEN_BYTES}`);
  const token = (await fsp.readFile(file, 'utf8')).trim();
  if (token === '' || /\s/.test(token)) throw new Error(`registry token file ${file} must hold one token (non-empty, no whitespace)`);
  return token;
}

function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  const a = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (isIP(a) === 4) return a.startsWith('127.');
  return a === '::1';
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}
