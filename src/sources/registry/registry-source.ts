// The REST registry: an in-memory Source where processes register and deregister their own
// endpoints (IP:port) for a service. It reports EndpointSlices (and a synthetic Service, which a real
// Service of another source overrides) exactly like any other source; see registry-objects.ts.
import { isIP, isIPv6 } from 'node:net';
import type { Logger } from '../../logging.js';
import { EMPTY_OBJECTS, type ObjectSet, type V1EndpointSlice, type V1Pod, type V1Service } from '../objects.js';
import type { Source, SourceSink } from '../source.js';
import {
  dns1035LabelError, dns1123LabelError, isPortNumber, labelKeyError, labelValueError, portNameError,
} from '../k8s-names.js';
import { buildServiceObjects, type Registration, type ServiceObjects } from './registry-objects.js';


/** Identifies one registered endpoint. */
export interface EndpointId {
  readonly address: string;
  readonly port: number;
  readonly service: string;
  readonly namespace: string;
}

/** A rejected request: `status` is the HTTP status to answer with, the message the reason. */
export class RegistryError extends Error {
  constructor(readonly status: 400 | 404 | 503, message: string) {
    super(message);
    this.name = 'RegistryError';
  }
}

export const DEFAULT_REGISTRY_NAMESPACE = 'default';

export interface RegistryOptions {
  /** Upper bound on registrations, so a runaway client cannot exhaust memory (default 100000). */
  readonly maxEndpoints?: number;
}

const REGISTRATION_FIELDS = new Set(['address', 'port', 'service', 'namespace', 'servicePort', 'zone', 'labels']);
const ID_FIELDS = new Set(['address', 'port', 'service', 'namespace']);

export class EndpointRegistry implements Source {
  readonly name = 'registry';
  private readonly log: Logger;
  private readonly maxEndpoints: number;
  /** By service key (`namespace/service`), then endpoint key (`address|port`). */
  private readonly byService = new Map<string, Map<string, Registration>>();
  private readonly built = new Map<string, ServiceObjects>();
  private count = 0;
  private cached: ObjectSet | undefined;
  private sink: SourceSink | undefined;

  constructor(logger: Logger, options: RegistryOptions = {}) {
    this.log = logger.child({ component: 'registry' });
    this.maxEndpoints = options.maxEndpoints ?? 100_000;
  }

  async start(sink: SourceSink): Promise<void> {
    this.sink = sink;
    sink.replace(this.name, this.objects());
  }

  async stop(): Promise<void> {
    this.sink = undefined;
  }

  /** Registers (or updates) an endpoint. Throws RegistryError(400) with the reason for bad input. */
  register(input: unknown): { created: boolean; endpoint: Registration } {
    const reg = parseRegistration(input);
    const skey = serviceKeyOf(reg);
    const ekey = endpointKeyOf(reg);
    const entries = this.byService.get(skey) ?? new Map<string, Registration>();
    const previous = entries.get(ekey);
    if (previous === undefined && this.count >= this.maxEndpoints) {
      throw new RegistryError(503, `registry is full (${this.maxEndpoints} endpoints)`);
    }
    entries.set(ekey, reg);
    this.byService.set(skey, entries);
    if (previous === undefined) this.count++;
    this.log.info(previous === undefined ? 'endpoint registered' : 'endpoint registration updated', { ...reg });
    this.changed(skey);
    return { created: previous === undefined, endpoint: reg };
  }

  /** Removes an endpoint. Throws RegistryError(400) for bad input, (404) when it is not registered. */
  deregister(input: unknown): Registration {
    const id = parseEndpointId(input);
    const skey = serviceKeyOf(id);
    const entries = this.byService.get(skey);
    const reg = entries?.get(endpointKeyOf(id));
    if (entries === undefined || reg === undefined) {
      throw new RegistryError(404, `endpoint ${hostPort(id.address, id.port)} is not registered for service ${id.namespace}/${id.service}`);
    }
    entries.delete(endpointKeyOf(id));
    if (entries.size === 0) this.byService.delete(skey);
    this.count--;
    this.log.info('endpoint deregistered', { ...reg });
    this.changed(skey);
    return reg;
  }

