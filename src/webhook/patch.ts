// The JSONPatch the API server applies: the diff between the Pod it sent and the Pod we want.
// Diffing (rather than hand-writing operations) keeps the patch exactly as correct as the mutation.
//
// The diff is fast-json-patch's `compare`, operation for operation and in the same order (a test
// checks it against the library), with two differences that make it cheap on the webhook's path:
// values are not deep-cloned (the webhook serialises them at once), and the result can be the JSON
// text itself. Parts of the Pod that the injection shares with its input are skipped by identity.
import jsonpatch from 'fast-json-patch';
import type { Operation } from 'fast-json-patch';
import { AlignedBase64Writer } from './aligned-base64.js';
import { FrozenJson } from './frozen-json.js';

export type { Operation };

interface RawOperation {
  op: 'add' | 'remove' | 'replace';
  path: string;
  value?: unknown;
}

type Json = Record<string, unknown> | unknown[];

function keysOf(o: Json): string[] {
  if (Array.isArray(o)) {
    const keys = new Array<string>(o.length);
    for (let i = 0; i < o.length; i++) keys[i] = String(i);
    return keys;
  }
  return Object.keys(o);
}

/** RFC 6901: `~` is `~0` and `/` is `~1` in a reference token. */
function escapeToken(key: string): string {
  if (key.indexOf('/') === -1 && key.indexOf('~') === -1) return key;
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

const has = (o: object, key: string): boolean => Object.prototype.hasOwnProperty.call(o, key);

function isObjectLike(v: unknown): v is Json {
  return typeof v === 'object' && v !== null;
}

// A value the library would deep-clone through JSON: undefined (an array hole) becomes null.
const jsonValue = (v: unknown): unknown => (v === undefined ? null : v);

// The same walk as fast-json-patch's `_generate` (reverse key order for replace/remove, then adds).
function diff(mirror: Json, objIn: Json, path: string, out: RawOperation[]): void {
  if (objIn === mirror) return;
  let obj = objIn;
  const toJSON = (obj as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') obj = (toJSON as () => Json).call(obj);
  const newKeys = keysOf(obj);
  const oldKeys = keysOf(mirror);
  const objIsArray = Array.isArray(obj);
  const mirrorIsArray = Array.isArray(mirror);
  const o = obj as Record<string, unknown>;
  const m = mirror as Record<string, unknown>;
  let deleted = false;
  for (let t = oldKeys.length - 1; t >= 0; t--) {
    const key = oldKeys[t];
    const oldVal = m[key];
    if (has(obj, key) && !(o[key] === undefined && oldVal !== undefined && !objIsArray)) {
      const newVal = o[key];
      if (isObjectLike(oldVal) && isObjectLike(newVal) && Array.isArray(oldVal) === Array.isArray(newVal)) {
        diff(oldVal, newVal, `${path}/${escapeToken(key)}`, out);
      } else if (oldVal !== newVal) {
        out.push({ op: 'replace', path: `${path}/${escapeToken(key)}`, value: jsonValue(newVal) });
      }
    } else if (mirrorIsArray === objIsArray) {
      out.push({ op: 'remove', path: `${path}/${escapeToken(key)}` });
      deleted = true;
    } else {
      out.push({ op: 'replace', path, value: obj });
    }
  }
  if (!deleted && newKeys.length === oldKeys.length) return;
  for (const key of newKeys) {
    if (!has(mirror, key) && o[key] !== undefined) {
      out.push({ op: 'add', path: `${path}/${escapeToken(key)}`, value: jsonValue(o[key]) });
    }
  }
}

function operations(original: unknown, mutated: unknown): RawOperation[] {
  const out: RawOperation[] = [];
  diff(original as Json, mutated as Json, '', out);
  return out;
}

/** Each operation's text up to its path. */
const OP_HEAD: Readonly<Record<RawOperation['op'], string>> = {
  add: '{"op":"add","path":', remove: '{"op":"remove","path":', replace: '{"op":"replace","path":',
};

/** What JSON.stringify would escape in a string (a quote, a backslash, a control character, a surrogate). */
const NEEDS_ESCAPING = /["\\\u0000-\u001f\ud800-\udfff]/;

/** A path as a JSON string; paths nearly always need no escaping, and testing is cheaper than escaping. */
function pathJson(path: string): string {
  return NEEDS_ESCAPING.test(path) ? JSON.stringify(path) : `"${path}"`;
}

/**
 * The patch as the JSON text the AdmissionResponse carries (base64-encoded), and its length in
 * operations. The text is what JSON.stringify gives for the operations, reusing the JSON of
 * values the injector shares between Pods (`frozen`: the FrozenJson of the injector that built
 * `mutated`; without it everything is serialised here).
 */
export function podPatchJson(original: unknown, mutated: unknown, frozen = new FrozenJson()): { readonly json: string; readonly operations: number } {
  const ops = operations(original, mutated);
  const parts = new Array<string>(ops.length);
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i];
    const head = OP_HEAD[op.op] + pathJson(op.path);
    // A value with no JSON form (a function) is left out, as JSON.stringify leaves out such a key.
    const value = op.op === 'remove' ? undefined : frozen.jsonText(op.value);
    parts[i] = value === undefined ? `${head}}` : `${head},"value":${value}}`;
  }
  return { json: `[${parts.join(',')}]`, operations: ops.length };
}

/** Writes a value as jsonText does, handing over the encoded pieces of frozen values as they are. */
function writeValue(w: AlignedBase64Writer, value: object, frozen: FrozenJson): void {
  const encoded = frozen.alignedBase64Of(value);
  if (encoded !== undefined) {
    w.encodedPiece(encoded);
    return;
  }
  if (!Array.isArray(value)) {
    w.text(frozen.jsonText(value) ?? 'null');
    return;
  }
  w.text('[');
  for (let i = 0; i < value.length; i++) {
    if (i > 0) w.text(',');
    const item: unknown = value[i];
    // As JSON.stringify writes arrays: an item with no JSON form is null.
    if (typeof item === 'object' && item !== null) writeValue(w, item, frozen);
    else w.text(JSON.stringify(item) ?? 'null');
  }
  w.text(']');
}

/**
 * The patch as the AdmissionResponse carries it: base64 of its JSON text, with whitespace
 * between some tokens (aligned-base64.ts) so that what the injector shares between Pods is
 * encoded once, not per admission (`frozen` as for podPatchJson). Decoded, it is JSON equal to
 * podPatchJson's.
 */
export function podPatchBase64(original: unknown, mutated: unknown, frozen = new FrozenJson()): { readonly base64: string; readonly operations: number } {
  const ops = operations(original, mutated);
  const w = new AlignedBase64Writer();
  w.text('[');
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i];
    if (i > 0) w.text(',');
    w.text(OP_HEAD[op.op] + pathJson(op.path));
    if (op.op !== 'remove') {
      const value = op.value;
      if (typeof value === 'object' && value !== null && (Array.isArray(value) || frozen.alignedBase64Of(value) !== undefined)) {
        w.text(',"value":');
        writeValue(w, value, frozen);
      } else {
        // A value with no JSON form (a function) is left out, as JSON.stringify leaves out such a key.
        const text = frozen.jsonText(value);
        if (text !== undefined) w.text(`,"value":${text}`);
      }
    }
    w.text('}');
  }
  w.text(']');
  return { base64: w.finish(), operations: ops.length };
}

/** The patch as operations whose values are copies (nothing shared with either Pod). */
export function podPatch(original: unknown, mutated: unknown): Operation[] {
  return JSON.parse(podPatchJson(original, mutated).json) as Operation[];
}

/** Applies a patch to a copy, as the API server would; throws on an operation that does not apply. */
export function applyPodPatch<T>(original: T, patch: readonly Operation[]): T {
  return jsonpatch.applyPatch(structuredClone(original), patch as Operation[], true, false).newDocument;
}
