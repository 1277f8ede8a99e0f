// The checks the golden tests rely on must themselves catch what they are for.
import assert from 'node:assert/strict';
import { CLUSTER as CDS, ROUTE as RDS } from '../../src/xds/types.js';
import { roundTripProblems } from '../support/envoy-round-trip.js';
import { grpcRejection } from '../support/grpc-xds-decode.js';
import { envoyProblems, grpcProblems, proxyProblems, type CheckedConfig } from '../support/xds-resource-checks.js';

const CLUSTER = 'envoy.config.cluster.v3.Cluster';
const ROUTE_CONFIG = 'envoy.config.route.v3.RouteConfiguration';

function cluster(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'c', type: 'EDS', eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' }, service_name: 'c' },
    connect_timeout: { seconds: 1 }, lb_policy: 'ROUND_ROBIN', ...extra,
  };
}

describe('xDS resource checks used by the generation tests', () => {
  describe('roundTripProblems', () => {
    it('accepts a well-formed object, default scalars included', () => {
      assert.deepEqual(roundTripProblems(CLUSTER, cluster({ connect_timeout: { seconds: 0 }, circuit_breakers: { thresholds: [{ max_requests: { value: 0 } }] } })), []);
    });

    it('reports a field the proto does not have (protobufjs would drop it silently)', () => {
      const problems = roundTripProblems(CLUSTER, cluster({ lb_polcy: 'RING_HASH' }));
      assert.equal(problems.length, 1);
      assert.match(problems[0], /lb_polcy: envoy\.config\.cluster\.v3\.Cluster has no field "lb_polcy"/);
    });

    it('reports an unknown field inside an Any', () => {
      const problems = roundTripProblems(ROUTE_CONFIG, {
        name: 'r',
        virtual_hosts: [{
          name: 'v', domains: ['*'],
          routes: [{
            match: { prefix: '/' }, route: { cluster: 'c' },
            typed_per_filter_config: { 'envoy.filters.http.fault': { '@type': 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault', abrt: {} } },
          }],
        }],
      });
      assert.equal(problems.length, 1);
      assert.match(problems[0], /HTTPFault>\.abrt: .*has no field "abrt"/);
    });

    it('reports an Any naming a type the protos do not define', () => {
      const problems = roundTripProblems(CLUSTER, cluster({
        typed_extension_protocol_options: { x: { '@type': 'type.googleapis.com/envoy.nope.v3.Nothing' } },
      }));
      assert.ok(problems.some((p) => /names type envoy\.nope\.v3\.Nothing, which the Envoy protos do not define/.test(p)), problems.join('\n'));
    });

    it('reports a value that does not survive encoding', () => {
      const problems = roundTripProblems(CLUSTER, cluster({ lb_policy: 'NOT_A_POLICY' }));
      assert.ok(problems.length > 0);
    });
  });

  describe('grpcRejection', () => {
    it('is undefined for what gRPC accepts', () => {
      assert.equal(grpcRejection(CLUSTER, cluster()), undefined);
    });

    it('gives gRPC\'s own NACK message for what it refuses', () => {
      assert.match(grpcRejection(CLUSTER, cluster({ lb_policy: 'LEAST_REQUEST' })) ?? '', /unsupported lb_policy: LEAST_REQUEST/);
      assert.match(grpcRejection(ROUTE_CONFIG, {
        name: 'r', virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/' }, redirect: { path_redirect: '/x' } }] }],
      }) ?? '', /unsupported action: redirect/);
    });
  });

  describe('envoyProblems / grpcProblems / proxyProblems', () => {
    const config: CheckedConfig = new Map([
      [CDS, new Map([['good', cluster({ name: 'good' })], ['typo', cluster({ name: 'typo', lb_polcy: 'RANDOM' })], ['lr', cluster({ name: 'lr', lb_policy: 'LEAST_REQUEST' })]])],
      [RDS, new Map([['no-domains', { name: 'no-domains', virtual_hosts: [{ name: 'v', domains: [] }] }]])],
    ]);

    it('name each bad resource with its type, and pass the good ones', () => {
      const envoy = envoyProblems(config);
      assert.equal(envoy.length, 2, envoy.join('\n'));
      assert.match(envoy[0], /^CDS typo: lb_polcy: .*has no field "lb_polcy"/);
      assert.match(envoy[1], /^RDS no-domains: validate\.rules:\n[\s\S]*domains/);
      const good: CheckedConfig = new Map([[CDS, new Map([['good', cluster()]])]]);
      assert.deepEqual(grpcProblems(good), []);
    });

    it('add what gRPC refuses only for a proxyless client', () => {
      assert.ok(grpcProblems(config).some((p) => /^CDS lr: gRPC rejects it: .*LEAST_REQUEST/.test(p)), grpcProblems(config).join('\n'));
      assert.deepEqual(proxyProblems('sidecar', config), envoyProblems(config));
      assert.deepEqual(proxyProblems('grpc', config), [...envoyProblems(config), ...grpcProblems(config)]);
    });
  });
});