  /** Registrations, sorted by namespace, service, address, port; optionally of one service/namespace. */
  list(filter: { service?: string; namespace?: string } = {}): Registration[] {
    const out: Registration[] = [];
    for (const entries of this.byService.values()) {
      for (const r of entries.values()) {
        if (filter.service !== undefined && r.service !== filter.service) continue;
        if (filter.namespace !== undefined && r.namespace !== filter.namespace) continue;
        out.push(r);
      }
    }
    return out.sort((a, b) => a.namespace.localeCompare(b.namespace) || a.service.localeCompare(b.service)
      || a.address.localeCompare(b.address) || a.port - b.port);
  }

  get size(): number {
    return this.count;
  }

  objects(): ObjectSet {
    if (this.cached !== undefined) return this.cached;
    if (this.built.size === 0) return (this.cached = EMPTY_OBJECTS);
    const services: V1Service[] = [];
    const endpointSlices: V1EndpointSlice[] = [];
    const pods: V1Pod[] = [];
    for (const key of [...this.built.keys()].sort()) {
      const b = this.built.get(key);
      if (b === undefined) continue;
      services.push(b.service);
      endpointSlices.push(...b.endpointSlices);
      pods.push(...b.pods);
    }
    this.cached = { namespaces: [], services, endpointSlices, pods, trafficRoutes: [], trafficPolicies: [] };
    return this.cached;
  }

  private changed(skey: string): void {
    const entries = this.byService.get(skey);
    if (entries === undefined) {
      // The service outlives its last endpoint: proxies watching it must be told "no endpoints"
      // (an empty assignment), not left with the stale ones that silence would keep.
      const prev = this.built.get(skey);
      if (prev !== undefined) this.built.set(skey, { ...prev, endpointSlices: [], pods: [] });
    } else {
      const first = entries.values().next().value as Registration;
      this.built.set(skey, buildServiceObjects(first.namespace, first.service, [...entries.values()]));
    }
    this.cached = undefined;
    this.sink?.replace(this.name, this.objects());
  }
}

function serviceKeyOf(r: { namespace: string; service: string }): string {
  return `${r.namespace}/${r.service}`;
}

function endpointKeyOf(r: { address: string; port: number }): string {
  return `${r.address}|${r.port}`;
}

/** `10.0.0.1:8080`, `[fd00::1]:8080`. */
export function hostPort(address: string, port: number): string {
  return isIPv6(address) ? `[${address}]:${port}` : `${address}:${port}`;
}

/** Parses `IP:PORT` (IPv6 as `[IP]:PORT`). Throws RegistryError(400) with the reason. */
export function parseHostPort(value: string): { address: string; port: number } {
  const m = /^\[([^\]]+)\]:([^:]*)$/.exec(value) ?? /^([^:[\]]*):([^:]*)$/.exec(value);
  if (m === null) throw new RegistryError(400, `endpoint "${value}" is not IP:PORT (IPv6 as [IP]:PORT)`);
  return { address: parseAddress(m[1] ?? ''), port: parsePort(m[2] ?? '', 'port') };
}

/** Validates a registration request body (JSON object). Throws RegistryError(400) with the reason. */
export function parseRegistration(input: unknown): Registration {
  const body = requireObject(input, REGISTRATION_FIELDS);
  const id = parseIdFields(body);
  const servicePort = body.servicePort === undefined ? undefined : parseServicePort(body.servicePort);
  let zone: string | undefined;
  if (body.zone !== undefined) {
    if (typeof body.zone !== 'string' || body.zone === '') throw new RegistryError(400, 'zone must be a non-empty string');
    const bad = labelValueError(body.zone);
    if (bad !== undefined) throw new RegistryError(400, `zone: ${bad}`);
    zone = body.zone;
  }
  const labels = parseLabels(body.labels);
  return {
    ...id,
    ...(servicePort !== undefined ? { servicePort } : {}),
    ...(zone !== undefined ? { zone } : {}),
    labels,
  };
}

