// Label and field selectors with the real server's grammar, so a selector the client builds wrongly
// is rejected here too instead of silently matching everything.
import { badRequest } from './status.js';
import type { KubeObject, ResourceType } from './types.js';

type LabelRequirement =
  | { op: 'in'; key: string; values: string[] }
  | { op: 'notin'; key: string; values: string[] }
  | { op: 'exists'; key: string }
  | { op: '!'; key: string };

export type Selector = (obj: KubeObject) => boolean;

export const MATCH_ALL: Selector = () => true;

// Splits on commas that are not inside a parenthesised value set ("a in (x,y),b=c").
function splitTerms(selector: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of selector) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      terms.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  terms.push(current);
  return terms.map((t) => t.trim()).filter((t) => t.length > 0);
}

const LABEL_KEY = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

function checkKey(key: string, selector: string): string {
  if (!LABEL_KEY.test(key)) throw badRequest(`unable to parse requirement: invalid label key "${key}" in "${selector}"`);
  return key;
}

function checkValue(value: string, selector: string): string {
  if (!LABEL_VALUE.test(value)) {
    throw badRequest(`unable to parse requirement: invalid label value "${value}" in "${selector}"`);
  }
  return value;
}

function parseLabelTerm(term: string, selector: string): LabelRequirement {
  const setMatch = /^(\S+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(term);
  if (setMatch) {
    const values = setMatch[3].split(',').map((v) => checkValue(v.trim(), selector));
    return { op: setMatch[2] as 'in' | 'notin', key: checkKey(setMatch[1], selector), values };
  }
  const eqMatch = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(term);
  if (eqMatch) {
    const key = checkKey(eqMatch[1], selector);
    const value = checkValue(eqMatch[3], selector);
    return eqMatch[2] === '!=' ? { op: 'notin', key, values: [value] } : { op: 'in', key, values: [value] };
  }
  if (term.startsWith('!')) return { op: '!', key: checkKey(term.slice(1).trim(), selector) };
  return { op: 'exists', key: checkKey(term, selector) };
}

export function parseLabelSelector(selector: string | undefined): Selector {
  if (!selector) return MATCH_ALL;
  const requirements = splitTerms(selector).map((term) => parseLabelTerm(term, selector));
  return (obj) => {
    const labels = obj.metadata.labels ?? {};
    return requirements.every((r) => {
      const has = Object.prototype.hasOwnProperty.call(labels, r.key);
      switch (r.op) {
        case 'in': return has && r.values.includes(labels[r.key]);
        case 'notin': return !has || !r.values.includes(labels[r.key]);
        case 'exists': return has;
        case '!': return !has;
      }
    });
  };
}

function fieldValue(obj: KubeObject, path: string): string {
  let cursor: unknown = obj;
  for (const part of path.split('.')) {
    if (cursor === null || typeof cursor !== 'object') return '';
    cursor = (cursor as Record<string, unknown>)[part];
  }
  if (cursor === undefined || cursor === null) return '';
  return String(cursor);
}

/** Field selectors: =, ==, != on the fields the real server indexes for the type (others are a 400). */
export function parseFieldSelector(selector: string | undefined, rt: ResourceType): Selector {
  if (!selector) return MATCH_ALL;
  const allowed = new Set(['metadata.name', 'metadata.namespace', ...rt.extraFieldSelectors]);
  const terms = splitTerms(selector).map((term) => {
    const m = /^([^=!\s]+)\s*(==|=|!=)\s*(.*)$/.exec(term);
    if (!m) throw badRequest(`invalid field selector: '${term}'`);
    const [, field, op, value] = m;
    if (!allowed.has(field)) {
      throw badRequest(`field label not supported: ${field}`);
    }
    return { field, negate: op === '!=', value: value.trim() };
  });
  return (obj) => terms.every((t) => (fieldValue(obj, t.field) === t.value) !== t.negate);
}

export function both(a: Selector, b: Selector): Selector {
  if (a === MATCH_ALL) return b;
  if (b === MATCH_ALL) return a;
  return (obj) => a(obj) && b(obj);
}
