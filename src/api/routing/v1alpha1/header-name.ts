// Header names users write (match.headers keys, header operations, hash-policy headers) are
// checked the way Envoy checks them in strict mode: an RFC 7230 token (letters, digits and
// !#$%&'*+-.^_`|~), so no control characters, spaces, colons or non-ASCII. Envoy and HTTP/2
// lower-case names, so two names that differ only in case are the same header.
//
// Length: Envoy has no per-name limit below its 60 KiB header block; pilotfish caps names at
// 256 characters (the CRD says the same), far above any real header and small enough for status
// messages and logs.

export const MAX_HEADER_NAME_LENGTH = 256;

const TOKEN = /^[0-9A-Za-z!#$%&'*+.^_|~`-]+$/;

/** Why `name` is not a header name Envoy accepts, or undefined. */
export function headerNameProblem(name: string): string | undefined {
  if (name === '') return 'a header name must not be empty';
  if (name.length > MAX_HEADER_NAME_LENGTH) {
    return `a header name must be at most ${MAX_HEADER_NAME_LENGTH} characters long (is ${name.length})`;
  }
  if (!TOKEN.test(name)) {
    return 'a header name may contain only letters, digits and !#$%&\'*+-.^_`|~ (no spaces, colons or control characters)';
  }
  return undefined;
}

/** Pairs of names in `names` that are the same header in different letter case. */
export function caseInsensitiveDuplicates(names: readonly string[]): [string, string][] {
  const first = new Map<string, string>();
  const out: [string, string][] = [];
  for (const n of names) {
    const lower = n.toLowerCase();
    const prev = first.get(lower);
    if (prev === undefined) first.set(lower, n);
    else out.push([prev, n]);
  }
  return out;
}
