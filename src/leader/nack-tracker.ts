// Which configuration objects proxies currently reject, and how many proxies reject each.
//
// A NACK names a type and carries an error message, not the object that caused it. Attribution:
// the resources the message names (proxies name the resource they reject: Envoy "Error adding/
// updating listener(s) X", gRPC "... resource X ..."), else every candidate resource the proxy
// had of that type; each resource maps to the objects that shaped it (ResourceOwners). A NACK
// stays active until the same stream ACKs that type again or closes.

/** NACK text kept (and so written into a status condition) is at most this many characters. */
export const MAX_NACK_MESSAGE_CHARS = 512;

/**
 * A proxy's NACK text as it may reach a status condition: what is not printable ASCII or a
 * letter or digit of any script (control characters, bidi overrides, zero-width and other
 * format characters, symbols) becomes "?", and it is cut to `max` characters. The proxy chose
 * this text; whoever reads the condition must not be shown anything it could not see.
 */
export function sanitizeNackMessage(text: string, max: number = MAX_NACK_MESSAGE_CHARS): string {
  const chars = [...text.slice(0, 4 * max)].map((c) => (/^[\x20-\x7e\p{L}\p{N}]$/u.test(c) ? c : '?'));
  return chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : chars.join('');
}

/** Which configuration objects (`<Kind>/<namespace>/<name>`) shaped an xDS resource. */
export interface ResourceOwners {
  owners(typeUrl: string, resourceName: string): readonly string[];
  /** Every resource name of the type that has an owner (for messages that name none of the candidates). */
  ownedNames(typeUrl: string): Iterable<string>;
}

interface NackInput {
  /**
   * The stream authenticated (the TLS port): only then is its text recorded. A plaintext client
   * is whoever it says it is, and what it writes must not reach a status others read.
   */
  readonly authenticated: boolean;
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
export function attributeNack(input: Omit<NackInput, 'authenticated'>, owners: ResourceOwners): string[] {
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
    if (!input.authenticated) return { objects: [], changed: false };
    const objects = attributeNack(input, this.owners());
    const message = sanitizeNackMessage(input.message);
    const key = `${input.streamId} ${input.typeUrl}`;
    const prev = this.active.get(key);
    // The same stream rejecting again keeps its place in "first error" order.
    this.active.set(key, {
      seq: prev?.seq ?? ++this.seq, proxy: sanitizeNackMessage(input.proxy, 253), typeUrl: sanitizeNackMessage(input.typeUrl, 253), message, objects,
    });
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
