// The benchmark's mesh and proxies, generated deterministically from a few numbers: N
// namespaces, S services of 1-3 ports (HTTP and gRPC), E endpoints each, a TrafficRoute and a
// TrafficPolicy on every k-th service, written as Kubernetes YAML files for `pilotfish serve`.
// Pure: files are returned as text, the caller writes them.
import type { ProxyKind, ProxySpec } from './sim-proxy.js';

export interface WorkloadOptions {
  readonly namespaces: number;
  readonly services: number;
  readonly endpointsPerService: number;
  /** Every k-th service gets a TrafficRoute and a TrafficPolicy (0: none). */
  readonly routeEvery: number;
  readonly seed: number;
  /**
   * Scoped: every namespace has a TrafficScope naming its own Services and the first two of the
   * mesh (svc-0 and svc-1, the shared ones), for a server run with `--default-scope namespace`.
   */
  readonly scoped?: boolean;
}

export interface WorkloadPort {
  readonly name: string;
  readonly port: number;
  readonly appProtocol?: string;
}

export interface WorkloadService {
  readonly name: string;
  readonly namespace: string;
  readonly clusterIP: string;
  readonly ports: readonly WorkloadPort[];
}

export interface Workload {
  readonly options: WorkloadOptions;
  readonly namespaces: readonly string[];
  readonly services: readonly WorkloadService[];
  /** Relative path -> YAML text. */
  readonly files: ReadonlyMap<string, string>;
  readonly clusters: number;
  readonly endpoints: number;
  readonly trafficRoutes: number;
  readonly trafficPolicies: number;
  /** Services every namespace's TrafficScope names (scoped workloads only). */
  readonly shared: readonly WorkloadService[];
}

/** mulberry32: small, fast, and the same sequence everywhere. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PORT_CHOICES: readonly WorkloadPort[] = [
  { name: 'http', port: 80 },
  { name: 'grpc', port: 9090, appProtocol: 'grpc' },
  { name: 'http-admin', port: 8080 },
];

const ZONES = ['zone-a', 'zone-b', 'zone-c'];

/** Distinct IPv4 addresses from a counter, inside 10.0.0.0/8 (never .0 in the last octet). */
export function endpointIp(n: number): string {
  const host = n + Math.floor(n / 255) + 1;
  return `10.${(host >> 16) & 255}.${(host >> 8) & 255}.${host & 255}`;
}

/**
 * The i-th proxy's pod address in 10.200.0.0/16: last octet 1-254 (never .0, .255 or .256), as
 * istiod refuses addresses that are not IPs.
 */
export function proxyIp(i: number): string {
  if (!Number.isInteger(i) || i < 0 || i >= 254 * 256) throw new Error(`proxy index out of range: ${i}`);
  return `10.200.${Math.floor(i / 254)}.${(i % 254) + 1}`;
}

export function clusterName(svc: WorkloadService, port: number): string {
  return `outbound|${port}||${svc.name}.${svc.namespace}.svc.cluster.local`;
}

function doc(o: unknown): string {
  return JSON.stringify(o);
}

/** Cluster IPs from 172.20.0.0/16 onwards, one per service index. */
export function clusterIp(n: number): string {
  const host = n + 1;
  return `172.${20 + ((host >> 16) & 15)}.${(host >> 8) & 255}.${host & 255}`;
}

/**
 * A Service and its EndpointSlice. With `pods`, every endpoint is a Pod (targetRef) labelled
 * version v1 or v2 alternately, so TrafficPolicy subsets select real endpoints.
 */
export function serviceDocs(svc: WorkloadService, firstEndpoint: number, count: number, pods = false): string[] {
  const app = svc.name;
  const service = {
    apiVersion: 'v1', kind: 'Service',
    metadata: { name: svc.name, namespace: svc.namespace },
    spec: {
      clusterIP: svc.clusterIP,
      selector: { app },
      ports: svc.ports.map((p) => ({ name: p.name, port: p.port, targetPort: p.port, ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}) })),
    },
  };
  const endpoints = [];
  const podDocs: string[] = [];
  for (let i = 0; i < count; i++) {
    const ip = endpointIp(firstEndpoint + i);
    const podName = `${svc.name}-${(firstEndpoint + i).toString(36)}`;
    endpoints.push({
      addresses: [ip], conditions: { ready: true }, zone: ZONES[i % ZONES.length],
      ...(pods ? { targetRef: { kind: 'Pod', namespace: svc.namespace, name: podName } } : {}),
    });
    if (pods) {
      podDocs.push(doc({
        apiVersion: 'v1', kind: 'Pod',
        metadata: { name: podName, namespace: svc.namespace, labels: { app, version: i % 2 === 0 ? 'v1' : 'v2' } },
        spec: { containers: [{ name: 'app', image: `${app}:1` }] },
        status: { podIP: ip },
      }));
    }
  }
  const slice = {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: { name: `${svc.name}-1`, namespace: svc.namespace, labels: { 'kubernetes.io/service-name': svc.name } },
    addressType: 'IPv4',
    ports: svc.ports.map((p) => ({ name: p.name, port: p.port, protocol: 'TCP' })),
    endpoints,
  };
  return [doc(service), doc(slice), ...podDocs];
}

