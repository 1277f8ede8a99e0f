// Gateway API durations (GEP-2257): one to four `<1-5 digits><h|m|s|ms>` parts, e.g. "10s",
// "1h30m", "500ms"; "0s" means no timeout. Different from the routing CRDs' grammar (no decimals,
// any order), so parsed here rather than with api/routing/v1alpha1/duration.ts.

const UNIT_MS: Readonly<Record<string, number>> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };

/** Milliseconds of a GEP-2257 duration, or undefined when `text` is not one. */
export function parseGatewayDuration(text: string): number | undefined {
  if (text.length === 0 || text.length > 32) return undefined;
  let total = 0;
  let parts = 0;
  const part = /([0-9]{1,5})(h|ms|m|s)/y;
  while (part.lastIndex < text.length) {
    const m = part.exec(text);
    if (m === null) return undefined;
    if (++parts > 4) return undefined;
    total += Number(m[1]) * (UNIT_MS[m[2]] ?? 0);
  }
  return total;
}
