// Merges the object sets of several sources into one. Objects are identified by
// kind/namespace/name; the earlier source wins a duplicate (reported), except that a real
// Service always beats a synthetic one (the REST registry invents those only as a fallback).
//
// Sources keep an unchanged object (and often an unchanged list) identical between reports, so
// ObjectSetMerger remembers its last result per kind: a kind whose input lists are the same
// arrays is not merged again, and a merged list with the same elements stays the same array.
// Downstream (translate.ts) then tells "nothing of this kind changed" from one comparison.
import { OBJECT_KINDS, SYNTHETIC_ANNOTATION, type ObjectSet, type ObjectSetKey } from '../sources/objects.js';

interface SourceObjects {
  readonly source: string;
  readonly objects: ObjectSet;
}

interface MergeResult {
  readonly objects: ObjectSet;
  /** One line per ignored duplicate, naming the object and both sources. */
  readonly conflicts: readonly string[];
}

type Meta = { metadata?: { name?: string; namespace?: string; annotations?: Record<string, string> } };

interface KindMemo {
  readonly sources: readonly string[];
  readonly lists: readonly (readonly Meta[])[];
  readonly merged: readonly Meta[];
  readonly conflicts: readonly string[];
}

/** Stateless merge (no memory between calls). */
export function mergeObjectSets(inputs: readonly SourceObjects[]): MergeResult {
  return new ObjectSetMerger().merge(inputs);
}

export class ObjectSetMerger {
  private readonly memo = new Map<ObjectSetKey, KindMemo>();
  private readonly ids: ObjectIds = new WeakMap();

  merge(inputs: readonly SourceObjects[]): MergeResult {
    const only = inputs[0];
    if (inputs.length === 1 && only !== undefined) return { objects: only.objects, conflicts: [] };
    const conflicts: string[] = [];
    const out: Record<string, readonly Meta[]> = {};
    for (const { key, kind, clusterScoped } of OBJECT_KINDS) {
      const lists = inputs.map((i) => i.objects[key] as readonly Meta[]);
      const sources = inputs.map((i) => i.source);
      const before = this.memo.get(key);
      let result: KindMemo;
      if (before !== undefined && sameElements(before.lists, lists) && sameElements(before.sources, sources)) {
        result = before;
      } else {
        const picked = pick(this.ids, kind, clusterScoped, sources, lists);
        const merged = before !== undefined && sameElements(before.merged, picked.merged) ? before.merged : picked.merged;
        result = { sources, lists, merged, conflicts: picked.conflicts };
        this.memo.set(key, result);
      }
      out[key] = result.merged;
      conflicts.push(...result.conflicts);
    }
    return { objects: out as unknown as ObjectSet, conflicts };
  }
}

function pick(ids: ObjectIds, kind: string, clusterScoped: boolean, sources: readonly string[], lists: readonly (readonly Meta[])[]): { merged: Meta[]; conflicts: string[] } {
  const conflicts: string[] = [];
  const chosen = new Map<string, { object: Meta; source: string }>();
  lists.forEach((list, i) => {
    const source = sources[i] ?? '';
    for (const object of list) {
      const id = idOf(ids, object, clusterScoped);
      const existing = chosen.get(id);
      if (existing === undefined) {
        chosen.set(id, { object, source });
        continue;
      }
      if (kind === 'Service') {
        const oldSynthetic = isSynthetic(existing.object);
        const newSynthetic = isSynthetic(object);
        if (oldSynthetic && !newSynthetic) { chosen.set(id, { object, source }); continue; }
        if (!oldSynthetic && newSynthetic) continue;
      }
      conflicts.push(`${kind} ${id} from source ${source} ignored: already defined by source ${existing.source}`);
    }
  });
  return { merged: [...chosen.values()].map((c) => c.object), conflicts };
}

/** Object ids by object: an unchanged object's id (and its cached hash) is not built again. */
type ObjectIds = WeakMap<Meta, string>;

function idOf(ids: ObjectIds, object: Meta, clusterScoped: boolean): string {
  let id = ids.get(object);
  if (id === undefined) {
    const name = object.metadata?.name ?? '';
    id = clusterScoped ? name : `${object.metadata?.namespace ?? 'default'}/${name}`;
    ids.set(object, id);
  }
  return id;
}

export function sameElements<T>(a: readonly T[], b: readonly T[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function isSynthetic(o: Meta): boolean {
  return o.metadata?.annotations?.[SYNTHETIC_ANNOTATION] === 'true';
}
