// A real HTTPS client for the webhook tests: trusts exactly the CA it is given.
import https from 'node:https';

export interface HttpResult { status: number; body: string; json: unknown }

export function request(port: number, ca: string, method: string, path: string, body?: string | Buffer,
  contentType = 'application/json'): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: '127.0.0.1', port, method, path, ca, servername: 'localhost',
      // A new connection each time, so a rotated certificate is what the handshake sees.
      agent: false,
      headers: body !== undefined ? { 'content-type': contentType, 'content-length': Buffer.byteLength(body) } : {},
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, body: text, json });
      });
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

export function review(object: unknown, opts: { uid?: string; kind?: string; group?: string; operation?: string; namespace?: string } = {}): string {
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: opts.uid ?? 'uid-1',
      kind: { group: opts.group ?? '', version: 'v1', kind: opts.kind ?? 'Pod' },
      resource: { group: opts.group ?? '', version: 'v1', resource: `${(opts.kind ?? 'Pod').toLowerCase()}s` },
      namespace: opts.namespace ?? 'shop',
      operation: opts.operation ?? 'CREATE',
      object,
    },
  });
}
