// The client side of the discovery codec: encoding requests and decoding responses, for the
// test, e2e and benchmark clients (and the request serializer of the service definitions).
import type { NodeInfo } from '../../src/xds/node-info.js';
import { discoveryTypes, type ErrorDetail } from '../../src/xds/server/codec.js';
import { nodeInfoToProto } from './node-proto.js';

export interface SotwRequestInit {
  versionInfo?: string;
  node?: NodeInfo;
  resourceNames?: readonly string[];
  typeUrl: string;
  responseNonce?: string;
  errorDetail?: ErrorDetail;
}

export function encodeSotwRequest(r: SotwRequestInit): Buffer {
  const T = discoveryTypes().sotwRequest;
  const msg = T.fromObject({
    version_info: r.versionInfo ?? '',
    node: r.node ? nodeInfoToProto(r.node) : undefined,
    resource_names: [...(r.resourceNames ?? [])],
    type_url: r.typeUrl,
    response_nonce: r.responseNonce ?? '',
    error_detail: r.errorDetail ? { code: r.errorDetail.code, message: r.errorDetail.message } : undefined,
  });
  return T.encode(msg).finish() as Buffer;
}

export interface DeltaRequestInit {
  node?: NodeInfo;
  typeUrl: string;
  subscribe?: readonly string[];
  unsubscribe?: readonly string[];
  initialVersions?: ReadonlyMap<string, string> | Readonly<Record<string, string>>;
  responseNonce?: string;
  errorDetail?: ErrorDetail;
}

export function encodeDeltaRequest(r: DeltaRequestInit): Buffer {
  const T = discoveryTypes().deltaRequest;
  const iv = r.initialVersions instanceof Map ? Object.fromEntries(r.initialVersions) : (r.initialVersions ?? {});
  const msg = T.fromObject({
    node: r.node ? nodeInfoToProto(r.node) : undefined,
    type_url: r.typeUrl,
    resource_names_subscribe: [...(r.subscribe ?? [])],
    resource_names_unsubscribe: [...(r.unsubscribe ?? [])],
    initial_resource_versions: iv,
    response_nonce: r.responseNonce ?? '',
    error_detail: r.errorDetail ? { code: r.errorDetail.code, message: r.errorDetail.message } : undefined,
  });
  return T.encode(msg).finish() as Buffer;
}

export interface AnyMessage {
  readonly type_url: string;
  readonly value: Uint8Array;
}

export interface DecodedSotwResponse {
  readonly versionInfo: string;
  readonly typeUrl: string;
  readonly nonce: string;
  readonly resources: readonly AnyMessage[];
}

export function decodeSotwResponse(buf: Uint8Array): DecodedSotwResponse {
  const m = discoveryTypes().sotwResponse.decode(buf) as unknown as {
    version_info?: string; type_url?: string; nonce?: string; resources?: AnyMessage[];
  };
  return { versionInfo: m.version_info ?? '', typeUrl: m.type_url ?? '', nonce: m.nonce ?? '', resources: m.resources ?? [] };
}

export interface DecodedDeltaResponse {
  readonly systemVersionInfo: string;
  readonly typeUrl: string;
  readonly nonce: string;
  readonly resources: readonly { name: string; version: string; resource?: AnyMessage }[];
  readonly removed: readonly string[];
}

export function decodeDeltaResponse(buf: Uint8Array): DecodedDeltaResponse {
  const m = discoveryTypes().deltaResponse.decode(buf) as unknown as {
    system_version_info?: string; type_url?: string; nonce?: string; removed_resources?: string[];
    resources?: { name?: string; version?: string; resource?: AnyMessage | null }[];
  };
  return {
    systemVersionInfo: m.system_version_info ?? '',
    typeUrl: m.type_url ?? '',
    nonce: m.nonce ?? '',
    resources: (m.resources ?? []).map((r) => ({
      name: r.name ?? '', version: r.version ?? '', resource: r.resource ?? undefined,
    })),
    removed: m.removed_resources ?? [],
  };
}
