// Encodes each distinct resource content once; every proxy that gets the same content shares
// the same bytes. The content hash doubles as the resource version.
import { createHash } from 'node:crypto';
import protobuf from 'protobufjs';
import type { EnvoyMessages } from '../envoy-types.js';
import type { EnvoyResource, NamedLoadAssignment } from '../generate/resource.js';
import type { XdsResource } from '../proxy-view.js';
import { lookupType } from '../protos.js';
import { ENDPOINT, messageName } from '../types.js';
import { lenTag } from '../wire/tag.js';
import { lenFieldLength, writeLenHeader } from '../wire/writer.js';
import { ENDPOINTS_PER_BATCH, encodeInBatches, endpointCount, type BatchMemo, type EncodedLocality } from './assignment-batches.js';
import { meshEndpointMetadata } from '../generate/tls.js';

/** A `google.protobuf.Any`: type_url (field 1) and value (field 2). */
function anyOf(typeUrl: string, value: Uint8Array): Uint8Array {
  return protobuf.Writer.create().uint32(lenTag(1)).string(typeUrl).uint32(lenTag(2)).bytes(value).finish();
}

export interface EncoderStats {
  /** Resources actually encoded (cache misses). */
  encoded: number;
  /** Lookups answered from the cache. */
  reused: number;
  /** Batches of a large assignment's endpoints actually encoded (the rest reused; assignment-batches.ts). */
  batchesEncoded: number;
}

/** An encoded message that is part of a resource (a RouteConfiguration's virtual host), not one itself. */
export interface EncodedPart {
  /** Content hash of the part, as a resource version is of a resource. */
  readonly version: string;
  readonly bytes: Uint8Array;
}

/** Every field EDS generation (generate/eds.ts) writes, once. */
const SAMPLE_ASSIGNMENT: NamedLoadAssignment = {
  cluster_name: 'warm-up',
  endpoints: [{
    locality: { region: 'r', zone: 'z', sub_zone: 's' },
    lb_endpoints: [{
      endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 1 } } },
      health_status: 'HEALTHY',
      metadata: meshEndpointMetadata(),
    }],
    load_balancing_weight: { value: 1 },
  }],
};

/**
 * protobufjs generates a type's converter and encoder on its first use: for a
 * ClusterLoadAssignment and the types inside it, tens of milliseconds in one task. Done when an
 * encoder is made (at startup; after the first, it costs a fraction of a millisecond), so the
 * first push of endpoints (with only the registry, in the middle of a burst) does not pay it.
 */
function generateAssignmentCode(): void {
  const type = lookupType(messageName(ENDPOINT));
  type.encode(type.fromObject(SAMPLE_ASSIGNMENT)).finish();
}

/**
 * The bytes in an allocation of their own. Node hands out small buffers as slices of shared 8 KiB
 * slabs, and a slab lives as long as any slice of it. Encoded resources live as long as the mesh
 * holds them, while what was allocated beside them (the inner message before its Any wrapper,
 * protobuf scratch) dies at once: at 500 proxies 1,900 slabs (15 MiB) held a few MiB of
 * resources. A copy per encoding (cache misses only) costs less than that.
 */
function owned(bytes: Uint8Array): Uint8Array {
  if (bytes.byteLength === bytes.buffer.byteLength) return bytes;
  const out = Buffer.allocUnsafeSlow(bytes.byteLength);
  out.set(bytes);
  return out;
}

function contentHash(text: string): string {
  return createHash('sha1').update(text).digest('base64url').slice(0, 16);
}

export class ResourceEncoder {
  private readonly cache = new Map<string, Map<string, XdsResource>>();
  private readonly types = new Map<string, protobuf.Type>();
  readonly stats: EncoderStats = { encoded: 0, reused: 0, batchesEncoded: 0 };
  /** The encoded endpoint batches of each large assignment (by cluster name), as last encoded. */
  private readonly batches = new Map<string, Map<string, Uint8Array>>();
  /** Localities of generated assignments already encoded, by object: they die with the objects. */
  private readonly localities = new WeakMap<object, EncodedLocality>();

  constructor() {
    generateAssignmentCode();
  }

  encode(typeUrl: string, name: string, obj: EnvoyResource): XdsResource {
    let byKey = this.cache.get(typeUrl);
    if (!byKey) this.cache.set(typeUrl, (byKey = new Map()));
    const version = contentHash(JSON.stringify(obj));
    const hit = byKey.get(version);
    if (hit && hit.name === name) {
      this.stats.reused++;
      return hit;
    }
    const type = this.typeFor(typeUrl);
    // fromObject drops unknown fields silently: the golden round-trip tests are what catch them.
    return this.store(byKey, { name, version, any: anyOf(typeUrl, type.encode(type.fromObject(obj)).finish()) });
  }

