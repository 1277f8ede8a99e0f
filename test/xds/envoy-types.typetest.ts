// Compile-time test of src/xds/envoy-types.ts, run by `npm run build` (nothing here runs): the
// line after each expect-error directive must be a type error, or tsc fails the build for the
// unused directive, and each positive example must compile. Exported so noUnusedLocals keeps them.
import type { Service } from '../../src/model/mesh.js';
import type {
  Cluster, ClusterLoadAssignment, Listener, RouteConfiguration, Secret, UpstreamTlsContext,
} from '../../src/xds/envoy-types.js';
import { passthroughCluster, type outboundCluster } from '../../src/xds/generate/cds.js';
import { clusterLoadAssignment } from '../../src/xds/generate/eds.js';
import { grpcListeners } from '../../src/xds/generate/grpc-lds.js';
import { HCM_TYPE, ROUTER_TYPE } from '../../src/xds/generate/http-filters.js';
import type { serviceRoutes } from '../../src/xds/generate/http-routes.js';
import { duration, typed, u32 } from '../../src/xds/generate/proto-helpers.js';
import { fallthroughHost } from '../../src/xds/generate/sidecar-rds.js';

export const cluster: Cluster = {
  name: 'outbound|80||web.shop.svc.cluster.local',
  type: 'EDS',
  eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' } },
  connect_timeout: duration(10_000),
  lb_policy: 'RING_HASH',
  ring_hash_lb_config: { minimum_ring_size: { value: '1024' } },
  circuit_breakers: { thresholds: [{ max_requests: u32(100) }] },
  typed_extension_protocol_options: {
    'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': typed('envoy.extensions.upstreams.http.v3.HttpProtocolOptions', {
      explicit_http_config: { http2_protocol_options: {} },
    }),
  },
};

export const badClusters: readonly Cluster[] = [
  {
    name: 'c',
    // @ts-expect-error -- a misspelt field
    conect_timeout: { seconds: 1 },
  },
  // @ts-expect-error -- a misspelt field one message down
  { name: 'c', eds_cluster_config: { eds_confg: {} } },
  // @ts-expect-error -- an enum value that does not exist
  { name: 'c', lb_policy: 'ROUND_ROBINN' },
  // @ts-expect-error -- a wrapper field given its bare value
  { name: 'c', circuit_breakers: { thresholds: [{ max_requests: 100 }] } },
  // @ts-expect-error -- a Duration without seconds
  { name: 'c', connect_timeout: { nanos: 5 } },
];

export const listener: Listener = {
  name: 'virtualInbound',
  address: { socket_address: { address: '0.0.0.0', port_value: 15006 } },
  listener_filters: [{ name: 'envoy.filters.listener.original_dst', typed_config: typed('envoy.extensions.filters.listener.original_dst.v3.OriginalDst') }],
  filter_chains: [{
    filter_chain_match: { destination_port: u32(8080) },
    filters: [{
      name: 'envoy.filters.network.http_connection_manager',
      typed_config: typed(HCM_TYPE, {
        stat_prefix: 'inbound_0.0.0.0_8080',
        rds: { config_source: { ads: {}, resource_api_version: 'V3' }, route_config_name: '8080' },
        http_filters: [{ name: 'envoy.filters.http.router', typed_config: typed(ROUTER_TYPE) }],
      }),
    }],
  }],
  traffic_direction: 'INBOUND',
};

export const badListeners: readonly Listener[] = [
  {
    name: 'l',
    // @ts-expect-error -- a misspelt field
    filter_chain: [],
  },
  // @ts-expect-error -- a string where a message goes
  { name: 'l', address: '0.0.0.0:80' },
];

export const badAnys = [
  typed(HCM_TYPE, {
    // @ts-expect-error -- a misspelt field in an HttpConnectionManager
    stat_prefx: 'outbound_80',
  }),
  // @ts-expect-error -- the body of another message
  typed(HCM_TYPE, { cluster: 'outbound|80||web.shop.svc.cluster.local' }),
  // @ts-expect-error -- a type name the protos do not define
  typed('envoy.extensions.filters.http.router.v3.Routr'),
];

