// What the root certificate publisher (root-cert-publisher.ts) does to the API, for RBAC
// (collected in src/cli/permissions.ts). Its own module so the permission list can be imported
// without the publisher.
import type { ApiPermission } from '../kube/api-permission.js';

/**
 * ConfigMaps in every injected namespace: read to compare, create where missing, patch the one
 * key when the bundle changed. Cluster-wide because injected namespaces are any namespace;
 * `create` cannot be pinned to a name, and get/patch are not pinned either so that the rule
 * stays one line (the publisher only ever addresses `pilotfish-ca-root-cert`).
 */
export const ROOT_CERT_CONFIGMAP_PERMISSIONS: readonly ApiPermission[] = [{
  group: '',
  resource: 'configmaps',
  verbs: ['get', 'create', 'patch'],
  scope: 'cluster',
  why: 'root certificate publisher: the mesh trust bundle as ConfigMap pilotfish-ca-root-cert in every injected namespace',
}];
