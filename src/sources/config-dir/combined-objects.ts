// The config directory's objects as one ObjectSet, rebuilt from per-file parts on every change
// without copying what did not change: a file's array of a kind stays the same array while its
// elements are the same, and the combined array of a kind stays the same array while no file's
// array of that kind changed. The merger and the translator downstream compare arrays by
// identity, so an edit to one file's EndpointSlices leaves the 10,000 Pods of the other files
// (and of that file) unlooked-at.
import { EMPTY_OBJECTS, type ObjectSet } from '../objects.js';
import { objectSetOf, type ParsedObject } from './parse-file.js';

type Kind = keyof ObjectSet;
type Lists = Record<Kind, readonly unknown[]>;

const KINDS = Object.keys(EMPTY_OBJECTS) as Kind[];

export class CombinedObjects {
  private readonly byFile = new Map<string, Lists>();
  /** The last combination: each kind's inputs (per file, in path order) and its result. */
  private last: { readonly inputs: ReadonlyMap<Kind, readonly (readonly unknown[])[]>; readonly objects: Lists } | undefined;
  private current: ObjectSet | undefined;

  /** Sets a file's objects (in document order), or forgets the file. */
  set(file: string, objects: readonly ParsedObject[] | undefined): void {
    this.current = undefined;
    if (objects === undefined || objects.length === 0) {
      this.byFile.delete(file);
      return;
    }
    const next = objectSetOf(objects) as unknown as Lists;
    const before = this.byFile.get(file);
    const lists = {} as Record<Kind, readonly unknown[]>;
    for (const kind of KINDS) {
      const old = before?.[kind];
      lists[kind] = old !== undefined && sameElements(old, next[kind]) ? old : next[kind];
    }
    this.byFile.set(file, lists);
  }

  /** Every file's objects, files in path order. */
  objects(): ObjectSet {
    if (this.current !== undefined) return this.current;
    if (this.byFile.size === 0) {
      this.last = undefined;
      return (this.current = EMPTY_OBJECTS);
    }
    const files = [...this.byFile.keys()].sort().map((f) => this.byFile.get(f) as Lists);
    const inputs = new Map<Kind, readonly (readonly unknown[])[]>();
    const objects = {} as Record<Kind, readonly unknown[]>;
    for (const kind of KINDS) {
      const lists = files.map((f) => f[kind]).filter((l) => l.length > 0);
      inputs.set(kind, lists);
      const before = this.last?.inputs.get(kind);
      const reused = this.last !== undefined && before !== undefined && sameElements(before, lists) ? this.last.objects[kind] : undefined;
      objects[kind] = reused ?? (lists.length === 1 ? lists[0] as readonly unknown[] : lists.flat());
    }
    this.last = { inputs, objects };
    this.current = objects as unknown as ObjectSet;
    return this.current;
  }
}

function sameElements(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
