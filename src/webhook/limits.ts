// What the webhook allows one client, and all of them together, before it cuts them off. The API
// server is the only legitimate caller: it sends one AdmissionReview per request, fast, and gives
// up itself after the webhook's timeoutSeconds (at most 30 s). Anyone else who reaches the port
// (slowloris: headers a byte at a time; a body that never ends; thousands of idle sockets) is
// bounded by these. Every limit hit is counted (limit-counters.ts, on /metrics).

export interface WebhookLimits {
  /** TLS handshake must finish within this. */
  readonly handshakeTimeoutMs: number;
  /** Request headers must be complete within this (from the first byte of the request). */
  readonly headersTimeoutMs: number;
  /** The body must be complete within this, once the headers are in. */
  readonly bodyTimeoutMs: number;
  /** The whole request (headers and body) must arrive within this; less than headers + body, so trickling both fails too. */
  readonly requestTimeoutMs: number;
  /** A connection with no traffic either way for this long is closed (also between keep-alive requests). */
  readonly idleTimeoutMs: number;
  /** Open connections at once; more are closed as they are accepted. */
  readonly maxConnections: number;
  /** Largest request body. */
  readonly bodyLimit: number;
  /**
   * Bytes of request bodies received and not yet answered, all connections together. A body
   * whose bytes would pass it is answered 503 and its connection closed. This is what bounds
   * memory (maxConnections x bodyLimit would not); bytes are counted as they arrive, so a client
   * that declares a large body and stalls holds none of it.
   */
  readonly maxInflightBodyBytes: number;
}

export const DEFAULT_WEBHOOK_LIMITS: WebhookLimits = {
  handshakeTimeoutMs: 10_000,
  headersTimeoutMs: 10_000,
  bodyTimeoutMs: 10_000,
  requestTimeoutMs: 15_000,
  idleTimeoutMs: 60_000,
  maxConnections: 256,
  // The API server stores objects of at most ~1.5 MiB and caps requests at 3 MiB; the review wraps one.
  bodyLimit: 6 * 1024 * 1024,
  maxInflightBodyBytes: 64 * 1024 * 1024,
};

/** Defaults for what is not given; throws on a limit that is not a positive integer. */
export function resolveWebhookLimits(given: Partial<WebhookLimits> = {}): WebhookLimits {
  const out: WebhookLimits = { ...DEFAULT_WEBHOOK_LIMITS, ...given };
  for (const [name, value] of Object.entries(out)) {
    if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`webhook limit ${name} must be a positive integer (got ${String(value)})`);
  }
  if (out.maxInflightBodyBytes < out.bodyLimit) {
    throw new Error(`webhook limit maxInflightBodyBytes (${out.maxInflightBodyBytes}) must be at least bodyLimit (${out.bodyLimit})`);
  }
  return out;
}
