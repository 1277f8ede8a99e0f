// Field tags: (field number << 3) | wire type. The codecs here only ever write and look for
// length-delimited fields (strings, bytes, embedded messages), and skip the others.

export const WireType = {
  VARINT: 0,
  I64: 1,
  LEN: 2,
  I32: 5,
} as const;

function fieldTag(field: number, wireType: number): number {
  return field * 8 + wireType;
}

/** The tag of length-delimited field `field`. */
export function lenTag(field: number): number {
  return fieldTag(field, WireType.LEN);
}
