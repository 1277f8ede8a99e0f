// The encoded parts of the configuration that belong to one Service (its clusters and
// ClusterLoadAssignments, its sidecar virtual hosts, a gRPC client's listeners and routes for
// it), kept from one snapshot to the next while what they are generated from stays the same.
// This is generate/assemble.ts's Parts for the cache: assembly decides which parts a proxy gets,
// this decides which of them must be generated and encoded again. So a config change encodes
// what it changed, not the mesh once per namespace and kind.
//
// A sidecar RouteConfiguration is put together from encoded virtual hosts (encoder.ts `compose`):
// each host is encoded once per (service port, seen from its own namespace or another), and the
// configurations a new service joins cost a concatenation each.
import type { Endpoint, Service } from '../../model/mesh.js';
import type { OutboundTrafficPolicy } from '../../model/outbound-policy.js';
import type { TrafficPolicy } from '../../model/routing.js';
import type { PeerAuthentication } from '../../model/peer-authentication.js';
import type { XdsResource } from '../proxy-view.js';
import { lookupType } from '../protos.js';
import { ENDPOINT, messageName, ROUTE, type XdsTypeUrl } from '../types.js';
import type { VirtualHost } from '../envoy-types.js';
import type { Parts, ServiceAssignments } from '../generate/assemble.js';
import { resourceName, type EnvoyResource, type NamedLoadAssignment } from '../generate/resource.js';
import type { EncodedPart, ResourceEncoder } from './encoder.js';
import { ServiceMemo } from './service-memo.js';

const VIRTUAL_HOST = 'envoy.config.route.v3.VirtualHost';

/**
 * RouteConfiguration.virtual_hosts, as the loaded protos define it: its field number (its message
 * type checked to be the VirtualHost the generated types describe). `compose` writes the head (the
 * name) before the hosts, so the name must be numbered lower.
 */
function virtualHostsField(): number {
  const type = lookupType(messageName(ROUTE));
  const field = type.fields['virtual_hosts'];
  const name = type.fields['name'];
  const hostType = field?.resolve().resolvedType;
  if (!field || !name || !hostType || !field.repeated || name.id >= field.id || hostType.fullName !== `.${VIRTUAL_HOST}`) {
    throw new Error(`${type.fullName}: expected a name before repeated ${VIRTUAL_HOST} field virtual_hosts`);
  }
  return field.id;
}

export class ServiceParts implements Parts<XdsResource, EncodedPart> {
  /** A service's parts of each type (key: which part, e.g. the proxy kind of its clusters). */
  private readonly memos = new Map<XdsTypeUrl, ServiceMemo<readonly XdsResource[]>>();
  /** A sidecar virtual host per service port, from its own namespace or another. */
  private readonly hosts = new ServiceMemo<EncodedPart>();
  private readonly fallthroughs = new Map<OutboundTrafficPolicy, EncodedPart>();
  /** Everything besides the endpoints that shapes a service's assignments (see assignmentsKey). */
  private readonly edsKeys = new ServiceMemo<string>();
  /** Per endpoints array (stable while a service's endpoints are unchanged) and assignmentsKey. */
  private assignments = new WeakMap<readonly Endpoint[], Map<string, readonly XdsResource[]>>();
  /** What the running endpoints pass asked for: all that is kept after it. */
  private nextAssignments: WeakMap<readonly Endpoint[], Map<string, readonly XdsResource[]>> | undefined;
  private readonly virtualHostsNumber = virtualHostsField();
  private readonly securityIds = new WeakMap<readonly PeerAuthentication[], number>();
  private nextSecurityId = 0;

  constructor(private readonly encoder: ResourceEncoder) {}

  resource(typeUrl: XdsTypeUrl, obj: EnvoyResource): XdsResource {
    return this.encoder.encode(typeUrl, resourceName(obj), obj);
  }

  ofService(typeUrl: XdsTypeUrl, svc: Service, part: string, inputs: readonly unknown[], make: () => readonly EnvoyResource[]): readonly XdsResource[] {
    let memo = this.memos.get(typeUrl);
    if (!memo) this.memos.set(typeUrl, (memo = new ServiceMemo()));
    return memo.get(svc, part, inputs, () => make().map((obj) => this.encoder.encode(typeUrl, resourceName(obj), obj)));
  }

