// Every problem of loaded config files as one finding each — a file or document that was rejected,
// a routing object that is not applied (one finding per field at fault), an object used only in
// part, what proxyless gRPC clients ignore, and AccessPolicies that are invalid or can never match —
// with where it is written. Pure: `analyze` prints
// these, `config-dump` prints them next to its dump.
import { isConfigKind, objectKey } from '../sources/config-dir/parse-file.js';
import type { RoutingCondition, RoutingObjectStatus } from '../model/routing-status.js';
import type { LoadedConfig, ObjectOrigin } from './config-load.js';
import { unmatchableAccess } from '../model/access-analysis.js';
import { MeshIndex } from '../model/mesh-index.js';

export type Severity = 'Error' | 'Warning' | 'Info';

interface Finding {
  readonly severity: Severity;
  /** A condition reason (`ServiceNotFound`, `Conflict`, …) or the kind of file problem (`YamlSyntax`, …). */
  readonly code: string;
  readonly file?: string;
  /** 1-based, as everywhere in pilotfish. */
  readonly document?: number;
  /** `TrafficRoute shop/reviews`. */
  readonly object?: string;
  /** API-server style path, when the problem has one: `spec.http[0].route[1].weight`. */
  readonly field?: string;
  readonly message: string;
}

interface FindingOptions {
  /**
   * The clients the config is for. grpc: what proxyless gRPC clients ignore is a warning;
   * sidecar: not reported; undefined: reported as info.
   */
  readonly kind?: 'grpc' | 'sidecar';
}

/** A path as the API server writes one, at the start of a problem: `spec.http[0].timeout: …`. */
const FIELD = /^((?:spec|metadata|status|apiVersion|kind|addressType|endpoints|ports)(?:\.[\w-]+|\[[^\]]*\])*)(?::\s*|\s+)/;

/** `Service shop/web: …` (or `Namespace: …` before a name is known) at the start of a file problem. */
const OBJECT = /^(\w+)(?: ([\w.-]+(?:\/[\w.-]+)?))?: /;

/** The fixed tail of a not-applied object's condition; files are read afresh, so nothing older serves. */
const NOT_APPLIED = / Nothing of this object is applied\.$/;

/** Problems joined by validation with "; " — split only where the next one starts with a field path. */
function splitProblems(text: string): string[] {
  const parts: string[] = [];
  let rest = text;
  for (;;) {
    const at = findSplit(rest);
    if (at < 0) break;
    parts.push(rest.slice(0, at));
    rest = rest.slice(at + 2);
  }
  parts.push(rest);
  return parts.map((p) => p.trim()).filter((p) => p !== '');
}

function findSplit(text: string): number {
  let from = 0;
  for (;;) {
    const at = text.indexOf('; ', from);
    if (at < 0) return -1;
    if (FIELD.test(text.slice(at + 2)) || text.startsWith('and ', at + 2)) return at;
    from = at + 2;
  }
}

/** `spec.x: message` -> field and message; anything else is all message. */
function withField(problem: string): { field?: string; message: string } {
  const m = FIELD.exec(problem);
  if (!m || m[1] === undefined) return { message: problem };
  return { field: m[1], message: problem.slice(m[0].length) };
}

function fileCode(reason: string): string {
  if (reason.startsWith('YAML syntax error')) return 'YamlSyntax';
  if (reason.startsWith('duplicate ')) return 'Duplicate';
  if (reason.startsWith('unknown kind')) return 'UnknownKind';
  if (reason.startsWith('cannot read')) return 'Unreadable';
  return 'Invalid';
}

function at(origin: ObjectOrigin | undefined): { file?: string; document?: number } {
  return origin === undefined ? {} : { file: origin.file, document: origin.document };
}

function fileFindings(loaded: LoadedConfig): Finding[] {
  const out: Finding[] = [];
  for (const e of loaded.configErrors) {
    const where = { file: e.file, ...(e.document === null ? {} : { document: e.document }) };
    const code = fileCode(e.reason);
    const m = OBJECT.exec(e.reason);
    const named = m !== null && m[1] !== undefined && isConfigKind(m[1]);
    const object = named ? { object: m[2] === undefined ? m[1] : `${m[1]} ${m[2]}` } : {};
    const text = named ? e.reason.slice(m[0].length) : e.reason;
    for (const problem of code === 'Invalid' ? splitProblems(text) : [text]) {
      out.push({ severity: 'Error', code, ...where, ...object, ...withField(problem) });
    }
  }
  return out;
}

function warningFindings(loaded: LoadedConfig): Finding[] {
  return loaded.warnings.map((w) => {
    const m = OBJECT.exec(w);
    if (!m || m[1] === undefined || m[2] === undefined) return { severity: 'Warning', code: 'PartlyIgnored', message: w };
    const [ns, name] = m[2].includes('/') ? m[2].split('/') : [undefined, m[2]];
    const origin = loaded.origins.get(objectKey(m[1], ns, name ?? ''));
    return { severity: 'Warning', code: 'PartlyIgnored', ...at(origin), object: `${m[1]} ${m[2]}`, ...withField(w.slice(m[0].length)) };
  });
}

