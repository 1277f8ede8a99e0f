// What a proxy was actually sent, decoded back from the bytes its streams wrote (not a
// regeneration), for /debug/config_dump and `pilotfish proxy-config`.
import type { NodeInfo } from '../xds/node-info.js';
import type { StreamStatus } from '../xds/server/stream-status.js';
import type { XdsResource } from '../xds/proxy-view.js';
import { lookupType } from '../xds/protos.js';
import { shortTypeName } from '../xds/types.js';
import { anyToEnvoyJson } from './envoy-json.js';
import { typeState, type SyncState } from './syncz.js';

export interface SentResource {
  readonly name: string;
  readonly version: string;
  /** Proto3 JSON as Envoy's config_dump shows it (snake_case names, `@type` on every Any, durations as `2s`, wrappers as values). */
  readonly resource: Record<string, unknown>;
}

interface SentType {
  readonly type: string;
  readonly typeUrl: string;
  readonly state: SyncState;
  readonly streamId: number;
  readonly version?: string;
  readonly nonce?: string;
  readonly ackedVersion?: string;
  readonly resources: readonly SentResource[];
}

export interface ProxyConfigDump {
  readonly proxy: string;
  /** How the proxy's newest stream introduced itself: its node (from the bootstrap) and connection. */
  readonly bootstrap: {
    readonly node: NodeInfo;
    readonly stream: { readonly id: number; readonly delta: boolean; readonly peer: string; readonly connectedAt: string };
  };
  /** Keyed by short type name (CDS, LDS, RDS, EDS). */
  readonly types: Readonly<Record<string, SentType>>;
  /** The TrafficRoute behind each virtual host of the RDS resources (route-owners.ts); added by the admin server. */
  readonly routeOwners?: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

const JSON_STYLE = { longs: String, enums: String, bytes: String, json: true } as const;

/** Decodes one encoded google.protobuf.Any; nested Anys are expanded by protobufjs's Any wrapper. */
export function decodeAny(any: Uint8Array): Record<string, unknown> {
  const Any = lookupType('google.protobuf.Any');
  return Any.toObject(Any.decode(any), JSON_STYLE) as Record<string, unknown>;
}

function decodeResource(r: XdsResource): SentResource {
  try {
    return { name: r.name, version: r.version, resource: anyToEnvoyJson(decodeAny(r.any)) };
  } catch (err) {
    // A dump must still show the rest; the reason stands in for the resource.
    return { name: r.name, version: r.version, resource: { error: `cannot decode: ${err instanceof Error ? err.message : String(err)}` } };
  }
}

/**
 * The newest stream wins per type, as in syncz. `sent` reads a stream's last-sent resources
 * (XdsServer.sentResources).
 */
export function buildConfigDump(
  proxyId: string,
  streams: readonly StreamStatus[],
  sent: (streamId: number) => ReadonlyMap<string, readonly XdsResource[]> | undefined,
): ProxyConfigDump | undefined {
  const mine = streams.filter((s) => s.nodeId === proxyId).sort((a, b) => b.streamId - a.streamId);
  if (mine.length === 0) return undefined;
  const types: Record<string, SentType> = {};
  for (const s of mine) {
    const resources = sent(s.streamId);
    for (const t of s.types) {
      const type = shortTypeName(t.typeUrl);
      if (types[type]) continue;
      const list = resources?.get(t.typeUrl) ?? [];
      types[type] = {
        type, typeUrl: t.typeUrl, state: typeState(t), streamId: s.streamId,
        version: t.lastSentVersion, nonce: t.lastSentNonce, ackedVersion: t.lastAckedVersion,
        resources: [...list].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map(decodeResource),
      };
    }
  }
  const newest = mine[0]!;
  const bootstrap = {
    node: newest.node,
    stream: { id: newest.streamId, delta: newest.delta, peer: newest.peer, connectedAt: newest.connectedAt },
  };
  return { proxy: proxyId, bootstrap, types };
}
