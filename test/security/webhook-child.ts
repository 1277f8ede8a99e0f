// The webhook in a process of its own, so a test can attack it and read its RSS. Started by
// webhook-slow-clients.test.ts with fork(); argv[2] is JSON { certFile, keyFile, limits }.
// Messages: it sends { type: 'ready', port } once listening; it answers { type: 'stats' } with
// { type: 'stats', rss, peakRss, hits, inflightBodyBytes } (peakRss since the last { type: 'stats', resetPeak: true }).
import { silentLogger } from '../../src/logging.js';
import { DEFAULT_INJECTOR_CONFIG } from '../../src/webhook/inject.js';
import { InjectionMetrics } from '../../src/webhook/injection-counters.js';
import { TrustWebhookSelectors } from '../../src/webhook/kube.js';
import { LIMIT_HITS } from '../../src/webhook/limit-counters.js';
import type { WebhookLimits } from '../../src/webhook/limits.js';
import { startWebhookServer } from '../../src/webhook/server.js';
import { FileCertificateSource } from '../../src/webhook/tls/source.js';

interface ChildConfig { certFile: string; keyFile: string; limits: Partial<WebhookLimits> }

export interface ChildStats {
  type: 'stats';
  rss: number;
  peakRss: number;
  hits: Record<string, number>;
  inflightBodyBytes: number;
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2]) as ChildConfig;
  const logger = silentLogger();
  const server = await startWebhookServer({
    host: '127.0.0.1', port: 0, logger, limits: config.limits,
    certificates: new FileCertificateSource(config.certFile, config.keyFile, logger),
    review: {
      injector: DEFAULT_INJECTOR_CONFIG, policy: { controlPlaneNamespace: 'pilotfish-system' },
      namespaces: new TrustWebhookSelectors(), onError: 'allow', logger, metrics: new InjectionMetrics(),
    },
  });
  // Sampled, because RSS peaks while the attack runs, not when the test asks.
  let peak = process.memoryUsage.rss();
  const sampler = setInterval(() => { peak = Math.max(peak, process.memoryUsage.rss()); }, 10);
  process.on('message', (m: { type?: string; resetPeak?: boolean }) => {
    if (m.type === 'stats') {
      const rss = process.memoryUsage.rss();
      const hits = Object.fromEntries(LIMIT_HITS.map((l) => [l, server.limitHits.get(l)]));
      const stats: ChildStats = { type: 'stats', rss, peakRss: Math.max(peak, rss), hits, inflightBodyBytes: server.inflightBodyBytes() };
      if (m.resetPeak) peak = rss;
      process.send?.(stats);
    } else if (m.type === 'stop') {
      clearInterval(sampler);
      void server.close().then(() => process.exit(0));
    }
  });
  process.send?.({ type: 'ready', port: server.port });
}

main().catch((err: unknown) => {
  process.stderr.write(`webhook child failed: ${String(err)}\n`);
  process.exit(1);
});
