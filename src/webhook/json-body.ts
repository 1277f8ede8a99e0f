// A request body parsed as JSON, refusing what fastify's parser (secure-json-parse, protoAction
// and constructorAction 'error') refuses: an object key `__proto__`, or a `constructor` key whose
// value holds a `prototype`. JSON.parse only makes them own properties, harmless by themselves,
// but one merge into another object later would replace that object's prototype.

type ParsedJson = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: string };

const has = (o: object, key: string): boolean => Object.prototype.hasOwnProperty.call(o, key);

/**
 * Whether the text can hold such a key. Letters and `_` can only be escaped as \uXXXX in JSON, so
 * a key that decodes to `__proto__` or `constructor` has either the plain word or a `\u`; most
 * bodies have neither and are never walked.
 */
function suspect(text: string): boolean {
  return text.includes('__proto__') || text.includes('constructor') || text.includes('\\u');
}

/** The first forbidden key found, walking every object and array of the parsed value. */
function forbiddenKey(root: object): string | undefined {
  const pending: object[] = [root];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    if (!Array.isArray(next)) {
      if (has(next, '__proto__')) return '__proto__';
      const ctor = (next as Record<string, unknown>).constructor;
      if (has(next, 'constructor') && typeof ctor === 'object' && ctor !== null && has(ctor, 'prototype')) return 'constructor.prototype';
    }
    for (const v of Object.values(next)) if (typeof v === 'object' && v !== null) pending.push(v as object);
  }
  return undefined;
}

export function parseJsonBody(text: string): ParsedJson {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    // V8 quotes part of the text in its message: bounded, as it is logged.
    return { ok: false, error: `body is not valid JSON: ${(err as Error).message.slice(0, 160)}` };
  }
  if (typeof value === 'object' && value !== null && suspect(text)) {
    const key = forbiddenKey(value);
    if (key !== undefined) return { ok: false, error: `body is refused: it holds a ${key} key` };
  }
  return { ok: true, value };
}
