// What pilotfish may do in the Kubernetes API: the union of what each module that calls the API
// declares next to its calls (kube/api-permission.ts). The Helm chart's ClusterRole and Role must
// grant exactly this (test/helm/rbac.test.ts).
import { DEBUG_ACCESS_PERMISSIONS } from '../admin/kube-debug-reviewer.js';
import { INFORMER_PERMISSIONS } from '../sources/kube/kinds.js';
import { LEASE_PERMISSIONS } from '../leader/lease-store.js';
import { STATUS_CLIENT_VERBS } from '../leader/status-writer.js';
import { ISTIO_EVENT_PERMISSIONS } from '../leader/istio-events.js';
import { GATEWAY_STATUS_PERMISSIONS } from '../leader/gateway-status.js';
import { ROUTING_GROUP, TRAFFIC_POLICY_KIND, TRAFFIC_ROUTE_KIND, TRAFFIC_SCOPE_KIND } from '../api/routing/v1alpha1/crd.js';
import { PEER_AUTHENTICATION_PLURAL, SECURITY_GROUP } from '../api/security/v1alpha1/crd.js';
import { ACCESS_POLICY_KIND, ACCESS_POLICY_PLURAL } from '../api/security/v1alpha1/access-policy-crd.js';
import { ROOT_CERT_CONFIGMAP_PERMISSIONS } from '../leader/root-cert-permissions.js';
import { WEBHOOK_PERMISSIONS } from '../webhook/kube-client.js';
import { CA_SECRET_PERMISSIONS } from '../security/ca/secret-store.js';
import { TOKEN_REVIEW_PERMISSIONS } from '../security/csr/token-review.js';

import type { ApiPermission } from '../kube/api-permission.js';

/** The leader writes the conditions of the routing objects (and TrafficScopes) through KubeStatusClient. */
export const ROUTING_STATUS_PERMISSIONS: readonly ApiPermission[] = [TRAFFIC_ROUTE_KIND, TRAFFIC_POLICY_KIND, TRAFFIC_SCOPE_KIND].map((k) => ({
  group: ROUTING_GROUP,
  resource: `${k.plural}/status`,
  verbs: STATUS_CLIENT_VERBS,
  scope: 'cluster',
  why: `status writer: conditions of ${k.kind}`,
}));

/** The leader writes the Accepted condition of PeerAuthentications through the same client. */
const PEER_AUTHENTICATION_STATUS_PERMISSIONS: readonly ApiPermission[] = [{
  group: SECURITY_GROUP, resource: `${PEER_AUTHENTICATION_PLURAL}/status`, verbs: STATUS_CLIENT_VERBS, scope: 'cluster',
  why: 'status writer: conditions of PeerAuthentication',
}];

/** The leader writes the Accepted condition of AccessPolicies through the same KubeStatusClient. */
export const ACCESS_STATUS_PERMISSIONS: readonly ApiPermission[] = [{
  group: SECURITY_GROUP,
  resource: `${ACCESS_POLICY_PLURAL}/status`,
  verbs: STATUS_CLIENT_VERBS,
  scope: 'cluster',
  why: `status writer: conditions of ${ACCESS_POLICY_KIND}`,
}];

/** Everything `pilotfish controller` (controller, leader election, status, injector, mesh CA and the TLS xDS port) may do. */
export const PILOTFISH_PERMISSIONS: readonly ApiPermission[] = [
  ...INFORMER_PERMISSIONS,
  ...ROUTING_STATUS_PERMISSIONS,
  ...ISTIO_EVENT_PERMISSIONS,
  ...PEER_AUTHENTICATION_STATUS_PERMISSIONS,
  ...ACCESS_STATUS_PERMISSIONS,
  ...GATEWAY_STATUS_PERMISSIONS,
  ...LEASE_PERMISSIONS,
  ...WEBHOOK_PERMISSIONS,
  ...CA_SECRET_PERMISSIONS,
  ...TOKEN_REVIEW_PERMISSIONS,
  ...DEBUG_ACCESS_PERMISSIONS,
  ...ROOT_CERT_CONFIGMAP_PERMISSIONS,
];
