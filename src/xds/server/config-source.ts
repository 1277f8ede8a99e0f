// The only thing the xDS server knows about the mesh: a per-proxy view of encoded resources.
// It never imports controller/ or generate/; cli/ wires a ConfigSource implementation in.
import type { NodeInfo } from '../../model/proxy.js';

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

export interface ConfigSource {
  /** Called once per stream, with the node from its first request. */
  viewFor(node: NodeInfo): ProxyView;
}

/** Protocol events, for logs, metrics, debug endpoints and CRD status. */
export interface XdsEvents {
  streamOpened?(info: { streamId: number; node: NodeInfo; delta: boolean }): void;
  streamClosed?(info: { streamId: number; node: NodeInfo }): void;
  sent?(info: {
    streamId: number; node: NodeInfo; typeUrl: string; version: string; nonce: string;
    resources: number; bytes: number;
    /** Set when the response was owed to a view change (the oldest one it carries); absent when it answers a request. */
    trigger?: ChangeCause;
  }): void;
  acked?(info: { streamId: number; node: NodeInfo; typeUrl: string; version: string; nonce: string }): void;
  nacked?(info: {
    streamId: number; node: NodeInfo; typeUrl: string; version: string; nonce: string;
    message: string; code: number; rejectedVersion: string;
  }): void;
}
