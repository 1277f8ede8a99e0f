// Pure: a merged ObjectSet -> the model's services, endpoints, namespaces, pods and routing objects.
// Output is deterministic (sorted maps and arrays) so the store can compare it structurally.
import {
  NO_LOCALITY, serviceKey, type Endpoint, type Locality, type Protocol, type Service, type ServicePort,
} from '../model/mesh.js';
import type { NamespaceInfo, PodInfo, RoutingObjects } from '../model/snapshot.js';
import { isOutboundTrafficPolicy, OUTBOUND_POLICY_ANNOTATION, OUTBOUND_TRAFFIC_POLICIES } from '../model/outbound-policy.js';
import {
  SERVICE_NAME_LABEL, SERVICE_PORT_ANNOTATION, SYNTHETIC_ANNOTATION,
  type CustomObject, type ObjectSet, type V1EndpointSlice, type V1Pod, type V1Service,
} from './objects.js';

export const ZONE_LABEL = 'topology.kubernetes.io/zone';
export const REGION_LABEL = 'topology.kubernetes.io/region';
/** Sub-zone has no Kubernetes standard label; the Istio one is what users already set. */
export const SUBZONE_LABEL = 'topology.istio.io/subzone';

const DEFAULT_NAMESPACE = 'default';

export interface TranslatedMesh {
  /** By service key (`name.namespace`), in key order. */
  readonly services: ReadonlyMap<string, Service>;
  /** By service key; every service has an entry (possibly empty), sorted by address then ports. */
  readonly endpoints: ReadonlyMap<string, readonly Endpoint[]>;
  readonly namespaces: ReadonlyMap<string, NamespaceInfo>;
  /** By `namespace/name`. */
  readonly pods: ReadonlyMap<string, PodInfo>;
  readonly routingObjects: RoutingObjects;
  /** Objects that could not be (fully) used, with the reason: `<Kind> <ns>/<name>: <reason>`. */
  readonly warnings: readonly string[];
}

/**
 * Protocol of a Service port: a recognised appProtocol, else the port-name prefix (the part
 * before the first '-'), else TCP. `grpc-web` is HTTP: browsers speak it over HTTP/1.1 and it
 * needs HTTP filters, not an HTTP/2-only gRPC listener.
 */
export function portProtocol(port: { name?: string; appProtocol?: string }): Protocol {
  const fromApp = port.appProtocol === undefined ? undefined : protocolOfWord(port.appProtocol.toLowerCase());
  if (fromApp !== undefined) return fromApp;
  const name = (port.name ?? '').toLowerCase();
  if (name.startsWith('grpc-web')) return 'http';
  const prefix = name.split('-')[0] ?? '';
  return protocolOfWord(prefix) ?? 'tcp';
}

function protocolOfWord(word: string): Protocol | undefined {
  switch (word) {
    case 'http':
    case 'http1':
    case 'grpc-web':
    case 'kubernetes.io/ws':
      return 'http';
    case 'http2':
    case 'h2c':
    case 'kubernetes.io/h2c':
      return 'http2';
    case 'grpc':
      return 'grpc';
    // TLS is opaque to a plain-text proxy: pass it through as TCP.
    case 'tcp':
    case 'tls':
    case 'https':
    case 'kubernetes.io/wss':
      return 'tcp';
    default:
      return undefined;
  }
}

