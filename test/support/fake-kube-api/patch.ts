// The patch flavours the real server accepts. JSON merge patch and JSON patch are exact; strategic
// merge is approximated with the list merge keys of the fields pilotfish touches (a list whose
// elements carry the key is merged element-wise, any other list is replaced), which is what makes a
// strategic patch differ from a merge patch in practice.
import { badRequest, ApiError } from './status.js';

type Json = unknown;
type JsonRecord = Record<string, unknown>;

function isRecord(value: unknown): value is JsonRecord {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function clone<T>(value: T): T {
  return structuredClone(value);
}

/** RFC 7386. */
export function applyMergePatch(target: Json, patch: Json): Json {
  if (!isRecord(patch)) return clone(patch);
  const result: JsonRecord = isRecord(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = applyMergePatch(result[key], value);
  }
  return result;
}

// Field name -> merge key, from the Kubernetes API's patchMergeKey tags for the lists that matter.
const MERGE_KEYS: Record<string, readonly string[]> = {
  containers: ['name'], initContainers: ['name'], ephemeralContainers: ['name'], volumes: ['name'],
  env: ['name'], volumeMounts: ['mountPath'], imagePullSecrets: ['name'], webhooks: ['name'],
  conditions: ['type'], ownerReferences: ['uid'], ports: ['containerPort', 'port'], hostAliases: ['ip'],
  topologySpreadConstraints: ['topologyKey'], volumeDevices: ['devicePath'], resourceClaims: ['name'],
};

function mergeKeyFor(field: string, items: unknown[]): string | undefined {
  const candidates = MERGE_KEYS[field];
  if (!candidates || !items.every(isRecord)) return undefined;
  return candidates.find((key) => items.every((item) => (item as JsonRecord)[key] !== undefined));
}

function mergeList(field: string, original: unknown, patch: unknown[]): unknown[] {
  const base = Array.isArray(original) ? original : [];
  const key = mergeKeyFor(field, [...base, ...patch]);
  if (key === undefined) return clone(patch.filter((item) => !(isRecord(item) && item.$patch === 'delete')));
  const result = base.map((item) => clone(item)) as JsonRecord[];
  for (const item of patch as JsonRecord[]) {
    const index = result.findIndex((existing) => existing[key] === item[key]);
    if (item.$patch === 'delete') {
      if (index >= 0) result.splice(index, 1);
    } else if (index >= 0) {
      result[index] = applyStrategicMergePatch(result[index], item) as JsonRecord;
    } else {
      result.push(applyStrategicMergePatch({}, item) as JsonRecord);
    }
  }
  return result;
}

/** Approximate strategic merge patch; '$' directives other than element deletion are dropped. */
export function applyStrategicMergePatch(target: Json, patch: Json): Json {
  if (!isRecord(patch)) return clone(patch);
  if (patch.$patch === 'replace') {
    const { $patch: _ignored, ...rest } = patch;
    return clone(rest);
  }
  const result: JsonRecord = isRecord(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith('$')) continue;
    if (value === null) delete result[key];
    else if (Array.isArray(value)) result[key] = mergeList(key, result[key], value);
    else result[key] = applyStrategicMergePatch(result[key], value);
  }
  return result;
}

interface JsonPatchOp {
  op: string;
  path: string;
  from?: string;
  value?: unknown;
}

function unescapePointer(token: string): string {
  return token.replace(/~1/g, '/').replace(/~0/g, '~');
}

function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw badRequest(`json patch: invalid pointer "${pointer}"`);
  return pointer.slice(1).split('/').map(unescapePointer);
}

function failed(message: string): ApiError {
  // The real server reports an inapplicable JSON patch as 422 (or 500 in older versions); 422 is current.
  return new ApiError(422, 'Invalid', `the server rejected our request due to an error in our request: ${message}`);
}

