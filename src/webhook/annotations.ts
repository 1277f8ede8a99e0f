// Parsers for the values users put in pod annotations and injector flags. Each returns a reason
// instead of throwing, so the caller can name the annotation and the pod in its warning.
import { isIPv4 } from 'node:net';

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

function ok<T>(value: T): Parsed<T> {
  return { ok: true, value };
}
function fail<T>(error: string): Parsed<T> {
  return { ok: false, error };
}

function items(text: string): string[] {
  return text.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

/** "8080, 9090" -> [8080, 9090]; empty -> []. Sorted and deduplicated so the rules are stable. */
export function parsePortList(text: string): Parsed<number[]> {
  const out = new Set<number>();
  for (const item of items(text)) {
    if (!/^\d{1,5}$/.test(item)) return fail(`"${item}" is not a port number`);
    const port = Number(item);
    if (port < 1 || port > 65535) return fail(`port ${port} is outside 1-65535`);
    out.add(port);
  }
  return ok([...out].sort((a, b) => a - b));
}

/**
 * "*" or a port list. `*` means every port; an empty list means none. Kept distinct from a list
 * because "all ports except these" and "only these ports" produce different rules.
 */
export type PortSelection = { readonly all: true } | { readonly all: false; readonly ports: readonly number[] };

export function parsePortSelection(text: string): Parsed<PortSelection> {
  if (text.trim() === '*') return ok({ all: true });
  const list = parsePortList(text);
  return list.ok ? ok({ all: false, ports: list.value }) : list;
}

/** IPv4 CIDR (or a bare address, taken as /32), canonical form `a.b.c.d/n`. */
export function parseCidr(text: string): Parsed<string> {
  const [addr, bitsText, extra] = text.split('/');
  if (extra !== undefined) return fail(`"${text}" is not a CIDR`);
  if (!isIPv4(addr)) {
    return fail(addr.includes(':')
      ? `"${text}" is an IPv6 range; the traffic redirect is IPv4 only`
      : `"${text}" is not an IPv4 address or CIDR`);
  }
  if (bitsText === undefined) return ok(`${addr}/32`);
  if (!/^\d{1,2}$/.test(bitsText) || Number(bitsText) > 32) return fail(`"${text}" has an invalid prefix length`);
  return ok(`${addr}/${Number(bitsText)}`);
}

export function parseCidrList(text: string): Parsed<string[]> {
  const out: string[] = [];
  for (const item of items(text)) {
    const cidr = parseCidr(item);
    if (!cidr.ok) return cidr;
    if (!out.includes(cidr.value)) out.push(cidr.value);
  }
  return ok(out);
}

export type CidrSelection = { readonly all: true } | { readonly all: false; readonly cidrs: readonly string[] };

export function parseCidrSelection(text: string): Parsed<CidrSelection> {
  if (text.trim() === '*') return ok({ all: true });
  const list = parseCidrList(text);
  return list.ok ? ok({ all: false, cidrs: list.value }) : list;
}

// Kubernetes resource.Quantity: a non-negative decimal with an optional binary, decimal or
// exponent suffix. Checked here because a bad quantity makes the API server reject the whole Pod.
const QUANTITY = /^(\d+(\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?\d+)?$/;

export function parseQuantity(text: string): Parsed<string> {
  const t = text.trim();
  return QUANTITY.test(t) ? ok(t) : fail(`"${text}" is not a Kubernetes resource quantity`);
}

export function parseBool(text: string): Parsed<boolean> {
  const t = text.trim().toLowerCase();
  if (t === 'true') return ok(true);
  if (t === 'false') return ok(false);
  return fail(`"${text}" is not true or false`);
}

/** host:port, where host is a DNS name or IPv4 address (the control plane's xDS address). */
export function parseHostPort(text: string): Parsed<{ host: string; port: number }> {
  const m = /^([A-Za-z0-9.-]+):(\d{1,5})$/.exec(text.trim());
  if (!m) return fail(`"${text}" is not host:port`);
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return fail(`port ${port} is outside 1-65535`);
  return ok({ host: m[1], port });
}
