// The registrations of one service and the objects they make, kept up to date incrementally: a
// registration touches one slice group and a few counters, and only the chunks it changed are
// rebuilt, when the objects are next read (once per published snapshot, not once per change),
// from slice endpoints made once per registration (registryEndpoint), not once per rebuild.
import { isIPv6 } from 'node:net';
import type { V1EndpointSlice, V1Pod, V1Service } from '../objects.js';
import {
  DEFAULT_SERVICE_PORT, MAX_ENDPOINTS_PER_SLICE, buildSlice, buildSyntheticService, registryEndpoint, syntheticPortName, syntheticTarget,
  type Registration, type RegistryEndpoint, type SliceGroup,
} from './registry-objects.js';

interface ServiceObjects {
  readonly service: V1Service;
  readonly endpointSlices: readonly V1EndpointSlice[];
  readonly pods: readonly V1Pod[];
}

interface Chunk {
  /** Registration key -> its slice endpoint (made once per registration). */
  readonly regs: Map<string, RegistryEndpoint>;
  built?: { slice: V1EndpointSlice; pods: V1Pod[] };
}

/**
 * One slice group: registrations placed in chunks of at most MAX_ENDPOINTS_PER_SLICE, each a slice.
 * A registration stays in its chunk until removed, so a change rebuilds one chunk's slice.
 */
interface Group extends SliceGroup {
  readonly id: string;
  size: number;
  readonly chunks: Array<Chunk | undefined>;
  /** Registration key -> chunk index. */
  readonly where: Map<string, number>;
  /** Chunks with room. */
  readonly open: Set<number>;
}

export class ServiceRegistrations {
  private readonly regs = new Map<string, Registration>();
  private readonly groups = new Map<string, Group>();
  /** How many registrations ask for each synthetic port number (no servicePort: the default). */
  private readonly numbers = new Map<number, number>();
  /** Synthetic port number -> endpoint port -> how many registrations. */
  private readonly endpointPorts = new Map<number, Map<number, number>>();
  private lowest = DEFAULT_SERVICE_PORT;
  private service: V1Service | undefined;
  /** The Service last handed out, kept while the service has no registrations. */
  private shown: V1Service | undefined;
  private cached: ServiceObjects | undefined;

  constructor(readonly namespace: string, readonly name: string) {}

  get size(): number {
    return this.regs.size;
  }

  values(): IterableIterator<Registration> {
    return this.regs.values();
  }

  get(key: string): Registration | undefined {
    return this.regs.get(key);
  }

  /** Port names and numbers of the synthetic Service as it stands (for messages and checks). */
  syntheticPorts(): Array<{ name: string; port: number }> {
    const ports = (this.service ?? this.buildService()).spec?.ports ?? [];
    return ports.map((p) => ({ name: p.name ?? '', port: p.port }));
  }

  /** Adds or replaces the registration under `key`; returns the one it replaced. */
  set(key: string, reg: Registration): Registration | undefined {
    const previous = this.regs.get(key);
    if (previous !== undefined) this.remove(key, previous);
    this.regs.set(key, reg);
    place(this.groupOf(reg), key, registryEndpoint(this.namespace, reg));
    this.count(reg, 1);
    this.cached = undefined;
    return previous;
  }

  delete(key: string): Registration | undefined {
    const reg = this.regs.get(key);
    if (reg === undefined) return undefined;
    this.remove(key, reg);
    this.cached = undefined;
    return reg;
  }

  /**
   * The Service, its slices and Pods. With no registration left the last Service stays (its
   * ports do not flap) with no slices, so proxies watching it are told "no endpoints".
   */
  objects(): ServiceObjects {
    if (this.cached !== undefined) return this.cached;
    this.service ??= this.regs.size === 0 && this.shown !== undefined ? this.shown : this.buildService();
    this.shown = this.service;
    const slices: V1EndpointSlice[] = [];
    const pods: V1Pod[] = [];
    const ordered = [...this.groups.values()].sort((a, b) =>
      cmp(a.family, b.family) || cmp(a.selector, b.selector) || a.port - b.port);
    for (const g of ordered) {
      const portName = syntheticPortName(syntheticTarget(servicePortOf(g), this.lowest), this.lowest);
      g.chunks.forEach((c, i) => {
        if (c === undefined) return;
        c.built ??= buildSlice(this.namespace, this.name, g, i, portName, c.regs.values());
        slices.push(c.built.slice);
        pods.push(...c.built.pods);
      });
    }
    pods.sort((a, b) => cmp(a.metadata?.name ?? '', b.metadata?.name ?? ''));
    this.cached = { service: this.service, endpointSlices: slices, pods };
    return this.cached;
  }

