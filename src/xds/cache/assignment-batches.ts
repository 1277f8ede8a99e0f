// A ClusterLoadAssignment of thousands of endpoints encoded a batch of endpoints at a time, pausing
// between batches: encoding one whole (10,000 endpoints: ~250 KiB, 50-100 ms) would hold the event
// loop for all of it. The bytes are exactly those of encoding the whole message: protobufjs writes
// fields in number order, a repeated message field is its elements one after another, and a
// message holding only some elements of a repeated field encodes as just those elements, so
// [fields before `endpoints`] [each locality] [fields after] concatenate to the whole, and each
// locality likewise from [fields before `lb_endpoints`] [batches] [fields after].
//
// Batches end where an endpoint's content says so (a hash of it, or the size bound), not at fixed
// counts, so adding or removing one endpoint changes the batch it is in and leaves the others as
// they were: their encodings are reused (BatchMemo), and a change into a service of 10,000
// endpoints encodes ~100 of them, not 10,000. The service's other assignments with the same
// endpoints (the registry alias of a synthetic service, a port with the same target) reuse all.
import { createHash, type Hash } from 'node:crypto';
import type protobuf from 'protobufjs';
import type { NamedLoadAssignment } from '../generate/resource.js';
import { lookupType } from '../protos.js';
import { lenFieldLength, writeLenHeader } from '../wire/writer.js';

/** Most endpoints in a batch (~1-3 ms of encoding); on average a batch has BATCH_MASK + 1. */
export const ENDPOINTS_PER_BATCH = 500;
const BATCH_MASK = 127;

const LOAD_ASSIGNMENT = 'envoy.config.endpoint.v3.ClusterLoadAssignment';
const LOCALITY_ENDPOINTS = 'envoy.config.endpoint.v3.LocalityLbEndpoints';

type Fields = Record<string, unknown>;

/** An object's fields numbered below and above its repeated field `name`, and that field's elements. */
interface Split {
  readonly before: Fields;
  readonly list: readonly unknown[];
  readonly after: Fields;
  readonly field: number;
}

function split(type: protobuf.Type, obj: object, name: string): Split {
  const field = type.fields[name];
  if (!field?.repeated) throw new Error(`${type.fullName}: expected a repeated field ${name}`);
  const before: Fields = {};
  const after: Fields = {};
  let list: readonly unknown[] = [];
  for (const [key, value] of Object.entries(obj)) {
    if (key === name) list = Array.isArray(value) ? value : [];
    // A key that is no field is dropped by fromObject wherever it goes.
    else if ((type.fields[key]?.id ?? 0) < field.id) before[key] = value;
    else after[key] = value;
  }
  return { before, list, after, field: field.id };
}

/**
 * Encoded batches by content, kept by their owner (the encoder) for as long as it keeps the
 * assignments they are part of.
 */
export interface BatchMemo {
  get(digest: string): Uint8Array | undefined;
  set(digest: string, bytes: Uint8Array): void;
  /**
   * A locality object encoded before (the generator shares one between assignments with the same
   * endpoints, such as a synthetic service's registry alias), by identity: no serializing again.
   */
  locality(obj: object): EncodedLocality | undefined;
  setLocality(obj: object, encoded: EncodedLocality): void;
}

/** A locality as its length-delimited field, and the text it adds to the version hash. */
export interface EncodedLocality {
  readonly hashed: string;
  readonly bytes: Uint8Array;
}

/** FNV-1a over the UTF-16 code units: cheap, and only decides where batches end. */
function boundaryHash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** The locality's endpoints cut into batches at content-defined boundaries, each with its JSON. */
function* batchesOf(list: readonly unknown[]): Generator<{ readonly items: unknown[]; readonly json: string }> {
  let items: unknown[] = [];
  let texts: string[] = [];
  for (const ep of list) {
    const text = JSON.stringify(ep);
    items.push(ep);
    texts.push(text);
    if ((boundaryHash(text) & BATCH_MASK) === 0 || items.length >= ENDPOINTS_PER_BATCH) {
      yield { items, json: `{"lb_endpoints":[${texts.join(',')}]}` };
      items = [];
      texts = [];
    }
  }
  if (items.length > 0) yield { items, json: `{"lb_endpoints":[${texts.join(',')}]}` };
}

/** Encodes `obj` as a `type`, and hashes it under `tag` (which says what part it is). */
function encodePart(type: protobuf.Type, obj: Fields, hash: Hash, tag: string): Uint8Array {
  hash.update(`${tag}${JSON.stringify(obj)}\n`);
  return type.encode(type.fromObject(obj)).finish();
}

function lengthOf(parts: readonly Uint8Array[]): number {
  let n = 0;
  for (const p of parts) n += p.length;
  return n;
}

export function endpointCount(cla: NamedLoadAssignment): number {
  let n = 0;
  for (const loc of cla.endpoints ?? []) n += loc.lb_endpoints?.length ?? 0;
  return n;
}

/**
 * The encoded ClusterLoadAssignment and a hash of its content (equal content, equal hash; it
 * differs from ResourceEncoder's whole-message hash, so the two never collide). `pause` runs
 * before every batch of endpoints.
 */
export async function encodeInBatches(cla: NamedLoadAssignment, memo: BatchMemo,
  pause: () => Promise<void>): Promise<{ version: string; value: Uint8Array }> {
  const claType = lookupType(LOAD_ASSIGNMENT);
  const localityType = lookupType(LOCALITY_ENDPOINTS);
  const hash = createHash('sha1').update('batched\n');
  const top = split(claType, cla, 'endpoints');
  const out: Uint8Array[] = [encodePart(claType, top.before, hash, 'c')];
  for (const locality of top.list) {
    const encoded = memo.locality(locality as object) ?? await encodeLocality(localityType, locality as object, top.field, memo, pause);
    hash.update(encoded.hashed);
    out.push(encoded.bytes);
  }
  out.push(encodePart(claType, top.after, hash, 'z'));
  return { version: hash.digest('base64url').slice(0, 16), value: Buffer.concat(out) };
}

/** One locality as a length-delimited field `field`, and what of it goes into the version hash. */
async function encodeLocality(type: protobuf.Type, locality: object, field: number, memo: BatchMemo,
  pause: () => Promise<void>): Promise<EncodedLocality> {
  const loc = split(type, locality, 'lb_endpoints');
  const hash = createHash('sha1');
  const parts: Uint8Array[] = [encodePart(type, loc.before, hash, 'l')];
  const digests: string[] = [];
  for (const { items, json } of batchesOf(loc.list)) {
    // Batches are known by a digest of their content: the memo keeps no copy of the text.
    const digest = createHash('sha1').update(json).digest('base64');
    digests.push(digest);
    let bytes = memo.get(digest);
    if (bytes === undefined) {
      bytes = type.encode(type.fromObject({ lb_endpoints: items })).finish();
      memo.set(digest, bytes);
    }
    parts.push(bytes);
    await pause();
  }
  parts.push(encodePart(type, loc.after, hash, 'm'));
  const length = lengthOf(parts);
  const header = Buffer.allocUnsafe(lenFieldLength(field, length) - length);
  writeLenHeader(header, 0, field, length);
  const encoded = { hashed: `L${hash.digest('base64')}${digests.join('')}\n`, bytes: Buffer.concat([header, ...parts]) };
  memo.setLocality(locality, encoded);
  return encoded;
}
