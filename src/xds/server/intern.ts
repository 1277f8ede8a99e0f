// Every request decodes fresh copies of the same few thousand resource names; a sidecar's EDS
// subscription alone would hold a hundred kilobytes of duplicate strings. Names are kept once
// per server instead, bounded by bytes so that a client sending junk names cannot grow it: when
// full it starts over (names already handed out stay valid, only later duplicates are missed).
export class NameInterner {
  private readonly names = new Map<string, string>();
  private bytes = 0;

  /**
   * @param maxBytes total length of the names kept (UTF-16 units, which is bytes for the ASCII
   *   names Envoy uses)
   * @param maxNameLength longer names are never kept: no real resource name is that long, and
   *   one such name would otherwise use up the budget
   */
  constructor(private readonly maxBytes: number, private readonly maxNameLength = 1024) {}

  intern(name: string): string {
    const known = this.names.get(name);
    if (known !== undefined) return known;
    if (name.length > this.maxNameLength) return name;
    if (this.bytes + name.length > this.maxBytes) this.clear();
    this.names.set(name, name);
    this.bytes += name.length;
    return name;
  }

  clear(): void {
    this.names.clear();
    this.bytes = 0;
  }

  get size(): number {
    return this.names.size;
  }

  get heldBytes(): number {
    return this.bytes;
  }
}
