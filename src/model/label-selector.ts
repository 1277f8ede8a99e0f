// A Kubernetes label selector in its string form (`kubectl get -l`), as `--discovery-selector`
// takes it: comma-separated requirements, all of which must hold.
//
//   key=value  key==value  key!=value  key  !key  key in (a,b)  key notin (a,b)
//
// Parsing is strict and bounded (the whole text at most MAX_SELECTOR_CHARS): a typo is a startup
// error naming the requirement, never a selector that silently matches nothing.

/** Longer selector texts are refused. */
export const MAX_SELECTOR_CHARS = 4096;

type Operator = 'in' | 'notin' | 'exists' | 'absent';

interface Requirement {
  readonly key: string;
  readonly operator: Operator;
  readonly values: readonly string[];
}

export interface LabelSelector {
  /** The text it was parsed from, for logs. */
  readonly text: string;
  readonly requirements: readonly Requirement[];
}

const KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function checkKey(key: string, at: string): string {
  if (key.length > 317 || !KEY.test(key)) throw new Error(`${at}: ${JSON.stringify(key.slice(0, 100))} is not a label key`);
  return key;
}

function checkValue(value: string, at: string): string {
  if (value.length > 63 || !VALUE.test(value)) throw new Error(`${at}: ${JSON.stringify(value.slice(0, 100))} is not a label value`);
  return value;
}

/** Splits at commas outside parentheses. */
function splitRequirements(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      out.push(text.slice(start, i));
      start = i + 1;
    }
  }
  out.push(text.slice(start));
  return out.map((s) => s.trim());
}

function requirement(part: string): Requirement {
  const at = `requirement ${JSON.stringify(part.slice(0, 100))}`;
  if (part === '') throw new Error('an empty requirement (two commas in a row, or a comma at an end)');
  const set = /^(\S+)\s+(in|notin)\s*\(([^()]*)\)$/.exec(part);
  if (set) {
    const values = set[3].split(',').map((v) => checkValue(v.trim(), at));
    if (values.length === 0 || values.some((v) => v === '')) throw new Error(`${at}: the value list must not be empty or have empty entries`);
    return { key: checkKey(set[1], at), operator: set[2] === 'in' ? 'in' : 'notin', values };
  }
  const eq = /^([^!=\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(part);
  if (eq) return { key: checkKey(eq[1], at), operator: eq[2] === '!=' ? 'notin' : 'in', values: [checkValue(eq[3], at)] };
  if (part.startsWith('!')) return { key: checkKey(part.slice(1).trim(), at), operator: 'absent', values: [] };
  return { key: checkKey(part, at), operator: 'exists', values: [] };
}

/** Parses `text`; throws an Error saying which requirement is wrong. An empty text selects everything. */
export function parseLabelSelector(text: string): LabelSelector {
  if (text.length > MAX_SELECTOR_CHARS) throw new Error(`the selector is longer than ${MAX_SELECTOR_CHARS} characters`);
  const trimmed = text.trim();
  return { text: trimmed, requirements: trimmed === '' ? [] : splitRequirements(trimmed).map(requirement) };
}

/** Whether `labels` satisfy every requirement (`!=` and `notin` also hold when the label is absent, as in Kubernetes). */
export function selectorMatches(selector: LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  return selector.requirements.every((r) => {
    const v = Object.hasOwn(labels, r.key) ? labels[r.key] : undefined;
    switch (r.operator) {
      case 'in': return v !== undefined && r.values.includes(v);
      case 'notin': return v === undefined || !r.values.includes(v);
      case 'exists': return v !== undefined;
      case 'absent': return v === undefined;
    }
  });
}
