// Who is at the other end of an xDS stream on the TLS port: what the transport saw (a verified
// client certificate, the `authorization` header) and the principal an authenticator made of it.
// A leaf: the server carries these through without knowing how they are checked (security/ does),
// and the cache compares the principal with what the node claims.
import type { X509Certificate } from 'node:crypto';

/** A workload, as authentication established it (never as the node claims it). */
export interface Principal {
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly via: 'certificate' | 'token';
}

/** What a stream on the TLS port presented. */
export interface PeerCredentials {
  /** The client certificate, only when it verified against the trust bundle (others are cut at the handshake). */
  readonly certificate?: X509Certificate;
  /** The stream's `authorization` header, as sent. */
  readonly authorization?: string;
}

export type Authentication =
  | { readonly ok: true; readonly principal: Principal }
  | { readonly ok: false; readonly reason: string };

/** Decides who a stream is; never throws (a failure to decide is a refusal with its reason). */
export type Authenticate = (peer: PeerCredentials) => Promise<Authentication>;
