// What generation looks up in a snapshot again and again, computed once per snapshot: Services by
// namespace, service ports by number, and each host's TrafficPolicy resolved per port and subset
// (effective-policy.ts). Generators read it and hold nothing themselves.
//
// Whoever keeps indexes across snapshots (the xDS cache) builds each from the one before
// (`next`): a namespace whose Services are the same objects keeps its list object, and an
// unchanged TrafficPolicy its resolution, so memos downstream can compare them by identity (the
// store keeps unchanged Services and applied routing identical). Lazy: a snapshot nobody
// generates from (an endpoint change) costs nothing to index.
//
// Identity and mTLS (src/security/GENERATION.md): the effective PeerAuthentication mode of a
// workload port and what the server behind an endpoint accepts are resolved here, once per
// (labels, namespace, port) while the applied policies stay the same; the SPIFFE IDs a client
// checks for a Service once per endpoint list.
import { serviceKey, type Endpoint, type Service, type ServicePort } from './mesh.js';
import {
  clientSendsMtls, DEFAULT_ROOT_NAMESPACE, mtlsAcceptance, resolveMtls, DEFAULT_MTLS_MODE,
  type EffectiveMtlsMode, type MtlsAcceptance, type MtlsWorkload, type PeerAuthentication,
} from './peer-authentication.js';
import { serverKindOf } from './server-kind.js';
import { DEFAULT_TRUST_DOMAIN, spiffeId } from './spiffe.js';
import { resolvePolicy, type EffectivePolicy } from './effective-policy.js';
import { NO_ACCESS_POLICIES, resolveAccess, type AccessPolicy, type WorkloadAccess } from './access-policy.js';
import type { TrafficPolicy } from './routing.js';
import type { MeshSnapshot } from './snapshot.js';
import { scopeIncludes, type ResolvedScope } from './traffic-scope.js';

export interface ServicePortRef {
  readonly svc: Service;
  readonly port: ServicePort;
}

const NO_SERVICES: readonly Service[] = [];
const NO_IDS: readonly string[] = [];
const NO_PORTS: readonly number[] = [];

