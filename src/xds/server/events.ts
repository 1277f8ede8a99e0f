// Protocol events the server reports: observers (metrics, logs, debug endpoints, CRD status)
// subscribe without the server knowing them.
import type { NodeInfo } from '../node-info.js';
import type { ChangeCause } from '../proxy-view.js';

/** Protocol events, for logs, metrics, debug endpoints and CRD status. */
export interface XdsEvents {
  /**
   * `authenticated`: the stream came over the TLS port with a principal the node matched; false on
   * plaintext, where anything the node says (and any NACK text) is unverified.
   */
  streamOpened?(info: { streamId: number; node: NodeInfo; delta: boolean; authenticated: boolean }): void;
  streamClosed?(info: { streamId: number; node: NodeInfo }): void;
  sent?(info: {
    streamId: number; node: NodeInfo; typeUrl: string; version: string; nonce: string;
    resources: number; bytes: number;
    /** Set when the response was owed to a view change (the oldest one it carries); absent when it answers a request. */
    trigger?: ChangeCause;
  }): void;
  acked?(info: { streamId: number; node: NodeInfo; typeUrl: string; version: string; nonce: string }): void;
  nacked?(info: {
    /** See streamOpened: NACK text from an unauthenticated stream must not reach anything others read. */
    authenticated: boolean;
    streamId: number; node: NodeInfo; typeUrl: string; version: string; nonce: string;
    message: string; code: number; rejectedVersion: string;
  }): void;
}
