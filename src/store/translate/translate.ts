// A merged ObjectSet -> the model's services, endpoints, namespaces, pods and routing objects.
// Output is deterministic (sorted maps and arrays) so the store can compare it structurally.
// translate() is pure; the store uses a Translator, which gives the same output but reuses the
// work of every service whose objects did not change, so an endpoint change costs O(its service).
// With `endpointsFromPods` (serve's config files) a Service that no EndpointSlice names gets the
// endpoints Kubernetes' EndpointSlice controller would make: its selector's Pods (pod-endpoints.ts).
import {
  serviceKey, type Endpoint, type Protocol, type Service, type ServicePort,
} from '../../model/mesh.js';
import type { NamespaceInfo, PodInfo, RoutingObjects } from '../../model/snapshot.js';
import { isOutboundTrafficPolicy, OUTBOUND_POLICY_ANNOTATION, OUTBOUND_TRAFFIC_POLICIES } from '../../model/outbound-policy.js';
import { SERVICE_NAME_LABEL, SERVICE_PORT_ANNOTATION, SYNTHETIC_ANNOTATION, type CustomObject, type ObjectSet, type V1EndpointSlice, type V1Namespace, type V1Pod, type V1Service } from '../../sources/objects.js';
import { deepEqual } from '../../deep-equal.js';
import { localityOf } from './locality.js';
import { matchesSelector, podEndpoint } from './pod-endpoints.js';
import { placeService, placeSlice, uniqueEndpoints, type Placed, type ServiceOrder } from './placed-endpoints.js';


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
  /** PeerAuthentication objects of every source, sorted by namespace/name, not yet validated. */
  readonly peerAuthentications: readonly CustomObject[];
  /** AccessPolicy objects of every source, sorted by namespace/name, not yet validated. */
  readonly accessPolicies: readonly CustomObject[];
  /** TrafficScope objects of every source, sorted by namespace/name, not yet validated. */
  readonly trafficScopes: readonly CustomObject[];
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

export interface TranslateOptions {
  /**
   * Derive the endpoints of a Service no EndpointSlice names from the Pods its selector picks, as
   * Kubernetes would. For config files (serve, analyze, config-dump); off for a cluster, whose
   * EndpointSlice controller is the authority (a Service without slices there has no endpoints yet).
   */
  readonly endpointsFromPods?: boolean;
}

/** Stateless translation (no memory between calls). */
export function translate(objects: ObjectSet, options: TranslateOptions = {}): TranslatedMesh {
  return new Translator({}, options).translate(objects);
}

export interface TranslatorHooks {
  /** Called whenever a service's endpoints are translated anew (not reused); for tests and metrics. */
  readonly onServiceEndpoints?: (serviceKey: string) => void;
}

/** What one service's endpoints were built from, and the result. */
interface ServiceEntry {
  readonly service: Service;
  readonly slices: readonly V1EndpointSlice[];
  /** Every `namespace/name` of a Pod the endpoints looked up, found or not. */
  readonly podKeys: readonly string[];
  /** Set when the endpoints came from the selector's Pods: a change to a Pod in this namespace may change them. */
  readonly podNamespace?: string;
  readonly endpoints: readonly Endpoint[];
  /** The endpoints from slices in their order before duplicates go: what the next change starts from. */
  readonly order?: ServiceOrder<TranslatedSlice>;
}

interface SlicePorts {
  readonly service: Service;
  readonly portNames: ReadonlyMap<string, number>;
  /** portNames as text: slices with equal port names translate an endpoint alike. */
  readonly portsKey: string;
  /** The ports every endpoint of the slice gets, as its sort key writes them (portsText). */
  readonly portsText: string;
  readonly warnings: readonly string[];
}

type SliceEndpoint = NonNullable<V1EndpointSlice['endpoints']>[number];

/**
 * One slice's endpoints as translated, and what that read: valid while both are the same. The
 * per-endpoint arrays run in parallel (an entry per slice endpoint with an address).
 */
