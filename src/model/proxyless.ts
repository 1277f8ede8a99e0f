// Facts about proxyless gRPC clients that both generation (what to leave out) and status (what to
// tell users they ignore, routing/proxyless.ts) rely on.

export interface IgnoredField {
  /** API-server style path of the field in the object. */
  readonly path: string;
  /** Why, and what gRPC clients do instead. */
  readonly reason: string;
}

/** retryOn conditions gRPC clients understand (A44); anything else is an HTTP/Envoy condition. */
export const GRPC_RETRY_ON: readonly string[] = ['cancelled', 'deadline-exceeded', 'internal', 'resource-exhausted', 'unavailable'];
