// Every Prometheus metric pilotfish exports, on one registry per process (not prom-client's
// global one, so tests and embedded uses can run several side by side). Components that count
// things get this object (or the narrow slice they need) passed in; /metrics renders it.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { registerProcessMetrics } from './process-metrics.js';
import { CSR_REFUSAL_REASONS, type CsrCounters, type CsrRefusalReason } from '../security/csr/refusals.js';

/** Convergence and debounce times span a few ms (one proxy, quiet mesh) to the 10 s debounce cap. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30];
/** Generation of one snapshot: sub-millisecond for a small mesh, seconds for a very large one. */
const PUSH_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
/** An admission request must answer well within the API server's webhook timeout (10 s default). */
const WEBHOOK_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

interface MetricsOptions {
  /** Node.js process metrics (CPU, memory, open descriptors, event loop lag, GC); default true. */
  readonly processMetrics?: boolean;
}

/** The slice the admission webhook needs. */
interface WebhookMetrics {
  /** result: `injected` | `skipped` | `error` (low cardinality, never free text). */
  readonly webhookInjections: Counter<'result'>;
  /** Seconds from receiving an AdmissionReview to answering it, by the same result. */
  readonly webhookLatency: Histogram<'result'>;
}

/** The slice Kubernetes informers need. */
interface InformerMetrics {
  /** kind: the resource (`Service`, `EndpointSlice`, ...); event: `add` | `update` | `delete`. */
  readonly informerEvents: Counter<'kind' | 'event'>;
  /** A full list, initial or after a watch expired (410) or failed. */
  readonly informerRelists: Counter<'kind'>;
}

export class PilotfishMetrics implements WebhookMetrics, InformerMetrics {
  readonly registry = new Registry();