interface TranslatedSlice {
  /** `namespace/name`: the next version of the slice reuses this one's endpoints. */
  readonly name: string;
  readonly ports: SlicePorts;
  /** Every `namespace/name` of a Pod looked up, and what was found under it. */
  readonly podKeys: readonly string[];
  readonly pods: readonly (V1Pod | undefined)[];
  /** The Pod index generation the pods were last checked against. */
  podsChecked: number;
  /** The slice's endpoint objects each endpoint was translated from, and the Pod it read. */
  readonly sources: readonly SliceEndpoint[];
  readonly sourcePods: readonly (V1Pod | undefined)[];
  readonly endpoints: readonly Endpoint[];
  /** Each endpoint's sort key (placed-endpoints.ts). */
  readonly keys: readonly string[];
  /** The endpoints placed in the model's order (placed-endpoints.ts). */
  placed: readonly Placed<TranslatedSlice>[];
}

/** What translateSlice writes: TranslatedSlice's arrays, while they are being filled. */
type SliceOutput = { -readonly [K in 'podKeys' | 'pods' | 'sources' | 'sourcePods' | 'endpoints' | 'keys']: Array<TranslatedSlice[K][number]> };

/**
 * Translation with memory: sources keep unchanged objects identical between reports (and the
 * merger keeps unchanged lists identical), so work is reused by object identity. A service whose
 * Service, EndpointSlices and referenced Pods are the same objects as last time keeps its model
 * objects and its endpoint array; only changed services are translated again. The output equals
 * that of the stateless translate() for the same input.
 */
export class Translator {
  private readonly hooks: TranslatorHooks;
  private readonly options: TranslateOptions;
  private readonly serviceMemo = new WeakMap<V1Service, Service | null>();
  private readonly sortKeys: SortKeys = new WeakMap();
  private readonly slicePorts = new WeakMap<V1EndpointSlice, SlicePorts>();
  private readonly sliceKeys = new WeakMap<V1EndpointSlice, string>();
  private readonly podInfoMemo = new WeakMap<V1Pod, PodInfo>();
  /**
   * Per slice; and a new version of a slice reuses the translation of each endpoint object it
   * shares with the version before (same ports, same Pod): a source that rebuilds a slice around
   * unchanged endpoint objects (the registry adding one to a slice of 100) has one endpoint
   * translated, and the others keep their model objects, so comparing them downstream is cheap too.
   */
  private readonly translatedSlices = new WeakMap<V1EndpointSlice, TranslatedSlice>();
  /** Moves whenever the Pod index changes: a slice that looked Pods up checks them again then. */
  private podsGeneration = 0;
  /** Services' endpoint lists that prepare() sorted, by service key: translate() starts from them. */
  private readonly prepared = new Map<string, ServiceOrder<TranslatedSlice>>();
  private readonly namespaceMemo = new WeakMap<V1Namespace, { info: NamespaceInfo; warning?: string }>();
  private entries = new Map<string, ServiceEntry>();
  private podList: readonly V1Pod[] | undefined;
  private pods = new Map<string, V1Pod>();
  /** The Pods by namespace, in key order; built when first needed after a Pod change. */
  private podsByNamespace: Map<string, V1Pod[]> | undefined;
  private podInfos = new Map<string, PodInfo>();
  private serviceList: readonly V1Service[] | undefined;
  private services = new Map<string, Service>();
  private namespaceList: readonly V1Namespace[] | undefined;
  private namespaces = { map: new Map<string, NamespaceInfo>(), warnings: [] as readonly string[] };
  private sortedSlices: { list: readonly V1EndpointSlice[]; sorted: readonly V1EndpointSlice[] } | undefined;
  private routing: {
    routes: readonly (readonly CustomObject[])[]; policies: readonly (readonly CustomObject[])[];
    http: readonly CustomObject[]; grpc: readonly CustomObject[]; objects: RoutingObjects;
  } | undefined;
  /** Custom objects validated one by one downstream, sorted: the same array while the input list is. */
  private readonly sortedCustom = new Map<'peerAuthentications' | 'accessPolicies' | 'trafficScopes', { list: readonly CustomObject[]; sorted: readonly CustomObject[] }>();