function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function sameNumbers(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Control-plane settings identity depends on (flags `--trust-domain`, `--mesh-root-namespace`). */
export interface MeshIdentityOptions {
  /** Default `cluster.local`. */
  readonly trustDomain?: string;
  /** Where a PeerAuthentication without selector is mesh-wide. Default `pilotfish-system`. */
  readonly rootNamespace?: string;
}

/** Resolved modes by `namespace/port`, per labels object (endpoints and pods keep theirs while unchanged). */
type ModeMemo = WeakMap<Readonly<Record<string, string>>, Map<string, EffectiveMtlsMode>>;

function sameServices(a: readonly Service[], b: readonly Service[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class MeshIndex {
  private byNamespace: ReadonlyMap<string, readonly Service[]> | undefined;
  /** The lists of the latest earlier index that built them: unchanged namespaces keep theirs. */
  private earlierLists: ReadonlyMap<string, readonly Service[]> | undefined;
  private byPort: ReadonlyMap<number, readonly ServicePortRef[]> | undefined;
  /** portsInMesh narrowed to what a scope sees, by scope key. */
  private readonly byPortInScope = new Map<string, ReadonlyMap<number, readonly ServicePortRef[]>>();
  /** Shared along the chain of indexes; entries die with their TrafficPolicy. */
  private readonly resolved: WeakMap<TrafficPolicy, EffectivePolicy>;
  readonly trustDomain: string;
  readonly rootNamespace: string;
  /** Shared along the chain while the applied PeerAuthentications are the same array. */
  private readonly modes: ModeMemo;
  private readonly policies: readonly PeerAuthentication[];
  /** SPIFFE IDs by endpoint list, shared along the chain (an unchanged Service keeps its array). */
  private readonly ids: WeakMap<readonly Endpoint[], readonly string[]>;
  /** The last IDs per service key, so equal content keeps one array across endpoint changes. */
  private readonly lastIds: Map<string, readonly string[]>;
  /** Ports a proxyless client sends mTLS to, by endpoint list; shared while the policies are the same. */
  private readonly mtlsPorts: WeakMap<readonly Endpoint[], readonly number[]>;
  private readonly lastMtlsPorts: Map<string, readonly number[]>;
  /** The AccessPolicies that apply, by namespace, per labels object; shared while the applied ones are the same array. */
  private readonly access: WeakMap<Readonly<Record<string, string>>, Map<string, WorkloadAccess>>;
  private readonly accessPolicies: readonly AccessPolicy[];

  constructor(readonly snapshot: MeshSnapshot, previous?: MeshIndex, options: MeshIdentityOptions = {}) {
    this.earlierLists = previous?.byNamespace ?? previous?.earlierLists;
    this.resolved = previous?.resolved ?? new WeakMap();
    this.trustDomain = previous?.trustDomain ?? options.trustDomain ?? DEFAULT_TRUST_DOMAIN;
    this.rootNamespace = previous?.rootNamespace ?? options.rootNamespace ?? DEFAULT_ROOT_NAMESPACE;
    this.policies = snapshot.security.peerAuthentications;
    this.modes = previous !== undefined && previous.policies === this.policies ? previous.modes : new WeakMap();
    this.ids = previous?.ids ?? new WeakMap();
    this.lastIds = previous?.lastIds ?? new Map();
    const samePolicies = previous !== undefined && previous.policies === this.policies;
    this.mtlsPorts = samePolicies ? previous.mtlsPorts : new WeakMap();
    this.lastMtlsPorts = samePolicies ? previous.lastMtlsPorts : new Map();
    this.accessPolicies = snapshot.access.policies;
    this.access = previous !== undefined && previous.accessPolicies === this.accessPolicies ? previous.access : new WeakMap();
  }

  /** The index of `snapshot`, keeping what is unchanged from this one (and its identity options). */
  next(snapshot: MeshSnapshot): MeshIndex {
    return snapshot === this.snapshot ? this : new MeshIndex(snapshot, this);
  }

  /** The effective mTLS mode of `port` (the port the workload receives on; 0: workload level). */
  mtlsMode(workload: MtlsWorkload, port: number): EffectiveMtlsMode {
    if (this.policies.length === 0) return DEFAULT_MTLS_MODE;
    let byPort = this.modes.get(workload.labels);
    if (!byPort) this.modes.set(workload.labels, (byPort = new Map()));
    const key = `${workload.namespace}/${port}`;
    let mode = byPort.get(key);
    if (mode === undefined) byPort.set(key, (mode = resolveMtls(this.policies, workload, port, this.rootNamespace).mode));
    return mode;
  }

  /**
   * The AccessPolicies that apply to a workload (model/access-policy.ts resolveAccess). The same
   * object while the applied policies and the labels object are the same, so it can key memos.
   */
  accessFor(workload: MtlsWorkload): WorkloadAccess {
    if (this.accessPolicies.length === 0) return NO_ACCESS_POLICIES;
    let byNamespace = this.access.get(workload.labels);
    if (!byNamespace) this.access.set(workload.labels, (byNamespace = new Map()));
    let found = byNamespace.get(workload.namespace);
    if (found === undefined) {
      found = resolveAccess(this.accessPolicies, workload.namespace, workload.labels, this.rootNamespace);
      byNamespace.set(workload.namespace, found);
    }
    return found;
  }

  /** What the server behind `endpoint` of a Service in `namespace` accepts on its `port`. */
  endpointAcceptance(namespace: string, endpoint: Endpoint, port: number): MtlsAcceptance {
    const kind = serverKindOf(endpoint.labels);
    if (kind === 'none') return 'refused';
    return mtlsAcceptance(kind, this.mtlsMode({ namespace, labels: endpoint.labels }, port));
  }

  /**
   * The SPIFFE IDs behind a Service: of every endpoint (ready or not, any subset), sorted and
   * deduplicated; a known Pod without serviceAccountName runs as `default`. Empty when no endpoint is
   * a known Pod (callers then check the trust-domain prefix).
   */
  spiffeIdsOf(svc: Service): readonly string[] {
    const endpoints = this.snapshot.endpoints.get(serviceKey(svc.namespace, svc.name));
    if (!endpoints || endpoints.length === 0) return NO_IDS;
    let ids = this.ids.get(endpoints);
    if (!ids) {
      const set = new Set<string>();
      for (const ep of endpoints) {
        // A Pod not (yet) known says nothing; its endpoints are translated again when it arrives.
        const known = ep.podName !== undefined && this.snapshot.pods.has(`${svc.namespace}/${ep.podName}`);
        const account = ep.serviceAccount ?? (known ? 'default' : undefined);
        if (account !== undefined) set.add(spiffeId(this.trustDomain, svc.namespace, account));
      }
      ids = set.size === 0 ? NO_IDS : [...set].sort();
      const key = serviceKey(svc.namespace, svc.name);
      const last = this.lastIds.get(key);
      if (last !== undefined && sameStrings(last, ids)) ids = last;
      else this.lastIds.set(key, ids);
      this.ids.set(endpoints, ids);
    }
    return ids;
  }

  /**
   * The service ports (by number) a proxyless client sends mTLS to: gRPC has one transport socket
   * per cluster (gRFC A29), so clientSendsMtls decides from what every endpoint accepts on the
   * port. `portOf` resolves an endpoint's port for a service port (generate/eds.ts endpointPort).
   * The same array while the answer is the same, so it can key memos by identity.
   */
  clientMtlsPorts(svc: Service, portOf: (ep: Endpoint, port: ServicePort) => number | undefined): readonly number[] {
    const endpoints = this.snapshot.endpoints.get(serviceKey(svc.namespace, svc.name));
    if (!endpoints || endpoints.length === 0) return NO_PORTS;
    let ports = this.mtlsPorts.get(endpoints);
    if (!ports) {
      const list: number[] = [];
      for (const port of svc.ports) {
        const acceptances: MtlsAcceptance[] = [];
        for (const ep of endpoints) {
          const p = portOf(ep, port);
          if (p !== undefined) acceptances.push(this.endpointAcceptance(svc.namespace, ep, p));
        }
        if (clientSendsMtls(acceptances)) list.push(port.port);
      }
      const key = serviceKey(svc.namespace, svc.name);
      const last = this.lastMtlsPorts.get(key);
      ports = last !== undefined && sameNumbers(last, list) ? last : list;
      this.lastMtlsPorts.set(key, ports);
      this.mtlsPorts.set(endpoints, ports);
    }
    return ports;
  }

  /** The snapshot's services in `namespace`, in snapshot order. */
  servicesIn(namespace: string): readonly Service[] {
    if (!this.byNamespace) {
      const fresh = new Map<string, Service[]>();
      for (const svc of this.snapshot.services.values()) {
        let list = fresh.get(svc.namespace);
        if (!list) fresh.set(svc.namespace, (list = []));
        list.push(svc);
      }
      const byNamespace = new Map<string, readonly Service[]>();
      for (const [ns, list] of fresh) {
        const before = this.earlierLists?.get(ns);
        byNamespace.set(ns, before && sameServices(before, list) ? before : list);
      }
      this.byNamespace = byNamespace;
      this.earlierLists = undefined;
    }
    return this.byNamespace.get(namespace) ?? NO_SERVICES;
  }

  /** Service ports by number, in ascending order of the number. */
  portsInMesh(): ReadonlyMap<number, readonly ServicePortRef[]> {
    if (!this.byPort) {
      const byPort = new Map<number, ServicePortRef[]>();
      for (const svc of this.snapshot.services.values()) {
        for (const port of svc.ports) {
          let list = byPort.get(port.port);
          if (!list) byPort.set(port.port, (list = []));
          list.push({ svc, port });
        }
      }
      this.byPort = new Map([...byPort].sort((a, b) => a[0] - b[0]));
    }
    return this.byPort;
  }

  /** portsInMesh with only the services `scope` includes (the whole mesh's when undefined); ports no service is left on are dropped. */
  portsInScope(scope: ResolvedScope | undefined): ReadonlyMap<number, readonly ServicePortRef[]> {
    if (scope === undefined) return this.portsInMesh();
    let ports = this.byPortInScope.get(scope.key);
    if (!ports) {
      const narrowed = new Map<number, readonly ServicePortRef[]>();
      for (const [port, list] of this.portsInMesh()) {
        const visible = list.filter((ref) => scopeIncludes(scope, ref.svc));
        if (visible.length > 0) narrowed.set(port, visible);
      }
      this.byPortInScope.set(scope.key, (ports = narrowed));
    }
    return ports;
  }

  /** The applied TrafficPolicy of a host (service key), resolved. */
  policyOf(hostKey: string): EffectivePolicy | undefined {
    const policy = this.snapshot.routing.applied.policyByHost.get(hostKey);
    if (!policy) return undefined;
    let resolved = this.resolved.get(policy);
    if (!resolved) this.resolved.set(policy, (resolved = resolvePolicy(policy)));
    return resolved;
  }
}
