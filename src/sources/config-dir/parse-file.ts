// Pure parsing and validation of one Kubernetes YAML file of the config directory.
// Checks only what pilotfish relies on (names, ports, addresses, the slice->Service label), so a
// mistake is reported with its file, document and field instead of becoming a broken proxy config.
// Routing CRD specs are left alone here: model/routing validates them.
import { isIP, isIPv4, isIPv6 } from 'node:net';
import { Composer, LineCounter, Parser, type YAMLError } from 'yaml';
import { splitDocuments } from './split-documents.js';
import { ROUTING_API_VERSION } from '../../api/routing/v1alpha1/crd.js';
import { SECURITY_API_VERSION } from '../../api/security/v1alpha1/crd.js';
import { ISTIO_NETWORKING_API_VERSION, ISTIO_NETWORKING_API_VERSIONS } from '../../api/istio/networking/v1/kinds.js';
import { GATEWAY_API_VERSION } from '../../api/gateway/v1/gateway-api.js';
import { SERVICE_NAME_LABEL, EMPTY_OBJECTS, emptyObjectLists, objectSetKeyOf, type CustomObject, type ObjectSet, type V1EndpointSlice, type V1Namespace, type V1Pod, type V1Service } from '../objects.js';
import {
  dns1035LabelError, dns1123LabelError, dns1123SubdomainError, isPortNumber, labelKeyError,
  labelValueError, portNameError,
} from '../k8s-names.js';

type ConfigKind = 'Namespace' | 'Service' | 'EndpointSlice' | 'Pod' | 'TrafficRoute' | 'TrafficPolicy' | 'PeerAuthentication' | 'AccessPolicy'
  | 'VirtualService' | 'DestinationRule' | 'TrafficScope' | 'HTTPRoute' | 'GRPCRoute';

/** A valid object of a config file, with its document number (1-based) and identity key. */
export type ParsedObject = { readonly document: number; readonly key: string } & (
  | { readonly kind: 'Namespace'; readonly object: V1Namespace }
  | { readonly kind: 'Service'; readonly object: V1Service }
  | { readonly kind: 'EndpointSlice'; readonly object: V1EndpointSlice }
  | { readonly kind: 'Pod'; readonly object: V1Pod }
  | {
    readonly kind: 'TrafficRoute' | 'TrafficPolicy' | 'PeerAuthentication' | 'AccessPolicy' | 'VirtualService' | 'DestinationRule' | 'TrafficScope'
      | 'HTTPRoute' | 'GRPCRoute';
    readonly object: CustomObject;
  });

export interface ConfigError {
  readonly file: string;
  /** 1-based number of the YAML document in the file (as `inject` counts); null when the whole file is affected. */
  readonly document: number | null;
  readonly reason: string;
}

/** A document of a kind pilotfish has no use for (a Deployment, a ConfigMap, ...): passed over. */
interface SkippedDocument {
  readonly document: number;
  readonly apiVersion: string;
  readonly kind: string;
}

interface ParsedFile {
  readonly objects: readonly ParsedObject[];
  /** Non-empty means the file as a whole is rejected (its last good content stays in use). */
  readonly errors: readonly ConfigError[];
  readonly skipped: readonly SkippedDocument[];
}

/**
 * Bounds on one file's YAML, so a hostile or broken file costs bounded time and memory: aliases
 * resolved per document (an alias bomb expands exponentially without this) and documents per file.
 */
const MAX_ALIASES_PER_DOCUMENT = 100;
export const MAX_DOCUMENTS_PER_FILE = 10_000;
/** Errors reported per file (each is logged); the rest are counted. */
const MAX_ERRORS_PER_FILE = 20;

const DEFAULT_NAMESPACE = 'default';

type Mapping = Record<string, unknown>;

interface KindSpec {
  readonly apiVersion: string;
  /** Other versions of the same schema the kind may be written in. */
  readonly alsoVersions?: readonly string[];
  readonly namespaced: boolean;
  readonly nameError: (name: string) => string | undefined;
  readonly check?: (doc: Mapping, problems: string[]) => void;
}