  constructor(hooks: TranslatorHooks = {}, options: TranslateOptions = {}) {
    this.hooks = hooks;
    this.options = options;
  }

  translate(objects: ObjectSet): TranslatedMesh {
    try {
      return this.translateUnsafe(objects);
    } catch (err) {
      // Half-updated memory could hide a change next time: forget everything, translate afresh.
      this.reset();
      throw err;
    }
  }

  /**
   * Translates, one slice per step (each yields how many endpoints it translated, or sorted),
   * the endpoints that translate() would translate anew for
   * `objects`, and keeps them where translate() looks first (its per-slice memory): so a caller
   * can spread a large change over several tasks and then translate() it in one short one. What
   * translate() returns is the same with or without it: everything kept here is checked again
   * there (a Pod looked up before the Pods were re-indexed, a Service that changed meanwhile).
   */
  *prepare(objects: ObjectSet): Generator<number, void, undefined> {
    try {
      const services = this.updateServices(objects.services);
      const slicesOf = new Map<string, TranslatedSlice[]>();
      const touched = new Set<string>();
      for (const slice of this.sortSlices(objects.endpointSlices)) {
        const namespace = slice.metadata?.namespace ?? DEFAULT_NAMESPACE;
        const serviceName = slice.metadata?.labels?.[SERVICE_NAME_LABEL];
        if (serviceName === undefined || slice.addressType === 'FQDN') continue;
        const key = this.sliceServiceKey(slice, namespace, serviceName);
        const service = services.get(key);
        if (service === undefined) continue;
        const ports = this.portsOf(slice, service, () => `EndpointSlice ${nsName(slice)}`);
        if (ports.portNames.size === 0) continue;
        let translated = this.knownSlice(slice, ports);
        if (translated === undefined) {
          translated = this.translatedSlice(slice, ports, this.previousSlices(key));
          touched.add(key);
          yield translated.endpoints.length;
        }
        const list = slicesOf.get(key);
        if (list === undefined) slicesOf.set(key, [translated]);
        else list.push(translated);
      }
      // The sort of each changed service, from the last list it has: translate() merges in what changes after this.
      for (const key of touched) {
        const order = placeService(slicesOf.get(key) ?? [], this.prepared.get(key) ?? this.entries.get(key)?.order);
        this.prepared.set(key, order);
        yield order.placed.length;
      }
    } catch (err) {
      this.reset();
      throw err;
    }
  }

  private reset(): void {
    this.entries = new Map();
    this.prepared.clear();
    this.podList = undefined;
    this.pods = new Map();
    this.podsByNamespace = undefined;
    this.serviceList = undefined;
    this.services = new Map();
    this.namespaceList = undefined;
    this.sortedSlices = undefined;
    this.routing = undefined;
    this.sortedCustom.clear();
  }

