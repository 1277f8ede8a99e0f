// The workload behind a sidecar: its labels and the ports its Services send it traffic on. This
// is what the sidecar's inbound side (virtualInbound and the inbound|<port>|| clusters) is built
// from. Everything here depends only on what proxyClassKey puts in a class (namespace and
// labels, or the pod name when the proxy sent no labels), so proxies of a class share it.
import type { Protocol, Service, ServicePort } from '../../model/mesh.js';
import { serviceKey } from '../../model/mesh.js';
import type { ProxyIdentity } from '../../model/proxy.js';
import { effectivePolicy, subsetMatches, type LocalRateLimit } from '../../model/routing.js';
import type { MeshSnapshot } from '../../model/snapshot.js';
import { SIDECAR_OWN_PORTS } from './resource-names.js';

export interface WorkloadPort {
  /** The container port traffic arrives on (the Service's targetPort, resolved). */
  readonly port: number;
  readonly protocol: Protocol;
  /** The first Service (by key) that sends traffic to this port. */
  readonly service: Service;
  readonly servicePort: ServicePort;
  /** From the TrafficPolicy of that Service (the subset this workload is in, if any). */
  readonly localRateLimit?: LocalRateLimit;
}

export interface Workload {
  readonly labels: Readonly<Record<string, string>>;
  /** Sorted by port, one entry per port. */
  readonly ports: readonly WorkloadPort[];
  /** Keys of Services whose endpoints were read to resolve named target ports. */
  readonly endpointDependencies: ReadonlySet<string>;
}

/** Labels from the proxy's metadata, else those of its Pod in the snapshot. */
export function workloadLabels(snapshot: MeshSnapshot, proxy: ProxyIdentity): Readonly<Record<string, string>> {
  if (Object.keys(proxy.labels).length > 0) return proxy.labels;
  if (proxy.podName === undefined) return {};
  return snapshot.pods.get(`${proxy.namespace}/${proxy.podName}`)?.labels ?? {};
}

function selects(svc: Service, labels: Readonly<Record<string, string>>): boolean {
  const selector = svc.selector;
  if (selector === undefined) return false;
  const entries = Object.entries(selector);
  return entries.length > 0 && entries.every(([k, v]) => labels[k] === v);
}