const KINDS: Readonly<Record<ConfigKind, KindSpec>> = {
  Namespace: { apiVersion: 'v1', namespaced: false, nameError: dns1123LabelError },
  Service: { apiVersion: 'v1', namespaced: true, nameError: dns1035LabelError, check: checkService },
  EndpointSlice: {
    apiVersion: 'discovery.k8s.io/v1', namespaced: true, nameError: dns1123SubdomainError, check: checkEndpointSlice,
  },
  Pod: { apiVersion: 'v1', namespaced: true, nameError: dns1123SubdomainError, check: checkPod },
  TrafficRoute: { apiVersion: ROUTING_API_VERSION, namespaced: true, nameError: dns1123SubdomainError },
  TrafficPolicy: { apiVersion: ROUTING_API_VERSION, namespaced: true, nameError: dns1123SubdomainError },
  PeerAuthentication: { apiVersion: SECURITY_API_VERSION, namespaced: true, nameError: dns1123SubdomainError },
  AccessPolicy: { apiVersion: SECURITY_API_VERSION, namespaced: true, nameError: dns1123SubdomainError },
  VirtualService: {
    apiVersion: ISTIO_NETWORKING_API_VERSION, alsoVersions: ISTIO_NETWORKING_API_VERSIONS, namespaced: true, nameError: dns1123SubdomainError,
  },
  DestinationRule: {
    apiVersion: ISTIO_NETWORKING_API_VERSION, alsoVersions: ISTIO_NETWORKING_API_VERSIONS, namespaced: true, nameError: dns1123SubdomainError,
  },
  TrafficScope: { apiVersion: ROUTING_API_VERSION, namespaced: true, nameError: dns1123SubdomainError },
  HTTPRoute: { apiVersion: GATEWAY_API_VERSION, namespaced: true, nameError: dns1123SubdomainError },
  GRPCRoute: { apiVersion: GATEWAY_API_VERSION, namespaced: true, nameError: dns1123SubdomainError },
};

const SUPPORTED = (Object.keys(KINDS) as ConfigKind[]).map((k) => `${KINDS[k].apiVersion} ${k}`).join(', ');

export function isConfigKind(kind: string): kind is ConfigKind {
  return Object.prototype.hasOwnProperty.call(KINDS, kind);
}

/** Identity of an object across files and sources: `Kind/namespace/name` (`Kind/name` when cluster-scoped). */
export function objectKey(kind: string, namespace: string | undefined, name: string): string {
  return namespace === undefined ? `${kind}/${name}` : `${kind}/${namespace}/${name}`;
}

/** What one document turned out to be; kept per unchanged chunk of text between parses. */
type DocumentOutcome =
  | { readonly type: 'object'; readonly parsed: Omit<ParsedObject, 'document'> }
  | { readonly type: 'skip'; readonly apiVersion: string; readonly kind: string }
  | { readonly type: 'empty' }
  | { readonly type: 'error'; readonly reason: string };

/** Outcomes of the error-free chunks of the last parse, by chunk text. */
export type DocumentReuse = ReadonlyMap<string, readonly DocumentOutcome[]>;

export interface ParsedText extends ParsedFile {
  /** Pass to the next parse of the same file: unchanged documents are not parsed again. */
  readonly reuse: DocumentReuse;
}

/**
 * Parses and validates one file. Never throws: whatever goes wrong in one document (syntax, a
 * resource-exhaustion alias, a cycle, a bug in a check) becomes that document's error. Documents
 * whose text is unchanged since `previous` keep their result (the same objects).
 */
