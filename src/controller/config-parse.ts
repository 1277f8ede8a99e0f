// Pure parsing and validation of one Kubernetes YAML file of the config directory.
// Checks only what pilotfish relies on (names, ports, addresses, the slice->Service label), so a
// mistake is reported with its file, document and field instead of becoming a broken proxy config.
// Routing CRD specs are left alone here: model/routing validates them.
import { isIP, isIPv4, isIPv6 } from 'node:net';
import { parseAllDocuments } from 'yaml';
import {
  ROUTING_API_VERSION, SERVICE_NAME_LABEL, EMPTY_OBJECTS,
  type CustomObject, type ObjectSet, type V1EndpointSlice, type V1Namespace, type V1Pod, type V1Service,
} from './objects.js';
import {
  dns1035LabelError, dns1123LabelError, dns1123SubdomainError, isPortNumber, labelKeyError,
  labelValueError, portNameError,
} from './k8s-names.js';

export type ConfigKind = 'Namespace' | 'Service' | 'EndpointSlice' | 'Pod' | 'TrafficRoute' | 'TrafficPolicy';

/** A valid object of a config file, with its document number (1-based) and identity key. */
export type ParsedObject = { readonly document: number; readonly key: string } & (
  | { readonly kind: 'Namespace'; readonly object: V1Namespace }
  | { readonly kind: 'Service'; readonly object: V1Service }
  | { readonly kind: 'EndpointSlice'; readonly object: V1EndpointSlice }
  | { readonly kind: 'Pod'; readonly object: V1Pod }
  | { readonly kind: 'TrafficRoute' | 'TrafficPolicy'; readonly object: CustomObject });

export interface ConfigError {
  readonly file: string;
  /**
   * Number of the YAML document in the file, 1-based (the first document is 1, as `inject` and
   * `analyze` count too); null when the whole file is affected.
   */
  readonly document: number | null;
  readonly reason: string;
}

export interface ParsedFile {
  readonly objects: readonly ParsedObject[];
  /** Non-empty means the file as a whole is rejected (its last good content stays in use). */
  readonly errors: readonly ConfigError[];
}

export const DEFAULT_NAMESPACE = 'default';

type Mapping = Record<string, unknown>;

interface KindSpec {
  readonly apiVersion: string;
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
};

const SUPPORTED = (Object.keys(KINDS) as ConfigKind[]).map((k) => `${KINDS[k].apiVersion} ${k}`).join(', ');

export function isConfigKind(kind: string): kind is ConfigKind {
  return Object.prototype.hasOwnProperty.call(KINDS, kind);
}

/** Identity of an object across files and sources: `Kind/namespace/name` (`Kind/name` when cluster-scoped). */
export function objectKey(kind: string, namespace: string | undefined, name: string): string {
  return namespace === undefined ? `${kind}/${name}` : `${kind}/${namespace}/${name}`;
}

export function parseConfigText(file: string, text: string): ParsedFile {
  const objects: ParsedObject[] = [];
  const errors: ConfigError[] = [];
  const seen = new Map<string, number>();
  const docs = parseAllDocuments(text);
  docs.forEach((doc, i) => {
    const document = i + 1;
    if (doc.errors.length > 0) {
      errors.push({ file, document, reason: `YAML syntax error: ${doc.errors.map(firstLine).join('; ')}` });
      return;
    }
    const value: unknown = doc.toJS({ maxAliasCount: 100 });
    // An empty document (a trailing `---`, a file of comments) is not a mistake.
    if (value === null || value === undefined) return;
    const result = parseDocument(value);
    if (typeof result === 'string') {
      errors.push({ file, document, reason: result });
      return;
    }
    const earlier = seen.get(result.key);
    if (earlier !== undefined) {
      errors.push({ file, document, reason: `duplicate ${describeKey(result.key)}: already defined in document ${earlier} of this file` });
      return;
    }
    seen.set(result.key, document);
    objects.push({ ...result, document } as ParsedObject);
  });
  return { objects: errors.length > 0 ? [] : objects, errors };
}

/** `Service/demo/greeter` -> `Service demo/greeter`, for messages. */
export function describeKey(key: string): string {
  const slash = key.indexOf('/');
  return `${key.slice(0, slash)} ${key.slice(slash + 1)}`;
}

/** Collects objects (in the given order) into an ObjectSet. */
export function objectSetOf(objects: Iterable<ParsedObject>): ObjectSet {
  const set = {
    namespaces: [] as V1Namespace[], services: [] as V1Service[], endpointSlices: [] as V1EndpointSlice[],
    pods: [] as V1Pod[], trafficRoutes: [] as CustomObject[], trafficPolicies: [] as CustomObject[],
  };
  let any = false;
  for (const o of objects) {
    any = true;
    switch (o.kind) {
      case 'Namespace': set.namespaces.push(o.object); break;
      case 'Service': set.services.push(o.object); break;
      case 'EndpointSlice': set.endpointSlices.push(o.object); break;
      case 'Pod': set.pods.push(o.object); break;
      case 'TrafficRoute': set.trafficRoutes.push(o.object); break;
      case 'TrafficPolicy': set.trafficPolicies.push(o.object); break;
    }
  }
  return any ? set : EMPTY_OBJECTS;
}

/** The message with its position ("... at line 4, column 1"), without the quoted source excerpt. */
function firstLine(e: Error): string {
  return (e.message.split('\n')[0] ?? e.message).replace(/:$/, '');
}

function parseDocument(value: unknown): Omit<ParsedObject, 'document'> | string {
  if (!isMapping(value)) return `document is not an object (got ${typeName(value)})`;
  const { apiVersion, kind } = value;
  if (apiVersion === undefined) return 'apiVersion is missing';
  if (typeof apiVersion !== 'string' || apiVersion === '') return `apiVersion must be a non-empty string, got ${show(apiVersion)}`;
  if (kind === undefined) return 'kind is missing';
  if (typeof kind !== 'string' || kind === '') return `kind must be a non-empty string, got ${show(kind)}`;
  if (!isConfigKind(kind)) return `unknown kind "${kind}" (apiVersion ${apiVersion}); supported: ${SUPPORTED}`;
  const spec = KINDS[kind];
  if (apiVersion !== spec.apiVersion) return `kind ${kind} needs apiVersion ${spec.apiVersion}, got "${apiVersion}"`;

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
  const s = JSON.stringify(v);
  if (s === undefined) return String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
