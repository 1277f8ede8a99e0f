// Durations in the routing CRDs are Go-style strings ("1.5s", "250ms", "1m30s"), because that is
// what Kubernetes users write and what CEL's duration() understands. The accepted grammar is a
// strict subset of Go's: units in the order h, m, s, ms, each at most once, with up to three
// decimals on seconds only. That keeps every value a whole number of milliseconds, so the model
// can carry plain integers.

/** The same grammar as a pattern, used by the CRD schema and by parsing. */
export const DURATION_PATTERN = '^([0-9]{1,5}h)?([0-9]{1,5}m)?([0-9]{1,5}(\\.[0-9]{1,3})?s)?([0-9]{1,5}ms)?$';

export const DURATION_HINT = 'must be a duration like "250ms", "1.5s", "1m30s" or "1h" (units h, m, s, ms, in that order)';

const DURATION_RE = new RegExp(DURATION_PATTERN);

/** Milliseconds of a duration string, or undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  if (text.length < 2) return undefined;
  const m = DURATION_RE.exec(text);
  if (!m) return undefined;
  const [, h, min, sec, , ms] = m;
  let total = 0;
  if (h) total += Number(h.slice(0, -1)) * 3_600_000;
  if (min) total += Number(min.slice(0, -1)) * 60_000;
  if (sec) {
    const [whole, frac = ''] = sec.slice(0, -1).split('.');
    total += Number(whole) * 1000 + Number(frac.padEnd(3, '0'));
  }
  if (ms) total += Number(ms.slice(0, -2));
  return total;
}

/** Inverse of parseDuration, in the canonical form ("1m30s", "250ms", "0s"). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  const h = Math.floor(rest / 3_600_000); rest -= h * 3_600_000;
  const m = Math.floor(rest / 60_000); rest -= m * 60_000;
  const s = Math.floor(rest / 1000); rest -= s * 1000;
  let out = '';
  if (h) out += `${h}h`;
  if (m) out += `${m}m`;
  if (s && rest) out += `${s}.${String(rest).padStart(3, '0').replace(/0+$/, '')}s`;
  else if (s) out += `${s}s`;
  else if (rest) out += `${rest}ms`;
  return out;
}
