// A strict parser for the Prometheus text exposition format (version 0.0.4), for tests that
// must prove /metrics is valid. The npm parsers we looked at accept malformed input (unclosed
// label sets, bad values, stray fields), so this one rejects everything the format does not
// allow and checks histogram and summary consistency too. Errors name the line and the reason.

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
  readonly timestampMs?: number;
}

export interface Family {
  readonly name: string;
  help?: string;
  type: MetricType;
  readonly samples: Sample[];
}

export class PromParseError extends Error {}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const TYPES: readonly MetricType[] = ['counter', 'gauge', 'histogram', 'summary', 'untyped'];

function parseValue(text: string, where: string): number {
  // Prometheus reads values with Go's ParseFloat: NaN and Inf(inity) in any case, with a sign.
  const special = /^([+-]?)(nan|inf|infinity)$/i.exec(text);
  if (special) {
    if (special[2].toLowerCase() === 'nan') return NaN;
    return special[1] === '-' ? -Infinity : Infinity;
  }
  // Go's ParseFloat syntax otherwise, minus hex floats and underscores, which no exporter writes.
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(text)) throw new PromParseError(`${where}: "${text}" is not a number`);
  return Number(text);
}

/** `# HELP` text: only `\\` and `\n` are escapes. */
function unescapeHelp(s: string, where: string): string {
  return s.replace(/\\(.?)/g, (_m, c: string) => {
    if (c === '\\') return '\\';
    if (c === 'n') return '\n';
    throw new PromParseError(`${where}: invalid escape "\\${c}" in HELP`);
  });
}

/** Reads `{name="value",...}` starting at s[i] === '{'; returns the labels and the index after '}'. */
function parseLabels(s: string, start: number, where: string): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  let i = start + 1;
  for (;;) {
    if (s[i] === '}') return { labels, end: i + 1 };
    const m = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(s.slice(i));
    if (!m) throw new PromParseError(`${where}: expected a label name at column ${i + 1}`);
    const name = m[0];
    i += name.length;
    if (s[i] !== '=') throw new PromParseError(`${where}: expected "=" after label ${name}`);
    if (s[i + 1] !== '"') throw new PromParseError(`${where}: the value of label ${name} must be quoted`);
    i += 2;
    let value = '';
    for (;;) {
      if (i >= s.length) throw new PromParseError(`${where}: unterminated value of label ${name}`);
      const c = s[i];
      if (c === '"') break;
      if (c === '\\') {
        const e = s[i + 1];
        if (e === '\\') value += '\\';
        else if (e === '"') value += '"';
        else if (e === 'n') value += '\n';
        else throw new PromParseError(`${where}: invalid escape "\\${e ?? ''}" in label ${name}`);
        i += 2;
      } else {
        value += c;
        i += 1;
      }
    }
    i += 1;
    if (Object.hasOwn(labels, name)) throw new PromParseError(`${where}: label ${name} appears twice`);
    if (name.startsWith('__')) throw new PromParseError(`${where}: label names starting with "__" are reserved (${name})`);
    labels[name] = value;
    if (s[i] === ',') i += 1;
    else if (s[i] !== '}') throw new PromParseError(`${where}: expected "," or "}" after label ${name}`);
  }
}

/** Which family a sample name belongs to, given the family currently open. */
function belongsTo(sample: string, family: Family | undefined): boolean {
  if (!family) return false;
  if (sample === family.name) return family.type !== 'histogram';
  if (family.type === 'histogram') return [`${family.name}_bucket`, `${family.name}_sum`, `${family.name}_count`].includes(sample);
  if (family.type === 'summary') return [`${family.name}_sum`, `${family.name}_count`].includes(sample);
  return false;
}

function seriesKey(name: string, labels: Readonly<Record<string, string>>): string {
  return JSON.stringify([name, Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1))]);
}

