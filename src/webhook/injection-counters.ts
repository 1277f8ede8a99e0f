// Counters of injection outcomes. Kept as plain numbers so the process's metrics endpoint (owned
// by cli/) can render them next to everything else; toPrometheus() renders them on their own.

type Outcome = 'injected' | 'skipped' | 'ignored' | 'error';

export class InjectionMetrics {
  private readonly counts = new Map<string, number>();

  /** reason: a low-cardinality code (decision code, "not-a-pod", "internal"), never free text. */
  inc(outcome: Outcome, reason: string): void {
    const key = `${outcome}\u0000${reason}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  get(outcome: Outcome, reason?: string): number {
    let n = 0;
    for (const [key, v] of this.counts) {
      const [o, r] = key.split('\u0000');
      if (o === outcome && (reason === undefined || r === reason)) n += v;
    }
    return n;
  }

  toPrometheus(): string {
    const lines = [
      '# HELP pilotfish_sidecar_injection_total Admission requests by outcome and reason.',
      '# TYPE pilotfish_sidecar_injection_total counter',
    ];
    for (const key of [...this.counts.keys()].sort()) {
      const [o, r] = key.split('\u0000');
      lines.push(`pilotfish_sidecar_injection_total{outcome="${o}",reason="${r}"} ${this.counts.get(key)}`);
    }
    return lines.join('\n') + '\n';
  }
}
