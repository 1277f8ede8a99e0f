// The Envoy bootstrap of a sidecar, as a proto3-JSON object (what Envoy's --config-yaml parses).
// Pure: the injector passes Kubernetes `$(VAR)` placeholders for the pod's identity so one
// bootstrap serves every replica; `pilotfish bootstrap --kind sidecar` passes literal values.
//
// An injected Envoy never dials the control plane: xDS goes to the pod agent's Unix socket (the
// agent carries it over one mutual-TLS session, src/agent/README.md) and SDS to the agent's other
// socket, a static cluster so certificates keep flowing while the control plane is away.
import { META_INSTANCE_IP, META_KIND, META_LABELS, META_NAMESPACE, META_POD_NAME, META_SERVICE_ACCOUNT } from '../xds/node-info.js';
import { DEFAULT_SDS_SOCKET, sdsBootstrapCluster } from '../xds/generate/tls.js';
import { PORT_ADMIN, PORT_METRICS, PORT_READINESS, READINESS_PATH } from './injection-names.js';

type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export const XDS_CLUSTER = 'xds-grpc';
export const ADMIN_CLUSTER = 'pilotfish-admin';

/** An HTTP route on the readiness listener that forwards a kubelet probe to the app. */
export interface AppProbeRoute {
  /** Path the kubelet now probes on the readiness port, e.g. `/app-health/web/livez`. */
  readonly path: string;
  /** Where the app answers: the original probe's port and path. */
  readonly port: number;
  readonly appPath: string;
}

interface SidecarBootstrapOptions {
  readonly nodeId: string;
  readonly cluster: string;
  readonly namespace: string;
  readonly podName: string;
  readonly instanceIp: string;
  readonly serviceAccount: string;
  readonly labels?: Readonly<Record<string, string>>;
  /** Where xDS is: the control plane's plaintext port, or the pod agent's Unix socket. */
  readonly xds: XdsTarget;
  /** Address the app listens on for probes forwarded by the proxy (the pod IP, or a placeholder). */
  readonly appAddress?: string;
  readonly appProbes?: readonly AppProbeRoute[];
  readonly adminPort?: number;
  readonly readinessPort?: number;
  readonly metricsPort?: number;
  /**
   * The pod agent's SDS socket, for the `sds-grpc` static cluster that generated TLS contexts name
   * (default DEFAULT_SDS_SOCKET of xds/generate/tls.ts).
   */
  readonly sdsSocket?: string;
}

type XdsTarget =
  | { readonly host: string; readonly port: number }
  | { readonly socket: string };

/** Istio-style node id, `sidecar~<ip>~<pod>.<namespace>~<namespace>.svc.cluster.local`. */
export function sidecarNodeId(ip: string, podName: string, namespace: string): string {
  return `sidecar~${ip}~${podName}.${namespace}~${namespace}.svc.cluster.local`;
}

function socketAddress(address: string, port: number): JsonObject {
  return { socket_address: { address, port_value: port } };
}

function staticCluster(name: string, host: string, port: number, http2: boolean): JsonObject {
  // An address that is a name must be resolved; an IP (or a $(INSTANCE_IP) placeholder) is static.
  const type = /^[0-9.]+$/.test(host) || host.startsWith('$(') ? 'STATIC' : 'STRICT_DNS';
  return clusterAt(name, type, socketAddress(host, port), http2);
}

function clusterAt(name: string, type: string, address: JsonObject, http2: boolean): JsonObject {
  const cluster: JsonObject = {
    name,
    type,
    load_assignment: {
      cluster_name: name,
      endpoints: [{ lb_endpoints: [{ endpoint: { address } }] }],
    },
  };
  if (http2) {
    cluster.typed_extension_protocol_options = {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
        '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
        explicit_http_config: { http2_protocol_options: {} },
      },
    };
  }
  return cluster;
}

function xdsCluster(target: XdsTarget): JsonObject {
  // The agent's socket speaks HTTP/2 without TLS: it never leaves the pod, and its 0600 mode
  // lets only the agent's UID (Envoy's, 1337) connect.
  if ('socket' in target) return clusterAt(XDS_CLUSTER, 'STATIC', { pipe: { path: target.socket } }, true);
  return staticCluster(XDS_CLUSTER, target.host, target.port, true);
}

