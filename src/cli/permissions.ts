// What pilotfish may do in the Kubernetes API: the union of what each module that calls the API
// declares next to its calls (kube/api-permission.ts). The Helm chart's ClusterRole and Role must
// grant exactly this (test/helm/rbac.test.ts).
import { DEBUG_ACCESS_PERMISSIONS } from '../admin/kube-debug-reviewer.js';
import { INFORMER_PERMISSIONS } from '../sources/kube/kinds.js';
import { LEASE_PERMISSIONS } from '../leader/lease-store.js';
import { STATUS_CLIENT_VERBS } from '../leader/status-writer.js';
import { ROUTING_GROUP, TRAFFIC_POLICY_KIND, TRAFFIC_ROUTE_KIND } from '../api/routing/v1alpha1/crd.js';
import { ROOT_CERT_CONFIGMAP_PERMISSIONS } from '../leader/root-cert-permissions.js';
import { WEBHOOK_PERMISSIONS } from '../webhook/kube-client.js';

import type { ApiPermission } from '../kube/api-permission.js';

/** The leader writes the conditions of the routing objects through KubeStatusClient. */
export const ROUTING_STATUS_PERMISSIONS: readonly ApiPermission[] = [TRAFFIC_ROUTE_KIND, TRAFFIC_POLICY_KIND].map((k) => ({
  group: ROUTING_GROUP,
  resource: `${k.plural}/status`,
  verbs: STATUS_CLIENT_VERBS,
  scope: 'cluster',
  why: `status writer: conditions of ${k.kind}`,
}));

/**
 * The mesh CA Secret (default pilotfish-ca) in pilotfish's own namespace only: read it, create it
 * on first start, update it for a root rotation. Pinned by name so pilotfish cannot read other
 * Secrets there; create cannot be pinned (the webhook's TLS Secret needs it too).
 */
const MESH_CA_SECRET_PERMISSIONS: readonly ApiPermission[] = [
  { group: '', resource: 'secrets', verbs: ['get', 'update'], scope: 'namespace', resourceName: 'caSecret', why: 'mesh CA: read the CA Secret, rotate its root' },
  { group: '', resource: 'secrets', verbs: ['create'], scope: 'namespace', why: 'mesh CA: create the CA Secret on first start' },
];

/** Everything `pilotfish controller` (controller, leader election, status, injector) may do. */
export const PILOTFISH_PERMISSIONS: readonly ApiPermission[] = [
  ...INFORMER_PERMISSIONS,
  ...ROUTING_STATUS_PERMISSIONS,
  ...LEASE_PERMISSIONS,
  ...WEBHOOK_PERMISSIONS,
  ...MESH_CA_SECRET_PERMISSIONS,
  ...DEBUG_ACCESS_PERMISSIONS,
  ...ROOT_CERT_CONFIGMAP_PERMISSIONS,
];
