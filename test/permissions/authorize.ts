// A small RBAC authorizer over the fake API server's request log: which requests a permission
// list (src/permissions.ts) would allow, and which of its grants the requests actually used.
// Shared by the per-module permission tests.
import { grantKey, grants, type ApiPermission, type ObjectNames } from '../../src/kube/api-permission.js';
import type { RequestRecord } from '../support/fake-kube-api.js';

/**
 * Non-resource paths the code may call without a rule: /version is granted to every authenticated
 * user by system:discovery and system:public-info-viewer.
 */
export const PUBLIC_PATHS: readonly string[] = ['/version', '/version/'];

export interface AuthorizationReport {
  /** Requests no declared permission allows, as "VERB path (grant)". */
  readonly denied: string[];
  /** Grants (grantKey form, names resolved, prefixed by scope) that some request used. */
  readonly used: Set<string>;
}

function recordResource(r: RequestRecord): string {
  return r.subresource ? `${r.resource}/${r.subresource}` : r.resource;
}

/** Checks each request as the API server's RBAC authorizer would, for a pod in `ownNamespace`. */
export function authorize(records: readonly RequestRecord[], perms: readonly ApiPermission[], names: ObjectNames,
  ownNamespace: string): AuthorizationReport {
  const cluster = grants(perms, 'cluster', names);
  const local = grants(perms, 'namespace', names);
  const denied: string[] = [];
  const used = new Set<string>();
  for (const r of records) {
    if (r.resource === '') {
      if (!PUBLIC_PATHS.includes(r.path)) denied.push(`${r.method} ${r.path} (non-resource path)`);
      continue;
    }
    const resource = recordResource(r);
    // RBAC matches resourceNames against the object's name; a request without one (list, watch,
    // create) only matches rules without resourceNames.
    const candidates = [grantKey(r.group, resource, r.verb, undefined)];
    if (r.name !== undefined) candidates.unshift(grantKey(r.group, resource, r.verb, r.name));
    const inCluster = candidates.find((k) => cluster.has(k));
    const inLocal = r.namespace === ownNamespace ? candidates.find((k) => local.has(k)) : undefined;
    if (inCluster) used.add(`cluster ${inCluster}`);
    else if (inLocal) used.add(`namespace ${inLocal}`);
    else denied.push(`${r.method} ${r.path} (${candidates[candidates.length - 1]}, namespace ${r.namespace ?? '-'})`);
  }
  return { denied, used };
}

/** Every grant a permission list declares, prefixed by scope like AuthorizationReport.used. */
export function declared(perms: readonly ApiPermission[], names: ObjectNames): Set<string> {
  const out = new Set<string>();
  for (const k of grants(perms, 'cluster', names)) out.add(`cluster ${k}`);
  for (const k of grants(perms, 'namespace', names)) out.add(`namespace ${k}`);
  return out;
}