function sameLabels(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

/**
 * A named targetPort is resolved from the Service's endpoints whose pod has exactly these labels
 * (a pod of the same workload), as the EndpointSlice controller resolved it.
 */
function resolveTargetPort(snapshot: MeshSnapshot, svc: Service, port: ServicePort, labels: Readonly<Record<string, string>>): number | undefined {
  if (typeof port.targetPort === 'number') return port.targetPort;
  for (const ep of snapshot.endpoints.get(serviceKey(svc.namespace, svc.name)) ?? []) {
    const n = ep.ports[port.name];
    if (n !== undefined && sameLabels(ep.labels, labels)) return n;
  }
  return undefined;
}

function localRateLimitFor(snapshot: MeshSnapshot, svc: Service, port: ServicePort, labels: Readonly<Record<string, string>>): LocalRateLimit | undefined {
  const policy = snapshot.routing.applied.policyByHost.get(serviceKey(svc.namespace, svc.name));
  if (!policy) return undefined;
  const subset = policy.subsets.find((s) => subsetMatches(s, labels));
  return effectivePolicy(policy, port.port, subset?.name).localRateLimit;
}

const byNamespaceMemo = new WeakMap<MeshSnapshot, Map<string, readonly Service[]>>();
/** The lists of the last snapshot asked: a namespace whose services did not change keeps its list. */
let lastLists = new Map<string, readonly Service[]>();

function sameServices(a: readonly Service[], b: readonly Service[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The snapshot's services by namespace, in snapshot order (once per snapshot, not per class).
 * A namespace's list keeps its identity across snapshots while its Service objects are the same
 * (the store keeps unchanged ones), so workloads can be reused on identity (see sidecarWorkload).
 */
function servicesIn(snapshot: MeshSnapshot, namespace: string): readonly Service[] {
  let byNs = byNamespaceMemo.get(snapshot);
  if (!byNs) {
    const fresh = new Map<string, Service[]>();
    for (const svc of snapshot.services.values()) {
      let list = fresh.get(svc.namespace);
      if (!list) fresh.set(svc.namespace, (list = []));
      list.push(svc);
    }
    byNs = new Map();
    for (const [ns, list] of fresh) {
      const before = lastLists.get(ns);
      byNs.set(ns, before && sameServices(before, list) ? before : list);
    }
    lastLists = byNs;
    byNamespaceMemo.set(snapshot, byNs);
  }
  return byNs.get(namespace) ?? NO_SERVICES;
}

const NO_SERVICES: readonly Service[] = [];

function computeWorkload(snapshot: MeshSnapshot, proxy: ProxyIdentity): Workload {
  const labels = workloadLabels(snapshot, proxy);
  const byPort = new Map<number, WorkloadPort>();
  const deps = new Set<string>();
  if (Object.keys(labels).length > 0) {
    for (const svc of servicesIn(snapshot, proxy.namespace)) {
      if (!selects(svc, labels)) continue;
      for (const sp of svc.ports) {
        if (typeof sp.targetPort === 'string') deps.add(serviceKey(svc.namespace, svc.name));
        const port = resolveTargetPort(snapshot, svc, sp, labels);
        // The sidecar's own ports are never captured (see the injected iptables rules).
        if (port === undefined || byPort.has(port) || SIDECAR_OWN_PORTS.includes(port)) continue;
        const limit = localRateLimitFor(snapshot, svc, sp, labels);
        byPort.set(port, { port, protocol: sp.protocol, service: svc, servicePort: sp, ...(limit ? { localRateLimit: limit } : {}) });
      }
    }
  }
  return {
    labels,
    ports: [...byPort.values()].sort((a, b) => a.port - b.port),
    endpointDependencies: deps,
  };
}

const memo = new WeakMap<MeshSnapshot, Map<string, Workload>>();

/** What a workload was computed from, to reuse it in a later snapshot with the same inputs. */
interface WorkloadInputs {
  readonly services: readonly Service[];
  readonly policies: MeshSnapshot['routing']['applied']['policyByHost'];
  readonly endpoints: MeshSnapshot['endpoints'];
  readonly workload: Workload;
}

/** Per class key, bounded: a class that comes back later just computes again. */
const MAX_RECENT = 20_000;
const recent = new Map<string, WorkloadInputs>();

function memoKey(p: ProxyIdentity): string {
  return JSON.stringify([p.namespace, p.podName ?? '', Object.entries(p.labels).sort()]);
}

/**
 * The proxy's workload in this snapshot (computed once per snapshot and class, and carried over
 * from the previous snapshot when its inputs are the same objects: a config change in another
 * namespace then costs a class a few identity checks, not a pass over its namespace's services).
 */
export function sidecarWorkload(snapshot: MeshSnapshot, proxy: ProxyIdentity): Workload {
  let bySnapshot = memo.get(snapshot);
  if (!bySnapshot) memo.set(snapshot, (bySnapshot = new Map()));
  const key = memoKey(proxy);
  let w = bySnapshot.get(key);
  if (w) return w;
  const services = servicesIn(snapshot, proxy.namespace);
  const policies = snapshot.routing.applied.policyByHost;
  const labels = workloadLabels(snapshot, proxy);
  const prev = recent.get(key);
  if (prev && prev.services === services && prev.policies === policies && sameLabels(prev.workload.labels, labels)
    && (prev.workload.endpointDependencies.size === 0 || prev.endpoints === snapshot.endpoints)) {
    w = prev.workload;
  } else {
    w = computeWorkload(snapshot, proxy);
    recent.delete(key);
    recent.set(key, { services, policies, endpoints: snapshot.endpoints, workload: w });
    if (recent.size > MAX_RECENT) recent.delete(recent.keys().next().value as string);
  }
  bySnapshot.set(key, w);
  return w;
}

/**
 * What the sidecar's inbound side (virtualInbound and the inbound clusters) is generated from, as
 * one string: equal signatures, equal resources. A config change elsewhere in the mesh leaves
 * most workloads' signatures alone, and their classes keep what they have.
 */
export function workloadSignature(w: Workload): string {
  return JSON.stringify(w.ports.map((p) => [p.port, p.servicePort.protocol, p.localRateLimit ?? null]));
}
