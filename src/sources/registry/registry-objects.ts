// Pure: the Kubernetes objects the REST registry reports for a service's registrations.
//
// EndpointSlice ports apply to every endpoint of a slice, so registrations are grouped into one
// slice group per (address family, endpoint port, chosen service port): 10.0.0.1:8081 and
// 10.0.0.2:8082 become two slices whose single port carries the same name, i.e. two endpoints of one
// service port. A group holds at most 100 endpoints per slice, so a change rebuilds one small slice.
// The synthetic Service (used only when no other source defines the Service) gets one port per
// distinct requested service port number; the lowest is named `grpc`, others `grpc-<number>`.
import type { V1ServicePort } from '@kubernetes/client-node';
import { SERVICE_NAME_LABEL, SERVICE_PORT_ANNOTATION, SYNTHETIC_ANNOTATION, type V1EndpointSlice, type V1Pod, type V1Service } from '../objects.js';

export interface Registration {
  readonly address: string;
  readonly port: number;
  readonly service: string;
  readonly namespace: string;
  /** Service port the endpoint serves: a number or a port name; absent: the default port. */
  readonly servicePort?: number | string;
  readonly zone?: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** Port of a synthetic Service when the registration names none. */
export const DEFAULT_SERVICE_PORT = 80;
const REGISTRY_MANAGER = 'registry.pilotfish.io';

/** Port name of a synthetic Service's port `n` when `lowest` is its lowest port. */
export function syntheticPortName(n: number, lowest: number): string {
  return n === lowest ? 'grpc' : `grpc-${n}`;
}

/** The synthetic Service port a registration lands on (a port name picks the lowest port). */
export function syntheticTarget(servicePort: number | string | undefined, lowest: number): number {
  return typeof servicePort === 'number' ? servicePort : servicePort === undefined ? DEFAULT_SERVICE_PORT : lowest;
}

/**
 * The synthetic Service: one port per number in `numbers` (sorted), whose target port is the
 * endpoint port when all its endpoints share one, else the port name (resolved per endpoint).
 */
export function buildSyntheticService(namespace: string, service: string, numbers: readonly number[],
  endpointPortsOf: (n: number) => ReadonlySet<number> | undefined): V1Service {
  const lowest = numbers[0] ?? DEFAULT_SERVICE_PORT;
  const ports: V1ServicePort[] = numbers.map((n) => {
    const endpointPorts = endpointPortsOf(n);
    const only = endpointPorts?.size === 1 ? [...endpointPorts][0] : undefined;
    const name = syntheticPortName(n, lowest);
    return { name, port: n, targetPort: only ?? name, protocol: 'TCP', appProtocol: 'grpc' };
  });
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: service, namespace, annotations: { [SYNTHETIC_ANNOTATION]: 'true' }, labels: { 'app.kubernetes.io/managed-by': REGISTRY_MANAGER } },
    spec: { ports },
  };
}

export interface SliceGroup {
  readonly family: 'IPv4' | 'IPv6';
  /** Endpoint port. */
  readonly port: number;
  /** The requested service port as written ('' for none). */
  readonly selector: string;
}

/** Endpoints per slice, as Kubernetes' EndpointSlice controller does by default. */
export const MAX_ENDPOINTS_PER_SLICE = 100;

/** Name of a group's `chunk`th slice. */
function sliceName(service: string, g: SliceGroup, chunk: number): string {
  return `${service}-registry-${g.selector === '' ? 'default' : g.selector}-${g.port}${g.family === 'IPv6' ? '-v6' : ''}${chunk === 0 ? '' : `-${chunk}`}`;
}

/** One registration as a slice endpoint, with the Pod standing for its labels (if it has any). */
export interface RegistryEndpoint {
  readonly address: string;
  readonly endpoint: NonNullable<V1EndpointSlice['endpoints']>[number];
  readonly pod?: V1Pod;
}

/**
 * Made once per registration (not per slice rebuild): a slice of 100 that gains one endpoint
 * keeps the other 99 objects, so whatever downstream memoises on them is kept too.
 */
export function registryEndpoint(namespace: string, r: Registration): RegistryEndpoint {
  const podName = Object.keys(r.labels).length > 0 ? registryPodName(r) : undefined;
  const endpoint = {
    addresses: [r.address],
    conditions: { ready: true, serving: true, terminating: false },
    ...(r.zone !== undefined ? { zone: r.zone } : {}),
    ...(podName !== undefined ? { targetRef: { kind: 'Pod', namespace, name: podName } } : {}),
  };
  if (podName === undefined) return { address: r.address, endpoint };
  const pod: V1Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: podName, namespace, labels: { ...r.labels }, annotations: { [SYNTHETIC_ANNOTATION]: 'true' } },
    status: { podIP: r.address },
  };
  return { address: r.address, endpoint, pod };
}

/** One group's slice and the Pods standing for its labelled registrations (sorted by address). */
export function buildSlice(namespace: string, service: string, g: SliceGroup, chunk: number, portName: string,
  entries: Iterable<RegistryEndpoint>): { slice: V1EndpointSlice; pods: V1Pod[] } {
  const sorted = [...entries].sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  const pods: V1Pod[] = [];
  for (const e of sorted) if (e.pod !== undefined) pods.push(e.pod);
  const slice: V1EndpointSlice = {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: sliceName(service, g, chunk),
      namespace,
      labels: { [SERVICE_NAME_LABEL]: service, 'endpointslice.kubernetes.io/managed-by': REGISTRY_MANAGER },
      annotations: { [SERVICE_PORT_ANNOTATION]: g.selector },
    },
    addressType: g.family,
    endpoints: sorted.map((e) => e.endpoint),
    ports: [{ name: portName, port: g.port, protocol: 'TCP' }],
  };
  return { slice, pods };
}

/** Name of the Pod standing for a labelled registration (labels reach endpoints through targetRef -> Pod). */
function registryPodName(r: Pick<Registration, 'service' | 'address' | 'port'>): string {
  return `${r.service}-${r.address.toLowerCase().replace(/[:.]/g, '-')}-${r.port}`;
}
