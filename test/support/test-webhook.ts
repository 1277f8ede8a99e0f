// The webhook server over real HTTPS in the test's own process, with a CA and certificate files
// made for it, default injector settings and silent logs: what the tests of its limits and
// refusals talk to.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { silentLogger } from '../../src/logging.js';
import { DEFAULT_INJECTOR_CONFIG } from '../../src/webhook/inject.js';
import { InjectionMetrics } from '../../src/webhook/injection-counters.js';
import { TrustWebhookSelectors } from '../../src/webhook/kube.js';
import type { WebhookLimits } from '../../src/webhook/limits.js';
import { startWebhookServer, type WebhookServer } from '../../src/webhook/server.js';
import { createCa, issueServingCert, type KeyPairPem } from '../../src/webhook/tls/certs.js';
import { FileCertificateSource } from '../../src/webhook/tls/source.js';

export interface TestWebhook {
  readonly server: WebhookServer;
  /** The CA the serving certificate chains to (for the clients' `ca`). */
  readonly ca: KeyPairPem;
  close(): Promise<void>;
}

export async function startTestWebhook(name: string, limits: Partial<WebhookLimits>): Promise<TestWebhook> {
  const dir = mkdtempSync(path.join(tmpdir(), `pf-${name}-`));
  const ca = createCa({ commonName: `${name}-ca`, now: new Date(), validityDays: 1 });
  const serving = issueServingCert({ ca, hosts: ['localhost', '127.0.0.1'], now: new Date(), validityDays: 1 });
  writeFileSync(path.join(dir, 'tls.crt'), serving.certPem);
  writeFileSync(path.join(dir, 'tls.key'), serving.keyPem);
  const logger = silentLogger();
  const server = await startWebhookServer({
    host: '127.0.0.1', port: 0, logger, limits,
    certificates: new FileCertificateSource(path.join(dir, 'tls.crt'), path.join(dir, 'tls.key'), logger),
    review: {
      injector: DEFAULT_INJECTOR_CONFIG, policy: { controlPlaneNamespace: 'pilotfish-system' },
      namespaces: new TrustWebhookSelectors(), onError: 'allow', logger, metrics: new InjectionMetrics(),
    },
  });
  return {
    server, ca,
    async close() {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
