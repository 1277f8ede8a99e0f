// Plain, immutable types of the mesh. No I/O lives here: every source (files, the
// Kubernetes API, the REST registry) is translated into these before anything else sees it.

export type Protocol = 'http' | 'http2' | 'grpc' | 'tcp';

export interface ServicePort {
  /** Port name from the Service spec ('' when unnamed). */
  readonly name: string;
  readonly port: number;
  /** Numeric target port, or the name of a container port (resolved per endpoint). */
  readonly targetPort: number | string;
  readonly protocol: Protocol;
}

export interface Service {
  readonly name: string;
  readonly namespace: string;
  /** Cluster IP, or undefined for headless / registry-only services. */
  readonly clusterIP?: string;
  readonly ports: readonly ServicePort[];
  /** Label selector; undefined for a Service without selector (hand-made EndpointSlices). */
  readonly selector?: Readonly<Record<string, string>>;
  /** True when the service only exists because the REST registry created it. */
  readonly synthetic?: boolean;
}

export interface Locality {
  readonly region: string;
  readonly zone: string;
  readonly subZone: string;
}

export interface Endpoint {
  readonly address: string;
  /** Port number per service port name (EndpointSlice semantics). */
  readonly ports: Readonly<Record<string, number>>;
  readonly ready: boolean;
  /** Serving while terminating: still reachable, but should only get traffic when nothing else is. */
  readonly serving: boolean;
  readonly terminating: boolean;
  readonly locality: Locality;
  readonly labels: Readonly<Record<string, string>>;
  /** Pod name (namespace is the service's) when the endpoint is a Pod. */
  readonly podName?: string;
  /** The Pod's spec.serviceAccountName, when the Pod is known and names one: its SPIFFE identity. */
  readonly serviceAccount?: string;
  /** Topology-aware routing hints (EndpointSlice `hints.forZones`): zones this endpoint should serve. */
  readonly zoneHints?: readonly string[];
}

export const NO_LOCALITY: Locality = Object.freeze({ region: '', zone: '', subZone: '' });

/** Service key as used everywhere: `<name>.<namespace>`. */
export function serviceKey(namespace: string, name: string): string {
  return `${name}.${namespace}`;
}

const CLUSTER_DOMAIN = 'svc.cluster.local';

export function serviceFqdn(namespace: string, name: string): string {
  return `${name}.${namespace}.${CLUSTER_DOMAIN}`;
}