  private translateUnsafe(objects: ObjectSet): TranslatedMesh {
    const warnings: string[] = [];
    const changedPods = this.updatePods(objects.pods);
    const services = this.updateServices(objects.services);

    // Slices grouped by service, in slice order; warnings in slice order as well.
    const slicesOf = new Map<string, V1EndpointSlice[]>();
    for (const slice of this.sortSlices(objects.endpointSlices)) {
      const key = this.sliceService(slice, services, warnings);
      if (key === undefined) continue;
      const list = slicesOf.get(key);
      if (list === undefined) slicesOf.set(key, [slice]);
      else list.push(slice);
    }

    const changedNamespaces = new Set([...changedPods].map((k) => k.slice(0, k.indexOf('/'))));
    const entries = new Map<string, ServiceEntry>();
    const endpoints = new Map<string, readonly Endpoint[]>();
    for (const [key, service] of services) {
      const slices = slicesOf.get(key) ?? [];
      const before = this.entries.get(key);
      const fromPods = this.options.endpointsFromPods === true && slices.length === 0 && service.selector !== undefined;
      let entry: ServiceEntry;
      if (fromPods) {
        entry = before !== undefined && before.service === service && before.podNamespace === service.namespace
          && !changedNamespaces.has(service.namespace)
          ? before
          : this.podEndpoints(key, service, before);
      } else if (before !== undefined && before.service === service && before.podNamespace === undefined && sameElements(before.slices, slices)
        && (changedPods.size === 0 || !before.podKeys.some((k) => changedPods.has(k)))) {
        entry = before;
      } else {
        entry = this.translateEndpoints(key, service, slices, before);
      }
      entries.set(key, entry);
      endpoints.set(key, entry.endpoints);
    }
    this.entries = entries;
    this.prepared.clear();

    const namespaces = this.updateNamespaces(objects.namespaces);
    warnings.push(...namespaces.warnings);

    return {
      services,
      endpoints,
      namespaces: namespaces.map,
      pods: this.podInfos,
      routingObjects: this.routingObjects([objects.trafficRoutes, objects.virtualServices], [objects.trafficPolicies, objects.destinationRules],
        objects.httpRoutes, objects.grpcRoutes),
      peerAuthentications: this.sortedObjects('peerAuthentications', objects.peerAuthentications),
      accessPolicies: this.sortedObjects('accessPolicies', objects.accessPolicies),
      trafficScopes: this.sortedObjects('trafficScopes', objects.trafficScopes),
      warnings,
    };
  }

  /** Indexes the Pods; returns the keys of Pods added, removed or replaced since last time. */
  private updatePods(list: readonly V1Pod[]): ReadonlySet<string> {
    const changed = new Set<string>();
    if (this.podList !== undefined && sameElements(this.podList, list)) return changed;
    const pods = new Map<string, V1Pod>();
    for (const p of list) {
      const name = p.metadata?.name;
      if (name !== undefined) pods.set(`${p.metadata?.namespace ?? DEFAULT_NAMESPACE}/${name}`, p);
    }
    for (const [k, p] of pods) if (this.pods.get(k) !== p) changed.add(k);
    for (const k of this.pods.keys()) if (!pods.has(k)) changed.add(k);
    if (changed.size > 0 || this.podList === undefined) {
      const infos = new Map<string, PodInfo>();
      for (const key of [...pods.keys()].sort()) {
        const p = pods.get(key);
        if (p !== undefined) infos.set(key, this.podInfo(p));
      }
      this.podInfos = infos;
    }
    this.pods = pods;
    if (changed.size > 0) {
      this.podsByNamespace = undefined;
      this.podsGeneration++;
    }
    this.podList = list;
    return changed;
  }

  private podInfo(p: V1Pod): PodInfo {
    const known = this.podInfoMemo.get(p);
    if (known !== undefined) return known;
    const info: { -readonly [K in keyof PodInfo]: PodInfo[K] } = {
      name: p.metadata?.name ?? '',
      namespace: p.metadata?.namespace ?? DEFAULT_NAMESPACE,
      labels: { ...(p.metadata?.labels ?? {}) },
    };
    if (p.status?.podIP) info.ip = p.status.podIP;
    if (p.spec?.serviceAccountName) info.serviceAccount = p.spec.serviceAccountName;
    this.podInfoMemo.set(p, info);
    return info;
  }

  private updateServices(list: readonly V1Service[]): Map<string, Service> {
    if (this.serviceList !== undefined && sameElements(this.serviceList, list)) return this.services;
    const services = new Map<string, Service>();
    for (const { object } of sortByKey(this.sortKeys, list, serviceKeyOf)) {
      let svc = this.serviceMemo.get(object);
      if (svc === undefined) {
        svc = translateService(object) ?? null;
        // An equal translation of a new object keeps the old model object (and what hangs off it).
        const old = svc === null ? undefined : this.services.get(serviceKey(svc.namespace, svc.name));
        if (svc !== null && old !== undefined && deepEqual(old, svc)) svc = old;
        this.serviceMemo.set(object, svc);
      }
      if (svc !== null) services.set(serviceKey(svc.namespace, svc.name), svc);
    }
    this.services = services;
    this.serviceList = list;
    return services;
  }

