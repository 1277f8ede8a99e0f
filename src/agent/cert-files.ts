// The files gRPC's file_watcher certificate provider reads (gRFC A29): the chain, the key and the
// roots. Each is written to a temporary file in the same directory, flushed, then renamed over
// the old one, so no reader ever sees a partly written file.
//
// Two files cannot be replaced at one instant, so the order of the renames decides which torn
// state a reader can observe, and how often:
//   1. root-cert.pem first: trust in a new root exists before anything signed under it is
//      presented, and during a rotation the bundle only ever grows before the identity changes.
//   2. cert-chain.pem, then key.pem, back to back with no await between them, so the window
//      in which the directory holds a new certificate beside an old key is microseconds long.
//      grpc-go opens the certificate before the key; grpc-js reads all three files in parallel
//      (Promise.allSettled, on libuv's thread pool), so its opens may come in either order. Either
//      way a reader is torn only if its opens of the two files straddle that window.
// A torn read makes that refresh fail to load (key and certificate do not match): grpc-go keeps its
// previous pair, grpc-js fails handshakes until its next refresh, which reads a consistent pair.
// Only keeping the key across renewals would close the window altogether; a fresh key per
// certificate is the stronger policy, so the window stays.
// Envoy gets its secrets over SDS in one message and never reads these files.
import { randomBytes } from 'node:crypto';
import { renameSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeNewFileDurably } from '../durable-file.js';

const CERT_CHAIN_FILE = 'cert-chain.pem';
const KEY_FILE = 'key.pem';
const ROOT_CERT_FILE = 'root-cert.pem';

interface CertificateFiles {
  readonly certChainPem: string;
  readonly privateKeyPem: string;
  readonly trustBundlePem: string;
}

async function writeTemp(dir: string, name: string, content: string, mode: number): Promise<string> {
  const path = join(dir, `.${name}.${randomBytes(6).toString('hex')}.tmp`);
  await writeNewFileDurably(path, content, mode);
  return path;
}

/** Writes the three files into `dir` (created 0700 when absent); key.pem is 0600. */
export async function writeCertificateFiles(dir: string, files: CertificateFiles): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const temps: string[] = [];
  try {
    const root = await writeTemp(dir, ROOT_CERT_FILE, files.trustBundlePem, 0o644);
    temps.push(root);
    const chain = await writeTemp(dir, CERT_CHAIN_FILE, files.certChainPem, 0o644);
    temps.push(chain);
    const key = await writeTemp(dir, KEY_FILE, files.privateKeyPem, 0o600);
    temps.push(key);
    // Synchronous on purpose: nothing else of this process may run between the renames.
    renameSync(root, join(dir, ROOT_CERT_FILE));
    renameSync(chain, join(dir, CERT_CHAIN_FILE));
    renameSync(key, join(dir, KEY_FILE));
    temps.length = 0;
  } finally {
    for (const t of temps) await rm(t, { force: true });
  }
}
