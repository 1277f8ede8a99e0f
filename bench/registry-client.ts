// The registry burst's clients (registry-burst.ts runs this in its own process, so the clients'
// CPU never delays the /healthz sampler): `node registry-client.js HTTP_ADDRESS COUNT CLIENTS`
// registers COUNT endpoints into one service over CLIENTS keep-alive connections, each client
// sending its next registration when the previous is answered, and prints one JSON line.
import http from 'node:http';

export interface ClientReport {
  readonly registrations: number;
  readonly clients: number;
  readonly totalMs: number;
  /** Answers other than 201 Created (each is also an error line on stderr). */
  readonly failures: number;
}

function post(agent: http.Agent, address: string, body: string): Promise<number> {
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
  return new Promise((resolve, reject) => {
    const req = http.request({ agent, host, port, method: 'POST', path: '/registry/endpoints', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        if (res.statusCode !== 201) process.stderr.write(`registration refused: ${res.statusCode} ${Buffer.concat(chunks).toString().slice(0, 300)}\n`);
        resolve(res.statusCode ?? 0);
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function main(): Promise<void> {
  const [address, countArg, clientsArg] = process.argv.slice(2);
  const count = Number(countArg);
  const clients = Number(clientsArg);
  if (address === undefined || !Number.isInteger(count) || !Number.isInteger(clients) || clients < 1) {
    throw new Error('usage: registry-client.js HTTP_ADDRESS COUNT CLIENTS');
  }
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
  let failures = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: clients }, async (_, c) => {
    for (let i = c; i < count; i += clients) {
      const body = JSON.stringify({ address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, port: 8080, service: 'burst' });
      if (await post(agent, address, body) !== 201) failures++;
    }
  }));
  const report: ClientReport = { registrations: count, clients, totalMs: performance.now() - started, failures };
  agent.destroy();
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`registry client failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