/** `1.5s` from a Duration in object form: proto3 JSON (what --config-yaml parses) wants the string. */
function durationText(d: { seconds?: number | string | null; nanos?: number | null }): string {
  const seconds = Number(d.seconds ?? 0) + (d.nanos ?? 0) / 1e9;
  return `${seconds}s`;
}

/** The SDS cluster of src/xds/generate/tls.ts (the one TLS contexts name), in proto3 JSON. */
function sdsCluster(socketPath: string): JsonObject {
  const { connect_timeout: timeout, ...rest } = sdsBootstrapCluster(socketPath);
  const cluster = JSON.parse(JSON.stringify(rest)) as JsonObject;
  if (timeout) cluster.connect_timeout = durationText(timeout);
  return cluster;
}

function httpListener(name: string, port: number, routes: JsonObject[]): JsonObject {
  return {
    name,
    address: socketAddress('0.0.0.0', port),
    filter_chains: [{
      filters: [{
        name: 'envoy.filters.network.http_connection_manager',
        typed_config: {
          '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
          stat_prefix: name,
          route_config: {
            name,
            virtual_hosts: [{ name, domains: ['*'], routes }],
          },
          http_filters: [{
            name: 'envoy.filters.http.router',
            typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' },
          }],
        },
      }],
    }],
  };
}

function forward(path: string, cluster: string, rewrite: string): JsonObject {
  return { match: { path }, route: { cluster, prefix_rewrite: rewrite } };
}

function appProbeCluster(port: number): string {
  return `pilotfish-app-probe-${port}`;
}

export function sidecarBootstrap(o: SidecarBootstrapOptions): JsonObject {
  const adminPort = o.adminPort ?? PORT_ADMIN;
  const metadata: JsonObject = {
    [META_KIND]: 'sidecar',
    [META_NAMESPACE]: o.namespace,
    [META_POD_NAME]: o.podName,
    [META_INSTANCE_IP]: o.instanceIp,
    [META_SERVICE_ACCOUNT]: o.serviceAccount,
  };
  if (o.labels && Object.keys(o.labels).length > 0) {
    const labels: JsonObject = {};
    for (const k of Object.keys(o.labels).sort()) labels[k] = o.labels[k];
    metadata[META_LABELS] = labels;
  }

  const probes = o.appProbes ?? [];
  const probePorts = [...new Set(probes.map((p) => p.port))].sort((a, b) => a - b);
  const clusters: JsonObject[] = [
    xdsCluster(o.xds),
    staticCluster(ADMIN_CLUSTER, '127.0.0.1', adminPort, false),
    ...probePorts.map((port) => staticCluster(appProbeCluster(port), o.appAddress ?? '127.0.0.1', port, false)),
    // Certificates come from the pod agent, never over xDS: they keep flowing while the control
    // plane is unreachable, and the mTLS contexts xDS sends name this cluster.
    sdsCluster(o.sdsSocket ?? DEFAULT_SDS_SOCKET),
  ];

  // Readiness is Envoy's own /ready, which turns 200 only after the first configuration from the
  // control plane is applied, so "ready" means "can route", not merely "process started".
  const readinessRoutes: JsonObject[] = [
    forward(READINESS_PATH, ADMIN_CLUSTER, '/ready'),
    ...probes.map((p) => forward(p.path, appProbeCluster(p.port), p.appPath)),
  ];

  return {
    node: { id: o.nodeId, cluster: o.cluster, metadata },
    admin: { address: socketAddress('127.0.0.1', adminPort) },
    dynamic_resources: {
      ads_config: {
        api_type: 'DELTA_GRPC',
        transport_api_version: 'V3',
        grpc_services: [{ envoy_grpc: { cluster_name: XDS_CLUSTER } }],
        set_node_on_first_message_only: true,
      },
      cds_config: { ads: {}, resource_api_version: 'V3' },
      lds_config: { ads: {}, resource_api_version: 'V3' },
    },
    static_resources: {
      listeners: [
        httpListener('pilotfish-readiness', o.readinessPort ?? PORT_READINESS, readinessRoutes),
        httpListener('pilotfish-prometheus', o.metricsPort ?? PORT_METRICS,
          [forward('/stats/prometheus', ADMIN_CLUSTER, '/stats/prometheus')]),
      ],
      clusters,
    },
  };
}
