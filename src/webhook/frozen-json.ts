// Values the injector builds once and hands out to many Pods (the proxy and init containers of
// replicas of one workload are identical) are frozen, so no Pod's holder can change them for the
// others, and carry their JSON text, so the patch of every such Pod need not serialise them again.
const JSON_TEXT = new WeakMap<object, string>();

function deepFreeze(v: unknown): void {
  if (typeof v !== 'object' || v === null || Object.isFrozen(v)) return;
  Object.freeze(v);
  for (const child of Object.values(v)) deepFreeze(child);
}

/** Deep-freezes the value and remembers its JSON text. */
export function frozenWithJson<T extends object>(value: T): T {
  deepFreeze(value);
  JSON_TEXT.set(value, JSON.stringify(value));
  return value;
}

/** The JSON text of a value, reusing what frozenWithJson remembered for it or its array items. */
export function jsonText(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return JSON.stringify(value);
  const known = JSON_TEXT.get(value);
  if (known !== undefined) return known;
  if (!Array.isArray(value)) return JSON.stringify(value);
  // As JSON.stringify writes arrays: an item with no JSON form is null.
  let out = '[';
  for (let i = 0; i < value.length; i++) {
    if (i > 0) out += ',';
    out += jsonText(value[i]) ?? 'null';
  }
  return `${out}]`;
}
