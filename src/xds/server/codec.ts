// Wire codec for the discovery services. Requests are small and decoded with the real protos;
// responses are written by hand so each resource's pre-encoded Any is spliced in as bytes,
// never decoded or re-encoded per stream.
import protobuf from 'protobufjs';
import type { NodeInfo } from '../node-info.js';
import { lookupType } from '../protos.js';
import { listSpan, MIN_LIST_BYTES, type NameList, type NameListHolder } from './name-lists.js';
import { nodeInfoFromProto, type ProtoNode } from './node.js';
import type { XdsResource } from '../proxy-view.js';
import { lenTag } from '../wire/tag.js';

export interface ErrorDetail {
  readonly code: number;
  readonly message: string;
}

export interface SotwRequest {
  readonly versionInfo: string;
  readonly node?: NodeInfo;
  readonly resourceNames: readonly string[];
  readonly typeUrl: string;
  readonly responseNonce: string;
  readonly errorDetail?: ErrorDetail;
}

export interface DeltaRequest {
  readonly node?: NodeInfo;
  readonly typeUrl: string;
  readonly subscribe: readonly string[];
  readonly unsubscribe: readonly string[];
  readonly initialVersions: ReadonlyMap<string, string>;
  readonly responseNonce: string;
  readonly errorDetail?: ErrorDetail;
}

interface RawStatus { code?: number | null; message?: string | null }

interface RawSotwRequest {
  version_info?: string | null;
  node?: ProtoNode | null;
  resource_names?: string[] | null;
  type_url?: string | null;
  response_nonce?: string | null;
  error_detail?: RawStatus | null;
}

interface RawDeltaRequest {
  node?: ProtoNode | null;
  type_url?: string | null;
  resource_names_subscribe?: string[] | null;
  resource_names_unsubscribe?: string[] | null;
  initial_resource_versions?: Record<string, string> | null;
  response_nonce?: string | null;
  error_detail?: RawStatus | null;
}

const DISCOVERY = 'envoy.service.discovery.v3.';

let types: {
  sotwRequest: protobuf.Type; sotwResponse: protobuf.Type;
  deltaRequest: protobuf.Type; deltaResponse: protobuf.Type; any: protobuf.Type;
} | undefined;

/** Looked up lazily: loading the Envoy protos takes a moment and importing this must not. */
export function discoveryTypes(): NonNullable<typeof types> {
  types ??= {
    sotwRequest: lookupType(DISCOVERY + 'DiscoveryRequest'),
    sotwResponse: lookupType(DISCOVERY + 'DiscoveryResponse'),
    deltaRequest: lookupType(DISCOVERY + 'DeltaDiscoveryRequest'),
    deltaResponse: lookupType(DISCOVERY + 'DeltaDiscoveryResponse'),
    any: lookupType('google.protobuf.Any'),
  };
  return types;
}

function errorDetailOf(s: RawStatus | null | undefined): ErrorDetail | undefined {
  // Presence of the field is what marks a NACK, even with code 0 and no message.
  if (!s) return undefined;
  return { code: s.code ?? 0, message: s.message ?? '' };
}

/**
 * Decodes a DiscoveryRequest. With `lists`, a long resource_names list (an ACK restating
 * thousands of EDS names) is looked up by its bytes in the server's lists, and held for the
 * stream; the rest of the request is decoded as usual.
 */
export function decodeSotwRequest(buf: Uint8Array, lists?: NameListHolder): SotwRequest {
  const T = discoveryTypes().sotwRequest;
  const long = lists !== undefined && buf.length >= MIN_LIST_BYTES;
  const known = long ? lists.cache.match(buf, 3) : undefined;
  const span = known?.span ?? (long ? listSpan(buf, 3) : undefined);
  let m: RawSotwRequest;
  let list: NameList | undefined = known?.list;
  let names: readonly string[] | undefined = list?.names;
  if (span && lists) {
    const listBytes = buf.subarray(span[0], span[1]);
    list ??= lists.cache.known(listBytes);
    names = list?.names;
    m = T.decode(Buffer.concat([buf.subarray(0, span[0]), buf.subarray(span[1])])) as unknown as RawSotwRequest;
    if ((m.resource_names ?? []).length > 0) {
      // More names after the run (no client writes that, but it is valid protobuf): decode it all.
      m = T.decode(buf) as unknown as RawSotwRequest;
      names = m.resource_names ?? [];
      list = undefined;
    }
    if (names === undefined) {
      const decoded = (T.decode(listBytes) as unknown as RawSotwRequest).resource_names ?? [];
      list = lists.cache.remember(listBytes, decoded);
      names = list?.names ?? decoded;
    }
    if (list) lists.hold(m.type_url ?? '', list);
  } else {
    m = T.decode(buf) as unknown as RawSotwRequest;
  }
  return {
    versionInfo: m.version_info ?? '',
    node: nodeInfoFromProto(m.node),
    resourceNames: names ?? m.resource_names ?? [],
    typeUrl: m.type_url ?? '',
    responseNonce: m.response_nonce ?? '',
    errorDetail: errorDetailOf(m.error_detail),
  };
}