function routingDocs(svc: WorkloadService): string[] {
  const port = svc.ports[0].port;
  const route = {
    apiVersion: 'routing.pilotfish.io/v1alpha1', kind: 'TrafficRoute',
    metadata: { name: svc.name, namespace: svc.namespace },
    spec: {
      hosts: [svc.name],
      http: [
        { name: 'canary', match: [{ headers: { 'x-canary': { exact: 'true' } } }], route: [{ destination: { host: svc.name, port, subset: 'v2' } }] },
        {
          route: [
            { destination: { host: svc.name, port, subset: 'v1' }, weight: 90 },
            { destination: { host: svc.name, port, subset: 'v2' }, weight: 10 },
          ],
          timeout: '5s',
          retries: { attempts: 2, perTryTimeout: '1s', retryOn: '5xx,connect-failure' },
        },
      ],
    },
  };
  const policy = {
    apiVersion: 'routing.pilotfish.io/v1alpha1', kind: 'TrafficPolicy',
    metadata: { name: svc.name, namespace: svc.namespace },
    spec: {
      host: svc.name,
      trafficPolicy: {
        loadBalancer: { simple: 'LEAST_REQUEST' },
        outlierDetection: { consecutive5xxErrors: 5, interval: '10s', baseEjectionTime: '30s' },
      },
      subsets: [{ name: 'v1', labels: { version: 'v1' } }, { name: 'v2', labels: { version: 'v2' } }],
    },
  };
  return [doc(route), doc(policy)];
}

export function generateWorkload(o: WorkloadOptions): Workload {
  const rand = rng(o.seed);
  const namespaces = Array.from({ length: o.namespaces }, (_, i) => `ns-${i}`);
  const services: WorkloadService[] = [];
  const byNs = new Map<string, string[]>(namespaces.map((n) => [n, [
    doc({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: n, labels: { 'pilotfish.io/inject': 'enabled' } } }),
  ]]));
  const routingByNs = new Map<string, string[]>();
  let endpoint = 0, clusters = 0, routes = 0;
  for (let i = 0; i < o.services; i++) {
    const namespace = namespaces[i % namespaces.length];
    const count = 1 + Math.floor(rand() * 3);
    const start = Math.floor(rand() * PORT_CHOICES.length);
    const ports = Array.from({ length: count }, (_, k) => PORT_CHOICES[(start + k) % PORT_CHOICES.length]);
    const svc: WorkloadService = { name: `svc-${i}`, namespace, clusterIP: clusterIp(i), ports };
    services.push(svc);
    clusters += ports.length;
    const routed = o.routeEvery > 0 && i % o.routeEvery === 0;
    byNs.get(namespace)!.push(...serviceDocs(svc, endpoint, o.endpointsPerService, routed));
    endpoint += o.endpointsPerService;
    if (routed) {
      const list = routingByNs.get(namespace) ?? [];
      list.push(...routingDocs(svc));
      routingByNs.set(namespace, list);
      routes++;
    }
  }
  const files = new Map<string, string>();
  for (const [ns, docs] of byNs) files.set(`${ns}/mesh.yaml`, docs.join('\n---\n') + '\n');
  for (const [ns, docs] of routingByNs) files.set(`${ns}/routing.yaml`, docs.join('\n---\n') + '\n');
  const shared = o.scoped ? services.slice(0, 2) : [];
  if (o.scoped) for (const ns of namespaces) files.set(`${ns}/scope.yaml`, `${scopeDoc(ns, shared)}\n`);
  return {
    options: o, namespaces, services, files, clusters, endpoints: endpoint, trafficRoutes: routes, trafficPolicies: routes, shared,
  };
}