  private sortSlices(list: readonly V1EndpointSlice[]): readonly V1EndpointSlice[] {
    if (this.sortedSlices !== undefined && sameElements(this.sortedSlices.list, list)) return this.sortedSlices.sorted;
    const sorted = sortByKey(this.sortKeys, list, nsName).map((x) => x.object);
    this.sortedSlices = { list, sorted };
    return sorted;
  }

  /** The key of the service whose endpoints the slice carries, or undefined (with a warning why not). */
  private sliceService(slice: V1EndpointSlice, services: ReadonlyMap<string, Service>, warnings: string[]): string | undefined {
    const namespace = slice.metadata?.namespace ?? DEFAULT_NAMESPACE;
    const who = (): string => `EndpointSlice ${namespace}/${slice.metadata?.name ?? ''}`;
    const serviceName = slice.metadata?.labels?.[SERVICE_NAME_LABEL];
    if (serviceName === undefined) {
      warnings.push(`${who()}: no ${SERVICE_NAME_LABEL} label; ignored`);
      return undefined;
    }
    const key = this.sliceServiceKey(slice, namespace, serviceName);
    const service = services.get(key);
    if (service === undefined) {
      warnings.push(`${who()}: Service ${namespace}/${serviceName} does not exist; endpoints ignored`);
      return undefined;
    }
    if (slice.addressType === 'FQDN') {
      warnings.push(`${who()}: addressType FQDN is not supported; endpoints ignored`);
      return undefined;
    }
    warnings.push(...this.portsOf(slice, service, who).warnings);
    return key;
  }

  private sliceServiceKey(slice: V1EndpointSlice, namespace: string, serviceName: string): string {
    let key = this.sliceKeys.get(slice);
    if (key === undefined) {
      key = serviceKey(namespace, serviceName);
      this.sliceKeys.set(slice, key);
    }
    return key;
  }

  private portsOf(slice: V1EndpointSlice, service: Service, who: () => string): SlicePorts {
    const known = this.slicePorts.get(slice);
    if (known !== undefined && known.service === service) return known;
    const warnings: string[] = [];
    const portNames = slicePortNames(slice, service, who(), warnings);
    const portsText = [...portNames.keys()].sort().map((k) => `${k}=${portNames.get(k)}`).join(',');
    const ports: SlicePorts = { service, portNames, portsKey: JSON.stringify([...portNames]), portsText, warnings };
    this.slicePorts.set(slice, ports);
    return ports;
  }

  private translateEndpoints(key: string, service: Service, slices: readonly V1EndpointSlice[], before: ServiceEntry | undefined): ServiceEntry {
    this.hooks.onServiceEndpoints?.(key);
    const translations: TranslatedSlice[] = [];
    const podKeys: string[] = [];
    const previous = this.previousSlices(key, before);
    for (const slice of slices) {
      const ports = this.portsOf(slice, service, () => `EndpointSlice ${nsName(slice)}`);
      if (ports.portNames.size === 0) continue;
      const translated = this.translatedSlice(slice, ports, previous);
      translations.push(translated);
      for (const k of translated.podKeys) podKeys.push(k);
    }
    const order = placeService(translations, this.prepared.get(key) ?? before?.order);
    let endpoints: readonly Endpoint[] = before !== undefined && order.placed === before.order?.placed
      ? before.endpoints
      : uniqueEndpoints(order.placed);
    if (before !== undefined && deepEqual(before.endpoints, endpoints)) endpoints = before.endpoints;
    return { service, slices, podKeys, endpoints, order };
  }

  private knownSlice(slice: V1EndpointSlice, ports: SlicePorts): TranslatedSlice | undefined {
    const known = this.translatedSlices.get(slice);
    return known !== undefined && known.ports === ports && this.samePods(known) ? known : undefined;
  }