export function translate(objects: ObjectSet): TranslatedMesh {
  const warnings: string[] = [];
  const pods = new Map<string, V1Pod>();
  for (const p of objects.pods) {
    const name = p.metadata?.name;
    if (name !== undefined) pods.set(`${p.metadata?.namespace ?? DEFAULT_NAMESPACE}/${name}`, p);
  }

  const services = new Map<string, Service>();
  for (const s of [...objects.services].sort(byKey(serviceKeyOf))) {
    const svc = translateService(s);
    if (svc !== undefined) services.set(serviceKey(svc.namespace, svc.name), svc);
  }

  const collected = new Map<string, Endpoint[]>();
  for (const key of services.keys()) collected.set(key, []);
  for (const slice of [...objects.endpointSlices].sort(byKey(nsName))) {
    translateSlice(slice, services, pods, collected, warnings);
  }
  const endpoints = new Map<string, readonly Endpoint[]>();
  for (const [key, list] of collected) endpoints.set(key, dedupe(list.sort(compareEndpoints)));

  const namespaces = new Map<string, NamespaceInfo>();
  for (const n of [...objects.namespaces].sort(byKey((o) => o.metadata?.name ?? ''))) {
    const name = n.metadata?.name;
    if (name === undefined) continue;
    const info: { -readonly [K in keyof NamespaceInfo]: NamespaceInfo[K] } = { name, labels: { ...(n.metadata?.labels ?? {}) } };
    const policy = n.metadata?.annotations?.[OUTBOUND_POLICY_ANNOTATION];
    if (isOutboundTrafficPolicy(policy)) info.outboundTrafficPolicy = policy;
    else if (policy !== undefined) {
      warnings.push(`Namespace ${name}: annotation ${OUTBOUND_POLICY_ANNOTATION} must be one of ${OUTBOUND_TRAFFIC_POLICIES.join(', ')} (got ${JSON.stringify(policy)}); the mesh default applies`);
    }
    namespaces.set(name, info);
  }

  const podInfos = new Map<string, PodInfo>();
  for (const key of [...pods.keys()].sort()) {
    const p = pods.get(key);
    if (p === undefined) continue;
    const info: { -readonly [K in keyof PodInfo]: PodInfo[K] } = {
      name: p.metadata?.name ?? '',
      namespace: p.metadata?.namespace ?? DEFAULT_NAMESPACE,
      labels: { ...(p.metadata?.labels ?? {}) },
    };
    if (p.status?.podIP) info.ip = p.status.podIP;
    if (p.spec?.serviceAccountName) info.serviceAccount = p.spec.serviceAccountName;
    podInfos.set(key, info);
  }

  return {
    services,
    endpoints,
    namespaces,
    pods: podInfos,
    routingObjects: {
      trafficRoutes: [...objects.trafficRoutes].sort(byKey(nsName)),
      trafficPolicies: [...objects.trafficPolicies].sort(byKey(nsName)),
    },
    warnings,
  };
}

function translateService(s: V1Service): Service | undefined {
  const name = s.metadata?.name;
  if (name === undefined) return undefined;
  const namespace = s.metadata?.namespace ?? DEFAULT_NAMESPACE;
  const ports: ServicePort[] = [];
  for (const p of s.spec?.ports ?? []) {
    // The mesh proxies TCP only; UDP/SCTP ports (DNS, ...) are left to the network.
    if ((p.protocol ?? 'TCP') !== 'TCP') continue;
    ports.push({
      name: p.name ?? '',
      port: p.port,
      targetPort: targetPortOf(p.targetPort, p.port),
      protocol: portProtocol({ name: p.name ?? '', ...(p.appProtocol !== undefined ? { appProtocol: p.appProtocol } : {}) }),
    });
  }
  const svc: { -readonly [K in keyof Service]: Service[K] } = { name, namespace, ports };
  const clusterIP = s.spec?.clusterIP;
  if (clusterIP !== undefined && clusterIP !== '' && clusterIP !== 'None') svc.clusterIP = clusterIP;
  const selector = s.spec?.selector;
  if (selector !== undefined && Object.keys(selector).length > 0) svc.selector = { ...selector };
  if (s.metadata?.annotations?.[SYNTHETIC_ANNOTATION] === 'true') svc.synthetic = true;
  return svc;
}

function targetPortOf(target: number | string | undefined, port: number): number | string {
  if (target === undefined || target === '') return port;
  if (typeof target === 'string' && /^\d+$/.test(target)) return Number(target);
  return target;
}

function translateSlice(
  slice: V1EndpointSlice, services: ReadonlyMap<string, Service>, pods: ReadonlyMap<string, V1Pod>,
  out: Map<string, Endpoint[]>, warnings: string[],
): void {
  const namespace = slice.metadata?.namespace ?? DEFAULT_NAMESPACE;
  const who = `EndpointSlice ${namespace}/${slice.metadata?.name ?? ''}`;
  const serviceName = slice.metadata?.labels?.[SERVICE_NAME_LABEL];
  if (serviceName === undefined) {
    warnings.push(`${who}: no ${SERVICE_NAME_LABEL} label; ignored`);
    return;
  }
  const key = serviceKey(namespace, serviceName);
  const service = services.get(key);
  const list = out.get(key);
  if (service === undefined || list === undefined) {
    warnings.push(`${who}: Service ${namespace}/${serviceName} does not exist; endpoints ignored`);
    return;
  }
  if (slice.addressType === 'FQDN') {
    warnings.push(`${who}: addressType FQDN is not supported; endpoints ignored`);
    return;
  }
  const portNames = slicePortNames(slice, service, who, warnings);
  if (portNames.size === 0) return;

  for (const ep of slice.endpoints ?? []) {
    // Addresses of one endpoint are fungible; consumers may use the first only.
    const address = ep.addresses?.[0];
    if (address === undefined) continue;
    const ports: Record<string, number> = {};
    for (const [servicePortName, number] of portNames) ports[servicePortName] = number;
    const ref = ep.targetRef;
    const podName = ref?.kind === 'Pod' && ref.name ? ref.name : undefined;
    const pod = podName === undefined ? undefined : pods.get(`${ref?.namespace ?? namespace}/${podName}`);
    const podLabels = pod?.metadata?.labels ?? {};
    const ready = ep.conditions?.ready ?? true;
    const endpoint: { -readonly [K in keyof Endpoint]: Endpoint[K] } = {
      address,
      ports,
      ready,
      serving: ep.conditions?.serving ?? ready,
      terminating: ep.conditions?.terminating ?? false,
      locality: localityOf(ep.zone, ep.deprecatedTopology ?? {}, podLabels),
      labels: { ...podLabels },
    };
    if (podName !== undefined) endpoint.podName = podName;
    const hints = (ep.hints?.forZones ?? []).map((z) => z.name).filter((z) => z !== '');
    if (hints.length > 0) endpoint.zoneHints = hints;
    list.push(endpoint);
  }
}

