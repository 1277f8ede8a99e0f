// What each push did, for metrics and the push log: kept as the last summary and handed to
// observers (admin/observability.ts turns them into push counters and latency histograms). Apart
// from the push itself so an observer can never change or break what proxies get.
import type { Logger } from '../../logging.js';

export interface PushSummary {
  readonly snapshotVersion: number;
  readonly trigger: 'config' | 'endpoints' | 'none';
  readonly changedTypes: readonly string[];
  readonly classes: number;
  readonly proxies: number;
  readonly durationMs: number;
  /**
   * A scoped change: how long from the push's start until every proxy it is for had been handed
   * it (the rest of durationMs refreshes the classes outside its scope, which get nothing).
   */
  readonly scopedServedMs?: number;
  /** When the push finished (ISO 8601). */
  readonly at: string;
  /** Epoch ms of the first source change the snapshot covers, when the store recorded it. */
  readonly changedAt?: number;
}

export class PushSummaries {
  private last: PushSummary | undefined;
  private readonly listeners: ((summary: PushSummary) => void)[] = [];

  constructor(private readonly logger: Logger) {}

  latest(): PushSummary | undefined {
    return this.last;
  }

  onPush(listener: (summary: PushSummary) => void): void {
    this.listeners.push(listener);
  }

  /** Records a push; one that changed something is logged and handed to every listener. */
  record(summary: PushSummary): void {
    this.last = summary;
    if (summary.changedTypes.length === 0) return;
    this.logger.info('push', summary);
    for (const l of this.listeners) {
      try {
        l(summary);
      } catch (err) {
        // An observer's bug must not read as a failed generation.
        this.logger.error('push listener threw', { error: err instanceof Error ? err.stack ?? err.message : String(err) });
      }
    }
  }
}