  /** The service's latest slice translations by slice name (prepared, else published), looked up when first needed. */
  private previousSlices(key: string, before = this.entries.get(key)): (name: string) => TranslatedSlice | undefined {
    let byName: Map<string, TranslatedSlice> | undefined;
    return (name) => {
      byName ??= new Map((this.prepared.get(key) ?? before?.order)?.from.map((t) => [t.name, t]));
      return byName.get(name);
    };
  }

  private translatedSlice(slice: V1EndpointSlice, ports: SlicePorts, previousOf: (name: string) => TranslatedSlice | undefined): TranslatedSlice {
    const known = this.knownSlice(slice, ports);
    if (known !== undefined) return known;
    const name = nsName(slice);
    const previous = previousOf(name);
    const out: SliceOutput = { podKeys: [], pods: [], sources: [], sourcePods: [], endpoints: [], keys: [] };
    translateSlice(slice, ports, this.pods, out, previous?.ports.portsKey === ports.portsKey ? previous : undefined);
    const translated: TranslatedSlice = { name, ports, podsChecked: this.podsGeneration, ...out, placed: [] };
    translated.placed = placeSlice(out.endpoints, out.keys, translated, name);
    this.translatedSlices.set(slice, translated);
    return translated;
  }

  /** Whether every Pod the slice looked up is still the same object. */
  private samePods(t: TranslatedSlice): boolean {
    if (t.podsChecked === this.podsGeneration) return true;
    for (let i = 0; i < t.podKeys.length; i++) if (this.pods.get(t.podKeys[i] ?? '') !== t.pods[i]) return false;
    t.podsChecked = this.podsGeneration;
    return true;
  }

  /**
   * Sorted by address, then ports, healthier first, then Pod name (stable, so equal ones keep
   * slice order); the same address and ports listed twice (slices overlap briefly during
   * updates) kept once: the first, the one that can take traffic.
   */
  private sortedUnique(list: readonly Endpoint[]): Endpoint[] {
    const keyed = list.map((endpoint) => ({ key: sortKeyOf(endpoint), endpoint }));
    keyed.sort((a, b) => compareText(a.key, b.key) || rank(b.endpoint) - rank(a.endpoint)
      || compareText(a.endpoint.podName ?? '', b.endpoint.podName ?? ''));
    const out: Endpoint[] = [];
    for (let i = 0; i < keyed.length; i++) {
      const k = keyed[i];
      if (k !== undefined && (i === 0 || keyed[i - 1]?.key !== k.key)) out.push(k.endpoint);
    }
    return out;
  }

  /** Endpoints the way Kubernetes' EndpointSlice controller makes them from the selector's Pods. */
  private podEndpoints(key: string, service: Service, before: ServiceEntry | undefined): ServiceEntry {
    this.hooks.onServiceEndpoints?.(key);
    const selector = service.selector ?? {};
    const list: Endpoint[] = [];
    for (const pod of this.podsIn(service.namespace)) {
      if (!matchesSelector(selector, pod.metadata?.labels ?? {})) continue;
      const endpoint = podEndpoint(pod, service);
      if (endpoint !== undefined) list.push(endpoint);
    }
    let endpoints: readonly Endpoint[] = this.sortedUnique(list);
    if (before !== undefined && deepEqual(before.endpoints, endpoints)) endpoints = before.endpoints;
    return { service, slices: [], podKeys: [], podNamespace: service.namespace, endpoints };
  }

  private podsIn(namespace: string): readonly V1Pod[] {
    if (this.podsByNamespace === undefined) {
      const byNamespace = new Map<string, V1Pod[]>();
      for (const key of [...this.pods.keys()].sort()) {
        const pod = this.pods.get(key);
        const ns = key.slice(0, key.indexOf('/'));
        if (pod === undefined) continue;
        const list = byNamespace.get(ns);
        if (list === undefined) byNamespace.set(ns, [pod]);
        else list.push(pod);
      }
      this.podsByNamespace = byNamespace;
    }
    return this.podsByNamespace.get(namespace) ?? [];
  }

