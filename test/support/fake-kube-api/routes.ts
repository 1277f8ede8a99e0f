// URL -> (resource type, namespace, name, subresource, verb), following the API server's layout:
//   /api/v1/[namespaces/{ns}/]{resource}[/{name}[/{subresource}]]
//   /apis/{group}/{version}/[namespaces/{ns}/]{resource}[/{name}[/{subresource}]]
// plus the legacy /watch/ prefix. A namespaced resource at the cluster path lists across namespaces.
import type { ResourceRegistry } from './resources.js';
import type { Verb } from './requests.js';
import { type ApiError, methodNotAllowed, unknownPath } from './status.js';
import type { ResourceType } from './types.js';

export interface ResourceRoute {
  readonly rt: ResourceType;
  readonly group: string;
  readonly version: string;
  readonly namespace: string | undefined;
  readonly name: string | undefined;
  readonly subresource: 'status' | undefined;
  readonly verb: Verb;
}

export type DiscoveryRoute =
  | { readonly discovery: 'api' }
  | { readonly discovery: 'apis' }
  | { readonly discovery: 'group'; readonly group: string }
  | { readonly discovery: 'resources'; readonly group: string; readonly version: string };

/** Where the path points, before any type lookup: enough to label a request record. */
export interface PathParts {
  group: string;
  version: string;
  resource: string;
  namespace: string | undefined;
  name: string | undefined;
  subresource: string | undefined;
  watchPrefix: boolean;
}

export function splitPath(pathname: string, registry: ResourceRegistry): PathParts | DiscoveryRoute | undefined {
  const segs = pathname.split('/').filter((s) => s.length > 0).map(decodeURIComponent);
  let group: string;
  let version: string;
  let rest: string[];
  if (segs[0] === 'api') {
    if (segs.length === 1) return { discovery: 'api' };
    group = '';
    version = segs[1];
    rest = segs.slice(2);
  } else if (segs[0] === 'apis') {
    if (segs.length === 1) return { discovery: 'apis' };
    if (segs.length === 2) return { discovery: 'group', group: segs[1] };
    group = segs[1];
    version = segs[2];
    rest = segs.slice(3);
  } else {
    return undefined;
  }
  if (rest.length === 0) return { discovery: 'resources', group, version };
  const watchPrefix = rest[0] === 'watch';
  if (watchPrefix) rest = rest.slice(1);
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3 && registry.find(group, version, rest[2])?.namespaced) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  return {
    group, version, resource: rest[0] ?? '', namespace, name: rest[1], watchPrefix,
    subresource: rest.length > 3 ? rest.slice(2).join('/') : rest[2],
  };
}

export function isDiscovery(parts: PathParts | DiscoveryRoute): parts is DiscoveryRoute {
  return 'discovery' in parts;
}

/** Resolves the parts to a servable route, or the error the real server would give. */
export function resolveRoute(parts: PathParts, method: string, watchParam: boolean,
  registry: ResourceRegistry): ResourceRoute | ApiError {
  const rt = registry.find(parts.group, parts.version, parts.resource);
  if (!rt) return unknownPath();
  if (parts.namespace !== undefined && !rt.namespaced) return unknownPath();
  if (parts.subresource !== undefined && (parts.subresource !== 'status' || !rt.hasStatus)) return unknownPath();
  const subresource = parts.subresource === 'status' ? 'status' : undefined;
  const clusterWideNamespaced = rt.namespaced && parts.namespace === undefined;
  const hasName = parts.name !== undefined;
  let verb: Verb;
  switch (method) {
    case 'GET':
      verb = parts.watchPrefix || watchParam ? 'watch' : hasName ? 'get' : 'list';
      break;
    case 'POST':
      if (hasName || clusterWideNamespaced) return methodNotAllowed();
      verb = 'create';
      break;
    case 'PUT':
      if (!hasName) return methodNotAllowed();
      verb = 'update';
      break;
    case 'PATCH':
      if (!hasName) return methodNotAllowed();
      verb = 'patch';
      break;
    case 'DELETE':
      if (!hasName && clusterWideNamespaced) return methodNotAllowed();
      verb = hasName ? 'delete' : 'deletecollection';
      break;
    default:
      return methodNotAllowed();
  }
  if (subresource && verb !== 'get' && verb !== 'update' && verb !== 'patch') return methodNotAllowed();
  if (clusterWideNamespaced && hasName) return unknownPath();
  return { rt, group: parts.group, version: parts.version, namespace: parts.namespace, name: parts.name, subresource, verb };
}
