// An estimate of what RE2 (C++, as in Envoy) reports as ProgramSize() for a pattern, computed
// from the program re2js compiles.
//
// re2js compiles to a rune-based program (one instruction per character class), while C++ RE2
// compiles to a UTF-8 byte program: one class becomes as many byte-range instructions as its
// UTF-8 encoding needs (`.` is 8, `\pL` about 1,200), and an unanchored pattern carries a `.*?`
// prefix of two instructions. The estimate is re2js's instruction count, plus the prefix unless
// the pattern starts with `^`, minus one for a leading `^` and one for a trailing `$` (RE2 turns
// both into flags), plus the extra byte-range instructions of every class. Classes are costed by
// splitting their ranges the way RE2's compiler does (by UTF-8 length, then by shared leading
// bytes) and counting the edges of the smallest DAG of byte ranges.
//
// Checked against libre2 2022-06-01 in test/api/routing/re2.test.ts: exact for ASCII classes,
// literals and repetitions (`a{96}` is 100 in both, `a{97}` 101), within ten instructions for
// alternations of literals (which RE2 factors), and below RE2 for large Unicode classes (`\pL`:
// 789 against 1,197), whose real size is far over the limit anyway.
import type { RE2JS } from 're2js';

// Opcodes of re2js's Inst (internal; test/api/routing/re2.test.ts fails if they move).
const OP_RUNE = 8;
const OP_RUNE1 = 9;
const OP_RUNE_ANY = 10;
const OP_RUNE_ANY_NOT_NL = 11;
const FOLD_CASE = 1;

/** `^` first, after any leading flag groups such as `(?i)`. */
const ANCHORED_START = /^(\(\?[imsU-]+\))*\^/;

/** The few fields of re2js's internal instruction the estimate reads. */
interface RuneInst {
  readonly op: number;
  readonly arg: number;
  readonly runes: ArrayLike<number>;
}

function instructions(re: RE2JS): readonly RuneInst[] | undefined {
  const prog: unknown = (re.re2() as { prog?: unknown }).prog;
  const inst: unknown = typeof prog === 'object' && prog !== null ? (prog as { inst?: unknown }).inst : undefined;
  if (!Array.isArray(inst)) return undefined;
  const ok = inst.every((i: unknown) => typeof i === 'object' && i !== null
    && typeof (i as RuneInst).op === 'number' && typeof (i as RuneInst).arg === 'number'
    && typeof (i as RuneInst).runes === 'object');
  return ok ? inst as RuneInst[] : undefined;
}

type Range = readonly [number, number];

const MAX_RUNE_OF_LENGTH = [0x7f, 0x7ff, 0xffff];

function utf8(r: number): number[] {
  if (r < 0x80) return [r];
  if (r < 0x800) return [0xc0 | (r >> 6), 0x80 | (r & 0x3f)];
  if (r < 0x10000) return [0xe0 | (r >> 12), 0x80 | ((r >> 6) & 0x3f), 0x80 | (r & 0x3f)];
  return [0xf0 | (r >> 18), 0x80 | ((r >> 12) & 0x3f), 0x80 | ((r >> 6) & 0x3f), 0x80 | (r & 0x3f)];
}

interface TrieNode { readonly children: Map<string, TrieNode> }

