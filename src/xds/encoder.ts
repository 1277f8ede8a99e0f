// Encodes each distinct resource content once; every proxy that gets the same content shares
// the same bytes. The content hash doubles as the resource version.
import { createHash } from 'node:crypto';
import protobuf from 'protobufjs';
import type { XdsResource } from './server/config-source.js';
import { lookupType } from './protos.js';
import { messageName } from './types.js';

export interface EncoderStats {
  /** Resources actually encoded (cache misses). */
  encoded: number;
  /** Lookups answered from the cache. */
  reused: number;
}

export class ResourceEncoder {
  private readonly cache = new Map<string, Map<string, XdsResource>>();
  private readonly types = new Map<string, protobuf.Type>();
  readonly stats: EncoderStats = { encoded: 0, reused: 0 };

  encode(typeUrl: string, name: string, obj: object): XdsResource {
    let byKey = this.cache.get(typeUrl);
    if (!byKey) this.cache.set(typeUrl, (byKey = new Map()));
    const json = JSON.stringify(obj);
    const version = createHash('sha1').update(json).digest('base64url').slice(0, 16);
    const hit = byKey.get(version);
    if (hit && hit.name === name) {
      this.stats.reused++;
      return hit;
    }
    const type = this.typeFor(typeUrl);
    // fromObject drops unknown fields silently: the golden round-trip tests are what catch them.
    const value = type.encode(type.fromObject(obj)).finish();
    const any = protobuf.Writer.create().uint32(10).string(typeUrl).uint32(18).bytes(value).finish();
    const res: XdsResource = { name, version, any };
    byKey.set(version, res);
    this.stats.encoded++;
    return res;
  }

  /** Forget every resource of a type that is not among `live`, so memory tracks the mesh. */
  sweep(typeUrl: string, live: Iterable<XdsResource>): void {
    const byKey = this.cache.get(typeUrl);
    if (!byKey) return;
    const keep = new Map<string, XdsResource>();
    for (const r of live) keep.set(r.version, r);
    this.cache.set(typeUrl, keep);
  }

  size(): number {
    let n = 0;
    for (const m of this.cache.values()) n += m.size;
    return n;
  }

  private typeFor(typeUrl: string): protobuf.Type {
    let t = this.types.get(typeUrl);
    if (!t) this.types.set(typeUrl, (t = lookupType(messageName(typeUrl))));
    return t;
  }
}
