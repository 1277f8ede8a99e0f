// The kinds the controller watches, cluster-wide, and how each is trimmed before it is cached.
import { ROUTING_API_VERSION } from '../../api/routing/v1alpha1/crd.js';
import { SECURITY_API_VERSION } from '../../api/security/v1alpha1/crd.js';
import { GATEWAY_API_VERSION, GRPC_ROUTE_KIND, HTTP_ROUTE_KIND } from '../../api/gateway/v1/gateway-api.js';
import { type ObjectSetKey } from '../objects.js';
import {
  DESTINATION_RULE_KIND, ISTIO_NETWORKING_API_VERSION, VIRTUAL_SERVICE_KIND, istioCrdName, type IstioKindInfo,
} from '../../api/istio/networking/v1/kinds.js';
import type { ApiPermission } from '../../kube/api-permission.js';

/** A Kubernetes object as it arrives over the wire (raw JSON). */
export interface RawObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

export interface WatchedKind {
  /** The ObjectSet field its objects go to. */
  readonly key: ObjectSetKey;
  readonly apiVersion: string;
  readonly kind: string;
  /** The all-namespaces collection path. */
  readonly path: string;
  /**
   * A custom resource whose CRD may not be installed: a 404 then counts as "none yet" (the source
   * still becomes ready) and the list is retried with backoff until the CRD appears.
   */
  readonly optional: boolean;
  /**
   * For an optional kind whose absence is normal (Istio's, which pilotfish never installs): what
   * the log says, at info level, while its API is not served.
   */
  readonly absent?: string;
  /** How to install the CRD of an optional kind, for the log line saying it is missing. */
  readonly installHint?: string;
}

export const NAMESPACES: WatchedKind = { key: 'namespaces', apiVersion: 'v1', kind: 'Namespace', path: '/api/v1/namespaces', optional: false };
const SERVICES: WatchedKind = { key: 'services', apiVersion: 'v1', kind: 'Service', path: '/api/v1/services', optional: false };
const ENDPOINT_SLICES: WatchedKind = {
  key: 'endpointSlices', apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', path: '/apis/discovery.k8s.io/v1/endpointslices', optional: false,
};
const PODS: WatchedKind = { key: 'pods', apiVersion: 'v1', kind: 'Pod', path: '/api/v1/pods', optional: false };
export const TRAFFIC_ROUTES: WatchedKind = {
  key: 'trafficRoutes', apiVersion: ROUTING_API_VERSION, kind: 'TrafficRoute', path: `/apis/${ROUTING_API_VERSION}/trafficroutes`, optional: true,
};
export const TRAFFIC_POLICIES: WatchedKind = {
  key: 'trafficPolicies', apiVersion: ROUTING_API_VERSION, kind: 'TrafficPolicy', path: `/apis/${ROUTING_API_VERSION}/trafficpolicies`, optional: true,
};

export const PEER_AUTHENTICATIONS: WatchedKind = {
  key: 'peerAuthentications', apiVersion: SECURITY_API_VERSION, kind: 'PeerAuthentication',
  path: `/apis/${SECURITY_API_VERSION}/peerauthentications`, optional: true,
};

export const ACCESS_POLICIES: WatchedKind = {
  key: 'accessPolicies', apiVersion: SECURITY_API_VERSION, kind: 'AccessPolicy',
  path: `/apis/${SECURITY_API_VERSION}/accesspolicies`, optional: true,
};

export const TRAFFIC_SCOPES: WatchedKind = {
  key: 'trafficScopes', apiVersion: ROUTING_API_VERSION, kind: 'TrafficScope', path: `/apis/${ROUTING_API_VERSION}/trafficscopes`, optional: true,
};

function istioKind(key: ObjectSetKey, info: IstioKindInfo): WatchedKind {
  return {
    key, apiVersion: ISTIO_NETWORKING_API_VERSION, kind: info.kind, path: `/apis/${ISTIO_NETWORKING_API_VERSION}/${info.plural}`, optional: true,
    absent: `Istio's ${info.kind} CRD (${istioCrdName(info)}) is not installed, so there is no Istio config to read; `
      + 'pilotfish does not install it and watches for it to appear',
  };
}

