// Minimal discovery documents (/api, /apis, group and resource lists): what client-node's
// KubernetesObjectApi and kubectl-style tools read to map a kind to its resource path.
import type { ResourceRegistry } from './resources.js';
import type { DiscoveryRoute } from './routes.js';
import { unknownPath } from './status.js';

const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

function groupDoc(group: string, versions: string[]): Record<string, unknown> {
  const entries = versions.map((version) => ({ groupVersion: `${group}/${version}`, version }));
  return { name: group, versions: entries, preferredVersion: entries[0] };
}

export function discoveryDocument(route: DiscoveryRoute, registry: ResourceRegistry, serverAddress: string):
  Record<string, unknown> {
  const groups = registry.groups();
  switch (route.discovery) {
    case 'api':
      return { kind: 'APIVersions', versions: groups.get('') ?? [],
        serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
    case 'apis':
      return { kind: 'APIGroupList', apiVersion: 'v1',
        groups: [...groups.entries()].filter(([g]) => g !== '').map(([g, versions]) => groupDoc(g, versions)) };
    case 'group': {
      const versions = groups.get(route.group);
      if (!versions || route.group === '') throw unknownPath();
      return { kind: 'APIGroup', apiVersion: 'v1', ...groupDoc(route.group, versions) };
    }
    case 'resources': {
      const types = registry.all().filter((rt) => rt.group === route.group && rt.version === route.version);
      if (types.length === 0) throw unknownPath();
      const resources: Record<string, unknown>[] = [];
      for (const rt of types) {
        resources.push({ name: rt.resource, singularName: rt.singular, namespaced: rt.namespaced, kind: rt.kind,
          verbs: ALL_VERBS, ...(rt.shortNames.length > 0 ? { shortNames: [...rt.shortNames] } : {}) });
        if (rt.hasStatus) {
          resources.push({ name: `${rt.resource}/status`, singularName: '', namespaced: rt.namespaced, kind: rt.kind,
            verbs: ['get', 'patch', 'update'] });
        }
      }
      return { kind: 'APIResourceList', apiVersion: 'v1',
        groupVersion: route.group ? `${route.group}/${route.version}` : route.version, resources };
    }
  }
}