export function decodeDeltaRequest(buf: Uint8Array): DeltaRequest {
  const m = discoveryTypes().deltaRequest.decode(buf) as unknown as RawDeltaRequest;
  return {
    node: nodeInfoFromProto(m.node),
    typeUrl: m.type_url ?? '',
    subscribe: m.resource_names_subscribe ?? [],
    unsubscribe: m.resource_names_unsubscribe ?? [],
    initialVersions: new Map(Object.entries(m.initial_resource_versions ?? {})),
    responseNonce: m.response_nonce ?? '',
    errorDetail: errorDetailOf(m.error_detail),
  };
}

// Tags of the length-delimited fields 1 to 6.
const TAG_1 = lenTag(1), TAG_2 = lenTag(2), TAG_3 = lenTag(3), TAG_4 = lenTag(4), TAG_5 = lenTag(5), TAG_6 = lenTag(6);

export interface SotwResponseParts {
  readonly versionInfo: string;
  readonly typeUrl: string;
  readonly nonce: string;
  readonly resources: readonly XdsResource[];
}

/**
 * DiscoveryResponse without its nonce: version_info=1, resources=2 (Any), type_url=4. Protobuf
 * fields may come in any order, so one body can be shared by every stream sending the same set
 * and completed with `withNonce`.
 */
export function encodeSotwBody(r: Omit<SotwResponseParts, 'nonce'>): Buffer {
  const w = protobuf.Writer.create();
  if (r.versionInfo) w.uint32(TAG_1).string(r.versionInfo);
  for (const res of r.resources) w.uint32(TAG_2).bytes(res.any);
  w.uint32(TAG_4).string(r.typeUrl);
  return w.finish() as Buffer;
}

/** Just the resources=2 fields of a DiscoveryResponse, to be spliced into bodies that share them. */
export function encodeSotwResources(resources: Iterable<XdsResource>): Buffer {
  const w = protobuf.Writer.create();
  for (const res of resources) w.uint32(TAG_2).bytes(res.any);
  return w.finish() as Buffer;
}

/**
 * A response body given as parts (shared runs of resources between a per-response head and
 * tail) completed with nonce=5. Nothing is copied: the transport writes the parts as they are,
 * so a class's response is never materialised, only the runs it shares with other classes.
 */
export function partsWithNonce(parts: readonly Uint8Array[], nonce: string): { parts: Uint8Array[]; length: number } {
  const tail = protobuf.Writer.create().uint32(TAG_5).string(nonce).finish();
  let length = tail.length;
  for (const p of parts) length += p.length;
  return { parts: [...parts, tail], length };
}

/** The parts of encodeSotwBody with the resources given as already encoded runs of resources=2 fields. */
export function sotwBodyParts(versionInfo: string, typeUrl: string, resourceRuns: readonly Uint8Array[]): Uint8Array[] {
  const head = versionInfo ? protobuf.Writer.create().uint32(TAG_1).string(versionInfo).finish() : new Uint8Array(0);
  const tail = protobuf.Writer.create().uint32(TAG_4).string(typeUrl).finish();
  return [head, ...resourceRuns, tail];
}

export interface DeltaResponseParts {
  readonly systemVersionInfo: string;
  readonly typeUrl: string;
  readonly nonce: string;
  readonly resources: readonly XdsResource[];
  readonly removed: readonly string[];
}

/** A DeltaDiscoveryResponse without its nonce, to be shared and completed with `withNonce`. */
export function encodeDeltaBody(r: Omit<DeltaResponseParts, 'nonce'>): Buffer {
  const w = protobuf.Writer.create();
  if (r.systemVersionInfo) w.uint32(TAG_1).string(r.systemVersionInfo);
  for (const res of r.resources) {
    w.uint32(TAG_2).fork();
    w.uint32(TAG_1).string(res.version);
    w.uint32(TAG_2).bytes(res.any);
    w.uint32(TAG_3).string(res.name);
    w.ldelim();
  }
  w.uint32(TAG_4).string(r.typeUrl);
  for (const name of r.removed) w.uint32(TAG_6).string(name);
  return w.finish() as Buffer;
}

/** Just the resources=2 fields of a DeltaDiscoveryResponse, to be spliced into responses that share them. */
export function encodeDeltaResources(resources: Iterable<XdsResource>): Buffer {
  const w = protobuf.Writer.create();
  for (const res of resources) {
    w.uint32(TAG_2).fork();
    w.uint32(TAG_1).string(res.version);
    w.uint32(TAG_2).bytes(res.any);
    w.uint32(TAG_3).string(res.name);
    w.ldelim();
  }
  return w.finish() as Buffer;
}

/** The parts of a DeltaDiscoveryResponse without removals, with its resources as encoded runs. */
export function deltaBodyParts(systemVersionInfo: string, typeUrl: string, resourceRuns: readonly Uint8Array[]): Uint8Array[] {
  const head = systemVersionInfo ? protobuf.Writer.create().uint32(TAG_1).string(systemVersionInfo).finish() : new Uint8Array(0);
  const tail = protobuf.Writer.create().uint32(TAG_4).string(typeUrl).finish();
  return [head, ...resourceRuns, tail];
}