const VIRTUAL_SERVICES: WatchedKind = istioKind('virtualServices', VIRTUAL_SERVICE_KIND);
const DESTINATION_RULES: WatchedKind = istioKind('destinationRules', DESTINATION_RULE_KIND);

/** Gateway API routes: watched once their CRDs exist (the chart installs them optionally). */
export const HTTP_ROUTES: WatchedKind = {
  key: 'httpRoutes', apiVersion: GATEWAY_API_VERSION, kind: HTTP_ROUTE_KIND.kind, path: `/apis/${GATEWAY_API_VERSION}/${HTTP_ROUTE_KIND.plural}`, optional: true,
  installHint: 'the Helm chart installs the Gateway API CRDs with gatewayAPI.installCRDs=true',
};
export const GRPC_ROUTES: WatchedKind = {
  key: 'grpcRoutes', apiVersion: GATEWAY_API_VERSION, kind: GRPC_ROUTE_KIND.kind, path: `/apis/${GATEWAY_API_VERSION}/${GRPC_ROUTE_KIND.plural}`, optional: true,
  installHint: 'the Helm chart installs the Gateway API CRDs with gatewayAPI.installCRDs=true',
};

export const WATCHED_KINDS: readonly WatchedKind[] = [
  NAMESPACES, SERVICES, ENDPOINT_SLICES, PODS, TRAFFIC_ROUTES, TRAFFIC_POLICIES, PEER_AUTHENTICATIONS, ACCESS_POLICIES, TRAFFIC_SCOPES,
  VIRTUAL_SERVICES, DESTINATION_RULES, HTTP_ROUTES, GRPC_ROUTES,
];

/** RBAC for the informers (collected in src/permissions.ts): list and watch, cluster-wide, of every watched kind. */
export const INFORMER_PERMISSIONS: readonly ApiPermission[] = WATCHED_KINDS.map((k) => ({
  group: k.apiVersion.includes('/') ? k.apiVersion.slice(0, k.apiVersion.indexOf('/')) : '',
  resource: k.path.slice(k.path.lastIndexOf('/') + 1),
  verbs: ['list', 'watch'],
  scope: 'cluster',
  why: `informer of ${k.kind}`,
}));

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * What the cache keeps of an object. Every object loses managedFields and kubectl's
 * last-applied copy (often larger than the rest of the object). Pods, by far the most numerous,
 * keep only what translation and proxy identity read: a cluster's Pods in full would dominate
 * the controller's memory. List items come without apiVersion/kind; they get them here.
 */
export function pruneObject(kind: WatchedKind, obj: RawObject): RawObject {
  const meta = { ...obj.metadata };
  delete meta.managedFields;
  if (meta.annotations && LAST_APPLIED in meta.annotations) {
    const { [LAST_APPLIED]: _dropped, ...rest } = meta.annotations;
    meta.annotations = rest;
  }
  if (kind === PODS) {
    const spec = (obj.spec ?? {}) as { serviceAccountName?: string; nodeName?: string };
    const status = (obj.status ?? {}) as { phase?: string; podIP?: string; podIPs?: unknown };
    const podMeta: RawObject['metadata'] = {
      name: meta.name, namespace: meta.namespace, uid: meta.uid, resourceVersion: meta.resourceVersion,
    };
    if (meta.labels) podMeta.labels = meta.labels;
    if (meta.deletionTimestamp !== undefined) podMeta.deletionTimestamp = meta.deletionTimestamp;
    return {
      apiVersion: kind.apiVersion,
      kind: kind.kind,
      metadata: podMeta,
      spec: { serviceAccountName: spec.serviceAccountName, nodeName: spec.nodeName },
      status: { phase: status.phase, podIP: status.podIP, podIPs: status.podIPs },
    };
  }
  return { ...obj, apiVersion: kind.apiVersion, kind: kind.kind, metadata: meta };
}
