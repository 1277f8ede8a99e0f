// Which configuration objects proxies currently reject, and how many proxies reject each.
//
// A NACK names a type and carries an error message, not the object that caused it. Attribution:
// the resources the message names (proxies name the resource they reject: Envoy "Error adding/
// updating listener(s) X", gRPC "... resource X ..."), else every candidate resource the proxy
// had of that type; each resource maps to the objects that shaped it (ResourceOwners). A NACK
// stays active until the same stream ACKs that type again or closes.

/** Which configuration objects (`<Kind>/<namespace>/<name>`) shaped an xDS resource. */
export interface ResourceOwners {
  owners(typeUrl: string, resourceName: string): readonly string[];
  /** Every resource name of the type that has an owner (for messages that name none of the candidates). */
  ownedNames(typeUrl: string): Iterable<string>;
}

export interface NackInput {
  readonly streamId: number;
  readonly proxy: string;
  readonly typeUrl: string;
  readonly message: string;
  /**
   * The resources of this type the proxy had asked for; empty for a wildcard subscription, in
   * which case every owned resource of the type is a candidate.
   */
  readonly candidates: readonly string[];
}

export interface NackSummary {
  /** Distinct proxies (node ids) currently rejecting configuration shaped by the object. */
  readonly proxies: number;
  /** The earliest still-active rejection: its message, proxy and type. */
  readonly firstError: string;
  readonly firstProxy: string;
  readonly typeUrl: string;
}

interface ActiveNack {
  readonly seq: number;
  readonly proxy: string;
  readonly typeUrl: string;
  readonly message: string;
  readonly objects: readonly string[];
}

/** The objects a rejection is blamed on (sorted, unique). */
export function attributeNack(input: NackInput, owners: ResourceOwners): string[] {
  const candidates = input.candidates.length > 0 ? input.candidates : [...owners.ownedNames(input.typeUrl)];
  const named = candidates.filter((name) => name !== '' && input.message.includes(name));
  const blamed = named.length > 0 ? named : candidates;
  const objects = new Set<string>();
  for (const name of blamed) for (const o of owners.owners(input.typeUrl, name)) objects.add(o);
  return [...objects].sort();
}

export class NackTracker {
  private readonly active = new Map<string, ActiveNack>();
  private seq = 0;

  constructor(private readonly owners: () => ResourceOwners) {}

  /** Records a rejection: the objects it is blamed on, and whether the per-object summary may have changed. */
  nacked(input: NackInput): { readonly objects: readonly string[]; readonly changed: boolean } {
    const objects = attributeNack(input, this.owners());
    const key = `${input.streamId} ${input.typeUrl}`;
    const prev = this.active.get(key);
    // The same stream rejecting again keeps its place in "first error" order.
    this.active.set(key, { seq: prev?.seq ?? ++this.seq, proxy: input.proxy, typeUrl: input.typeUrl, message: input.message, objects });
    return { objects, changed: objects.length > 0 || (prev?.objects.length ?? 0) > 0 };
  }

  /** The stream accepted a newer version of the type: its earlier rejection is over. */
  acked(streamId: number, typeUrl: string): boolean {
    return this.drop(`${streamId} ${typeUrl}`);
  }

  streamClosed(streamId: number): boolean {
    let changed = false;
    for (const key of [...this.active.keys()]) {
      if (key.startsWith(`${streamId} `)) changed = this.drop(key) || changed;
    }
    return changed;
  }

  /** Per object key: how many proxies reject what it shaped, and the first error. */
  summary(): Map<string, NackSummary> {
    const byObject = new Map<string, { proxies: Set<string>; first: ActiveNack }>();
    for (const n of [...this.active.values()].sort((a, b) => a.seq - b.seq)) {
      for (const o of n.objects) {
        const entry = byObject.get(o);
        if (entry) entry.proxies.add(n.proxy);
        else byObject.set(o, { proxies: new Set([n.proxy]), first: n });
      }
    }
    const out = new Map<string, NackSummary>();
    for (const [o, { proxies, first }] of byObject) {
      out.set(o, { proxies: proxies.size, firstError: first.message, firstProxy: first.proxy, typeUrl: first.typeUrl });
    }
    return out;
  }

  private drop(key: string): boolean {
    const prev = this.active.get(key);
    if (!prev) return false;
    this.active.delete(key);
    return prev.objects.length > 0;
  }
}