/** Parses a whole exposition; throws PromParseError on the first violation. */
export function parsePrometheusText(text: string): Map<string, Family> {
  if (text.length > 0 && !text.endsWith('\n')) throw new PromParseError('the exposition must end with a newline');
  const families = new Map<string, Family>();
  const closed = new Set<string>();
  const series = new Set<string>();
  const typedNames = new Set<string>();
  let current: Family | undefined;

  const open = (name: string, where: string): Family => {
    let f = families.get(name);
    if (f && f !== current) throw new PromParseError(`${where}: lines of metric ${name} are not grouped together`);
    if (!f) {
      if (closed.has(name)) throw new PromParseError(`${where}: lines of metric ${name} are not grouped together`);
      f = { name, type: 'untyped', samples: [] };
      families.set(name, f);
    }
    if (current && current !== f) closed.add(current.name);
    current = f;
    return f;
  };

  const lines = text.split('\n');
  lines.pop();
  lines.forEach((line, n) => {
    const where = `line ${n + 1}`;
    if (line.trim() === '') return;
    if (line.startsWith('#')) {
      const m = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(line);
      if (!m) return; // a plain comment
      const [, kind, name, rest = ''] = m;
      if (!METRIC_NAME.test(name)) throw new PromParseError(`${where}: "${name}" is not a valid metric name`);
      const f = open(name, where);
      if (kind === 'HELP') {
        if (f.help !== undefined) throw new PromParseError(`${where}: second HELP for ${name}`);
        f.help = unescapeHelp(rest, where);
      } else {
        const type = rest.trim() as MetricType;
        if (!TYPES.includes(type)) throw new PromParseError(`${where}: unknown type "${rest.trim()}" for ${name}`);
        if (typedNames.has(name)) throw new PromParseError(`${where}: second TYPE for ${name}`);
        if (f.samples.length > 0) throw new PromParseError(`${where}: TYPE of ${name} comes after its samples`);
        f.type = type;
        typedNames.add(name);
      }
      return;
    }
    const nm = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
    if (!nm) throw new PromParseError(`${where}: expected a metric name`);
    const name = nm[0];
    let i = name.length;
    let labels: Record<string, string> = {};
    if (line[i] === '{') {
      const parsed = parseLabels(line, i, where);
      labels = parsed.labels;
      i = parsed.end;
    }
    const fields = line.slice(i).trim().split(/[ \t]+/);
    if (line[i] !== ' ' && line[i] !== '\t') throw new PromParseError(`${where}: expected a space before the value`);
    if (fields.length < 1 || fields.length > 2 || fields[0] === '') throw new PromParseError(`${where}: expected "value [timestamp]", got "${line.slice(i).trim()}"`);
    const value = parseValue(fields[0], where);
    let timestampMs: number | undefined;
    if (fields.length === 2) {
      if (!/^-?\d+$/.test(fields[1])) throw new PromParseError(`${where}: timestamp "${fields[1]}" is not an integer`);
      timestampMs = Number(fields[1]);
    }
    const f = belongsTo(name, current) ? current! : open(name, where);
    const key = seriesKey(name, labels);
    if (series.has(key)) throw new PromParseError(`${where}: duplicate series ${name}${JSON.stringify(labels)}`);
    series.add(key);
    if (f.type === 'histogram' && name === `${f.name}_bucket` && labels.le === undefined) {
      throw new PromParseError(`${where}: histogram bucket without an "le" label`);
    }
    if (f.type === 'counter' && value < 0) throw new PromParseError(`${where}: counter ${name} is negative`);
    f.samples.push({ name, labels, value, ...(timestampMs !== undefined ? { timestampMs } : {}) });
  });
  for (const f of families.values()) checkFamily(f);
  return families;
}

function withoutLabel(labels: Readonly<Record<string, string>>, drop: string): string {
  return JSON.stringify(Object.entries(labels).filter(([k]) => k !== drop).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** Histograms: cumulative buckets ending in +Inf equal to _count, with _sum, per label set. */
function checkFamily(f: Family): void {
  if (f.type !== 'histogram' && f.type !== 'summary') return;
  const groups = new Map<string, { buckets: [number, number][]; sum?: number; count?: number }>();
  const group = (labels: Readonly<Record<string, string>>, drop: string) => {
    const k = withoutLabel(labels, drop);
    let g = groups.get(k);
    if (!g) groups.set(k, (g = { buckets: [] }));
    return g;
  };
  for (const s of f.samples) {
    if (s.name === `${f.name}_sum`) group(s.labels, '').sum = s.value;
    else if (s.name === `${f.name}_count`) group(s.labels, '').count = s.value;
    else if (f.type === 'histogram') group(s.labels, 'le').buckets.push([parseValue(s.labels.le, `${f.name} le`), s.value]);
    else if (s.labels.quantile === undefined) throw new PromParseError(`summary ${f.name}: sample without a "quantile" label`);
  }
  for (const [labels, g] of groups) {
    if (g.count === undefined || g.sum === undefined) throw new PromParseError(`${f.type} ${f.name}${labels}: missing _sum or _count`);
    if (f.type !== 'histogram') continue;
    const sorted = [...g.buckets].sort((a, b) => a[0] - b[0]);
    const inf = sorted.at(-1);
    if (!inf || inf[0] !== Infinity) throw new PromParseError(`histogram ${f.name}${labels}: no le="+Inf" bucket`);
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i][1] < sorted[i - 1][1]) throw new PromParseError(`histogram ${f.name}${labels}: bucket counts are not cumulative`);
    }
    if (inf[1] !== g.count) throw new PromParseError(`histogram ${f.name}${labels}: +Inf bucket ${inf[1]} differs from _count ${g.count}`);
  }
}

/** The value of one series, or undefined when it is absent. */
export function sampleValue(families: Map<string, Family>, family: string, sample: string, labels: Record<string, string> = {}): number | undefined {
  const f = families.get(family);
  const want = seriesKey(sample, labels);
  return f?.samples.find((s) => seriesKey(s.name, s.labels) === want)?.value;
}
