// What the roots publisher may do: it writes the ConfigMap pilotfish-ca-root-cert (the mesh's
// trust bundle) into every injected namespace and keeps it current through a root rotation, so
// pods mount the roots without reading pilotfish's CA Secret. Declared here, next to where the
// publisher lives, and collected by src/cli/permissions.ts (the chart's ClusterRole must match).
import type { ApiPermission } from '../kube/api-permission.js';

/** The ConfigMap the control plane publishes into injected namespaces (Istio's istio-ca-root-cert). */
const ROOT_CERT_CONFIGMAP_NAME = 'pilotfish-ca-root-cert';

/**
 * Cluster-wide: the namespaces are the injected ones, which change at run time. ConfigMaps cannot
 * be pinned by name for list/watch/create, so the publisher itself touches only ROOT_CERT_CONFIGMAP_NAME.
 */
export const ROOT_CERT_CONFIGMAP_PERMISSIONS: readonly ApiPermission[] = [
  {
    group: '', resource: 'configmaps', verbs: ['get', 'list', 'watch', 'create', 'update'], scope: 'cluster',
    why: `roots publisher: keep the ConfigMap ${ROOT_CERT_CONFIGMAP_NAME} current in every injected namespace`,
  },
];
