// Values the injector builds once and hands out to many Pods (the proxy and init containers of
// replicas of one workload are identical) are frozen, so no Pod's holder can change them for the
// others, and carry their JSON text, so the patch of every such Pod need not serialise them again
// (nor encode them: their base64 is kept too, once a patch asked for it). The texts belong to the
// webhook instance that froze the values (its InjectionMemo), never to the module: two webhooks
// in one process keep their own.
import { padToTriplets } from './aligned-base64.js';

interface FrozenText {
  readonly json: string;
  /** base64 of padToTriplets(json) (aligned-base64.ts), made on first use. */
  base64?: string;
}

function deepFreeze(v: unknown): void {
  if (typeof v !== 'object' || v === null || Object.isFrozen(v)) return;
  Object.freeze(v);
  for (const child of Object.values(v)) deepFreeze(child);
}

export class FrozenJson {
  // Weak: a value frozen here lives as long as some memo or Pod holds it, not as long as this.
  private readonly texts = new WeakMap<object, FrozenText>();

  /** Deep-freezes the value and remembers its JSON text. */
  freeze<T extends object>(value: T): T {
    deepFreeze(value);
    this.texts.set(value, { json: JSON.stringify(value) });
    return value;
  }

  /** The JSON text of a value, reusing what freeze remembered for it or its array items. */
  jsonText(value: unknown): string | undefined {
    if (typeof value !== 'object' || value === null) return JSON.stringify(value);
    const known = this.texts.get(value);
    if (known !== undefined) return known.json;
    if (!Array.isArray(value)) return JSON.stringify(value);
    // As JSON.stringify writes arrays: an item with no JSON form is null.
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ',';
      out += this.jsonText(value[i]) ?? 'null';
    }
    return `${out}]`;
  }

  /** The value's JSON text padded and base64-encoded (see aligned-base64.ts), if freeze made it. */
  alignedBase64Of(value: object): string | undefined {
    const known = this.texts.get(value);
    if (known === undefined) return undefined;
    known.base64 ??= Buffer.from(padToTriplets(known.json)).toString('base64');
    return known.base64;
  }
}