function condition(s: RoutingObjectStatus, type: RoutingCondition['type']): RoutingCondition | undefined {
  return s.conditions.find((c) => c.type === type);
}

function routingFindings(loaded: LoadedConfig, options: FindingOptions): Finding[] {
  const out: Finding[] = [];
  for (const s of loaded.snapshot.routing.statuses) {
    const base = { ...at(loaded.origins.get(objectKey(s.kind, s.namespace, s.name))), object: `${s.kind} ${s.namespace}/${s.name}` };
    const accepted = condition(s, 'Accepted');
    const refs = condition(s, 'ResolvedRefs');
    // An Istio object used in part: each field left out is a warning, as it may change behaviour.
    for (const f of s.unsupported ?? []) {
      out.push({ severity: 'Warning', code: 'NotSupported', ...base, ...(f.path === '' ? {} : { field: f.path }), message: f.reason });
    }
    if (accepted && accepted.status !== 'True') {
      // Unresolved references are listed, one per field, by ResolvedRefs.
      const source = refs?.status === 'False' ? refs : accepted;
      const text = source.message.replace(NOT_APPLIED, '').replace(/^Invalid: /, '').replace(/\.$/, '');
      for (const problem of splitProblems(text)) out.push({ severity: 'Error', code: source.reason, ...base, ...withField(problem) });
      continue;
    }
    const note = refs?.status === 'True' ? /Note: (.*)\.$/.exec(refs.message)?.[1] : undefined;
    for (const problem of note === undefined ? [] : note.split('; ')) out.push({ severity: 'Info', code: 'Note', ...base, message: problem });
    if (options.kind === 'sidecar') continue;
    for (const f of s.proxylessIgnored) {
      out.push({
        severity: options.kind === 'grpc' ? 'Warning' : 'Info', code: 'IgnoredByProxylessGrpc', ...base, field: f.path,
        message: `ignored by proxyless gRPC clients: ${f.reason}`,
      });
    }
  }
  return out;
}

/** Invalid AccessPolicies, what proxyless gRPC ignores of them, and policies that can never match. */
function accessFindings(loaded: LoadedConfig, options: FindingOptions): Finding[] {
  const out: Finding[] = [];
  const { access } = loaded.snapshot;
  const where = (namespace: string, name: string) => ({
    ...at(loaded.origins.get(objectKey('AccessPolicy', namespace, name))), object: `AccessPolicy ${namespace}/${name}`,
  });
  for (const s of access.statuses) {
    const accepted = s.conditions.find((c) => c.type === 'Accepted');
    if (accepted && accepted.status !== 'True') {
      const text = accepted.message.replace(NOT_APPLIED, '').replace(/^Invalid: /, '').replace(/\.$/, '');
      for (const problem of splitProblems(text)) out.push({ severity: 'Error', code: accepted.reason, ...where(s.namespace, s.name), ...withField(problem) });
      continue;
    }
    if (options.kind === 'sidecar') continue;
    for (const f of s.proxylessIgnored) {
      out.push({
        severity: options.kind === 'grpc' ? 'Warning' : 'Info', code: 'IgnoredByProxylessGrpc', ...where(s.namespace, s.name), field: f.path,
        message: `ignored by proxyless gRPC servers: ${f.reason}`,
      });
    }
  }
  for (const w of unmatchableAccess(new MeshIndex(loaded.snapshot), access.policies)) {
    const [namespace = '', name = ''] = w.policy.split('/');
    out.push({ severity: 'Warning', code: w.code, ...where(namespace, name), field: w.field, message: w.message });
  }
  return out;
}

const SEVERITY_ORDER: Record<Severity, number> = { Error: 0, Warning: 1, Info: 2 };

/** Every finding, by file and document, errors first within one. */
export function configFindings(loaded: LoadedConfig, options: FindingOptions = {}): Finding[] {
  const all = [...fileFindings(loaded), ...routingFindings(loaded, options), ...accessFindings(loaded, options), ...warningFindings(loaded)];
  return all
    .map((f, i) => ({ f, i }))
    .sort((a, b) => (a.f.file ?? '').localeCompare(b.f.file ?? '') || (a.f.document ?? 0) - (b.f.document ?? 0)
      || SEVERITY_ORDER[a.f.severity] - SEVERITY_ORDER[b.f.severity] || a.i - b.i)
    .map(({ f }) => f);
}

/** `Error [ServiceNotFound] (TrafficRoute shop/r routes.yaml document 2) spec.hosts: service x.shop ("x") not found` */
export function formatFinding(f: Finding): string {
  const where = [f.object, f.file, f.document === undefined ? undefined : `document ${f.document}`].filter((x) => x !== undefined).join(' ');
  return `${f.severity} [${f.code}]${where === '' ? '' : ` (${where})`} ${f.field === undefined ? '' : `${f.field}: `}${f.message}`;
}

/** Errors and warnings fail a check; info does not. */
export function failsCheck(findings: readonly Finding[]): boolean {
  return findings.some((f) => f.severity !== 'Info');
}