  readonly connectedProxies = new Gauge<'kind'>({
    name: 'pilotfish_xds_connected_proxies',
    help: 'Proxies with at least one open xDS stream, by kind (sidecar, grpc).',
    labelNames: ['kind'], registers: [this.registry],
  });
  readonly pushes = new Counter<'type' | 'reason'>({
    name: 'pilotfish_xds_pushes_total',
    help: 'xDS responses sent, by type (CDS, EDS, LDS, RDS) and reason (config, endpoints, or request for answers to a proxy request).',
    labelNames: ['type', 'reason'], registers: [this.registry],
  });
  readonly pushTime = new Histogram<'trigger'>({
    name: 'pilotfish_xds_push_time_seconds',
    help: 'Time to turn one snapshot into per-proxy resources and hand them to every stream, by trigger (config, endpoints).',
    labelNames: ['trigger'], buckets: PUSH_BUCKETS, registers: [this.registry],
  });
  readonly convergence = new Histogram<'type'>({
    name: 'pilotfish_proxy_convergence_time_seconds',
    help: 'From the first source change a snapshot covers to a proxy ACKing the response it caused, per proxy and type (EDS included).',
    labelNames: ['type'], buckets: LATENCY_BUCKETS, registers: [this.registry],
  });
  readonly debounceTime = new Histogram({
    name: 'pilotfish_debounce_time_seconds',
    help: 'From the first source change to the snapshot that covers it being published.',
    buckets: LATENCY_BUCKETS, registers: [this.registry],
  });
  readonly nacks = new Counter<'type'>({
    name: 'pilotfish_xds_nacks_total',
    help: 'xDS responses a proxy rejected, by type.',
    labelNames: ['type'], registers: [this.registry],
  });
  readonly sentBytes = new Counter<'type'>({
    name: 'pilotfish_xds_sent_bytes_total',
    help: 'Bytes of xDS responses written to streams, by type.',
    labelNames: ['type'], registers: [this.registry],
  });
  readonly xdsLimitHits = new Counter<'limit'>({
    name: 'pilotfish_xds_limit_hits_total',
    help: 'Times an xDS resource limit refused a client (README "Limits"), by limit.',
    labelNames: ['limit'], registers: [this.registry],
  });
  readonly debugRefused = new Counter<'reason'>({
    name: 'pilotfish_debug_requests_refused_total',
    help: 'Requests to /debug/* refused, by reason (no_token, malformed, unauthenticated, forbidden, no_cluster, review_failed).',
    labelNames: ['reason'], registers: [this.registry],
  });
  readonly certificatesIssued = new Counter({
    name: 'pilotfish_certificates_issued_total',
    help: 'Workload certificates the CSR endpoint issued.',
    registers: [this.registry],
  });
  readonly certificateRequestsRefused = new Counter<'reason'>({
    name: 'pilotfish_certificate_requests_refused_total',
    help: 'Certificate signing requests refused, by reason (src/security/README.md: missing_token, token_expired, token_wrong_audience, identity_mismatch_namespace, ...).',
    labelNames: ['reason'], registers: [this.registry],
  });
  readonly resourcesEncoded = new Counter({
    name: 'pilotfish_xds_resources_encoded_total',
    help: 'Resources serialized to protobuf (encoder cache misses).',
    registers: [this.registry],
  });
  readonly resourcesReused = new Counter({
    name: 'pilotfish_xds_resources_reused_total',
    help: 'Resources whose cached encoding was reused (encoder cache hits).',
    registers: [this.registry],
  });
  readonly webhookInjections = new Counter<'result'>({
    name: 'pilotfish_webhook_injections_total',
    help: 'Pod admission requests handled by the injection webhook, by result (injected, skipped, error).',
    labelNames: ['result'], registers: [this.registry],
  });
  readonly webhookLatency = new Histogram<'result'>({
    name: 'pilotfish_webhook_injection_duration_seconds',
    help: 'Time to answer one admission request, by result.',
    labelNames: ['result'], buckets: WEBHOOK_BUCKETS, registers: [this.registry],
  });
  readonly informerEvents = new Counter<'kind' | 'event'>({
    name: 'pilotfish_informer_events_total',
    help: 'Kubernetes watch events received, by resource kind and event (add, update, delete).',
    labelNames: ['kind', 'event'], registers: [this.registry],
  });
  readonly informerRelists = new Counter<'kind'>({
    name: 'pilotfish_informer_relists_total',
    help: 'Full lists of a Kubernetes resource kind (the initial one and every re-list after a lost watch).',
    labelNames: ['kind'], registers: [this.registry],
  });

  private readonly scrapeHooks: (() => void)[] = [];

  constructor(options: MetricsOptions = {}) {
    if (options.processMetrics ?? true) registerProcessMetrics(this.registry);
  }

  /** Runs before every scrape, for values that are cheaper to read then than to track live. */
  onScrape(hook: () => void): void {
    this.scrapeHooks.push(hook);
  }

  /** The text exposition format (version 0.0.4) and its content type. */
  async render(): Promise<{ contentType: string; body: string }> {
    for (const hook of this.scrapeHooks) hook();
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

/**
 * Keeps a counter equal to a running total kept elsewhere (such as the encoder's stats), read at
 * scrape time so the hot path pays nothing.
 */
export function followTotal(counter: Counter, read: () => number): () => void {
  let seen = 0;
  return () => {
    const now = read();
    if (now > seen) counter.inc(now - seen);
    seen = Math.max(seen, now);
  };
}

/** Keeps the certificate counters equal to the CSR service's running totals (`CsrService.counters`), read at scrape time. */
export function followCsrCounters(metrics: PilotfishMetrics, counters: CsrCounters): void {
  metrics.onScrape(followTotal(metrics.certificatesIssued, () => counters.issued));
  const seen = new Map<CsrRefusalReason, number>();
  metrics.onScrape(() => {
    for (const reason of CSR_REFUSAL_REASONS) {
      const now = counters.refused[reason];
      const before = seen.get(reason) ?? 0;
      if (now > before) metrics.certificateRequestsRefused.inc({ reason }, now - before);
      seen.set(reason, Math.max(before, now));
    }
  });
}
