// Map keys are user data and end up in field paths, hence in status messages and logs: they are
// shown bounded, and quoted when they hold anything but plain token characters.

const PLAIN = /^[0-9A-Za-z!#$%&'*+.^_|~`/-]*$/;
const MAX_SHOWN = 64;

/** How a user-supplied map key appears in a field path like `headers[x-user]`. */
export function pathKey(key: string): string {
  const shown = key.length > MAX_SHOWN ? `${key.slice(0, MAX_SHOWN)}…` : key;
  return PLAIN.test(key.slice(0, MAX_SHOWN)) && key !== '' ? shown : JSON.stringify(shown);
}
