// Per-stream protocol state as plain data, for /debug/syncz and tests.
import type { Principal } from '../peer.js';
import type { NodeInfo } from '../node-info.js';
import type { XdsResource } from '../proxy-view.js';

export interface NackStatus {
  readonly message: string;
  readonly code: number;
  /** The version the client says it still runs. */
  readonly version: string;
  /** The version it rejected (the one sent with the NACKed nonce). */
  readonly rejectedVersion: string;
  readonly nonce: string;
  readonly at: string;
}

export interface TypeStatus {
  readonly typeUrl: string;
  readonly wildcard: boolean;
  readonly subscribed: readonly string[];
  readonly lastSentVersion?: string;
  readonly lastSentNonce?: string;
  readonly lastSentAt?: string;
  readonly lastAckedVersion?: string;
  readonly lastAckedNonce?: string;
  readonly lastAckedAt?: string;
  readonly lastNack?: NackStatus;
  readonly sends: number;
  readonly acks: number;
  readonly nacks: number;
}

export interface StreamStatus {
  readonly streamId: number;
  readonly nodeId: string;
  readonly node: NodeInfo;
  readonly delta: boolean;
  readonly method: string;
  readonly peer: string;
  /** Who the stream authenticated as (TLS port); absent on plaintext streams. */
  readonly principal?: Principal;
  readonly connectedAt: string;
  readonly types: readonly TypeStatus[];
}

/** Epoch ms as ISO 8601, for status snapshots; undefined stays undefined. */
function iso(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : new Date(ms).toISOString();
}

/**
 * The mutable record a stream keeps per type; snapshots copy it. Times are kept as epoch ms
 * and formatted only when a snapshot is asked for: this is updated on every response and ACK.
 */
export class TypeCounters {
  lastSentVersion?: string;
  lastSentNonce?: string;
  lastSentAt?: number;
  lastAckedVersion?: string;
  lastAckedNonce?: string;
  lastAckedAt?: number;
  lastNack?: NackStatus;
  sends = 0;
  acks = 0;
  nacks = 0;

  recordSent(version: string, nonce: string): void {
    this.lastSentVersion = version;
    this.lastSentNonce = nonce;
    this.lastSentAt = Date.now();
    this.sends += 1;
  }

  recordAck(version: string, nonce: string): void {
    this.lastAckedVersion = version;
    this.lastAckedNonce = nonce;
    this.lastAckedAt = Date.now();
    this.acks += 1;
  }

  recordNack(nack: Omit<NackStatus, 'at'>): void {
    this.lastNack = { ...nack, at: new Date().toISOString() };
    this.nacks += 1;
  }

  snapshot(typeUrl: string, wildcard: boolean, subscribed: Iterable<string>): TypeStatus {
    return {
      typeUrl, wildcard, subscribed: [...subscribed].sort(),
      lastSentVersion: this.lastSentVersion, lastSentNonce: this.lastSentNonce, lastSentAt: iso(this.lastSentAt),
      lastAckedVersion: this.lastAckedVersion, lastAckedNonce: this.lastAckedNonce, lastAckedAt: iso(this.lastAckedAt),
      lastNack: this.lastNack, sends: this.sends, acks: this.acks, nacks: this.nacks,
    };
  }
}

export interface LiveStream {
  readonly id: number;
  status(): StreamStatus | undefined;
  /** Per type, the resources this stream's client was last sent and still has, as far as we know. */
  sentResources(): ReadonlyMap<string, readonly XdsResource[]>;
  /** Ends the stream with a status, e.g. on server shutdown. */
  terminate(code: number, details: string): void;
}

/** The streams currently open on one server. */
export class StreamRegistry {
  private readonly streams = new Map<number, LiveStream>();
  private lastId = 0;

  nextId(): number {
    this.lastId += 1;
    return this.lastId;
  }

  add(s: LiveStream): void {
    this.streams.set(s.id, s);
  }

  get(id: number): LiveStream | undefined {
    return this.streams.get(id);
  }

  delete(id: number): void {
    this.streams.delete(id);
  }

  get size(): number {
    return this.streams.size;
  }

  /** Streams that have identified their node; ones still waiting for a first request are left out. */
  snapshot(): StreamStatus[] {
    const out: StreamStatus[] = [];
    for (const s of this.streams.values()) {
      const st = s.status();
      if (st) out.push(st);
    }
    return out;
  }

  terminateAll(code: number, details: string): void {
    for (const s of [...this.streams.values()]) s.terminate(code, details);
  }
}
