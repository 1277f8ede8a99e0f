// The REST registry: a Source where processes register and deregister their own endpoints
// (IP:port) for a service. It reports EndpointSlices (and a synthetic Service, which a real Service
// of another source overrides) exactly like any other source; see registry-objects.ts. Services that
// other sources define are left alone unless allowed; a synthetic service goes a grace period after
// its last endpoint; with a state file, every change is on disk before it is applied and
// acknowledged (registry-state-file.ts writes concurrent changes in groups, one sync per group).
import { isIP, isIPv6 } from 'node:net';
import type { Logger } from '../../logging.js';
import { EMPTY_OBJECTS, type ObjectSet, type V1EndpointSlice, type V1Pod, type V1Service } from '../objects.js';
import type { Source, SourceSink } from '../source.js';
import {
  dns1035LabelError, dns1123LabelError, isPortNumber, labelKeyError, labelValueError, portNameError,
} from '../k8s-names.js';
import type { Registration } from './registry-objects.js';
import { RegistryStateFile, type StateChange } from './registry-state-file.js';
import { ServiceRegistrations } from './service-registrations.js';


/** Identifies one registered endpoint. */
interface EndpointId {
  readonly address: string;
  readonly port: number;
  readonly service: string;
  readonly namespace: string;
}

/** A rejected request: `status` is the HTTP status to answer with, the message the reason. */
export class RegistryError extends Error {
  constructor(readonly status: 400 | 401 | 403 | 404 | 415 | 503, message: string) {
    super(message);
    this.name = 'RegistryError';
  }
}

const DEFAULT_REGISTRY_NAMESPACE = 'default';
const DEFAULT_EMPTY_SERVICE_GRACE_MS = 30_000;

export interface RegistryOptions {
  /** Upper bound on registrations, so a runaway client cannot exhaust memory (default 100000). */
  readonly maxEndpoints?: number;
  /** The Service another source (the files, the cluster) defines under this name, if any. */
  readonly definedService?: (namespace: string, name: string) => V1Service | undefined;
  /** Let registrations add endpoints to Services other sources define (default false). */
  readonly allowDefinedServices?: boolean;
  /** How long a service outlives its last endpoint (default 30 s). */
  readonly emptyServiceGraceMs?: number;
  /** Where registrations are kept across restarts (none: in memory only). */
  readonly stateFile?: string;
}

const REGISTRATION_FIELDS = new Set(['address', 'port', 'service', 'namespace', 'servicePort', 'zone', 'labels']);
const ID_FIELDS = new Set(['address', 'port', 'service', 'namespace']);

export class EndpointRegistry implements Source {
  readonly name = 'registry';
  private readonly log: Logger;
  private readonly maxEndpoints: number;
  private readonly graceMs: number;
  /** By service key (`namespace/service`). */
  private readonly services = new Map<string, ServiceRegistrations>();
  /** Services without endpoints, waiting out their grace period. */
  private readonly emptySince = new Map<string, NodeJS.Timeout>();
  private readonly state: RegistryStateFile | undefined;
  private count = 0;
  private cached: ObjectSet | undefined;
  private sink: SourceSink | undefined;

  constructor(logger: Logger, private readonly options: RegistryOptions = {}) {
    this.log = logger.child({ component: 'registry' });
    this.maxEndpoints = options.maxEndpoints ?? 100_000;
    this.graceMs = options.emptyServiceGraceMs ?? DEFAULT_EMPTY_SERVICE_GRACE_MS;
    this.state = options.stateFile === undefined
      ? undefined
      : new RegistryStateFile(options.stateFile, this.log, () => this.count, () => this.registrations());
  }

  async start(sink: SourceSink): Promise<void> {
    if (this.state !== undefined) await this.restore(this.state);
    this.sink = sink;
    sink.replace(this.name, this.objects());
  }

  async stop(): Promise<void> {
    this.sink = undefined;
    for (const t of this.emptySince.values()) clearTimeout(t);
    this.emptySince.clear();
    await this.state?.close();
  }

  /**
   * Registers (or updates) an endpoint; resolves once it is durable and applied. Rejects with
   * RegistryError, with the status and reason, for refused input.
   */
  async register(input: unknown): Promise<{ created: boolean; endpoint: Registration }> {
    const reg = parseRegistration(input);
    const svc = this.services.get(serviceKeyOf(reg));
    this.checkService(reg, svc);
    // Changes waiting for the disk count as new ones: the bound holds however many are in flight.
    if (svc?.get(endpointKeyOf(reg)) === undefined && this.count + (this.state?.waiting ?? 0) >= this.maxEndpoints) {
      throw new RegistryError(503, `registry is full (${this.maxEndpoints} endpoints)`);
    }
    let created = false;
    await this.commit({ put: reg }, () => {
      created = this.put(reg);
      // Per endpoint at debug: a burst of thousands would otherwise be thousands of info lines.
      this.log.debug(created ? 'endpoint registered' : 'endpoint registration updated', { ...reg });
      this.changed();
    });
    return { created, endpoint: reg };
  }