export function parseConfigText(file: string, text: string, previous?: DocumentReuse): ParsedText {
  const objects: ParsedObject[] = [];
  const errors: ConfigError[] = [];
  const skipped: SkippedDocument[] = [];
  const reuse = new Map<string, readonly DocumentOutcome[]>();
  const seen = new Map<string, number>();
  let number = 0;
  try {
    chunks: for (const chunk of splitDocuments(text)) {
      let outcomes = previous?.get(chunk.text);
      if (outcomes === undefined) {
        outcomes = parseChunk(chunk.text, chunk.lineOffset);
        if (outcomes.every((o) => o.type !== 'error')) reuse.set(chunk.text, outcomes);
      } else {
        reuse.set(chunk.text, outcomes);
      }
      for (const outcome of outcomes) {
        number++;
        if (number > MAX_DOCUMENTS_PER_FILE) {
          errors.push({ file, document: null, reason: `more than ${MAX_DOCUMENTS_PER_FILE} YAML documents in one file; split it` });
          break chunks;
        }
        if (outcome.type === 'empty') continue;
        if (outcome.type === 'error') { errors.push({ file, document: number, reason: outcome.reason }); continue; }
        if (outcome.type === 'skip') { skipped.push({ document: number, apiVersion: outcome.apiVersion, kind: outcome.kind }); continue; }
        const { key } = outcome.parsed;
        const earlier = seen.get(key);
        if (earlier !== undefined) {
          errors.push({ file, document: number, reason: `duplicate ${describeKey(key)}: already defined in document ${earlier} of this file` });
          continue;
        }
        seen.set(key, number);
        objects.push({ ...outcome.parsed, document: number } as ParsedObject);
      }
    }
  } catch (err) {
    // The YAML parser itself failed (it should not): the file as a whole is the error.
    errors.push({ file, document: null, reason: `cannot parse the file: ${firstLine(err instanceof Error ? err.message : String(err))}` });
  }
  if (errors.length > MAX_ERRORS_PER_FILE) {
    const more = errors.length - MAX_ERRORS_PER_FILE;
    errors.length = MAX_ERRORS_PER_FILE;
    errors.push({ file, document: null, reason: `${more} more documents with errors` });
  }
  return { objects: errors.length > 0 ? [] : objects, errors, skipped, reuse };
}

/** The documents of one chunk of a file (usually one); line numbers in messages are the file's. */
function parseChunk(text: string, lineOffset: number): DocumentOutcome[] {
  const json = parseJsonDocument(text);
  if (json !== undefined) return [parseValue(json)];
  const out: DocumentOutcome[] = [];
  const lines = new LineCounter();
  for (const doc of new Composer().compose(new Parser(lines.addNewLine).parse(text))) {
    if (doc.errors.length > 0) {
      out.push({ type: 'error', reason: `YAML syntax error: ${doc.errors.map((e) => describeYamlError(e, lines, lineOffset)).join('; ')}` });
      continue;
    }
    try {
      out.push(parseValue(doc.toJS({ maxAliasCount: MAX_ALIASES_PER_DOCUMENT })));
    } catch (err) {
      out.push({ type: 'error', reason: `cannot read the document: ${firstLine(err instanceof Error ? err.message : String(err))}` });
    }
    // A file of only `---` lines yields documents fast; the caller stops at its bound.
    if (out.length > MAX_DOCUMENTS_PER_FILE) break;
  }
  return out;
}

/**
 * Whether the text cannot be a file cut short inside a document by a writer still writing it.
 * Files are written front to back, so every document but the last is followed by a `---` line
 * already written; the last one must end where its content says: one whole JSON object (a proper
 * prefix of a JSON object never parses) or nothing at all. A YAML document shows no end: cut at
 * a line end it is still valid, with less in it. False says nothing against the text.
 */
