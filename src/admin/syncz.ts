// Per-proxy sync state as operators read it: for each xDS type, whether the proxy has ACKed
// the newest response it was sent. Pure: stream statuses in, plain JSON out (/debug/syncz and
// `pilotfish proxy-status` share it).
import { type ProxyKind } from '../model/proxy.js';
import { proxyIdentityFromNode } from '../xds/cache/proxy-identity.js';
import type { NackStatus, StreamStatus, TypeStatus } from '../xds/server/stream-status.js';
import { CLUSTER, ENDPOINT, LISTENER, ROUTE, shortTypeName } from '../xds/types.js';

export type SyncState = 'SYNCED' | 'STALE' | 'NOT SENT' | 'NACKED';

/** The four types in the columns' order (as istioctl prints them). */
const SYNC_TYPES = [CLUSTER, LISTENER, ROUTE, ENDPOINT] as const;

interface TypeSync {
  readonly type: string;
  readonly typeUrl: string;
  readonly state: SyncState;
  readonly streamId?: number;
  readonly sentVersion?: string;
  readonly sentNonce?: string;
  readonly sentAt?: string;
  readonly ackedVersion?: string;
  readonly ackedNonce?: string;
  readonly ackedAt?: string;
  readonly lastNack?: NackStatus;
  /** Names asked for; empty for a wildcard subscription. */
  readonly subscribed: number;
  readonly wildcard: boolean;
}

export interface ProxySync {
  readonly id: string;
  readonly kind: ProxyKind;
  readonly namespace: string;
  readonly pod?: string;
  readonly streams: readonly { id: number; delta: boolean; method: string; peer: string; connectedAt: string }[];
  /** Keyed by short type name (CDS, LDS, RDS, EDS, or the message name of another type). */
  readonly types: Readonly<Record<string, TypeSync>>;
  /** The newest NACK on any type, for a one-line reason. */
  readonly lastNack?: NackStatus & { readonly type: string };
}

/**
 * SYNCED: the newest response was ACKed. NACKED: it was rejected (the proxy runs an older
 * version). STALE: sent, no answer yet. NOT SENT: never requested, or nothing sent yet.
 */
export function typeState(t: TypeStatus | undefined): SyncState {
  if (!t || t.lastSentNonce === undefined) return 'NOT SENT';
  if (t.lastAckedNonce === t.lastSentNonce) return 'SYNCED';
  if (t.lastNack && t.lastNack.nonce === t.lastSentNonce) return 'NACKED';
  return 'STALE';
}

function typeSync(typeUrl: string, t: TypeStatus | undefined, streamId: number | undefined): TypeSync {
  return {
    type: shortTypeName(typeUrl), typeUrl, state: typeState(t), streamId,
    sentVersion: t?.lastSentVersion, sentNonce: t?.lastSentNonce, sentAt: t?.lastSentAt,
    ackedVersion: t?.lastAckedVersion, ackedNonce: t?.lastAckedNonce, ackedAt: t?.lastAckedAt,
    lastNack: t?.lastNack, subscribed: t?.subscribed.length ?? 0, wildcard: t?.wildcard ?? false,
  };
}

/** One entry per proxy id, sorted by id; a proxy with several streams gets each type from the newest stream that has it. */
export function buildSyncz(streams: readonly StreamStatus[]): ProxySync[] {
  const byNode = new Map<string, StreamStatus[]>();
  for (const s of streams) {
    const list = byNode.get(s.nodeId);
    if (list) list.push(s);
    else byNode.set(s.nodeId, [s]);
  }
  const out: ProxySync[] = [];
  for (const [id, list] of [...byNode].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const newestFirst = [...list].sort((a, b) => b.streamId - a.streamId);
    const identity = proxyIdentityFromNode(newestFirst[0].node);
    const found = new Map<string, { t: TypeStatus; streamId: number }>();
    for (const s of newestFirst) {
      for (const t of s.types) if (!found.has(t.typeUrl)) found.set(t.typeUrl, { t, streamId: s.streamId });
    }
    const types: Record<string, TypeSync> = {};
    const typeUrls = [...SYNC_TYPES, ...[...found.keys()].filter((u) => !(SYNC_TYPES as readonly string[]).includes(u)).sort()];
    let lastNack: (NackStatus & { type: string }) | undefined;
    for (const u of typeUrls) {
      const f = found.get(u);
      const ts = typeSync(u, f?.t, f?.streamId);
      types[ts.type] = ts;
      if (ts.lastNack && (!lastNack || ts.lastNack.at > lastNack.at)) lastNack = { ...ts.lastNack, type: ts.type };
    }
    out.push({
      id, kind: identity.kind, namespace: identity.namespace, pod: identity.podName,
      streams: newestFirst.map((s) => ({ id: s.streamId, delta: s.delta, method: s.method, peer: s.peer, connectedAt: s.connectedAt })),
      types, ...(lastNack ? { lastNack } : {}),
    });
  }
  return out;
}
