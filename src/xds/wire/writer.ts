// Writing length-delimited fields by hand, where protobufjs' Writer would copy: splicing
// already encoded messages into a larger one, and string fields into preallocated buffers.
import { lenTag } from './tag.js';
import { varintLength, writeVarint } from './varint.js';

/** Bytes a length-delimited field of `byteLength` bytes takes, tag and length included. */
export function lenFieldLength(field: number, byteLength: number): number {
  return varintLength(lenTag(field)) + varintLength(byteLength) + byteLength;
}

/** Writes the tag and length of a length-delimited field at `at`; returns where its bytes go. */
export function writeLenHeader(buf: Uint8Array, at: number, field: number, byteLength: number): number {
  return writeVarint(buf, writeVarint(buf, at, lenTag(field)), byteLength);
}

/** One length-delimited field: tag, length, bytes. */
export function lenField(field: number, bytes: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(lenFieldLength(field, bytes.length));
  out.set(bytes, writeLenHeader(out, 0, field, bytes.length));
  return out;
}

/** Writes one string field (its UTF-8 length given) at `at`; returns where it ends. */
export function writeStringField(out: Buffer, at: number, field: number, value: string, byteLength: number): number {
  const start = writeLenHeader(out, at, field, byteLength);
  return start + out.write(value, start, 'utf8');
}

/** One string field: tag, length, UTF-8 bytes. */
export function stringField(field: number, s: string): Buffer {
  const len = Buffer.byteLength(s);
  const out = Buffer.allocUnsafe(lenFieldLength(field, len));
  writeStringField(out, 0, field, s, len);
  return out;
}
