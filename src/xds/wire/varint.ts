// Protobuf base-128 varints (https://protobuf.dev/programming-guides/encoding/#varints), for the
// lengths and tags the encoder, the request codec and the benchmark write and read by hand.
// Values are JavaScript numbers: exact up to 2^53, which every length and tag is.

/** Thrown for bytes that are not a well-formed varint or field; callers fall back or refuse. */
export class WireFormatError extends Error {}

/** Bytes the varint of `n` takes. */
export function varintLength(n: number): number {
  let len = 1;
  while (n > 0x7f) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
}

/** Writes the varint of `n` at `at`; returns where it ends. */
export function writeVarint(buf: Uint8Array, at: number, n: number): number {
  while (n > 0x7f) {
    // `& 0x7f` keeps the low bits exactly for any integer below 2^53.
    buf[at++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[at++] = n;
  return at;
}

/** The varint at `pos`: its value and where it ends. */
export function readVarint(buf: Uint8Array, pos: number, end = buf.length): [value: number, next: number] {
  let result = 0;
  let shift = 0;
  for (;;) {
    if (pos >= end) throw new WireFormatError('truncated varint');
    const b = buf[pos++];
    // Multiplication, not shifts: lengths and tags past 2^31 stay exact.
    result += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) return [result, pos];
    shift += 7;
    if (shift > 63) throw new WireFormatError('varint too long');
  }
}
