// The contract between the encode-once cache (xds/cache/, which implements it) and the xDS server
// (xds/server/, which only reads it): a per-proxy view of encoded resources. The only thing the
// server knows about the mesh. cli/ wires the two together.
import type { NodeInfo } from './node-info.js';
import type { Principal } from './peer.js';

/** One resource, encoded once and shared by every stream that sends it. */
export interface XdsResource {
  readonly name: string;
  /** Content hash of the encoded message: same bytes, same version. */
  readonly version: string;
  /** The encoded `google.protobuf.Any` (type_url + value), ready to splice into a response. */
  readonly any: Uint8Array;
}

export type ResourceMap = ReadonlyMap<string, XdsResource>;

/** Why a view changed, so observers can time a push from the event that caused it. */
export interface ChangeCause {
  /** Epoch ms at which the change was first observed upstream (before any debouncing). */
  readonly since: number;
  /** A low-cardinality reason for metrics, e.g. `config` or `endpoints`. */
  readonly reason: string;
}

/** What one connected proxy may currently receive. */
export interface ProxyView {
  /** Every resource of this type the proxy may get (a subscription filters it). */
  resources(typeUrl: string): ResourceMap;
  /**
   * Called after the view changed, with the types whose content changed. The server then
   * decides per stream what actually has to be sent. `cause` is optional: a source that cannot
   * tell simply leaves pushes untimed.
   */
  onChange(listener: (typeUrls: ReadonlySet<string>, cause?: ChangeCause) => void): void;
  close(): void;
}

/**
 * Thrown by viewFor when the authenticated principal may not have the node's view: the stream
 * ends with PERMISSION_DENIED and this message (which names no peer-supplied text unbounded).
 */
export class ViewRefusedError extends Error {
  override readonly name = 'ViewRefusedError';
}

export interface ProxyViews {
  /**
   * Called once per stream, with the node from its first request and, on the TLS port, the
   * authenticated principal (absent on plaintext streams: loopback `serve`, tests). Throws
   * ViewRefusedError when the node claims to be a workload other than the principal.
   */
  viewFor(node: NodeInfo, principal?: Principal): ProxyView;
}