/** Byte-range instructions RE2 needs for a class of rune ranges (sorted, inclusive). */
function classCost(ranges: readonly Range[]): number {
  let flat = 0;
  const root: TrieNode = { children: new Map() };
  const covers = (lo: number, hi: number) => ranges.some(([a, b]) => a <= lo && hi <= b);
  const addSequence = (lo: number, hi: number): void => {
    if (lo > hi) return;
    // RE2 compiles "any non-ASCII rune" to a fixed, loose 6-instruction form.
    if (lo === 0x80 && hi === 0x10ffff) { flat += 6; return; }
    for (const max of MAX_RUNE_OF_LENGTH) {
      if (lo <= max && max < hi) { addSequence(lo, max); addSequence(max + 1, hi); return; }
    }
    if (hi < 0x80) { flat += 1; return; }
    for (let i = 1; i < 4; i++) {
      const m = (1 << (6 * i)) - 1;
      if ((lo & ~m) !== (hi & ~m)) {
        if ((lo & m) !== 0) { addSequence(lo, lo | m); addSequence((lo | m) + 1, hi); return; }
        if ((hi & m) !== m) { addSequence(lo, (hi & ~m) - 1); addSequence(hi & ~m, hi); return; }
      }
    }
    const ulo = utf8(lo);
    const uhi = utf8(hi);
    let node = root;
    for (let i = 0; i < ulo.length; i++) {
      const key = `${ulo[i]}-${uhi[i]}`;
      let next = node.children.get(key);
      if (!next) { next = { children: new Map() }; node.children.set(key, next); }
      node = next;
    }
  };
  for (const [lo, hi] of ranges) {
    // RE2 folds ASCII case with a flag: an upper-case range mirrored in lower case costs nothing.
    if (lo >= 0x41 && hi <= 0x5a && covers(lo + 32, hi + 32)) continue;
    addSequence(lo, hi);
  }
  // Identical suffixes are shared: count edges of the trie with equal subtrees merged.
  const ids = new Map<string, number>();
  const idOf = (n: TrieNode): number => {
    const sig = [...n.children].map(([k, c]) => `${k}>${idOf(c)}`).sort().join('|');
    let id = ids.get(sig);
    if (id === undefined) { id = ids.size; ids.set(sig, id); }
    return id;
  };
  const edges = new Set<string>();
  const walk = (n: TrieNode): void => {
    for (const [k, c] of n.children) {
      const e = `${k}>${idOf(c)}`;
      if (!edges.has(e)) { edges.add(e); walk(c); }
    }
  };
  walk(root);
  return flat + edges.size;
}

function foldedRanges(r: number): Range[] {
  const runes = new Set([r]);
  const s = String.fromCodePoint(r);
  for (const v of [s.toLowerCase(), s.toUpperCase()]) if ([...v].length === 1) runes.add(v.codePointAt(0) as number);
  // The two non-ASCII runes that fold to ASCII letters: KELVIN SIGN and LATIN SMALL LONG S.
  if (r === 0x6b || r === 0x4b) runes.add(0x212a);
  if (r === 0x73 || r === 0x53) runes.add(0x17f);
  return [...runes].sort((a, b) => a - b).map((x) => [x, x] as const);
}

function rangesOf(inst: RuneInst): Range[] | undefined {
  switch (inst.op) {
    case OP_RUNE1:
      return (inst.arg & FOLD_CASE) !== 0 ? foldedRanges(inst.runes[0]) : [[inst.runes[0], inst.runes[0]]];
    case OP_RUNE: {
      if (inst.runes.length === 1) return foldedRanges(inst.runes[0]);
      const out: Range[] = [];
      for (let i = 0; i + 1 < inst.runes.length; i += 2) out.push([inst.runes[i], inst.runes[i + 1]]);
      return out;
    }
    case OP_RUNE_ANY: return [[0, 0x10ffff]];
    case OP_RUNE_ANY_NOT_NL: return [[0, 9], [11, 0x10ffff]];
    default: return undefined;
  }
}

/**
 * Estimated RE2 program size of a compiled pattern. Stops counting once it passes `stopAbove`,
 * so a pattern made of a thousand Unicode classes costs no more than one over the limit.
 */
export function estimateProgramSize(re: RE2JS, pattern: string, stopAbove: number): number {
  let size = re.programSize();
  size += ANCHORED_START.test(pattern) ? -1 : 2;
  if (pattern.endsWith('$') && !pattern.endsWith('\\$')) size -= 1;
  const insts = instructions(re);
  if (!insts) return size;
  const seen = new Map<string, number>();
  for (const inst of insts) {
    if (size > stopAbove) return size;
    const ranges = rangesOf(inst);
    if (!ranges) continue;
    const key = ranges.map(([a, b]) => `${a}-${b}`).join(',');
    let cost = seen.get(key);
    if (cost === undefined) {
      cost = classCost(ranges);
      seen.set(key, cost);
    }
    size += cost - 1;
  }
  return size;
}