function fqdn(svc: WorkloadService): string {
  return `${svc.name}.${svc.namespace}.svc.cluster.local`;
}

/** A namespace's TrafficScope: its own Services and the shared ones. */
function scopeDoc(namespace: string, shared: readonly WorkloadService[]): string {
  return doc({
    apiVersion: 'routing.pilotfish.io/v1alpha1', kind: 'TrafficScope',
    metadata: { name: 'namespace', namespace },
    spec: { egress: { hosts: ['./*', ...shared.map((s) => `*/${fqdn(s)}`)] } },
  });
}

/** The clusters a wildcard CDS sidecar in `namespace` holds: the whole mesh's, or (scoped) its namespace's and the shared ones. */
export function clustersSeenFrom(w: Workload, services: readonly WorkloadService[], namespace: string): string[] {
  const seen = w.options.scoped ? services.filter((s) => s.namespace === namespace || w.shared.includes(s)) : services;
  return seen.flatMap((svc) => svc.ports.map((p) => clusterName(svc, p.port)));
}

/** A service added during the run (the "new service" full push), and its file. */
export function newService(w: Workload, k: number): { service: WorkloadService; path: string; text: string } {
  const service: WorkloadService = {
    name: `added-${k}`, namespace: w.namespaces[0], clusterIP: clusterIp(60_000 + k), ports: [PORT_CHOICES[0]],
  };
  const docs = serviceDocs(service, 5_000_000 + k * 1000, Math.max(1, w.options.endpointsPerService));
  return { service, path: `${service.namespace}/added-${k}.yaml`, text: docs.join('\n---\n') + '\n' };
}

export interface ProxyMix {
  readonly sotw: number;
  readonly delta: number;
  readonly grpc: number;
}

/**
 * The default: a SotW-heavy mix, the hard case for the server (every SotW CDS response is the
 * whole cluster list, every SotW EDS request restates every name). The targets are
 * checked against it.
 */
export const DEFAULT_MIX: ProxyMix = { sotw: 0.4, delta: 0.4, grpc: 0.2 };

/**
 * What a pilotfish mesh runs: the sidecars it injects speak Delta xDS (src/webhook/bootstrap.ts
 * asks for DELTA_GRPC), proxyless gRPC clients speak SotW (grpc-js-xds has no Delta), and a few
 * Envoys bootstrapped by hand (gateways, older images) speak SotW. The full matrix runs 2,000
 * proxies with it too.
 */
export const PILOTFISH_MIX: ProxyMix = { sotw: 0.1, delta: 0.7, grpc: 0.2 };

const MIX_KINDS = ['sotw', 'delta', 'grpc'] as const;

/** `sotw=0.4,delta=0.4,grpc=0.2` (any subset; shares are normalised to sum to 1). */
export function parseMix(text: string): ProxyMix {
  const shares: Record<ProxyKind, number> = { sotw: 0, delta: 0, grpc: 0 };
  for (const part of text.split(',')) {
    const [k, v] = part.split('=').map((x) => x.trim());
    if (!(MIX_KINDS as readonly string[]).includes(k)) throw new Error(`--mix: unknown proxy kind "${k}" (kinds: ${MIX_KINDS.join(', ')})`);
    const n = Number(v);
    if (v === undefined || v === '' || !Number.isFinite(n) || n < 0) throw new Error(`--mix: "${part}" needs a non-negative share, e.g. ${k}=0.5`);
    shares[k as ProxyKind] = n;
  }
  const total = shares.sotw + shares.delta + shares.grpc;
  if (total <= 0) throw new Error('--mix: all shares are 0');
  return { sotw: shares.sotw / total, delta: shares.delta / total, grpc: shares.grpc / total };
}

export function sameMix(a: ProxyMix, b: ProxyMix): boolean {
  return MIX_KINDS.every((k) => Math.abs(a[k] - b[k]) < 1e-9);
}

/** "10% SotW sidecars, 70% Delta sidecars, 20% proxyless gRPC" (kinds with no share left out). */
export function describeMix(m: ProxyMix): string {
  const label: Record<ProxyKind, string> = { sotw: 'SotW sidecars', delta: 'Delta sidecars', grpc: 'proxyless gRPC' };
  return MIX_KINDS.filter((k) => m[k] > 0).map((k) => `${Math.round(m[k] * 100)}% ${label[k]}`).join(', ');
}

