// Every request decodes fresh copies of the same few thousand resource names; a sidecar's EDS
// subscription alone would hold a hundred kilobytes of duplicate strings. Names are kept once
// per process instead (bounded, so a client sending junk names cannot grow it forever).
const MAX_INTERNED = 200_000;
const interned = new Map<string, string>();

export function internName(name: string): string {
  const known = interned.get(name);
  if (known !== undefined) return known;
  if (interned.size < MAX_INTERNED) interned.set(name, name);
  return name;
}