  private updateNamespaces(list: readonly V1Namespace[]): { map: Map<string, NamespaceInfo>; warnings: readonly string[] } {
    if (this.namespaceList !== undefined && sameElements(this.namespaceList, list)) return this.namespaces;
    const map = new Map<string, NamespaceInfo>();
    const warnings: string[] = [];
    for (const { object } of sortByKey(this.sortKeys, list, nameOf)) {
      const name = object.metadata?.name;
      if (name === undefined) continue;
      let known = this.namespaceMemo.get(object);
      if (known === undefined) {
        known = translateNamespace(name, object);
        this.namespaceMemo.set(object, known);
      }
      if (known.warning !== undefined) warnings.push(known.warning);
      map.set(name, known.info);
    }
    this.namespaces = { map, warnings };
    this.namespaceList = list;
    return this.namespaces;
  }

  /**
   * Route-like objects (TrafficRoutes, then VirtualServices) in one list and policy-like ones in
   * another: validation decides among them per host, whatever their kind. Gateway API routes apart:
   * they are merged per Service parent before that (routing/gateway-merge.ts).
   */
  private routingObjects(routes: readonly (readonly CustomObject[])[], policies: readonly (readonly CustomObject[])[],
    http: readonly CustomObject[], grpc: readonly CustomObject[]): RoutingObjects {
    const same = (a: readonly (readonly CustomObject[])[], b: readonly (readonly CustomObject[])[]): boolean =>
      a.length === b.length && a.every((list, i) => sameElements(list, b[i] ?? []));
    const r = this.routing;
    if (r !== undefined && same(r.routes, routes) && same(r.policies, policies) && sameElements(r.http, http) && sameElements(r.grpc, grpc)) return r.objects;
    const objects: RoutingObjects = {
      trafficRoutes: sortByKey(this.sortKeys, routes.flat(), nsName).map((x) => x.object),
      trafficPolicies: sortByKey(this.sortKeys, policies.flat(), nsName).map((x) => x.object),
      // HTTPRoutes first, each kind by namespace/name.
      gatewayRoutes: [...sortByKey(this.sortKeys, http, nsName), ...sortByKey(this.sortKeys, grpc, nsName)].map((x) => x.object),
    };
    this.routing = { routes, policies, http, grpc, objects };
    return objects;
  }

  private sortedObjects(kind: 'peerAuthentications' | 'accessPolicies' | 'trafficScopes', list: readonly CustomObject[]): readonly CustomObject[] {
    const before = this.sortedCustom.get(kind);
    if (before !== undefined && sameElements(before.list, list)) return before.sorted;
    const sorted = sortByKey(this.sortKeys, list, nsName).map((x) => x.object);
    this.sortedCustom.set(kind, { list, sorted });
    return sorted;
  }
}

