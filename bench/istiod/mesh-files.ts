// The bench workload as the files each server reads, and the edits a comparison makes to them.
// pilotfish reads the workload's own Kubernetes YAML (Services, EndpointSlices, Pods,
// TrafficRoutes, TrafficPolicies); istiod reads the same mesh as Istio config: a STATIC
// ServiceEntry per Service with its endpoints inline (same addresses, labels and zones), a
// VirtualService per TrafficRoute and a DestinationRule per TrafficPolicy, so cluster and EDS
// names come out the same on both. One file per namespace on both sides, so an endpoint change
// is the same edit: the namespace's file rewritten in place with one more endpoint.
// Pure: texts in, texts out; the caller writes them.
import { clusterName, newService, type Workload, type WorkloadService } from '../workload.js';

export type Flavour = 'pilotfish' | 'istio';

type Doc = Record<string, unknown>;

interface Endpoint {
  readonly address: string;
  readonly zone: string;
  readonly labels: Readonly<Record<string, string>>;
}

const DOMAIN = 'svc.cluster.local';

function text(docs: readonly Doc[]): string {
  return docs.map((d) => JSON.stringify(d)).join('\n---\n') + '\n';
}

function parseDocs(file: string): Doc[] {
  return file.split('\n---\n').map((t) => t.trim()).filter((t) => t !== '').map((t) => JSON.parse(t) as Doc);
}

function record(v: unknown): Doc {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Doc) : {};
}

function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

/** The endpoints of each Service as the workload's EndpointSlices and Pods give them. */
function endpointsOf(docs: readonly Doc[]): Map<string, Endpoint[]> {
  const podLabels = new Map<string, Record<string, string>>();
  for (const d of docs) {
    if (d.kind !== 'Pod') continue;
    const meta = record(d.metadata);
    podLabels.set(`${str(meta.namespace)}/${str(meta.name)}`, record(meta.labels) as Record<string, string>);
  }
  const out = new Map<string, Endpoint[]>();
  for (const d of docs) {
    if (d.kind !== 'EndpointSlice') continue;
    const meta = record(d.metadata);
    const service = str(record(meta.labels)['kubernetes.io/service-name']);
    const key = `${str(meta.namespace)}/${service}`;
    const eps = out.get(key) ?? [];
    for (const e of list(d.endpoints)) {
      const ep = record(e);
      const ref = record(ep.targetRef);
      const labels = podLabels.get(`${str(ref.namespace)}/${str(ref.name)}`) ?? { app: service };
      for (const a of list(ep.addresses)) eps.push({ address: str(a), zone: str(ep.zone), labels });
    }
    out.set(key, eps);
  }
  return out;
}

function protocolOf(name: string, appProtocol: string): string {
  if (appProtocol === 'grpc' || name.startsWith('grpc')) return 'GRPC';
  return 'HTTP';
}

function serviceEntry(svc: Doc, endpoints: readonly Endpoint[]): Doc {
  const meta = record(svc.metadata);
  const spec = record(svc.spec);
  const name = str(meta.name);
  const namespace = str(meta.namespace);
  return {
    apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry',
    metadata: { name, namespace },
    spec: {
      hosts: [`${name}.${namespace}.${DOMAIN}`],
      addresses: [str(spec.clusterIP)],
      location: 'MESH_INTERNAL',
      resolution: 'STATIC',
      ports: list(spec.ports).map((p) => {
        const port = record(p);
        return { number: port.port, name: str(port.name), protocol: protocolOf(str(port.name), str(port.appProtocol)), targetPort: port.targetPort };
      }),
      endpoints: endpoints.map(istioEndpoint),
    },
  };
}

function istioEndpoint(e: Endpoint): Doc {
  return { address: e.address, labels: { ...e.labels }, ...(e.zone !== '' ? { locality: `/${e.zone}` } : {}) };
}

/** Short host names of the routing CRDs, made fully qualified (as the CRD resolves them). */
function fqdn(name: unknown, namespace: string): string {
  const n = str(name);
  return n.includes('.') ? n : `${n}.${namespace}.${DOMAIN}`;
}