  /** Removes an endpoint. Rejects with RegistryError(400) for bad input, (404) when it is not registered. */
  async deregister(input: unknown): Promise<Registration> {
    const id = parseEndpointId(input);
    const reg = this.services.get(serviceKeyOf(id))?.get(endpointKeyOf(id));
    if (reg === undefined) {
      throw new RegistryError(404, `endpoint ${hostPort(id.address, id.port)} is not registered for service ${id.namespace}/${id.service}`);
    }
    await this.commit({ del: { address: id.address, port: id.port, service: id.service, namespace: id.namespace } }, () => {
      if (!this.remove(id)) return;
      this.log.debug('endpoint deregistered', { ...reg });
      this.changed();
    });
    return reg;
  }

  /** Removes a service the registry made, with all its endpoints, now. 404 when there is none. */
  async deleteService(namespace: unknown, service: unknown): Promise<{ namespace: string; service: string; endpoints: number }> {
    const ns = parseName(namespace, 'namespace', dns1123LabelError);
    const name = parseName(service, 'service', dns1035LabelError);
    const skey = serviceKeyOf({ namespace: ns, service: name });
    const svc = this.services.get(skey);
    if (svc === undefined) throw new RegistryError(404, `service ${ns}/${name} is not in the registry`);
    let endpoints = svc.size;
    await this.commit({ drop: { namespace: ns, service: name } }, () => {
      endpoints = this.services.get(skey)?.size ?? 0;
      this.drop(skey);
      this.log.info('service deleted from the registry', { namespace: ns, service: name, endpoints });
      this.changed();
    });
    return { namespace: ns, service: name, endpoints };
  }

  /** Registrations, sorted by namespace, service, address, port; optionally of one service/namespace. */
  list(filter: { service?: string; namespace?: string } = {}): Registration[] {
    const out: Registration[] = [];
    for (const svc of this.services.values()) {
      if (filter.service !== undefined && svc.name !== filter.service) continue;
      if (filter.namespace !== undefined && svc.namespace !== filter.namespace) continue;
      out.push(...svc.values());
    }
    return out.sort((a, b) => cmp(a.namespace, b.namespace) || cmp(a.service, b.service)
      || cmp(a.address, b.address) || a.port - b.port);
  }

  get size(): number {
    return this.count;
  }

  /** Services the registry currently reports (`namespace/name`), sorted. */
  serviceKeys(): string[] {
    return [...this.services.keys()].sort();
  }

  /**
   * The registry's objects. Built when first read: a burst of changes between two published
   * snapshots costs one build, of the services that changed.
   */
  objects(): ObjectSet {
    if (this.cached !== undefined) return this.cached;
    if (this.services.size === 0) return (this.cached = EMPTY_OBJECTS);
    const services = [...this.services.keys()].sort().map((k) => this.services.get(k)).filter((s) => s !== undefined);
    this.cached = new LazyObjects(() => {
      const out = { services: [] as V1Service[], endpointSlices: [] as V1EndpointSlice[], pods: [] as V1Pod[] };
      for (const svc of services) {
        const o = svc.objects();
        out.services.push(o.service);
        out.endpointSlices.push(...o.endpointSlices);
        out.pods.push(...o.pods);
      }
      return out;
    });
    return this.cached;
  }

  private checkService(reg: Registration, svc: ServiceRegistrations | undefined): void {
    const defined = this.options.definedService?.(reg.namespace, reg.service);
    const who = `Service ${reg.namespace}/${reg.service}`;
    if (defined !== undefined) {
      if (this.options.allowDefinedServices !== true) {
        throw new RegistryError(403, `${who} is defined by the config files or the cluster; the registry does not change its endpoints (pilotfish serve --registry-allow-defined-services allows it)`);
      }
      const ports = (defined.spec?.ports ?? []).map((p) => ({ name: p.name ?? '', port: p.port }));
      if (ports.length === 0) throw new RegistryError(400, `${who} has no ports to register endpoints for`);
      checkPort(who, reg.servicePort, ports);
      return;
    }
    // A synthetic service gains a port for any number; a name must be one of its ports.
    if (typeof reg.servicePort === 'string') checkPort(who, reg.servicePort, svc?.syntheticPorts() ?? new ServiceRegistrations(reg.namespace, reg.service).syntheticPorts());
  }

  /** Applies a change: with a state file, once it is on disk. */
  private async commit(change: StateChange, apply: () => void): Promise<void> {
    if (this.state === undefined) {
      apply();
      return;
    }
    try {
      await this.state.append(change, apply);
    } catch (err) {
      this.log.error('cannot save the registry state', { file: this.state.path, reason: (err as Error).message });
      throw new RegistryError(503, 'cannot save the registry state; the change was not made');
    }
  }

  /** Every registration, in no particular order (for the state file). */
  private registrations(): Registration[] {
    const out: Registration[] = [];
    for (const svc of this.services.values()) for (const r of svc.values()) out.push(r);
    return out;
  }