function getAt(doc: unknown, tokens: string[], pointer: string): unknown {
  let cursor = doc;
  for (const token of tokens) {
    if (Array.isArray(cursor)) {
      const index = Number(token);
      if (!/^\d+$/.test(token) || index >= cursor.length) throw failed(`path "${pointer}" does not exist`);
      cursor = cursor[index];
    } else if (isRecord(cursor) && Object.prototype.hasOwnProperty.call(cursor, token)) {
      cursor = cursor[token];
    } else {
      throw failed(`path "${pointer}" does not exist`);
    }
  }
  return cursor;
}

function parentOf(doc: unknown, tokens: string[], pointer: string): { parent: unknown; last: string } {
  if (tokens.length === 0) throw failed(`path "${pointer}" cannot address the whole document here`);
  return { parent: getAt(doc, tokens.slice(0, -1), pointer), last: tokens[tokens.length - 1] };
}

function addAt(doc: unknown, pointer: string, value: unknown): unknown {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) return clone(value);
  const { parent, last } = parentOf(doc, tokens, pointer);
  if (Array.isArray(parent)) {
    const index = last === '-' ? parent.length : Number(last);
    if (!/^(\d+|-)$/.test(last) || index > parent.length) throw failed(`index "${last}" out of range in "${pointer}"`);
    parent.splice(index, 0, clone(value));
  } else if (isRecord(parent)) {
    parent[last] = clone(value);
  } else {
    throw failed(`path "${pointer}" has no container to add to`);
  }
  return doc;
}

function removeAt(doc: unknown, pointer: string): unknown {
  const tokens = parsePointer(pointer);
  const { parent, last } = parentOf(doc, tokens, pointer);
  getAt(doc, tokens, pointer);
  if (Array.isArray(parent)) parent.splice(Number(last), 1);
  else delete (parent as JsonRecord)[last];
  return doc;
}

function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

export function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (isRecord(value)) {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, canonical(value[k])]));
  }
  return value;
}

/** RFC 6902, applied to a copy. */
export function applyJsonPatch(target: Json, ops: unknown): Json {
  if (!Array.isArray(ops)) throw badRequest('json patch: the body must be a JSON array of operations');
  let doc = clone(target);
  for (const raw of ops) {
    if (!isRecord(raw) || typeof raw.op !== 'string' || typeof raw.path !== 'string') {
      throw badRequest(`json patch: malformed operation ${JSON.stringify(raw)}`);
    }
    const op = raw as unknown as JsonPatchOp;
    switch (op.op) {
      case 'add': doc = addAt(doc, op.path, op.value); break;
      case 'remove': doc = removeAt(doc, op.path); break;
      case 'replace': {
        const tokens = parsePointer(op.path);
        if (tokens.length === 0) { doc = clone(op.value); break; }
        getAt(doc, tokens, op.path);
        const { parent, last } = parentOf(doc, tokens, op.path);
        if (Array.isArray(parent)) parent[Number(last)] = clone(op.value);
        else (parent as JsonRecord)[last] = clone(op.value);
        break;
      }
      case 'move': {
        if (op.from === undefined) throw badRequest('json patch: move needs "from"');
        const value = getAt(doc, parsePointer(op.from), op.from);
        doc = removeAt(doc, op.from);
        doc = addAt(doc, op.path, value);
        break;
      }
      case 'copy': {
        if (op.from === undefined) throw badRequest('json patch: copy needs "from"');
        doc = addAt(doc, op.path, getAt(doc, parsePointer(op.from), op.from));
        break;
      }
      case 'test': {
        const actual = getAt(doc, parsePointer(op.path), op.path);
        if (!deepEqual(actual, op.value)) throw failed(`test operation failed at "${op.path}"`);
        break;
      }
      default: throw badRequest(`json patch: unknown operation "${op.op}"`);
    }
  }
  return doc;
}

export function sameJson(a: unknown, b: unknown): boolean {
  return deepEqual(a, b);
}
