// How often each webhook limit (limits.ts) was hit: a client that trips them is either broken or
// probing, and an operator should see which.

type LimitHit =
  | 'connections' | 'handshake_timeout' | 'headers_timeout' | 'body_timeout' | 'request_timeout' | 'idle_timeout'
  | 'body_limit' | 'inflight_body';

export const LIMIT_HITS: readonly LimitHit[] = [
  'connections', 'handshake_timeout', 'headers_timeout', 'body_timeout', 'request_timeout', 'idle_timeout', 'body_limit', 'inflight_body',
];

export class WebhookLimitCounters {
  private readonly counts = new Map<LimitHit, number>(LIMIT_HITS.map((l) => [l, 0]));

  inc(limit: LimitHit): void {
    this.counts.set(limit, (this.counts.get(limit) ?? 0) + 1);
  }

  get(limit: LimitHit): number {
    return this.counts.get(limit) ?? 0;
  }

  toPrometheus(): string {
    const lines = [
      '# HELP pilotfish_webhook_limit_hits_total Webhook connections or requests cut off, by the limit they hit.',
      '# TYPE pilotfish_webhook_limit_hits_total counter',
    ];
    for (const l of LIMIT_HITS) lines.push(`pilotfish_webhook_limit_hits_total{limit="${l}"} ${this.get(l)}`);
    return lines.join('\n') + '\n';
  }
}
