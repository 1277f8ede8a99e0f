// Encoded parts of the configuration that belong to one Service (its clusters, its virtual hosts,
// a gRPC client's listeners and routes for it), kept from one snapshot to the next while what they
// are generated from stays the same. The store keeps an unchanged Service the identical object
// across snapshots (and applied routing while it is unchanged), so identity says "same input"
// without hashing: a config change then generates and encodes only what the change touched, not
// the mesh once per namespace and kind.

interface Entry<T> {
  readonly inputs: readonly unknown[];
  readonly value: T;
}

function sameInputs(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class ServiceMemo<T> {
  /** Entries die with their Service object: a changed or removed service takes its parts along. */
  private readonly memo = new WeakMap<object, Map<string, Entry<T>>>();
  /** How often a value was made rather than reused (for tests). */
  made = 0;

  /**
   * The value of `key` for `service`, as `make` last produced it with element-wise identical
   * `inputs` (everything besides the service object that `make` reads); otherwise `make`'s now.
   */
  get(service: object, key: string, inputs: readonly unknown[], make: () => T): T {
    let byKey = this.memo.get(service);
    if (!byKey) this.memo.set(service, (byKey = new Map()));
    const hit = byKey.get(key);
    if (hit && sameInputs(hit.inputs, inputs)) return hit.value;
    const value = make();
    this.made++;
    byKey.set(key, { inputs, value });
    return value;
  }
}