function destination(d: unknown, namespace: string): Doc {
  const dst = record(d);
  return {
    host: fqdn(dst.host, namespace),
    ...(dst.port !== undefined ? { port: { number: dst.port } } : {}),
    ...(dst.subset !== undefined ? { subset: dst.subset } : {}),
  };
}

function virtualService(route: Doc): Doc {
  const meta = record(route.metadata);
  const namespace = str(meta.namespace);
  const spec = record(route.spec);
  return {
    apiVersion: 'networking.istio.io/v1', kind: 'VirtualService',
    metadata: { name: meta.name, namespace },
    spec: {
      hosts: list(spec.hosts).map((h) => fqdn(h, namespace)),
      http: list(spec.http).map((r) => {
        const rule = record(r);
        return {
          ...rule,
          route: list(rule.route).map((x) => {
            const to = record(x);
            return { ...to, destination: destination(to.destination, namespace) };
          }),
        };
      }),
    },
  };
}

function destinationRule(policy: Doc): Doc {
  const meta = record(policy.metadata);
  const namespace = str(meta.namespace);
  const spec = record(policy.spec);
  return {
    apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule',
    metadata: { name: meta.name, namespace },
    spec: { ...spec, host: fqdn(spec.host, namespace) },
  };
}

/** Istio config for pilotfish documents: the same mesh, file by file. */
export function istioDocs(docs: readonly Doc[]): Doc[] {
  const endpoints = endpointsOf(docs);
  const out: Doc[] = [];
  for (const d of docs) {
    const meta = record(d.metadata);
    if (d.kind === 'Service') out.push(serviceEntry(d, endpoints.get(`${str(meta.namespace)}/${str(meta.name)}`) ?? []));
    else if (d.kind === 'TrafficRoute') out.push(virtualService(d));
    else if (d.kind === 'TrafficPolicy') out.push(destinationRule(d));
  }
  return out;
}

/**
 * One server's files for a workload, kept as documents so an edit rewrites one namespace's file
 * with one more endpoint for one Service.
 */
export class MeshFiles {
  private readonly docs = new Map<string, Doc[]>();

  constructor(w: Workload, readonly flavour: Flavour) {
    for (const [rel, file] of w.files) {
      const docs = parseDocs(file);
      this.docs.set(rel, flavour === 'pilotfish' ? docs : istioDocs(docs));
    }
  }

  /** Relative path -> text. */
  files(): Map<string, string> {
    return new Map([...this.docs].filter(([, d]) => d.length > 0).map(([rel, d]) => [rel, text(d)]));
  }

  /** Adds an endpoint to the Service and returns the file that changes, with its new text. */
  addEndpoint(svc: WorkloadService, address: string): { path: string; text: string } {
    const rel = `${svc.namespace}/mesh.yaml`;
    const docs = this.docs.get(rel);
    if (docs === undefined) throw new Error(`no file ${rel} for ${clusterName(svc, svc.ports[0].port)}`);
    const target = docs.find((d) => {
      const meta = record(d.metadata);
      if (str(meta.namespace) !== svc.namespace) return false;
      return this.flavour === 'pilotfish'
        ? d.kind === 'EndpointSlice' && str(record(meta.labels)['kubernetes.io/service-name']) === svc.name
        : d.kind === 'ServiceEntry' && str(meta.name) === svc.name;
    });
    if (target === undefined) throw new Error(`no endpoints of ${svc.namespace}/${svc.name} in ${rel}`);
    const added: Endpoint = { address, zone: 'zone-a', labels: { app: svc.name } };
    if (this.flavour === 'pilotfish') {
      target.endpoints = [...list(target.endpoints), { addresses: [address], conditions: { ready: true }, zone: added.zone }];
    } else {
      const spec = record(target.spec);
      target.spec = { ...spec, endpoints: [...list(spec.endpoints), istioEndpoint(added)] };
    }
    return { path: rel, text: text(docs) };
  }

  /** The k-th added Service (the full push): its file and text in this flavour. */
  newService(w: Workload, k: number): { service: WorkloadService; path: string; text: string; cluster: string } {
    const n = newService(w, k);
    const docs = parseDocs(n.text);
    const body = this.flavour === 'pilotfish' ? n.text : text(istioDocs(docs));
    return { service: n.service, path: n.path, text: body, cluster: clusterName(n.service, n.service.ports[0].port) };
  }
}
