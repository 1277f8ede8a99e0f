import { DEFAULT_SDS_SOCKET, SDS_CLUSTER, sdsBootstrapCluster } from '../../src/xds/generate/tls.js';
import assert from 'node:assert/strict';
import { lookupType } from '../../src/xds/protos.js';
import { proxyIdentityFromNode } from '../../src/xds/cache/proxy-identity.js';
import { sidecarBootstrap, sidecarNodeId, XDS_CLUSTER, ADMIN_CLUSTER } from '../../src/webhook/envoy-bootstrap.js';
import { protoJsonRoundTrip, protoJsonToObject, type Json } from '../support/proto-json.js';
import { checkEncoded, formatViolations } from '../support/validate-rules.js';

const BOOTSTRAP = 'envoy.config.bootstrap.v3.Bootstrap';

interface SocketAddress { socket_address: { address: string; port_value: number } }
interface Route { match: { path: string }; route: { cluster: string; prefix_rewrite: string } }
/** The parts of the bootstrap these tests read. */
interface BootstrapShape {
  node: { id: string; metadata: Record<string, unknown> };
  admin: { address: SocketAddress };
  dynamic_resources: { ads_config: { api_type: string; grpc_services: Array<{ envoy_grpc: { cluster_name: string } }> } };
  static_resources: {
    clusters: Array<{
      name: string; type: string;
      load_assignment: { endpoints: Array<{ lb_endpoints: Array<{ endpoint: { address: SocketAddress } }> }> };
      typed_extension_protocol_options?: Record<string, { explicit_http_config: unknown }>;
    }>;
    listeners: Array<{
      address: SocketAddress;
      filter_chains: Array<{ filters: Array<{ typed_config: { route_config: { virtual_hosts: Array<{ routes: Route[] }> } } }> }>;
    }>;
  };
}

function literal() {
  return sidecarBootstrap({
    nodeId: sidecarNodeId('10.1.2.3', 'web-0', 'shop'),
    cluster: 'web.shop',
    namespace: 'shop',
    podName: 'web-0',
    instanceIp: '10.1.2.3',
    serviceAccount: 'web',
    labels: { app: 'web', version: 'v1' },
    xds: { host: 'pilotfish.pilotfish-system.svc', port: 15010 },
    appAddress: '10.1.2.3',
    appProbes: [{ path: '/app-health/web/livez', port: 8080, appPath: '/healthz' }],
  });
}

