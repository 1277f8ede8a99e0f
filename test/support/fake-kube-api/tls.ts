// A throwaway self-signed certificate for the HTTPS variant, valid for 127.0.0.1 and localhost.
// Made with the openssl CLI because Node cannot issue X.509 certificates by itself.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TlsMaterial {
  key: string;
  cert: string;
}

export async function selfSignedCertificate(commonName = 'fake-kube-api'): Promise<TlsMaterial> {
  const dir = await mkdtemp(join(tmpdir(), 'fake-kube-api-tls-'));
  try {
    const keyFile = join(dir, 'tls.key');
    const certFile = join(dir, 'tls.crt');
    try {
      await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
        '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', `/CN=${commonName}`,
        '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost']);
    } catch (err) {
      const reason = (err as NodeJS.ErrnoException).code === 'ENOENT'
        ? 'the openssl CLI is not installed (apt-get install openssl), or pass https: { key, cert }'
        : (err as Error).message;
      throw new Error(`fake-kube-api: cannot create a TLS certificate: ${reason}`);
    }
    return { key: await readFile(keyFile, 'utf8'), cert: await readFile(certFile, 'utf8') };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
