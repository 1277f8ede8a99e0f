// Reading encoded protobuf messages field by field, without decoding them: skipping fields,
// finding where a length-delimited field's bytes are, reading strings in place.
import { readVarint, WireFormatError } from './varint.js';
import { WireType } from './tag.js';

/**
 * Where the field starting at `pos` ends, with its tag; undefined when the bytes there are not a
 * well-formed field or use a group wire type (no client of ours writes groups).
 */
export function fieldAt(buf: Uint8Array, pos: number): { tag: number; end: number } | undefined {
  const [tag, p] = readVarint(buf, pos);
  let end: number;
  switch (tag & 7) {
    case WireType.VARINT: end = readVarint(buf, p)[1]; break;
    case WireType.I64: end = p + 8; break;
    case WireType.I32: end = p + 4; break;
    case WireType.LEN: {
      const [len, q] = readVarint(buf, p);
      end = q + len;
      break;
    }
    default: return undefined;
  }
  return end > buf.length ? undefined : { tag, end };
}

/**
 * A cursor over one encoded message (or a part of it, up to `end`). Made for hot loops: spans are
 * left in fields instead of returned as new arrays, and strings decode straight from the buffer.
 */
export class WireReader {
  pos = 0;
  readonly buf: Buffer;
  end: number;
  /** Start of the last field skipped with skipSpan, or found with findLast. */
  spanStart = 0;
  /** End of the field found by findLast. */
  spanEnd = 0;

  constructor(bytes: Uint8Array, end = bytes.length) {
    // One Buffer view per message, so strings decode straight from it (no view per string).
    this.buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
    this.end = end;
  }

  varint(): number {
    // Tags and lengths are one or two bytes nearly always: those skip the loop.
    if (this.pos + 1 < this.end) {
      const first = this.buf[this.pos];
      if (first < 0x80) {
        this.pos++;
        return first;
      }
      const second = this.buf[this.pos + 1];
      if (second < 0x80) {
        this.pos += 2;
        return (first & 0x7f) | (second << 7);
      }
    }
    const [value, next] = readVarint(this.buf, this.pos, this.end);
    this.pos = next;
    return value;
  }

  /** Skips a length-delimited field, leaving its bytes at [spanStart, pos): no array made. */
  skipSpan(): void {
    const len = this.varint();
    this.spanStart = this.pos;
    this.pos += len;
    if (this.pos > this.end) throw new WireFormatError('truncated length-delimited field');
  }

  /**
   * Reads the fields from pos to `end` (then stays there) and leaves the bytes of the last
   * length-delimited field tagged `tag` at [spanStart, spanEnd); false if there was none.
   */
  findLast(tag: number, end: number): boolean {
    const outer = this.end;
    this.end = end;
    let found = false, start = 0, stop = 0;
    while (this.pos < end) {
      const t = this.varint();
      if (t === tag) {
        this.skipSpan();
        found = true;
        start = this.spanStart;
        stop = this.pos;
      } else this.skip(t & 7);
    }
    this.end = outer;
    this.spanStart = start;
    this.spanEnd = stop;
    return found;
  }

  /** Start and end of a length-delimited field's bytes. */
  span(): [number, number] {
    const len = this.varint();
    const start = this.pos;
    this.pos += len;
    if (this.pos > this.end) throw new WireFormatError('truncated length-delimited field');
    return [start, this.pos];
  }

  string(): string {
    const len = this.varint();
    const start = this.pos;
    this.pos += len;
    if (this.pos > this.end) throw new WireFormatError('truncated string');
    return this.buf.toString('utf8', start, this.pos);
  }

  skip(wireType: number): void {
    switch (wireType) {
      case WireType.VARINT: this.varint(); return;
      case WireType.I64: this.pos += 8; return;
      case WireType.LEN: this.span(); return;
      case WireType.I32: this.pos += 4; return;
      default: throw new WireFormatError(`unsupported wire type ${wireType}`);
    }
  }
}

/**
 * Total bytes of the length-delimited fields tagged `tag` at the top level of a message (a
 * repeated string's entries, without their tags and lengths); undefined for malformed input.
 * One pass over the tags, nothing decoded: enough to refuse a request before decoding it.
 */
export function lenFieldBytes(buf: Uint8Array, tag: number): number | undefined {
  try {
    let total = 0;
    let pos = 0;
    while (pos < buf.length) {
      const f = fieldAt(buf, pos);
      if (!f) return undefined;
      if (f.tag === tag) total += f.end - readVarint(buf, readVarint(buf, pos)[1])[1];
      pos = f.end;
    }
    return total;
  } catch {
    return undefined;
  }
}