describe('webhook/bootstrap', () => {
  it('encodes with the real envoy.config.bootstrap.v3.Bootstrap and round-trips unchanged', () => {
    const input = literal() as Json;
    const { bytes, back } = protoJsonRoundTrip(lookupType(BOOTSTRAP), input);
    assert.ok(bytes.length > 200);
    assert.deepEqual(back, input);
    const violations = checkEncoded(BOOTSTRAP, bytes);
    assert.deepEqual(violations, [], formatViolations(violations));
  });

  it('also round-trips with Kubernetes $(VAR) placeholders in place of the pod identity', () => {
    const input = sidecarBootstrap({
      nodeId: sidecarNodeId('$(INSTANCE_IP)', '$(POD_NAME)', '$(POD_NAMESPACE)'),
      cluster: 'web.$(POD_NAMESPACE)',
      namespace: '$(POD_NAMESPACE)', podName: '$(POD_NAME)', instanceIp: '$(INSTANCE_IP)',
      serviceAccount: '$(SERVICE_ACCOUNT)',
      xds: { host: '10.0.0.5', port: 15010 },
      appAddress: '$(INSTANCE_IP)',
      appProbes: [{ path: '/app-health/a/readyz', port: 9000, appPath: '/ready?full=1' }],
    }) as Json;
    const { bytes, back } = protoJsonRoundTrip(lookupType(BOOTSTRAP), input);
    assert.deepEqual(back, input);
    assert.deepEqual(checkEncoded(BOOTSTRAP, bytes), []);
  });

  it('the round-trip check itself rejects an unknown field and a bad enum value', () => {
    const withTypo = literal() as { [k: string]: Json };
    withTypo.admin = { adress: {} };
    assert.throws(() => protoJsonToObject(lookupType(BOOTSTRAP), withTypo), /adress: unknown field/);
    const badEnum = literal() as { dynamic_resources: { ads_config: { api_type: string } } };
    badEnum.dynamic_resources.ads_config.api_type = 'DELTA';
    assert.throws(() => protoJsonToObject(lookupType(BOOTSTRAP), badEnum as unknown as Json), /not a value of/);
  });

  it('points ADS (delta) at the xds-grpc HTTP/2 cluster, admin on loopback', () => {
    const b = literal() as unknown as BootstrapShape;
    assert.equal(b.dynamic_resources.ads_config.api_type, 'DELTA_GRPC');
    assert.equal(b.dynamic_resources.ads_config.grpc_services[0].envoy_grpc.cluster_name, XDS_CLUSTER);
    const xds = b.static_resources.clusters.find((c) => c.name === XDS_CLUSTER)!;
    assert.equal(xds.type, 'STRICT_DNS');
    assert.deepEqual(xds.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address,
      { address: 'pilotfish.pilotfish-system.svc', port_value: 15010 });
    assert.deepEqual(xds.typed_extension_protocol_options?.['envoy.extensions.upstreams.http.v3.HttpProtocolOptions']
      .explicit_http_config, { http2_protocol_options: {} });
    assert.deepEqual(b.admin.address.socket_address, { address: '127.0.0.1', port_value: 15000 });
    const ready = b.static_resources.listeners.find((l) => l.address.socket_address.port_value === 15021)!;
    const routes = ready.filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes;
    assert.deepEqual(routes[0], { match: { path: '/healthz/ready' }, route: { cluster: ADMIN_CLUSTER, prefix_rewrite: '/ready' } });
    assert.deepEqual(routes[1].match, { path: '/app-health/web/livez' });
    assert.equal(routes[1].route.prefix_rewrite, '/healthz');
  });

  it('has the static sds-grpc cluster on the pod agent\'s socket, HTTP/2, the cluster generated TLS contexts name', () => {
    const b = literal() as unknown as BootstrapShape;
    const sds = b.static_resources.clusters.find((c) => c.name === SDS_CLUSTER);
    assert.ok(sds, 'the bootstrap carries sds-grpc: certificates never depend on xDS');
    assert.deepEqual((sds.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address as unknown as { pipe: unknown }).pipe, { path: DEFAULT_SDS_SOCKET });
    assert.deepEqual(sds.typed_extension_protocol_options?.['envoy.extensions.upstreams.http.v3.HttpProtocolOptions']
      .explicit_http_config, { http2_protocol_options: {} });
  });

  it('injected: xDS and SDS go through the pod agent\'s Unix sockets, and the result passes the Bootstrap proto and its rules', () => {
    const input = sidecarBootstrap({
      nodeId: sidecarNodeId('$(INSTANCE_IP)', '$(POD_NAME)', '$(POD_NAMESPACE)'),
      cluster: 'web.$(POD_NAMESPACE)',
      namespace: '$(POD_NAMESPACE)', podName: '$(POD_NAME)', instanceIp: '$(INSTANCE_IP)',
      serviceAccount: '$(SERVICE_ACCOUNT)',
      xds: { socket: '/var/run/pilotfish/xds.sock' },
      sdsSocket: '/var/run/pilotfish/sds.sock',
    });
    const { bytes, back } = protoJsonRoundTrip(lookupType(BOOTSTRAP), input as Json);
    assert.deepEqual(back, input);
    const violations = checkEncoded(BOOTSTRAP, bytes);
    assert.deepEqual(violations, [], formatViolations(violations));

    type PipeCluster = { name: string; type: string; connect_timeout?: string;
      load_assignment: { endpoints: Array<{ lb_endpoints: Array<{ endpoint: { address: { pipe?: { path: string }; socket_address?: unknown } } }> }> };
      typed_extension_protocol_options?: Record<string, { explicit_http_config: unknown }> };
    const clusters = (input as unknown as { static_resources: { clusters: PipeCluster[] } }).static_resources.clusters;
    const address = (c: PipeCluster | undefined) => c?.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address;
    const xds = clusters.find((c) => c.name === XDS_CLUSTER);
    assert.deepEqual(address(xds), { pipe: { path: '/var/run/pilotfish/xds.sock' } }, 'never the control plane directly');
    assert.equal(xds?.type, 'STATIC');
    assert.ok(xds?.typed_extension_protocol_options, 'HTTP/2 (gRPC) to the agent');
    // The cluster every generated SDS config names (src/xds/generate/tls.ts), on the agent's socket.
    const sds = clusters.find((c) => c.name === SDS_CLUSTER);
    assert.deepEqual(address(sds), { pipe: { path: '/var/run/pilotfish/sds.sock' } });
    assert.equal(sds?.connect_timeout, '1s');
    assert.equal(sdsBootstrapCluster().name, SDS_CLUSTER);
  });

  it('without an SDS socket the sds-grpc cluster is on the default socket: generated TLS contexts always name it', () => {
    const clusters = (literal() as unknown as BootstrapShape).static_resources.clusters;
    assert.deepEqual(clusters.map((c) => c.name).filter((n) => n === SDS_CLUSTER), [SDS_CLUSTER]);
  });

  it('node id and metadata parse back to the same identity in model/proxy', () => {
    const b = literal() as unknown as BootstrapShape;
    const id = proxyIdentityFromNode({ id: b.node.id, metadata: b.node.metadata });
    assert.deepEqual(id, {
      id: 'sidecar~10.1.2.3~web-0.shop~shop.svc.cluster.local',
      kind: 'sidecar', namespace: 'shop', labels: { app: 'web', version: 'v1' },
      podName: 'web-0', ip: '10.1.2.3', serviceAccount: 'web',
    });
  });
});
