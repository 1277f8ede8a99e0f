// How often each resource limit of the xDS server refused something: plain counters the
// server exposes (XdsServer.limitHits) for metrics to follow, as the encoder's stats are.

const LIMITS = [
  /** A message larger than maxReceiveMessageBytes (after inflating, for compressed ones). */
  'messageBytes',
  /** A connection's unfinished incoming messages past maxConnectionBufferedBytes. */
  'connectionBufferedBytes',
  /** All connections' unfinished incoming messages past maxProcessBufferedBytes. */
  'processBufferedBytes',
  /** A connection reaching maxConcurrentStreams (further streams wait, or are refused if the client ignores the setting). */
  'concurrentStreams',
  /** A stream's subscribed names past maxSubscribedNameBytes. */
  'subscribedNameBytes',
  /** A long name list not kept because maxNameListBytes was used up (decoded as it came instead). */
  'nameListBytes',
] as const;

export type LimitName = (typeof LIMITS)[number];

export class LimitCounters {
  private readonly hits = new Map<LimitName, number>(LIMITS.map((l) => [l, 0]));

  hit(limit: LimitName): void {
    this.hits.set(limit, (this.hits.get(limit) ?? 0) + 1);
  }

  snapshot(): Record<LimitName, number> {
    return Object.fromEntries(this.hits) as Record<LimitName, number>;
  }
}
