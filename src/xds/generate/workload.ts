// The workload behind a sidecar: its labels and the ports its Services send it traffic on. This
// is what the sidecar's inbound side (virtualInbound and the inbound|<port>|| clusters) is built
// from. Everything here depends only on what proxyClassKey puts in a class (namespace and
// labels, or the pod name when the proxy sent no labels), so proxies of a class share it.
import type { Protocol, Service, ServicePort } from '../../model/mesh.js';
import { serviceKey } from '../../model/mesh.js';
import type { ProxyIdentity } from '../../model/proxy.js';
import { policyFields } from '../../model/effective-policy.js';
import type { MeshIndex } from '../../model/mesh-index.js';
import { subsetMatches, type LocalRateLimit } from '../../model/routing.js';
import type { MeshSnapshot } from '../../model/snapshot.js';
import type { EffectiveMtlsMode } from '../../model/peer-authentication.js';
import type { WorkloadAccess } from '../../model/access-policy.js';
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
  /** The PeerAuthentication mode of this port (MeshIndex.mtlsMode). */
  readonly mtlsMode: EffectiveMtlsMode;
}

export interface Workload {
  readonly labels: Readonly<Record<string, string>>;
  /** Sorted by port, one entry per port. */
  readonly ports: readonly WorkloadPort[];
  /** Keys of Services whose endpoints were read to resolve named target ports. */
  readonly endpointDependencies: ReadonlySet<string>;
  /** The workload-level mode: what passthrough traffic (ports no Service names) gets. */
  readonly mtlsMode: EffectiveMtlsMode;
  readonly trustDomain: string;
  /** The AccessPolicies that apply to the workload (MeshIndex.accessFor). */
  readonly access: WorkloadAccess;
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

export function sameLabels(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
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

function localRateLimitFor(mesh: MeshIndex, svc: Service, port: ServicePort, labels: Readonly<Record<string, string>>): LocalRateLimit | undefined {
  const policy = mesh.policyOf(serviceKey(svc.namespace, svc.name));
  if (!policy) return undefined;
  const subset = policy.policy.subsets.find((s) => subsetMatches(s, labels));
  return policyFields(policy, port.port, subset?.name).localRateLimit;
}

/**
 * The proxy's workload in the snapshot. Every class of the namespace asks on every config change:
 * the cache (xds/cache/workload-memo.ts) keeps the answer while what it reads is the same objects.
 */
export function sidecarWorkload(mesh: MeshIndex, proxy: ProxyIdentity): Workload {
  const snapshot = mesh.snapshot;
  const labels = workloadLabels(snapshot, proxy);
  const byPort = new Map<number, WorkloadPort>();
  const deps = new Set<string>();
  if (Object.keys(labels).length > 0) {
    for (const svc of mesh.servicesIn(proxy.namespace)) {
      if (!selects(svc, labels)) continue;
      for (const sp of svc.ports) {
        if (typeof sp.targetPort === 'string') deps.add(serviceKey(svc.namespace, svc.name));
        const port = resolveTargetPort(snapshot, svc, sp, labels);
        // The sidecar's own ports are never captured (see the injected iptables rules).
        if (port === undefined || byPort.has(port) || SIDECAR_OWN_PORTS.includes(port)) continue;
        const limit = localRateLimitFor(mesh, svc, sp, labels);
        const mtlsMode = mesh.mtlsMode({ namespace: proxy.namespace, labels }, port);
        byPort.set(port, { port, protocol: sp.protocol, service: svc, servicePort: sp, ...(limit ? { localRateLimit: limit } : {}), mtlsMode });
      }
    }
  }
  return {
    labels,
    ports: [...byPort.values()].sort((a, b) => a.port - b.port),
    endpointDependencies: deps,
    mtlsMode: mesh.mtlsMode({ namespace: proxy.namespace, labels }, 0),
    trustDomain: mesh.trustDomain,
    access: mesh.accessFor({ namespace: proxy.namespace, labels }),
  };
}

/**
 * What the sidecar's inbound side (virtualInbound and the inbound clusters) is generated from, as
 * one string: equal signatures, equal resources. A config change elsewhere in the mesh leaves
 * most workloads' signatures alone, and their classes keep what they have.
 */
export function workloadSignature(w: Workload): string {
  return JSON.stringify([w.mtlsMode, w.trustDomain, w.ports.map((p) => [p.port, p.servicePort.protocol, p.localRateLimit ?? null, p.mtlsMode]),
    w.access]);
}