  private remove(key: string, reg: Registration): void {
    this.regs.delete(key);
    const g = this.groupOf(reg);
    unplace(g, key);
    if (g.size === 0) {
      this.groups.delete(g.id);
      this.service = undefined;
    }
    this.count(reg, -1);
  }

  private groupOf(reg: Registration): Group {
    const family = isIPv6(reg.address) ? 'IPv6' : 'IPv4';
    const selector = reg.servicePort === undefined ? '' : String(reg.servicePort);
    const id = `${family}|${selector}|${reg.port}`;
    let g = this.groups.get(id);
    if (g === undefined) {
      g = { id, family, port: reg.port, selector, size: 0, chunks: [], where: new Map(), open: new Set() };
      this.groups.set(id, g);
      this.service = undefined;
    }
    return g;
  }

  /** Keeps the port counters; a change of the Service's shape rebuilds it (and, if the lowest port moved, every slice). */
  private count(reg: Registration, delta: 1 | -1): void {
    // Endpoint ports first, under the current lowest port: a move of the lowest port recounts them all.
    const target = syntheticTarget(reg.servicePort, this.lowest);
    const byPort = this.endpointPorts.get(target) ?? new Map<number, number>();
    const e = (byPort.get(reg.port) ?? 0) + delta;
    if (e === 0) byPort.delete(reg.port); else byPort.set(reg.port, e);
    if (e === 0 || (e === 1 && delta === 1)) this.service = undefined;
    if (byPort.size === 0) this.endpointPorts.delete(target); else this.endpointPorts.set(target, byPort);
    if (typeof reg.servicePort === 'string') return;
    const n = reg.servicePort ?? DEFAULT_SERVICE_PORT;
    const c = (this.numbers.get(n) ?? 0) + delta;
    if (c === 0) this.numbers.delete(n); else this.numbers.set(n, c);
    if (c === 0 || (c === 1 && delta === 1)) this.shapeChanged();
  }

  private shapeChanged(): void {
    this.service = undefined;
    const lowest = this.numbers.size === 0 ? DEFAULT_SERVICE_PORT : Math.min(...this.numbers.keys());
    if (lowest === this.lowest) return;
    // Named registrations follow the lowest port, and port names depend on it: recount and rebuild all.
    this.lowest = lowest;
    this.endpointPorts.clear();
    for (const r of this.regs.values()) {
      const target = syntheticTarget(r.servicePort, lowest);
      const byPort = this.endpointPorts.get(target) ?? new Map<number, number>();
      byPort.set(r.port, (byPort.get(r.port) ?? 0) + 1);
      this.endpointPorts.set(target, byPort);
    }
    for (const g of this.groups.values()) for (const c of g.chunks) if (c !== undefined) c.built = undefined;
  }

  private buildService(): V1Service {
    const numbers = this.numbers.size === 0 ? [DEFAULT_SERVICE_PORT] : [...this.numbers.keys()].sort((a, b) => a - b);
    return buildSyntheticService(this.namespace, this.name, numbers, (n) => {
      const m = this.endpointPorts.get(n);
      return m === undefined ? undefined : new Set(m.keys());
    });
  }
}

function place(g: Group, key: string, entry: RegistryEndpoint): void {
  // The lowest chunk with room, so slices stay full and few.
  let index = g.open.size === 0 ? undefined : Math.min(...g.open);
  if (index === undefined) {
    index = g.chunks.indexOf(undefined);
    if (index < 0) index = g.chunks.length;
    g.chunks[index] = { regs: new Map() };
    g.open.add(index);
  }
  const chunk = g.chunks[index] as Chunk;
  chunk.regs.set(key, entry);
  chunk.built = undefined;
  g.where.set(key, index);
  g.size++;
  if (chunk.regs.size >= MAX_ENDPOINTS_PER_SLICE) g.open.delete(index);
}

function unplace(g: Group, key: string): void {
  const index = g.where.get(key);
  if (index === undefined) return;
  g.where.delete(key);
  const chunk = g.chunks[index];
  if (chunk === undefined) return;
  chunk.regs.delete(key);
  chunk.built = undefined;
  g.size--;
  if (chunk.regs.size > 0) { g.open.add(index); return; }
  g.chunks[index] = undefined;
  g.open.delete(index);
  while (g.chunks.length > 0 && g.chunks[g.chunks.length - 1] === undefined) g.chunks.pop();
}

function servicePortOf(g: SliceGroup): number | string | undefined {
  if (g.selector === '') return undefined;
  return /^\d+$/.test(g.selector) ? Number(g.selector) : g.selector;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
