// The resource types the fake serves. Built-ins are fixed; custom resources come from the options
// (pilotfish's routing CRDs by default, as if installed) and from CustomResourceDefinitions created
// through the API, which become servable the moment they are stored, as an established CRD would.
import type { KubeObject, ResourceType } from './types.js';

export interface ResourceTypeInit {
  group: string;
  version: string;
  resource: string;
  kind: string;
  namespaced: boolean;
  singular?: string;
  hasStatus?: boolean;
  generation?: boolean;
  custom?: boolean;
  returnsDeletedObject?: boolean;
  extraFieldSelectors?: readonly string[];
  shortNames?: readonly string[];
}

export function resourceType(init: ResourceTypeInit): ResourceType {
  const custom = init.custom ?? false;
  return {
    group: init.group,
    version: init.version,
    resource: init.resource,
    singular: init.singular ?? init.kind.toLowerCase(),
    kind: init.kind,
    namespaced: init.namespaced,
    hasStatus: init.hasStatus ?? false,
    generation: init.generation ?? custom,
    custom,
    returnsDeletedObject: init.returnsDeletedObject ?? custom,
    extraFieldSelectors: init.extraFieldSelectors ?? [],
    shortNames: init.shortNames ?? [],
  };
}

export function apiVersionOf(rt: Pick<ResourceType, 'group' | 'version'>): string {
  return rt.group ? `${rt.group}/${rt.version}` : rt.version;
}

export function typeKey(rt: Pick<ResourceType, 'group' | 'version' | 'resource'>): string {
  return `${rt.group}/${rt.version}/${rt.resource}`;
}

export const BUILTIN_TYPES: readonly ResourceType[] = [
  resourceType({ group: '', version: 'v1', resource: 'namespaces', kind: 'Namespace', namespaced: false,
    hasStatus: true, returnsDeletedObject: true, extraFieldSelectors: ['status.phase'], shortNames: ['ns'] }),
  resourceType({ group: '', version: 'v1', resource: 'services', kind: 'Service', namespaced: true,
    hasStatus: true, returnsDeletedObject: true, shortNames: ['svc'] }),
  resourceType({ group: '', version: 'v1', resource: 'pods', kind: 'Pod', namespaced: true, hasStatus: true,
    returnsDeletedObject: true, shortNames: ['po'],
    extraFieldSelectors: ['spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName',
      'spec.hostNetwork', 'status.phase', 'status.podIP', 'status.nominatedNodeName'] }),
  resourceType({ group: '', version: 'v1', resource: 'secrets', kind: 'Secret', namespaced: true,
    extraFieldSelectors: ['type'] }),
  resourceType({ group: '', version: 'v1', resource: 'configmaps', kind: 'ConfigMap', namespaced: true,
    shortNames: ['cm'] }),
  resourceType({ group: '', version: 'v1', resource: 'serviceaccounts', kind: 'ServiceAccount', namespaced: true,
    shortNames: ['sa'] }),
  resourceType({ group: 'discovery.k8s.io', version: 'v1', resource: 'endpointslices', kind: 'EndpointSlice',
    namespaced: true }),
  resourceType({ group: 'coordination.k8s.io', version: 'v1', resource: 'leases', kind: 'Lease', namespaced: true }),
  resourceType({ group: 'admissionregistration.k8s.io', version: 'v1', resource: 'mutatingwebhookconfigurations',
    kind: 'MutatingWebhookConfiguration', namespaced: false, generation: true }),
  resourceType({ group: 'admissionregistration.k8s.io', version: 'v1', resource: 'validatingwebhookconfigurations',
    kind: 'ValidatingWebhookConfiguration', namespaced: false, generation: true }),
  resourceType({ group: 'apiextensions.k8s.io', version: 'v1', resource: 'customresourcedefinitions',
    kind: 'CustomResourceDefinition', namespaced: false, hasStatus: true, generation: true,
    returnsDeletedObject: true, shortNames: ['crd', 'crds'] }),
];

/**
 * pilotfish's CRDs (routing, and security's PeerAuthentication and AccessPolicy), and the Gateway
 * API routes the chart can install, registered by default as though `kubectl apply -f crds/` had run.
 */
