// Values the injector builds once and hands out to many Pods (the proxy and init containers of
// replicas of one workload are identical) are frozen, so no Pod's holder can change them for the
// others, and carry their JSON text, so the patch of every such Pod need not serialise them again
// (nor encode them: their base64 is kept too, once a patch asked for it).
import { padToTriplets } from './aligned-base64.js';

interface FrozenText {
  readonly json: string;
  /** base64 of padToTriplets(json) (aligned-base64.ts), made on first use. */
  base64?: string;
}

const JSON_TEXT = new WeakMap<object, FrozenText>();

function deepFreeze(v: unknown): void {
  if (typeof v !== 'object' || v === null || Object.isFrozen(v)) return;
  Object.freeze(v);
  for (const child of Object.values(v)) deepFreeze(child);
}

/** Deep-freezes the value and remembers its JSON text. */
export function frozenWithJson<T extends object>(value: T): T {
  deepFreeze(value);
  JSON_TEXT.set(value, { json: JSON.stringify(value) });
  return value;
}

/** The JSON text of a value, reusing what frozenWithJson remembered for it or its array items. */
export function jsonText(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return JSON.stringify(value);
  const known = JSON_TEXT.get(value);
  if (known !== undefined) return known.json;
  if (!Array.isArray(value)) return JSON.stringify(value);
  // As JSON.stringify writes arrays: an item with no JSON form is null.
  let out = '[';
  for (let i = 0; i < value.length; i++) {
    if (i > 0) out += ',';
    out += jsonText(value[i]) ?? 'null';
  }
  return `${out}]`;
}

/** The value's JSON text padded and base64-encoded (see aligned-base64.ts), if frozenWithJson made it. */
export function alignedBase64Of(value: object): string | undefined {
  const known = JSON_TEXT.get(value);
  if (known === undefined) return undefined;
  known.base64 ??= Buffer.from(padToTriplets(known.json)).toString('base64');
  return known.base64;
}
