// Base64 of a JSON text assembled from pieces, some of them encoded once and reused. Base64 turns
// every 3 bytes into 4 characters on their own, so the encodings of pieces whose lengths are
// multiples of 3 concatenate into the encoding of the whole; JSON allows whitespace between
// tokens, so any piece can be padded to such a length with spaces. The text decodes to JSON equal
// to the unpadded one (only whitespace differs), and the large shared parts of an injection patch
// (the sidecar containers, ~9 kB) are never encoded again.

/** `text` with spaces after it up to a multiple of 3 UTF-8 bytes. */
export function padToTriplets(text: string): string {
  const rest = Buffer.byteLength(text) % 3;
  return rest === 0 ? text : text + (rest === 1 ? '  ' : ' ');
}

export class AlignedBase64Writer {
  private readonly encoded: string[] = [];
  private pending = '';

  /** JSON text to encode here. */
  text(json: string): void {
    this.pending += json;
  }

  /**
   * A piece already encoded from padToTriplets(json). It must stand where whitespace may
   * follow the text before it (after `[`, `,` or `:`, never inside a string).
   */
  encodedPiece(base64: string): void {
    if (this.pending !== '') {
      this.encoded.push(Buffer.from(padToTriplets(this.pending)).toString('base64'));
      this.pending = '';
    }
    this.encoded.push(base64);
  }

  /** The base64 of everything written; the last piece is not padded. */
  finish(): string {
    if (this.pending !== '') this.encoded.push(Buffer.from(this.pending).toString('base64'));
    this.pending = '';
    return this.encoded.join('');
  }
}
