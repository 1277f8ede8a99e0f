// Pure: the Kubernetes objects the REST registry reports for one service's registrations.
//
// EndpointSlice ports apply to every endpoint of a slice, so registrations are grouped into one
// slice per (address family, endpoint port, chosen service port): 10.0.0.1:8081 and 10.0.0.2:8082
// become two slices whose single port carries the same name, i.e. two endpoints of one service port.
// The synthetic Service (used only when no other source defines the Service) gets one port per
// distinct requested service port number; the lowest is named `grpc`, others `grpc-<number>`.
import { isIPv6 } from 'node:net';
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

export interface ServiceObjects {
  readonly service: V1Service;
  readonly endpointSlices: readonly V1EndpointSlice[];
  readonly pods: readonly V1Pod[];
}

/** Port of a synthetic Service when the registration names none. */
export const DEFAULT_SERVICE_PORT = 80;
export const REGISTRY_MANAGER = 'registry.pilotfish.io';

/** Builds the objects of one service; all registrations share namespace and service. */
export function buildServiceObjects(namespace: string, service: string, regs: readonly Registration[]): ServiceObjects {
  const numbers = new Set<number>();
  for (const r of regs) {
    if (typeof r.servicePort === 'number') numbers.add(r.servicePort);
    else if (r.servicePort === undefined) numbers.add(DEFAULT_SERVICE_PORT);
  }
  if (numbers.size === 0) numbers.add(DEFAULT_SERVICE_PORT);
  const sorted = [...numbers].sort((a, b) => a - b);
  const lowest = sorted[0] ?? DEFAULT_SERVICE_PORT;
  const portName = (n: number): string => (n === lowest ? 'grpc' : `grpc-${n}`);
  // A port name only means something for a real Service; for the synthetic one it picks the default port.
  const syntheticTarget = (r: Registration): number =>
    typeof r.servicePort === 'number' ? r.servicePort : r.servicePort === undefined ? DEFAULT_SERVICE_PORT : lowest;

  const groups = new Map<string, { family: 'IPv4' | 'IPv6'; port: number; target: number; selector: string; regs: Registration[] }>();
  for (const r of regs) {
    const family = isIPv6(r.address) ? 'IPv6' : 'IPv4';
    const selector = r.servicePort === undefined ? '' : String(r.servicePort);
    const target = syntheticTarget(r);
    const id = `${family}|${selector}|${r.port}`;
    let g = groups.get(id);
    if (g === undefined) {
      g = { family, port: r.port, target, selector, regs: [] };
      groups.set(id, g);
    }
    g.regs.push(r);
  }

  const endpointPortsByTarget = new Map<number, Set<number>>();
  for (const g of groups.values()) {
    const set = endpointPortsByTarget.get(g.target) ?? new Set<number>();
    set.add(g.port);
    endpointPortsByTarget.set(g.target, set);
  }
  const ports: V1ServicePort[] = sorted.map((n) => {
    const endpointPorts = endpointPortsByTarget.get(n);
    // One endpoint port: that is the target. Several: targetPort is only a name (resolved per endpoint).
    const only = endpointPorts?.size === 1 ? [...endpointPorts][0] : undefined;
    return { name: portName(n), port: n, targetPort: only ?? portName(n), protocol: 'TCP', appProtocol: 'grpc' };
  });

  const svc: V1Service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: service, namespace, annotations: { [SYNTHETIC_ANNOTATION]: 'true' }, labels: { 'app.kubernetes.io/managed-by': REGISTRY_MANAGER } },
    spec: { ports },
  };

  const pods: V1Pod[] = [];
  const slices: V1EndpointSlice[] = [];
  const ordered = [...groups.values()].sort((a, b) =>
    a.family.localeCompare(b.family) || a.selector.localeCompare(b.selector) || a.port - b.port);
  for (const g of ordered) {
    const sliceName = `${service}-registry-${g.selector === '' ? 'default' : g.selector}-${g.port}${g.family === 'IPv6' ? '-v6' : ''}`;
    const endpoints = [...g.regs].sort((a, b) => a.address.localeCompare(b.address)).map((r) => {
      const podName = Object.keys(r.labels).length > 0 ? registryPodName(r) : undefined;
      if (podName !== undefined) {
        pods.push({
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: podName, namespace, labels: { ...r.labels }, annotations: { [SYNTHETIC_ANNOTATION]: 'true' } },
          status: { podIP: r.address },
        });
      }
      return {
        addresses: [r.address],
        conditions: { ready: true, serving: true, terminating: false },
        ...(r.zone !== undefined ? { zone: r.zone } : {}),
        ...(podName !== undefined ? { targetRef: { kind: 'Pod', namespace, name: podName } } : {}),
      };
    });
    slices.push({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        name: sliceName,
        namespace,
        labels: { [SERVICE_NAME_LABEL]: service, 'endpointslice.kubernetes.io/managed-by': REGISTRY_MANAGER },
        annotations: { [SERVICE_PORT_ANNOTATION]: g.selector },
      },
      addressType: g.family,
      endpoints,
      ports: [{ name: portName(g.target), port: g.port, protocol: 'TCP' }],
    });
  }
  pods.sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
  return { service: svc, endpointSlices: slices, pods };
}

/** Name of the Pod standing for a labelled registration (labels reach endpoints through targetRef -> Pod). */
export function registryPodName(r: Pick<Registration, 'service' | 'address' | 'port'>): string {
  return `${r.service}-${r.address.toLowerCase().replace(/[:.]/g, '-')}-${r.port}`;
}
