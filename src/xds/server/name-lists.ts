// SotW clients restate their whole subscription in every ACK: a sidecar's EDS ACK carries
// thousands of cluster names, the same bytes each time. Decoding them is most of the cost of
// an ACK, so long lists are recognised by their bytes (one memcmp) and the names decoded once
// are handed out again, already interned.
//
// The lists belong to the streams that sent them: a stream holds at most one list per type (its
// latest), a list is kept while some stream holds it and dropped when the last one lets go (a
// new list, or the stream closed), and all lists together are bounded by bytes. A client sending
// huge lists therefore costs memory only while its streams are open, and never more than the
// budget; past it, lists are decoded as they come, not kept.
import { readVarint } from '../wire/varint.js';
import { fieldAt } from '../wire/reader.js';
import { lenTag } from '../wire/tag.js';
import type { NameInterner } from './intern.js';

/** Shorter lists are cheaper to decode than to look up. */
export const MIN_LIST_BYTES = 2048;

export interface NameList {
  readonly bytes: Buffer;
  readonly names: readonly string[];
}

interface Entry extends NameList {
  readonly firstKey: string;
  /** Streams holding the list. */
  refs: number;
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

function scan(buf: Uint8Array, field: number): [number, number] | undefined {
  const tag = lenTag(field);
  let pos = 0;
  let start = -1, end = -1;
  while (pos < buf.length) {
    const fieldStart = pos;
    const f = fieldAt(buf, pos);
    if (!f) return undefined;
    pos = f.end;
    if (f.tag === tag) {
      if (start < 0) start = fieldStart;
      else if (end !== fieldStart) return undefined;
      end = pos;
    }
  }
  return start >= 0 && end - start >= MIN_LIST_BYTES ? [start, end] : undefined;
}

/** The bytes of the first length-delimited field of an encoded list, as a map key. */
function firstFieldKey(bytes: Buffer): string {
  const [, p] = readVarint(bytes, 0);
  const [len, q] = readVarint(bytes, p);
  return bytes.toString('latin1', 0, q + len);
}

/** What an entry costs: the copy of its bytes kept for matching, and its decoded names. */
function costOf(bytes: Uint8Array): number {
  return 2 * bytes.length;
}

export class NameLists {
  private readonly byLength = new Map<number, Entry[]>();
  /** The same entries by the raw bytes of their first name field (see match). */
  private readonly byFirst = new Map<string, Entry[]>();
  private bytes = 0;

  constructor(private readonly interner: NameInterner, private readonly maxBytes: number,
    private readonly onFull: () => void = () => undefined, private readonly onDropped: (bytes: number) => void = () => undefined) {}

  /** Bytes the lists held by open streams take (see costOf). */
  get heldBytes(): number {
    return this.bytes;
  }

  get count(): number {
    let n = 0;
    for (const l of this.byLength.values()) n += l.length;
    return n;
  }

  /**
   * The span and list of a known list that field `field` (a one-byte tag) of the message starts
   * with and that ends where the field's run ends; undefined otherwise. Only the fields before the
   * list and its first entry are parsed: the rest is one memcmp, instead of walking the thousands
   * of entries of an ACK that restates them (the walk was most of the cost of a sidecar's EDS ACK).
   */
  match(buf: Uint8Array, field: number): { span: [number, number]; list: NameList } | undefined {
    if (this.byFirst.size === 0) return undefined;
    try {
      const tagByte = lenTag(field);
      let pos = 0;
      while (pos < buf.length) {
        const fieldStart = pos;
        const f = fieldAt(buf, pos);
        if (!f) return undefined;
        pos = f.end;
        if (f.tag !== tagByte) continue;
        const whole = Buffer.from(buf.buffer, buf.byteOffset, buf.length);
        for (const e of this.byFirst.get(whole.toString('latin1', fieldStart, pos)) ?? []) {
          const end = fieldStart + e.bytes.length;
          if (end > buf.length || (end < buf.length && buf[end] === tagByte)) continue;
          if (whole.compare(e.bytes, 0, e.bytes.length, fieldStart, end) === 0) return { span: [fieldStart, end], list: e };
        }
        return undefined;
      }
    } catch {
      // Malformed: let the real decoder report it.
    }
    return undefined;
  }

  /** The list of a span seen before, or undefined. */
  known(bytes: Uint8Array): NameList | undefined {
    for (const e of this.byLength.get(bytes.length) ?? []) if (e.bytes.equals(bytes)) return e;
    return undefined;
  }

  /**
   * Keeps a decoded list for whoever holds it next (see NameListHolder); undefined when the
   * budget is used up, and the caller uses the names as decoded.
   */
  remember(bytes: Uint8Array, names: readonly string[]): NameList | undefined {
    if (this.bytes + costOf(bytes) > this.maxBytes) {
      this.onFull();
      return undefined;
    }
    const copy = Buffer.from(bytes);
    const entry: Entry = {
      bytes: copy, names: Object.freeze(names.map((n) => this.interner.intern(n))), firstKey: firstFieldKey(copy), refs: 0,
    };
    this.add(this.byLength, bytes.length, entry);
    this.add(this.byFirst, entry.firstKey, entry);
    this.bytes += costOf(bytes);
    return entry;
  }

  /** A holder for one stream's lists. */
  holder(): NameListHolder {
    return new NameListHolder(this);
  }

  /** @internal for NameListHolder */
  retain(list: NameList): void {
    (list as Entry).refs++;
  }

  /** @internal for NameListHolder: the last holder gone, the list is dropped. */
  release(list: NameList): void {
    const e = list as Entry;
    if (--e.refs > 0) return;
    if (this.remove(this.byLength, e.bytes.length, e) && this.remove(this.byFirst, e.firstKey, e)) {
      this.bytes -= costOf(e.bytes);
      this.onDropped(costOf(e.bytes));
    }
  }

  private add<K>(m: Map<K, Entry[]>, key: K, e: Entry): void {
    const list = m.get(key);
    if (list) list.push(e);
    else m.set(key, [e]);
  }

  private remove<K>(m: Map<K, Entry[]>, key: K, e: Entry): boolean {
    const list = m.get(key);
    const i = list?.indexOf(e) ?? -1;
    if (!list || i < 0) return false;
    list.splice(i, 1);
    if (list.length === 0) m.delete(key);
    return true;
  }
}

/** The lists one stream holds: its latest per type, all let go when the stream closes. */
export class NameListHolder {
  private readonly held = new Map<string, NameList>();

  constructor(private readonly lists: NameLists) {}

  /** The lists' cache, for decoding. */
  get cache(): NameLists {
    return this.lists;
  }

  /** `list` is now the stream's list for `typeUrl`; the one before is let go. */
  hold(typeUrl: string, list: NameList): void {
    const before = this.held.get(typeUrl);
    if (before === list) return;
    this.lists.retain(list);
    this.held.set(typeUrl, list);
    if (before) this.lists.release(before);
  }

  releaseAll(): void {
    for (const l of this.held.values()) this.lists.release(l);
    this.held.clear();
  }
}