export const ROUTING_TYPES: readonly ResourceType[] = [
  resourceType({ group: 'security.pilotfish.io', version: 'v1alpha1', resource: 'peerauthentications', kind: 'PeerAuthentication',
    namespaced: true, hasStatus: true, custom: true, shortNames: ['pa'] }),
  resourceType({ group: 'security.pilotfish.io', version: 'v1alpha1', resource: 'accesspolicies', kind: 'AccessPolicy',
    singular: 'accesspolicy', namespaced: true, hasStatus: true, custom: true, shortNames: ['ap'] }),
  resourceType({ group: 'routing.pilotfish.io', version: 'v1alpha1', resource: 'trafficroutes', kind: 'TrafficRoute',
    namespaced: true, hasStatus: true, custom: true, shortNames: ['tr'] }),
  resourceType({ group: 'routing.pilotfish.io', version: 'v1alpha1', resource: 'trafficpolicies',
    kind: 'TrafficPolicy', singular: 'trafficpolicy', namespaced: true, hasStatus: true, custom: true,
    shortNames: ['tp'] }),
  resourceType({ group: 'routing.pilotfish.io', version: 'v1alpha1', resource: 'trafficscopes', kind: 'TrafficScope',
    namespaced: true, hasStatus: true, custom: true, shortNames: ['ts'] }),
  resourceType({ group: 'gateway.networking.k8s.io', version: 'v1', resource: 'httproutes', kind: 'HTTPRoute',
    namespaced: true, hasStatus: true, custom: true }),
  resourceType({ group: 'gateway.networking.k8s.io', version: 'v1', resource: 'grpcroutes', kind: 'GRPCRoute',
    namespaced: true, hasStatus: true, custom: true }),
];

interface CrdSpec {
  group?: string;
  scope?: string;
  names?: { plural?: string; singular?: string; kind?: string; shortNames?: string[] };
  versions?: { name?: string; served?: boolean; subresources?: { status?: unknown } }[];
}

/** The servable types a CustomResourceDefinition object declares (one per served version). */
export function typesFromCrd(crd: KubeObject): ResourceType[] {
  const spec = (crd.spec ?? {}) as CrdSpec;
  const names = spec.names ?? {};
  if (!spec.group || !names.plural || !names.kind) return [];
  return (spec.versions ?? [])
    .filter((v) => v.served !== false && typeof v.name === 'string')
    .map((v) => resourceType({
      group: spec.group as string, version: v.name as string, resource: names.plural as string,
      kind: names.kind as string, singular: names.singular, namespaced: spec.scope !== 'Cluster',
      hasStatus: v.subresources?.status !== undefined, custom: true, shortNames: names.shortNames,
    }));
}

export class ResourceRegistry {
  private readonly byKey = new Map<string, ResourceType>();

  constructor(types: Iterable<ResourceType>) {
    for (const rt of types) this.add(rt);
  }

  add(rt: ResourceType): void {
    this.byKey.set(typeKey(rt), rt);
  }

  remove(rt: ResourceType): void {
    this.byKey.delete(typeKey(rt));
  }

  find(group: string, version: string, resource: string): ResourceType | undefined {
    return this.byKey.get(`${group}/${version}/${resource}`);
  }

  byApiVersionKind(apiVersion: string, kind: string): ResourceType | undefined {
    const [group, version] = apiVersion.includes('/') ? apiVersion.split('/', 2) : ['', apiVersion];
    for (const rt of this.byKey.values()) {
      if (rt.group === group && rt.version === version && rt.kind === kind) return rt;
    }
    return undefined;
  }

  all(): ResourceType[] {
    return [...this.byKey.values()];
  }

  /** group -> versions, in registration order; the core group is ''. */
  groups(): Map<string, string[]> {
    const groups = new Map<string, string[]>();
    for (const rt of this.byKey.values()) {
      const versions = groups.get(rt.group) ?? [];
      if (!versions.includes(rt.version)) versions.push(rt.version);
      groups.set(rt.group, versions);
    }
    return groups;
  }
}
