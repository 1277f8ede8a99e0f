// Peer-supplied strings (node ids, type URLs, nonces, NACK messages) go into log lines and
// statuses clipped: a client could otherwise send a megabyte-long node id and have it copied
// into every line its stream logs.

/** Default length a peer-supplied string is clipped to in logs. */
export const DEFAULT_LOGGED_STRING_CHARS = 128;

/** `text` if it is at most `max` characters; else its start, marked with the original length. */
export function clip(text: string, max = DEFAULT_LOGGED_STRING_CHARS): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max)}…[${text.length} chars]`;
}
