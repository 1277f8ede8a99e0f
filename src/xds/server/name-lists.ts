// SotW clients restate their whole subscription in every ACK: a sidecar's EDS ACK carries
// thousands of cluster names, the same bytes each time. Decoding them is most of the cost of
// an ACK, so long lists are recognised by their bytes (one memcmp) and the names decoded once
// are handed out again, already interned.
import { internName } from './intern.js';

/** Shorter lists are cheaper to decode than to look up. */
export const MIN_LIST_BYTES = 2048;
const MAX_LISTS = 256;

interface Entry { readonly bytes: Buffer; readonly names: readonly string[] }
const byLength = new Map<number, Entry[]>();
/** The same entries by the raw bytes of their first name field (see matchKnownList). */
const byFirst = new Map<string, Entry[]>();
let count = 0;

function varint(buf: Uint8Array, pos: number): [number, number] {
  let result = 0;
  let shift = 0;
  for (;;) {
    if (pos >= buf.length) throw new Error('truncated varint');
    const b = buf[pos++];
    result += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) return [result, pos];
    shift += 7;
    if (shift > 63) throw new Error('varint too long');
  }
}

/**
 * Where the repeated string field `field` sits in a message, if its entries are contiguous (as
 * every client writes them) and take at least MIN_LIST_BYTES; undefined otherwise.
 */
export function listSpan(buf: Uint8Array, field: number): [number, number] | undefined {
  try {
    return scan(buf, field);
  } catch {
    // Malformed: let the real decoder report it.
    return undefined;
  }
}

/**
 * Reads the field starting at `pos` of an encoded message: its tag and where it ends, or
 * undefined when the bytes are not a well-formed field (or use a group wire type).
 */
function nextField(buf: Uint8Array, pos: number): { tag: number; end: number } | undefined {
  const [tag, p] = varint(buf, pos);
  const wt = tag & 7;
  let end: number;
  if (wt === 0) end = varint(buf, p)[1];
  else if (wt === 1) end = p + 8;
  else if (wt === 5) end = p + 4;
  else if (wt === 2) {
    const [len, q] = varint(buf, p);
    end = q + len;
  } else return undefined;
  return end > buf.length ? undefined : { tag, end };
}

function scan(buf: Uint8Array, field: number): [number, number] | undefined {
  let pos = 0;
  let start = -1, end = -1;
  while (pos < buf.length) {
    const fieldStart = pos;
    const f = nextField(buf, pos);
    if (!f) return undefined;
    pos = f.end;
    if (f.tag === field * 8 + 2) {
      if (start < 0) start = fieldStart;
      else if (end !== fieldStart) return undefined;
      end = pos;
    }
  }
  return start >= 0 && end - start >= MIN_LIST_BYTES ? [start, end] : undefined;
}

/**
 * The span and names of a known list that field `field` (a one-byte tag) of the message starts
 * with and that ends where the field's run ends; undefined otherwise. Only the fields before the
 * list and its first entry are parsed: the rest is one memcmp, instead of walking the thousands
 * of entries of an ACK that restates them (the walk was most of the cost of a sidecar's EDS ACK).
 */
export function matchKnownList(buf: Uint8Array, field: number): { span: [number, number]; names: readonly string[] } | undefined {
  if (byFirst.size === 0) return undefined;
  try {
    const tagByte = field * 8 + 2;
    let pos = 0;
    while (pos < buf.length) {
      const fieldStart = pos;
      const f = nextField(buf, pos);
      if (!f) return undefined;
      pos = f.end;
      if (f.tag !== tagByte) continue;
      const whole = Buffer.from(buf.buffer, buf.byteOffset, buf.length);
      for (const e of byFirst.get(whole.toString('latin1', fieldStart, pos)) ?? []) {
        const end = fieldStart + e.bytes.length;
        if (end > buf.length || (end < buf.length && buf[end] === tagByte)) continue;
        if (whole.compare(e.bytes, 0, e.bytes.length, fieldStart, end) === 0) return { span: [fieldStart, end], names: e.names };
      }
      return undefined;
    }
  } catch {
    // Malformed: let the real decoder report it.
  }
  return undefined;
}

/** The bytes of the first length-delimited field of an encoded list, as a map key. */
function firstFieldKey(bytes: Buffer): string {
  const [, p] = varint(bytes, 0);
  const [len, q] = varint(bytes, p);
  return bytes.toString('latin1', 0, q + len);
}

/** The names of a list span seen before, or undefined. */
export function knownList(bytes: Uint8Array): readonly string[] | undefined {
  for (const e of byLength.get(bytes.length) ?? []) if (e.bytes.equals(bytes)) return e.names;
  return undefined;
}

/** Remembers a decoded list; returns the interned names to use from now on. */
export function rememberList(bytes: Uint8Array, names: readonly string[]): readonly string[] {
  if (count >= MAX_LISTS) {
    byLength.clear();
    byFirst.clear();
    count = 0;
  }
  const entry: Entry = { bytes: Buffer.from(bytes), names: Object.freeze(names.map(internName)) };
  const list = byLength.get(bytes.length) ?? [];
  list.push(entry);
  byLength.set(bytes.length, list);
  const key = firstFieldKey(entry.bytes);
  const same = byFirst.get(key) ?? [];
  same.push(entry);
  byFirst.set(key, same);
  count++;
  return entry.names;
}
