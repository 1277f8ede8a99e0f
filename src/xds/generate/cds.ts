// CDS: one EDS cluster per service port, fed over ADS.
import type { Service, ServicePort } from '../../model/mesh.js';
import { outboundClusterName } from './names.js';
import { ADS_CONFIG_SOURCE, duration, typed } from './proto-helpers.js';

export type ClusterObject = Record<string, unknown> & { name: string };

const CONNECT_TIMEOUT_MS = 10_000;

function usesHttp2(port: ServicePort): boolean {
  return port.protocol === 'grpc' || port.protocol === 'http2';
}

export function outboundCluster(svc: Service, port: ServicePort, subset = ''): ClusterObject {
  const name = outboundClusterName(svc, port.port, subset);
  const cluster: ClusterObject = {
    name,
    type: 'EDS',
    eds_cluster_config: { eds_config: ADS_CONFIG_SOURCE, service_name: name },
    connect_timeout: duration(CONNECT_TIMEOUT_MS),
    lb_policy: 'ROUND_ROBIN',
  };
  if (usesHttp2(port)) {
    // Envoy otherwise speaks HTTP/1.1 upstream, which gRPC backends refuse.
    cluster.typed_extension_protocol_options = {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': typed(
        'envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
        { explicit_http_config: { http2_protocol_options: {} } },
      ),
    };
  }
  return cluster;
}

/** The cluster a registry service is also known by, for static Envoy configs that name it. */
export function registryCluster(name: string): ClusterObject {
  return {
    name,
    type: 'EDS',
    eds_cluster_config: { eds_config: ADS_CONFIG_SOURCE, service_name: name },
    connect_timeout: duration(CONNECT_TIMEOUT_MS),
    lb_policy: 'ROUND_ROBIN',
  };
}
