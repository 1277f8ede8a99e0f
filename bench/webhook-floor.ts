// The webhook's floor: a bare HTTPS server with the same certificate, Node flags and load as
// `pilotfish webhook`, that only parses the AdmissionReview and answers `allowed`. What pilotfish
// spends per admission above it is the webhook's own work (routing, guards, injection, patch);
// the rest is Node's TLS and HTTP, which no injector written in Node avoids. Run by webhook-bench.ts.
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { parseArgs } from 'node:util';

/** Bodies above this are refused unread (the webhook's own default limit). */
const MAX_BODY_BYTES = 6 * 1024 * 1024;

function answer(body: string): string {
  const review = JSON.parse(body) as { request?: { uid?: unknown } };
  const uid = typeof review.request?.uid === 'string' ? review.request.uid : '';
  return JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid, allowed: true } });
}

function main(): void {
  const { values } = parseArgs({ options: { cert: { type: 'string' }, key: { type: 'string' }, port: { type: 'string', default: '0' } } });
  if (values.cert === undefined || values.key === undefined) throw new Error('webhook-floor: --cert and --key are required');
  const server = https.createServer({ cert: readFileSync(values.cert), key: readFileSync(values.key) }, (req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) { res.writeHead(413).end(); req.destroy(); return; }
      chunks.push(c);
    });
    req.on('end', () => {
      if (res.headersSent) return;
      let text: string;
      try {
        text = answer(Buffer.concat(chunks).toString());
      } catch {
        res.writeHead(400, { 'content-type': 'text/plain' }).end('not an AdmissionReview');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
    });
  });
  server.listen(Number(values.port), '127.0.0.1', () => {
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    // The line webhook-bench.ts waits for, as `pilotfish webhook` logs it.
    process.stderr.write(`${JSON.stringify({ message: 'webhook listening', port })}\n`);
  });
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}

main();