/**
 * Maps the slice's port numbers onto the Service's port names. Normally by name (EndpointSlice
 * semantics). The registry's slices for a real Service instead say which port they serve in an
 * annotation: a number, a name, or empty for the Service's first port.
 */
function slicePortNames(slice: V1EndpointSlice, service: Service, who: string, warnings: string[]): Map<string, number> {
  const result = new Map<string, number>();
  const slicePorts = (slice.ports ?? []).filter((p) => p.port !== undefined && (p.protocol ?? 'TCP') === 'TCP');
  const selector = slice.metadata?.annotations?.[SERVICE_PORT_ANNOTATION];
  if (selector !== undefined && !service.synthetic) {
    const target = selector === ''
      ? service.ports[0]
      : /^\d+$/.test(selector)
        ? service.ports.find((p) => p.port === Number(selector))
        : service.ports.find((p) => p.name === selector);
    const number = slicePorts[0]?.port;
    if (target === undefined) {
      warnings.push(`${who}: Service ${service.namespace}/${service.name} has no port ${selector === '' ? '(it has none)' : `"${selector}"`}; endpoints ignored`);
    } else if (number !== undefined) {
      result.set(target.name, number);
    }
    return result;
  }
  for (const p of slicePorts) {
    const name = p.name ?? '';
    if (p.port === undefined) continue;
    if (service.ports.some((sp) => sp.name === name)) result.set(name, p.port);
    else warnings.push(`${who}: port "${name}" matches no port of Service ${service.namespace}/${service.name}; ignored`);
  }
  return result;
}

function localityOf(zone: string | undefined, topology: Readonly<Record<string, string>>, podLabels: Readonly<Record<string, string>>): Locality {
  const region = topology[REGION_LABEL] ?? podLabels[REGION_LABEL] ?? '';
  const z = zone ?? topology[ZONE_LABEL] ?? podLabels[ZONE_LABEL] ?? '';
  const subZone = topology[SUBZONE_LABEL] ?? podLabels[SUBZONE_LABEL] ?? '';
  return region === '' && z === '' && subZone === '' ? NO_LOCALITY : { region, zone: z, subZone };
}

function portsText(e: Endpoint): string {
  return Object.keys(e.ports).sort().map((k) => `${k}=${e.ports[k]}`).join(',');
}

function compareEndpoints(a: Endpoint, b: Endpoint): number {
  return compareText(a.address, b.address) || compareText(portsText(a), portsText(b))
    || rank(b) - rank(a) || compareText(a.podName ?? '', b.podName ?? '');
}

/** Healthier first, so the duplicate kept is the one that can take traffic. */
function rank(e: Endpoint): number {
  return (e.ready ? 2 : 0) + (e.serving ? 1 : 0);
}

/** The same address and ports listed twice (slices overlap briefly during updates): keep the first. */
function dedupe(sorted: Endpoint[]): Endpoint[] {
  return sorted.filter((e, i) => {
    const prev = sorted[i - 1];
    return prev === undefined || prev.address !== e.address || portsText(prev) !== portsText(e);
  });
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function serviceKeyOf(s: V1Service): string {
  return serviceKey(s.metadata?.namespace ?? DEFAULT_NAMESPACE, s.metadata?.name ?? '');
}

function nsName(o: V1EndpointSlice | CustomObject): string {
  return `${o.metadata?.namespace ?? DEFAULT_NAMESPACE}/${o.metadata?.name ?? ''}`;
}

function byKey<T>(key: (o: T) => string): (a: T, b: T) => number {
  return (a, b) => compareText(key(a), key(b));
}
