// The JSONPatch the API server applies: the diff between the Pod it sent and the Pod we want.
// Diffing (rather than hand-writing operations) keeps the patch exactly as correct as the mutation.
import jsonpatch from 'fast-json-patch';
import type { Operation } from 'fast-json-patch';

export type { Operation };

export function podPatch(original: unknown, mutated: unknown): Operation[] {
  return jsonpatch.compare(original as object, mutated as object);
}

/** Applies a patch to a copy, as the API server would; throws on an operation that does not apply. */
export function applyPodPatch<T>(original: T, patch: readonly Operation[]): T {
  return jsonpatch.applyPatch(structuredClone(original), patch as Operation[], true, false).newDocument;
}