/** Kinds for n proxies in the given proportions, interleaved so any prefix has the same mix. */
function kinds(n: number, mix: ProxyMix): ProxyKind[] {
  const out: ProxyKind[] = [];
  const acc = { sotw: 0, delta: 0, grpc: 0 };
  for (let i = 0; i < n; i++) {
    let best: ProxyKind = 'sotw';
    let deficit = -Infinity;
    for (const k of ['sotw', 'delta', 'grpc'] as const) {
      const d = mix[k] * (i + 1) - acc[k];
      if (d > deficit) { deficit = d; best = k; }
    }
    acc[best]++;
    out.push(best);
  }
  return out;
}

/**
 * SotW or Delta for the next sidecar of a namespace, so every namespace's sidecars come in the
 * mix's proportions. Taking them from the mesh-wide sequence instead put every SotW sidecar in
 * the even namespaces and every Delta one in the odd (sidecar k runs in namespace k mod N), and
 * a scoped push to one namespace then measured one protocol only.
 */
class SidecarKinds {
  private readonly counts = new Map<string, { sotw: number; delta: number }>();
  private readonly sotwShare: number;

  constructor(mix: ProxyMix) {
    this.sotwShare = mix.sotw + mix.delta > 0 ? mix.sotw / (mix.sotw + mix.delta) : 0;
  }

  next(namespace: string): 'sotw' | 'delta' {
    let c = this.counts.get(namespace);
    if (!c) this.counts.set(namespace, (c = { sotw: 0, delta: 0 }));
    const total = c.sotw + c.delta + 1;
    const kind = this.sotwShare * total - c.sotw >= (1 - this.sotwShare) * total - c.delta ? 'sotw' : 'delta';
    c[kind]++;
    return kind;
  }
}

/**
 * n proxies. Sidecars are the pods of the mesh's workloads: the k-th sidecar runs next to service
 * k (mod S), in its namespace and with its labels, so replicas of one Deployment share a proxy
 * class as in a real mesh. Proxyless clients are spread over the namespaces and dial
 * `targetsPerGrpc` services each. About 1% of each kind (at least one) is sampled for full decoding.
 */
export function generateProxies(w: Workload, n: number,
  opts: { mix?: ProxyMix; targetsPerGrpc?: number; sampleRate?: number; seed?: number; istioNode?: boolean } = {}): ProxySpec[] {
  const rand = rng(opts.seed ?? w.options.seed + 1);
  const rate = opts.sampleRate ?? 0.01;
  const every = Math.max(1, Math.round(1 / rate));
  const seen = { sotw: 0, delta: 0, grpc: 0 };
  const mix = opts.mix ?? DEFAULT_MIX;
  const sidecarKinds = new SidecarKinds(mix);
  let sidecars = 0;
  return kinds(n, mix).map((slot, i) => {
    const ip = proxyIp(i);
    const workload = slot === 'grpc' ? undefined : w.services[sidecars++ % w.services.length];
    const kind = workload === undefined ? slot : sidecarKinds.next(workload.namespace);
    const namespace = workload?.namespace ?? w.namespaces[i % w.namespaces.length];
    const app = workload?.name ?? `client-${i % 7}`;
    const podName = `${app}-${i.toString(36)}`;
    const labels = { app, version: 'v1' };
    const nth = seen[kind]++;
    const listeners: string[] = [];
    if (kind === 'grpc') {
      for (let t = 0; t < (opts.targetsPerGrpc ?? 3); t++) {
        const svc = w.services[Math.floor(rand() * w.services.length)];
        listeners.push(`${svc.name}.${svc.namespace}.svc.cluster.local:${svc.ports[0].port}`);
      }
    }
    return {
      id: `${kind === 'grpc' ? 'grpc' : 'sidecar'}~${ip}~${podName}.${namespace}~${namespace}.svc.cluster.local`,
      kind, namespace, ip, podName, labels, listeners, sample: nth % every === 0,
      ...(opts.istioNode === true ? { istioNode: true } : {}),
    };
  });
}

/** The service a proxyless proxy dials first: endpoint changes hit it, so every kind is measured. */
export function serviceOfListener(w: Workload, listener: string): WorkloadService | undefined {
  const host = listener.slice(0, listener.lastIndexOf(':'));
  return w.services.find((s) => `${s.name}.${s.namespace}.svc.cluster.local` === host);
}