  /**
   * Kept by endpoints array rather than by Service: a Service object that changed in nothing the
   * assignments read (assignmentsKey) keeps them. Only inside `assignmentsPass`.
   */
  loadAssignments(svc: Service, endpoints: readonly Endpoint[], policy: TrafficPolicy | undefined,
    security: readonly PeerAuthentication[], make: () => readonly NamedLoadAssignment[]): readonly XdsResource[] {
    const key = this.assignmentsCacheKey(svc, policy, security);
    const resources = this.assignments.get(endpoints)?.get(key)
      ?? make().map((cla) => this.encoder.encode(ENDPOINT, cla.cluster_name, cla));
    this.keepAssignments(endpoints, key, resources);
    return resources;
  }

  /**
   * `loadAssignments` of one service (generate/assemble.ts serviceAssignments), a large one
   * encoded with `pause` between batches of endpoints (ResourceEncoder.encodeAssignment).
   */
  async pacedLoadAssignments(a: ServiceAssignments, pause: () => Promise<void>): Promise<readonly XdsResource[]> {
    const key = this.assignmentsCacheKey(a.svc, a.policy, a.security);
    let resources = this.assignments.get(a.endpoints)?.get(key);
    if (!resources) {
      const encoded: XdsResource[] = [];
      for (const cla of a.make()) encoded.push(await this.encoder.encodeAssignment(cla, pause));
      resources = encoded;
    }
    this.keepAssignments(a.endpoints, key, resources);
    return resources;
  }

  /** Runs an assembly of the endpoints; assignments it did not ask for are forgotten after it. */
  async assignmentsPass<T>(assemble: () => Promise<T>): Promise<T> {
    this.nextAssignments = new WeakMap();
    try {
      const out = await assemble();
      this.assignments = this.nextAssignments;
      return out;
    } finally {
      this.nextAssignments = undefined;
    }
  }

  /** The mTLS metadata depends on the applied PeerAuthentications (the same array while unchanged). */
  private assignmentsCacheKey(svc: Service, policy: TrafficPolicy | undefined, security: readonly PeerAuthentication[]): string {
    return `${this.securityId(security)}/${this.assignmentsKey(svc, policy)}`;
  }

  private keepAssignments(endpoints: readonly Endpoint[], key: string, resources: readonly XdsResource[]): void {
    const next = this.nextAssignments ?? this.assignments;
    let inner = next.get(endpoints);
    if (!inner) next.set(endpoints, (inner = new Map()));
    inner.set(key, resources);
  }

  virtualHost(svc: Service, part: string, inputs: readonly unknown[], make: () => VirtualHost): EncodedPart {
    return this.hosts.get(svc, part, inputs, () => this.encoder.encodePart(VIRTUAL_HOST, make()));
  }

  fallthroughHost(policy: OutboundTrafficPolicy, make: () => VirtualHost): EncodedPart {
    let part = this.fallthroughs.get(policy);
    if (!part) this.fallthroughs.set(policy, (part = this.encoder.encodePart(VIRTUAL_HOST, make())));
    return part;
  }

  routeConfiguration(name: string, hosts: readonly EncodedPart[]): XdsResource {
    return this.encoder.compose(ROUTE, name, { name }, this.virtualHostsNumber, hosts);
  }

  private securityId(security: readonly PeerAuthentication[]): number {
    let id = this.securityIds.get(security);
    if (id === undefined) this.securityIds.set(security, (id = this.nextSecurityId++));
    return id;
  }

  nameOf(resource: XdsResource): string {
    return resource.name;
  }

  /**
   * Everything besides the endpoints that shapes a service's ClusterLoadAssignments. Kept per
   * Service object (unchanged services keep theirs across snapshots): this runs for every service
   * on every endpoint change.
   */
  private assignmentsKey(svc: Service, policy: TrafficPolicy | undefined): string {
    return this.edsKeys.get(svc, 'eds', [policy], () =>
      JSON.stringify([svc.name, svc.namespace, svc.synthetic === true, svc.ports, policy?.subsets.map((s) => [s.name, s.labels]) ?? []]));
  }
}