export function endsDelimited(text: string): boolean {
  let last = '';
  for (const chunk of splitDocuments(text)) last = chunk.text;
  const body = last.replace(/^---[ \t]*(?:\r?\n|$)/, '');
  return /^(?:\s|#[^\n]*)*$/.test(body) || parseJsonDocument(last) !== undefined;
}

/**
 * A document written as one JSON object (generated manifests often are) through JSON.parse, some
 * 50 times faster than the YAML parser for the same value; anything else (comments, YAML) is undefined.
 */
function parseJsonDocument(text: string): unknown {
  const body = text.replace(/^---[ \t]*\r?\n/, '');
  if (!/^\s*\{/.test(body)) return undefined;
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return undefined;
  }
}

function parseValue(value: unknown): DocumentOutcome {
  // An empty document (a trailing `---`, a file of comments) is not a mistake.
  if (value === null || value === undefined) return { type: 'empty' };
  const cycle = cyclePath(value);
  if (cycle !== undefined) return { type: 'error', reason: `circular alias at ${cycle}: the document refers to itself` };
  const result = parseDocument(value);
  if (typeof result === 'string') return { type: 'error', reason: result };
  if ('key' in result) return { type: 'object', parsed: result };
  return { type: 'skip', apiVersion: result.apiVersion, kind: result.kind };
}

/**
 * Where the value contains itself (a YAML alias to an enclosing node), as a field path; such a
 * value cannot be copied or serialised, so it is refused before anything walks it.
 */
function cyclePath(root: unknown): string | undefined {
  const open = new Set<object>();
  const visit = (v: unknown, at: string): string | undefined => {
    if (typeof v !== 'object' || v === null) return undefined;
    if (open.has(v)) return at === '' ? '(root)' : at;
    open.add(v);
    const entries: Array<[string, unknown]> = Array.isArray(v)
      ? v.map((x, i) => [`${at}[${i}]`, x])
      : v instanceof Map ? [...v.entries()].map(([k, x]) => [`${at}.${String(k)}`, x])
        : Object.entries(v).map(([k, x]) => [at === '' ? k : `${at}.${k}`, x]);
    for (const [p, x] of entries) {
      const found = visit(x, p);
      if (found !== undefined) return found;
    }
    open.delete(v);
    return undefined;
  };
  return visit(root, '');
}

/** `Service/demo/greeter` -> `Service demo/greeter`, for messages. */
export function describeKey(key: string): string {
  const slash = key.indexOf('/');
  return `${key.slice(0, slash)} ${key.slice(slash + 1)}`;
}

/** Collects objects (in the given order) into an ObjectSet. */
export function objectSetOf(objects: Iterable<ParsedObject>): ObjectSet {
  const set = emptyObjectLists<ParsedObject['object']>();
  let found = false;
  for (const o of objects) {
    const key = objectSetKeyOf(o.kind);
    if (key === undefined) continue;
    found = true;
    set[key].push(o.object);
  }
  return found ? set as unknown as ObjectSet : EMPTY_OBJECTS;
}

/** The message with its position ("... at line 4, column 1"), without the quoted source excerpt. */
function describeYamlError(e: YAMLError, lines: LineCounter, lineOffset: number): string {
  const { line, col } = lines.linePos(e.pos[0]);
  return `${firstLine(e.message)} at line ${line + lineOffset}, column ${col}`;
}

/** First line of a message, bounded: messages may quote file content. */
function firstLine(message: string): string {
  const line = (message.split('\n')[0] ?? message).replace(/:$/, '');
  return line.length > 200 ? `${line.slice(0, 197)}...` : line;
}

/** `discovery.k8s.io/v1` -> `discovery.k8s.io`; the core group (`v1`) is ''. */
function groupOf(apiVersion: string): string {
  const slash = apiVersion.lastIndexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/** Kinds of pilotfish's own API group must be known ones: there an unknown kind is a typo. */
const OWN_GROUPS = [ROUTING_API_VERSION, SECURITY_API_VERSION].map((v) => `${v.split('/')[0] ?? ''}/`);

function parseDocument(value: unknown): Omit<ParsedObject, 'document'> | Omit<SkippedDocument, 'document'> | string {
  if (!isMapping(value)) return `document is not an object (got ${typeName(value)})`;
  const { apiVersion, kind } = value;
  if (apiVersion === undefined) return 'apiVersion is missing';
  if (typeof apiVersion !== 'string' || apiVersion === '') return `apiVersion must be a non-empty string, got ${show(apiVersion)}`;
  if (kind === undefined) return 'kind is missing';
  if (typeof kind !== 'string' || kind === '') return `kind must be a non-empty string, got ${show(kind)}`;
  const skip = { apiVersion: apiVersion.slice(0, 100), kind: kind.slice(0, 100) };
  if (!isConfigKind(kind)) {
    if (OWN_GROUPS.some((g) => apiVersion.startsWith(g))) return `unknown kind ${show(kind)} (apiVersion ${show(apiVersion)}); supported: ${SUPPORTED}`;
    return skip;
  }
  const spec = KINDS[kind];
  // The same kind name in another API group (a Knative Service, say) is another kind.
  if (groupOf(apiVersion) !== groupOf(spec.apiVersion)) return skip;
  if (apiVersion !== spec.apiVersion && !(spec.alsoVersions ?? []).includes(apiVersion)) {
    return `kind ${kind} needs apiVersion ${[spec.apiVersion, ...(spec.alsoVersions ?? []).filter((v) => v !== spec.apiVersion)].join(' or ')}, got ${show(apiVersion)}`;
  }

  const problems: string[] = [];
  const meta = value.metadata;
  if (meta === undefined) return `${kind}: metadata is missing`;
  if (!isMapping(meta)) return `${kind}: metadata must be a mapping`;
  const name = meta.name;
  if (name === undefined) return `${kind}: metadata.name is missing`;
  if (typeof name !== 'string') return `${kind}: metadata.name must be a string, got ${show(name)}`;
  const nameProblem = spec.nameError(name);
  if (nameProblem !== undefined) return `${kind}: metadata.name ${nameProblem}`;

  let namespace: string | undefined;
  if (spec.namespaced) {
    if (meta.namespace === undefined || meta.namespace === null || meta.namespace === '') {
      namespace = DEFAULT_NAMESPACE;
    } else if (typeof meta.namespace !== 'string') {
      problems.push(`metadata.namespace must be a string, got ${show(meta.namespace)}`);
    } else {
      const nsProblem = dns1123LabelError(meta.namespace);
      if (nsProblem !== undefined) problems.push(`metadata.namespace ${nsProblem}`);
      namespace = meta.namespace;
    }
  }
  checkStringMap(meta.labels, 'metadata.labels', problems, true);
  checkStringMap(meta.annotations, 'metadata.annotations', problems, false);
  spec.check?.(value, problems);

  const who = `${kind} ${namespace === undefined ? name : `${namespace}/${name}`}`;
  if (problems.length > 0) return `${who}: ${problems.join('; ')}`;

  // Cluster-scoped objects ignore a namespace, as the API server does.
  const metadata: Mapping = { ...meta };
  if (namespace === undefined) delete metadata.namespace;
  else metadata.namespace = namespace;
  const object = { ...value, metadata };
  return { kind, key: objectKey(kind, namespace, name), object } as unknown as Omit<ParsedObject, 'document'>;
}

function checkService(doc: Mapping, problems: string[]): void {
  const spec = doc.spec;
  if (spec === undefined) { problems.push('spec is missing'); return; }
  if (!isMapping(spec)) { problems.push('spec must be a mapping'); return; }
  const clusterIP = spec.clusterIP;
  if (clusterIP !== undefined && clusterIP !== null) {
    if (typeof clusterIP !== 'string' || !(clusterIP === '' || clusterIP === 'None' || isIP(clusterIP) !== 0)) {
      problems.push(`spec.clusterIP must be an IP address, "None" or empty, got ${show(clusterIP)}`);
    }
  }
  checkStringMap(spec.selector, 'spec.selector', problems, true);
  const ports = spec.ports;
  if (ports === undefined || ports === null) return;
  if (!Array.isArray(ports)) { problems.push('spec.ports must be a list'); return; }
  const names = new Map<string, number>();
  const numbers = new Map<string, number>();
  ports.forEach((port: unknown, i) => {
    const at = `spec.ports[${i}]`;
    if (!isMapping(port)) { problems.push(`${at} must be a mapping`); return; }
    if (port.port === undefined || port.port === null) problems.push(`${at}.port is missing`);
    else if (!isPortNumber(port.port)) problems.push(`${at}.port must be an integer between 1 and 65535, got ${show(port.port)}`);
    const protocol = port.protocol ?? 'TCP';
    if (protocol !== 'TCP' && protocol !== 'UDP' && protocol !== 'SCTP') {
      problems.push(`${at}.protocol must be TCP, UDP or SCTP, got ${show(port.protocol)}`);
    }
    const name = port.name ?? '';
    if (typeof name !== 'string') {
      problems.push(`${at}.name must be a string, got ${show(name)}`);
    } else if (name === '') {
      if (ports.length > 1) problems.push(`${at}.name is required when a Service has more than one port`);
    } else {
      const bad = dns1123LabelError(name);
      if (bad !== undefined) problems.push(`${at}.name ${bad}`);
      const other = names.get(name);
      if (other !== undefined) problems.push(`${at}.name "${name}" is already used by spec.ports[${other}]`);
      names.set(name, i);
    }
    if (isPortNumber(port.port)) {
      const id = `${String(protocol)}/${port.port}`;
      const other = numbers.get(id);
      if (other !== undefined) problems.push(`${at}: port ${port.port}/${String(protocol)} is already used by spec.ports[${other}]`);
      numbers.set(id, i);
    }
    const target = port.targetPort;
    if (target !== undefined && target !== null) {
      if (typeof target === 'string') {
        const bad = portNameError(target);
        if (bad !== undefined) problems.push(`${at}.targetPort ${bad}`);
      } else if (!isPortNumber(target)) {
        problems.push(`${at}.targetPort must be a port number (1-65535) or a port name, got ${show(target)}`);
      }
    }
    if (port.appProtocol !== undefined && typeof port.appProtocol !== 'string') {
      problems.push(`${at}.appProtocol must be a string, got ${show(port.appProtocol)}`);
    }
  });
}

function checkEndpointSlice(doc: Mapping, problems: string[]): void {
  const meta = doc.metadata as Mapping;
  const labels = isMapping(meta.labels) ? meta.labels : {};
  const serviceName = labels[SERVICE_NAME_LABEL];
  if (serviceName === undefined || serviceName === null || serviceName === '') {
    problems.push(`metadata.labels["${SERVICE_NAME_LABEL}"] is missing: an EndpointSlice must name its Service`);
  } else if (typeof serviceName === 'string') {
    const bad = dns1035LabelError(serviceName);
    if (bad !== undefined) problems.push(`metadata.labels["${SERVICE_NAME_LABEL}"] ${bad}`);
  }
  const addressType = doc.addressType;
  if (addressType === undefined) problems.push('addressType is missing (IPv4, IPv6 or FQDN)');
  else if (addressType !== 'IPv4' && addressType !== 'IPv6' && addressType !== 'FQDN') {
    problems.push(`addressType must be IPv4, IPv6 or FQDN, got ${show(addressType)}`);
  }
  const endpoints = doc.endpoints;
  if (endpoints === undefined || endpoints === null) problems.push('endpoints is missing (use [] for none)');
  else if (!Array.isArray(endpoints)) problems.push('endpoints must be a list');
  else endpoints.forEach((ep: unknown, i) => checkSliceEndpoint(ep, `endpoints[${i}]`, addressType, problems));

  const ports = doc.ports;
  if (ports === undefined || ports === null) return;
  if (!Array.isArray(ports)) { problems.push('ports must be a list'); return; }
  const names = new Map<string, number>();
  ports.forEach((port: unknown, i) => {
    const at = `ports[${i}]`;
    if (!isMapping(port)) { problems.push(`${at} must be a mapping`); return; }
    if (port.port === undefined || port.port === null) problems.push(`${at}.port is missing`);
    else if (!isPortNumber(port.port)) problems.push(`${at}.port must be an integer between 1 and 65535, got ${show(port.port)}`);
    const name = port.name ?? '';
    if (typeof name !== 'string') { problems.push(`${at}.name must be a string, got ${show(name)}`); return; }
    if (name !== '') {
      const bad = dns1123LabelError(name);
      if (bad !== undefined) problems.push(`${at}.name ${bad}`);
    }
    const other = names.get(name);
    if (other !== undefined) problems.push(`${at}.name "${name}" is already used by ports[${other}]`);
    names.set(name, i);
  });
}

function checkSliceEndpoint(ep: unknown, at: string, addressType: unknown, problems: string[]): void {
  if (!isMapping(ep)) { problems.push(`${at} must be a mapping`); return; }
  const addresses = ep.addresses;
  if (!Array.isArray(addresses) || addresses.length === 0) {
    problems.push(`${at}.addresses must be a non-empty list`);
  } else {
    addresses.forEach((a: unknown, j) => {
      const where = `${at}.addresses[${j}]`;
      if (typeof a !== 'string') problems.push(`${where} must be a string, got ${show(a)}`);
      else if (addressType === 'IPv4' && !isIPv4(a)) problems.push(`${where} "${a}" is not an IPv4 address`);
      else if (addressType === 'IPv6' && !isIPv6(a)) problems.push(`${where} "${a}" is not an IPv6 address`);
      else if (addressType === 'FQDN' && dns1123SubdomainError(a) !== undefined) problems.push(`${where} "${a}" is not a DNS name`);
    });
  }
  const conditions = ep.conditions;
  if (conditions !== undefined && conditions !== null) {
    if (!isMapping(conditions)) problems.push(`${at}.conditions must be a mapping`);
    else {
      for (const c of ['ready', 'serving', 'terminating']) {
        const v = conditions[c];
        if (v !== undefined && v !== null && typeof v !== 'boolean') problems.push(`${at}.conditions.${c} must be true or false, got ${show(v)}`);
      }
    }
  }
  for (const field of ['zone', 'nodeName', 'hostname']) {
    const v = ep[field];
    if (v !== undefined && v !== null && typeof v !== 'string') problems.push(`${at}.${field} must be a string, got ${show(v)}`);
  }
  checkStringMap(ep.deprecatedTopology, `${at}.deprecatedTopology`, problems, false);
  const ref = ep.targetRef;
  if (ref !== undefined && ref !== null) {
    if (!isMapping(ref)) problems.push(`${at}.targetRef must be a mapping`);
    else {
      for (const field of ['kind', 'name', 'namespace']) {
        const v = ref[field];
        if (v !== undefined && v !== null && typeof v !== 'string') problems.push(`${at}.targetRef.${field} must be a string, got ${show(v)}`);
      }
    }
  }
  const hints = ep.hints;
  if (hints !== undefined && hints !== null) {
    const zones = isMapping(hints) ? hints.forZones : undefined;
    if (!isMapping(hints) || (zones !== undefined && zones !== null
      && (!Array.isArray(zones) || !zones.every((z: unknown) => isMapping(z) && typeof z.name === 'string')))) {
      problems.push(`${at}.hints.forZones must be a list of {name: zone}`);
    }
  }
}

function checkPod(doc: Mapping, problems: string[]): void {
  const spec = doc.spec;
  if (spec !== undefined && spec !== null) {
    if (!isMapping(spec)) problems.push('spec must be a mapping');
    else if (spec.serviceAccountName !== undefined && typeof spec.serviceAccountName !== 'string') {
      problems.push(`spec.serviceAccountName must be a string, got ${show(spec.serviceAccountName)}`);
    }
  }
  const status = doc.status;
  if (status !== undefined && status !== null) {
    if (!isMapping(status)) problems.push('status must be a mapping');
    else if (status.podIP !== undefined && (typeof status.podIP !== 'string' || isIP(status.podIP) === 0)) {
      problems.push(`status.podIP must be an IP address, got ${show(status.podIP)}`);
    }
  }
}

function checkStringMap(value: unknown, at: string, problems: string[], labels: boolean): void {
  if (value === undefined || value === null) return;
  if (!isMapping(value)) { problems.push(`${at} must be a mapping of strings`); return; }
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') {
      problems.push(`${at}["${k}"] must be a string, got ${show(v)} (quote it in YAML)`);
      continue;
    }
    if (labels) {
      const bad = labelKeyError(k) ?? labelValueError(v);
      if (bad !== undefined) problems.push(`${at}: ${bad}`);
    }
  }
}

function isMapping(v: unknown): v is Mapping {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function typeName(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  return typeof v === 'string' ? `the string ${show(v)}` : `${typeof v} ${show(v)}`;
}

function show(v: unknown): string {
  let s: string | undefined;
  try {
    s = JSON.stringify(v);
  } catch {
    return Array.isArray(v) ? 'a list' : 'a value that cannot be shown';
  }
  if (s === undefined) return String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