  /**
   * `encode` for a ClusterLoadAssignment, where one of thousands of endpoints is encoded a batch at
   * a time with `pause` between batches (assignment-batches.ts), so it never holds the event loop
   * for its whole size. Cached and counted like `encode`.
   */
  async encodeAssignment(cla: NamedLoadAssignment, pause: () => Promise<void>): Promise<XdsResource> {
    const name = cla.cluster_name;
    if (endpointCount(cla) <= ENDPOINTS_PER_BATCH) {
      this.batches.delete(name);
      return this.encode(ENDPOINT, name, cla);
    }
    // The batches of the assignment's last encoding, and the ones this one is made of (kept next).
    const previous = this.batches.get(name);
    const current = new Map<string, Uint8Array>();
    const memo: BatchMemo = {
      get: (digest) => {
        const bytes = current.get(digest) ?? previous?.get(digest);
        if (bytes !== undefined) current.set(digest, bytes);
        return bytes;
      },
      set: (digest, bytes) => {
        current.set(digest, bytes);
        this.stats.batchesEncoded++;
      },
      locality: (obj) => this.localities.get(obj),
      setLocality: (obj, encoded) => { this.localities.set(obj, encoded); },
    };
    const { version, value } = await encodeInBatches(cla, memo, pause);
    this.batches.set(name, current);
    let byKey = this.cache.get(ENDPOINT);
    if (!byKey) this.cache.set(ENDPOINT, (byKey = new Map()));
    const hit = byKey.get(version);
    if (hit && hit.name === name) {
      this.stats.reused++;
      return hit;
    }
    return this.store(byKey, { name, version, any: anyOf(ENDPOINT, value) });
  }

  /**
   * Encodes a message of `messageType` (a full protobuf name) that callers put into resources with
   * `compose`. Not cached and not counted: callers keep parts as long as their inputs hold.
   */
  encodePart<N extends keyof EnvoyMessages>(messageType: N, obj: EnvoyMessages[N]): EncodedPart {
    const type = this.typeFor(`type.googleapis.com/${messageType}`);
    return { version: contentHash(JSON.stringify(obj)), bytes: owned(type.encode(type.fromObject(obj)).finish()) };
  }

  /**
   * A resource whose message is `head` (fields numbered below `field`) followed by `parts` as the
   * repeated message field `field`: a RouteConfiguration is its name (field 1) and its virtual
   * hosts (field 2). protobufjs writes fields in number order and a repeated message field is
   * its elements one after another, each tagged and length-prefixed, so the bytes are exactly
   * what encoding the whole object would give, without hashing or encoding the parts again.
   * The version is a hash of the head and the parts' versions: equal content, equal version.
   * Cached and counted like `encode`.
   */
  compose(typeUrl: string, name: string, head: EnvoyResource, field: number, parts: readonly EncodedPart[]): XdsResource {
    let byKey = this.cache.get(typeUrl);
    if (!byKey) this.cache.set(typeUrl, (byKey = new Map()));
    const headJson = JSON.stringify(head);
    let text = `${headJson}\n${field}`;
    for (const p of parts) text += `\n${p.version}`;
    const version = contentHash(text);
    const hit = byKey.get(version);
    if (hit && hit.name === name) {
      this.stats.reused++;
      return hit;
    }
    const type = this.typeFor(typeUrl);
    const headBytes = type.encode(type.fromObject(head)).finish();
    let valueLength = headBytes.length;
    for (const p of parts) valueLength += lenFieldLength(field, p.bytes.length);
    const url = Buffer.from(typeUrl);
    // Any: type_url=1, value=2.
    const wrapped = Buffer.allocUnsafe(lenFieldLength(1, url.length) + lenFieldLength(2, valueLength));
    let at = writeLenHeader(wrapped, 0, 1, url.length);
    at += url.copy(wrapped, at);
    at = writeLenHeader(wrapped, at, 2, valueLength);
    wrapped.set(headBytes, at);
    at += headBytes.length;
    for (const p of parts) {
      at = writeLenHeader(wrapped, at, field, p.bytes.length);
      wrapped.set(p.bytes, at);
      at += p.bytes.length;
    }
    return this.store(byKey, { name, version, any: wrapped });
  }

  /** Forget every resource of a type that is not among `live`, so memory tracks the mesh. */
  sweep(typeUrl: string, live: Iterable<XdsResource>): void {
    const byKey = this.cache.get(typeUrl);
    const keep = new Map<string, XdsResource>();
    for (const r of live) keep.set(r.version, r);
    if (typeUrl === ENDPOINT) {
      const names = new Set([...keep.values()].map((r) => r.name));
      for (const name of [...this.batches.keys()]) if (!names.has(name)) this.batches.delete(name);
    }
    if (!byKey) return;
    this.cache.set(typeUrl, keep);
  }

  size(): number {
    let n = 0;
    for (const m of this.cache.values()) n += m.size;
    return n;
  }

  private store(byKey: Map<string, XdsResource>, encoded: XdsResource): XdsResource {
    const res = { ...encoded, any: owned(encoded.any) };
    byKey.set(res.version, res);
    this.stats.encoded++;
    return res;
  }

  private typeFor(typeUrl: string): protobuf.Type {
    let t = this.types.get(typeUrl);
    if (!t) this.types.set(typeUrl, (t = lookupType(messageName(typeUrl))));
    return t;
  }
}