export const routes: RouteConfiguration = {
  name: '80',
  virtual_hosts: [{
    name: 'web.shop.svc.cluster.local:80',
    domains: ['web.shop.svc.cluster.local', 'web'],
    routes: [{ name: 'default', match: { prefix: '/' }, route: { cluster: 'outbound|80||web.shop.svc.cluster.local', timeout: duration(0) } }],
  }],
};

export const badRoutes: readonly RouteConfiguration[] = [
  // @ts-expect-error -- a misspelt field
  { name: '80', virtual_host: [] },
  // @ts-expect-error -- a misspelt field in a route, three messages down
  { name: '80', virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { clustr: 'c' } }] }] },
];

export const endpoints: ClusterLoadAssignment = {
  cluster_name: 'outbound|80||web.shop.svc.cluster.local',
  endpoints: [{
    locality: { zone: 'a' },
    lb_endpoints: [{ endpoint: { address: { socket_address: { address: '10.1.0.1', port_value: 8080 } } }, health_status: 'HEALTHY' }],
    load_balancing_weight: u32(1),
  }],
};

export const badEndpoints: readonly ClusterLoadAssignment[] = [
  // @ts-expect-error -- a misspelt field
  { clustername: 'c' },
  // @ts-expect-error -- a misspelt field in an endpoint's address
  { cluster_name: 'c', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '10.1.0.1', port: 80 } } } }] }] },
];

export const secret: Secret = {
  name: 'default',
  tls_certificate: {
    certificate_chain: { inline_bytes: 'LS0tLS1CRUdJTi4uLg==' },
    private_key: { inline_bytes: new Uint8Array([1, 2, 3]) },
  },
};

export const upstreamTls: UpstreamTlsContext = {
  sni: 'outbound_.80_._.web.shop.svc.cluster.local',
  common_tls_context: {
    tls_certificate_sds_secret_configs: [{ name: 'default', sds_config: { ads: {}, resource_api_version: 'V3' } }],
    validation_context_sds_secret_config: { name: 'ROOTCA', sds_config: { ads: {}, resource_api_version: 'V3' } },
  },
};

// What the generators return is the generated types themselves (src/xds/generate/resource.ts only
// adds that a name is set), so a misspelt field in a generator's value fails to compile there too.
export const generatedCluster: ReturnType<typeof outboundCluster> = {
  name: 'outbound|80||web.shop.svc.cluster.local',
  // @ts-expect-error -- a misspelt field in the Cluster a generator declares it returns
  conect_timeout: duration(10_000),
};

const SVC: Service = { name: 'web', namespace: 'shop', ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'http' }] };

export function misspeltOnGeneratedValues(): void {
  const c = passthroughCluster();
  // @ts-expect-error -- a field Cluster does not have, set on a generator's result
  c.lb_polcy = 'ROUND_ROBIN';
  const [l] = grpcListeners(SVC, SVC.ports[0], 'shop');
  // @ts-expect-error -- a misspelt field on a generated Listener
  l.api_listner = {};
  const host = fallthroughHost('ALLOW_ANY');
  // @ts-expect-error -- a misspelt field on a generated VirtualHost
  host.domain = ['*'];
  const cla = clusterLoadAssignment('c', SVC.ports[0], []);
  // @ts-expect-error -- a misspelt field on a generated ClusterLoadAssignment
  cla.endpoint = [];
}

export const badGeneratedRoutes: ReturnType<typeof serviceRoutes> = [
  // @ts-expect-error -- a misspelt field one message down in a generated Route
  { name: 'default', match: { prefix: '/' }, route: { clustr: 'c' } },
];

// @ts-expect-error -- a generated resource must carry its name (resources are keyed by it)
export const unnamed: ReturnType<typeof passthroughCluster> = { type: 'ORIGINAL_DST' };
