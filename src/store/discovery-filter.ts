// Discovery selectors (`--discovery-selector`): namespaces pilotfish ignores entirely. Objects
// of every kind in a namespace whose labels the selector does not match — the Namespace itself,
// its Services, EndpointSlices, Pods and custom objects — are dropped before translation, so they
// cost no translation, no generation and no push, and no proxy gets configuration for them. As
// in Istio, this is about what the control plane reads, not about security.
//
// A namespace no Namespace object describes (a config directory may have none) has no labels, so
// a selector that requires one ignores it.
import { selectorMatches, type LabelSelector } from '../model/label-selector.js';
import { EMPTY_OBJECTS, type ObjectSet } from '../sources/objects.js';
import { sameElements } from './merge.js';
import { sameSet } from '../deep-equal.js';

type Meta = { readonly metadata?: { readonly name?: string; readonly namespace?: string; readonly labels?: Readonly<Record<string, string>> } };

const NO_LABELS: Readonly<Record<string, string>> = Object.freeze({});

/** Every kind an ObjectSet has (sources may hand over objects whose lists are getters). */
const KINDS = Object.keys(EMPTY_OBJECTS) as (keyof ObjectSet)[];

export class DiscoveryFilter {
  /** Per kind: the input list and the selected namespaces it was filtered for, and the result. */
  private readonly memo = new Map<keyof ObjectSet, { input: readonly Meta[]; selected: ReadonlySet<string>; output: readonly Meta[] }>();
  private selected: ReadonlySet<string> = new Set();
  private namespaceList: readonly Meta[] | undefined;

  constructor(private readonly selector: LabelSelector) {}

  /** `objects` without what lives in an unselected namespace; lists keep their identity while their result is the same. */
  apply(objects: ObjectSet): ObjectSet {
    if (objects.namespaces !== this.namespaceList) {
      this.namespaceList = objects.namespaces;
      const selected = new Set<string>();
      for (const ns of objects.namespaces) {
        const name = ns.metadata?.name;
        if (name !== undefined && selectorMatches(this.selector, ns.metadata?.labels ?? NO_LABELS)) selected.add(name);
      }
      if (!sameSet(selected, this.selected)) this.selected = selected;
    }
    const out: Record<string, readonly Meta[]> = {};
    for (const key of KINDS) {
      const input = objects[key] as readonly Meta[];
      const before = this.memo.get(key);
      if (before !== undefined && before.input === input && before.selected === this.selected) {
        out[key] = before.output;
        continue;
      }
      const namespaced = key !== 'namespaces';
      const output = input.filter((o) => this.selected.has((namespaced ? o.metadata?.namespace : o.metadata?.name) ?? 'default'));
      const kept = before !== undefined && sameElements(before.output, output) ? before.output : output;
      this.memo.set(key, { input, selected: this.selected, output: kept });
      out[key] = kept;
    }
    return out as unknown as ObjectSet;
  }
}