function translateNamespace(name: string, n: V1Namespace): { info: NamespaceInfo; warning?: string } {
  const info: { -readonly [K in keyof NamespaceInfo]: NamespaceInfo[K] } = { name, labels: { ...(n.metadata?.labels ?? {}) } };
  const policy = n.metadata?.annotations?.[OUTBOUND_POLICY_ANNOTATION];
  if (isOutboundTrafficPolicy(policy)) info.outboundTrafficPolicy = policy;
  else if (policy !== undefined) {
    return {
      info,
      warning: `Namespace ${name}: annotation ${OUTBOUND_POLICY_ANNOTATION} must be one of ${OUTBOUND_TRAFFIC_POLICIES.join(', ')} (got ${JSON.stringify(policy)}); the mesh default applies`,
    };
  }
  return { info };
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

/**
 * Appends the slice's endpoints; records the key of every Pod looked up and what it found. An
 * endpoint object that `previous` (the slice's version before, with the same port names)
 * translated from the same Pod keeps its model object.
 */
function translateSlice(slice: V1EndpointSlice, ports: SlicePorts, pods: ReadonlyMap<string, V1Pod>, out: SliceOutput,
  previous: TranslatedSlice | undefined): void {
  const namespace = slice.metadata?.namespace ?? DEFAULT_NAMESPACE;
  const before = previous === undefined ? undefined : new Map(previous.sources.map((source, i) => [source, i]));
  for (const ep of slice.endpoints ?? []) {
    // Addresses of one endpoint are fungible; consumers may use the first only.
    const address = ep.addresses?.[0];
    if (address === undefined) continue;
    const ref = ep.targetRef;
    const podName = ref?.kind === 'Pod' && ref.name ? ref.name : undefined;
    let pod: V1Pod | undefined;
    if (podName !== undefined) {
      const podKey = `${ref?.namespace ?? namespace}/${podName}`;
      pod = pods.get(podKey);
      out.podKeys.push(podKey);
      out.pods.push(pod);
    }
    out.sources.push(ep);
    out.sourcePods.push(pod);
    const i = before?.get(ep);
    if (previous !== undefined && i !== undefined && previous.sourcePods[i] === pod) {
      const endpoint = previous.endpoints[i];
      const key = previous.keys[i];
      if (endpoint !== undefined && key !== undefined) {
        out.endpoints.push(endpoint);
        out.keys.push(key);
        continue;
      }
    }
    const endpoint = translateEndpoint(ep, address, ports.portNames, podName, pod);
    out.endpoints.push(endpoint);
    // The slice's ports are every endpoint's: their text is the slice's (portsText).
    out.keys.push(`${address}\u0000${ports.portsText}`);
  }
}

function translateEndpoint(ep: SliceEndpoint, address: string,
  portNames: ReadonlyMap<string, number>, podName: string | undefined, pod: V1Pod | undefined): Endpoint {
  const ports: Record<string, number> = {};
  for (const [servicePortName, number] of portNames) ports[servicePortName] = number;
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
  const serviceAccount = pod?.spec?.serviceAccountName;
  if (serviceAccount) endpoint.serviceAccount = serviceAccount;
  const hints = (ep.hints?.forZones ?? []).map((z) => z.name).filter((z) => z !== '');
  if (hints.length > 0) endpoint.zoneHints = hints;
  return endpoint;
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

/** NUL sorts below any character of an address: comparing the joined text compares the address, then the ports. */
function sortKeyOf(e: Endpoint): string {
  return `${e.address}\u0000${portsText(e)}`;
}

function portsText(e: Endpoint): string {
  return Object.keys(e.ports).sort().map((k) => `${k}=${e.ports[k]}`).join(',');
}

/** Healthier first, so the duplicate kept is the one that can take traffic. */
function rank(e: Endpoint): number {
  return (e.ready ? 2 : 0) + (e.serving ? 1 : 0);
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function serviceKeyOf(s: V1Service): string {
  return serviceKey(s.metadata?.namespace ?? DEFAULT_NAMESPACE, s.metadata?.name ?? '');
}

function nameOf(o: V1Namespace): string {
  return o.metadata?.name ?? '';
}

function nsName(o: V1EndpointSlice | CustomObject): string {
  return `${o.metadata?.namespace ?? DEFAULT_NAMESPACE}/${o.metadata?.name ?? ''}`;
}

/** Sort keys by key function, then object: unchanged objects are not keyed again. */
type SortKeys = WeakMap<(o: never) => string, WeakMap<object, string>>;

/** Sorted by a text key, each key computed once per object (and kept in `sortKeys`). */
function sortByKey<T extends object>(sortKeys: SortKeys, list: readonly T[], key: (o: T) => string): { key: string; object: T }[] {
  let memo = sortKeys.get(key);
  if (memo === undefined) {
    memo = new WeakMap();
    sortKeys.set(key, memo);
  }
  const keys = memo;
  return list.map((object) => {
    let k = keys.get(object);
    if (k === undefined) {
      k = key(object);
      keys.set(object, k);
    }
    return { key: k, object };
  }).sort((a, b) => compareText(a.key, b.key));
}

function sameElements<T>(a: readonly T[], b: readonly T[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