/**
 * Validates a deregistration request (the identifying fields; a full registration body is
 * accepted too). Throws RegistryError(400) with the reason.
 */
export function parseEndpointId(input: unknown): EndpointId {
  return parseIdFields(requireObject(input, REGISTRATION_FIELDS, ID_FIELDS));
}

function requireObject(input: unknown, allowed: ReadonlySet<string>, used: ReadonlySet<string> = allowed): Record<string, unknown> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new RegistryError(400, `expected a JSON object with ${[...used].join(', ')}`);
  }
  const body = input as Record<string, unknown>;
  const unknown = Object.keys(body).filter((k) => !allowed.has(k));
  if (unknown.length > 0) {
    throw new RegistryError(400, `unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `"${k}"`).join(', ')}; expected ${[...allowed].join(', ')}`);
  }
  return body;
}

function parseIdFields(body: Record<string, unknown>): EndpointId {
  if (body.address === undefined) throw new RegistryError(400, 'address is missing');
  if (typeof body.address !== 'string') throw new RegistryError(400, 'address must be a string');
  const address = parseAddress(body.address);
  if (body.port === undefined) throw new RegistryError(400, 'port is missing');
  const port = parsePort(body.port, 'port');
  if (body.service === undefined) throw new RegistryError(400, 'service is missing');
  const service = parseName(body.service, 'service', dns1035LabelError);
  const namespace = body.namespace === undefined
    ? DEFAULT_REGISTRY_NAMESPACE
    : parseName(body.namespace, 'namespace', dns1123LabelError);
  return { address, port, service, namespace };
}

function parseAddress(value: string): string {
  if (value === '') throw new RegistryError(400, 'IP address is empty');
  if (value.includes('%') || isIP(value) === 0) throw new RegistryError(400, `"${value}" is not a valid IP address`);
  // One spelling per IPv6 address, so `::0001` and `::1` are the same endpoint.
  return isIPv6(value) ? new URL(`http://[${value}]/`).hostname.slice(1, -1) : value;
}

function parsePort(value: unknown, field: string): number {
  const n = typeof value === 'string' && /^\d{1,6}$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n)) {
    throw new RegistryError(400, `${field} must be an integer between 1 and 65535, got ${JSON.stringify(value)}`);
  }
  if (!isPortNumber(n)) throw new RegistryError(400, `${field} ${n} is out of range 1-65535`);
  return n;
}

function parseServicePort(value: unknown): number | string {
  if (typeof value === 'number' || (typeof value === 'string' && /^\d+$/.test(value))) return parsePort(value, 'servicePort');
  if (typeof value !== 'string') throw new RegistryError(400, 'servicePort must be a port number or a port name');
  const bad = portNameError(value);
  if (bad !== undefined) throw new RegistryError(400, `servicePort: ${bad}`);
  return value;
}

function parseName(value: unknown, field: string, check: (s: string) => string | undefined): string {
  if (typeof value !== 'string' || value === '') throw new RegistryError(400, `${field} must be a non-empty string`);
  const bad = check(value);
  if (bad !== undefined) throw new RegistryError(400, `invalid ${field} name: ${bad}`);
  return value;
}

function parseLabels(value: unknown): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new RegistryError(400, 'labels must be an object of strings');
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (typeof v !== 'string') throw new RegistryError(400, `labels["${k}"] must be a string`);
    const bad = labelKeyError(k) ?? labelValueError(v);
    if (bad !== undefined) throw new RegistryError(400, `labels: ${bad}`);
    out[k] = v;
  }
  return out;
}