  /** Returns whether the endpoint is new. */
  private put(reg: Registration): boolean {
    const skey = serviceKeyOf(reg);
    let svc = this.services.get(skey);
    if (svc === undefined) {
      svc = new ServiceRegistrations(reg.namespace, reg.service);
      this.services.set(skey, svc);
    }
    const created = svc.set(endpointKeyOf(reg), reg) === undefined;
    if (created) this.count++;
    const timer = this.emptySince.get(skey);
    if (timer !== undefined) {
      clearTimeout(timer);
      this.emptySince.delete(skey);
    }
    return created;
  }

  /** Returns whether the endpoint was there. */
  private remove(id: EndpointId): boolean {
    const skey = serviceKeyOf(id);
    const svc = this.services.get(skey);
    if (svc?.delete(endpointKeyOf(id)) === undefined) return false;
    this.count--;
    if (svc.size > 0 || this.emptySince.has(skey)) return true;
    // The service outlives its last endpoint for a while: proxies watching it are told "no
    // endpoints" (silence would keep the stale ones), and an endpoint coming back finds it.
    const timer = setTimeout(() => {
      this.emptySince.delete(skey);
      if (this.services.get(skey)?.size !== 0) return;
      this.services.delete(skey);
      this.log.info('service removed: no endpoints for the grace period', { service: skey, graceMs: this.graceMs });
      this.changed();
    }, this.graceMs);
    timer.unref();
    this.emptySince.set(skey, timer);
    return true;
  }

  private drop(skey: string): void {
    const svc = this.services.get(skey);
    if (svc === undefined) return;
    this.count -= svc.size;
    this.services.delete(skey);
    const timer = this.emptySince.get(skey);
    if (timer !== undefined) clearTimeout(timer);
    this.emptySince.delete(skey);
  }

  /** Loads the saved state: entries that no longer validate are skipped with a warning. */
  private async restore(state: RegistryStateFile): Promise<void> {
    const { registrations, changes } = await state.load();
    const apply = (change: StateChange): void => {
      try {
        if ('put' in change) this.put(parseRegistration(change.put));
        else if ('del' in change) this.remove(parseEndpointId(change.del));
        else this.drop(serviceKeyOf(change.drop));
      } catch (err) {
        this.log.warn('saved registry entry ignored', { file: state.path, reason: (err as Error).message });
      }
    };
    for (const r of registrations) apply({ put: r });
    for (const c of changes) apply(c);
    // Nothing to wait for after a restart: services left empty by the journal go now.
    for (const [skey, t] of this.emptySince) {
      clearTimeout(t);
      if (this.services.get(skey)?.size === 0) this.services.delete(skey);
    }
    this.emptySince.clear();
    await state.open();
    this.cached = undefined;
    this.log.info('registry state loaded', { file: state.path, endpoints: this.count, services: this.services.size });
  }

  private changed(): void {
    this.cached = undefined;
    this.sink?.replace(this.name, this.objects());
  }
}

/** An ObjectSet whose arrays are built on first read. */
class LazyObjects implements ObjectSet {
  readonly namespaces: ObjectSet['namespaces'] = [];
  readonly trafficRoutes: ObjectSet['trafficRoutes'] = [];
  readonly trafficPolicies: ObjectSet['trafficPolicies'] = [];
  readonly peerAuthentications: ObjectSet['peerAuthentications'] = [];
  readonly accessPolicies: ObjectSet['accessPolicies'] = [];
  readonly virtualServices: ObjectSet['virtualServices'] = [];
  readonly destinationRules: ObjectSet['destinationRules'] = [];
  readonly trafficScopes: ObjectSet['trafficScopes'] = [];
  readonly httpRoutes: ObjectSet['httpRoutes'] = [];
  readonly grpcRoutes: ObjectSet['grpcRoutes'] = [];
  private parts: { services: V1Service[]; endpointSlices: V1EndpointSlice[]; pods: V1Pod[] } | undefined;

  constructor(private readonly build: () => { services: V1Service[]; endpointSlices: V1EndpointSlice[]; pods: V1Pod[] }) {}

  get services(): readonly V1Service[] { return (this.parts ??= this.build()).services; }
  get endpointSlices(): readonly V1EndpointSlice[] { return (this.parts ??= this.build()).endpointSlices; }
  get pods(): readonly V1Pod[] { return (this.parts ??= this.build()).pods; }
}

function checkPort(who: string, servicePort: number | string | undefined, ports: ReadonlyArray<{ name: string; port: number }>): void {
  if (servicePort === undefined) return;
  if (ports.some((p) => (typeof servicePort === 'number' ? p.port === servicePort : p.name === servicePort))) return;
  const list = ports.map((p) => (p.name === '' ? String(p.port) : `${p.name} (${p.port})`)).join(', ');
  throw new RegistryError(400, `${who} has no port ${typeof servicePort === 'number' ? servicePort : `"${servicePort}"`}; its ports: ${list}`);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
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
function parseRegistration(input: unknown): Registration {
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
function parseEndpointId(input: unknown): EndpointId {
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
