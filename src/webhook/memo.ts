// A bounded memo of pure computations by a string key. Replicas of one workload are admitted with
// the same labels and annotations, so what is derived from those alone repeats from Pod to Pod;
// the bound keeps a stream of distinct Pods from growing it (it starts over when full).
export class BoundedMemo<V> {
  private readonly values = new Map<string, V>();

  constructor(private readonly maxEntries: number) {}

  get(key: string, compute: () => V): V {
    const hit = this.values.get(key);
    if (hit !== undefined) return hit;
    const value = compute();
    if (this.values.size >= this.maxEntries) this.values.clear();
    this.values.set(key, value);
    return value;
  }

  clear(): void {
    this.values.clear();
  }

  get size(): number {
    return this.values.size;
  }
}
