// Pure: merges the object sets of several sources into one. Objects are identified by
// kind/namespace/name; the earlier source wins a duplicate (reported), except that a real
// Service always beats a synthetic one (the REST registry invents those only as a fallback).
import { SYNTHETIC_ANNOTATION, type CustomObject, type ObjectSet, type V1EndpointSlice, type V1Namespace, type V1Pod, type V1Service } from './objects.js';

export interface SourceObjects {
  readonly source: string;
  readonly objects: ObjectSet;
}

export interface MergeResult {
  readonly objects: ObjectSet;
  /** One line per ignored duplicate, naming the object and both sources. */
  readonly conflicts: readonly string[];
}

type Meta = { metadata?: { name?: string; namespace?: string; annotations?: Record<string, string> } };

export function mergeObjectSets(inputs: readonly SourceObjects[]): MergeResult {
  const only = inputs[0];
  if (inputs.length === 1 && only !== undefined) return { objects: only.objects, conflicts: [] };
  const conflicts: string[] = [];
  const pick = <T extends Meta>(kind: string, list: (o: ObjectSet) => readonly T[], clusterScoped = false): T[] => {
    const chosen = new Map<string, { object: T; source: string }>();
    for (const { source, objects } of inputs) {
      for (const object of list(objects)) {
        const name = object.metadata?.name ?? '';
        const id = clusterScoped ? name : `${object.metadata?.namespace ?? 'default'}/${name}`;
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
    }
    return [...chosen.values()].map((c) => c.object);
  };
  return {
    objects: {
      namespaces: pick<V1Namespace>('Namespace', (o) => o.namespaces, true),
      services: pick<V1Service>('Service', (o) => o.services),
      endpointSlices: pick<V1EndpointSlice>('EndpointSlice', (o) => o.endpointSlices),
      pods: pick<V1Pod>('Pod', (o) => o.pods),
      trafficRoutes: pick<CustomObject>('TrafficRoute', (o) => o.trafficRoutes),
      trafficPolicies: pick<CustomObject>('TrafficPolicy', (o) => o.trafficPolicies),
    },
    conflicts,
  };
}

function isSynthetic(o: Meta): boolean {
  return o.metadata?.annotations?.[SYNTHETIC_ANNOTATION] === 'true';
}
