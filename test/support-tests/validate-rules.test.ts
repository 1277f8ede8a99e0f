import assert from 'node:assert/strict';
import { checkEncoded, checkObject, formatViolations, type Violation } from '../support/validate-rules.js';
import { lookupType } from '../../src/xds/protos.js';

const T = {
  cluster: 'envoy.config.cluster.v3.Cluster',
  listener: 'envoy.config.listener.v3.Listener',
  routeConfig: 'envoy.config.route.v3.RouteConfiguration',
  cla: 'envoy.config.endpoint.v3.ClusterLoadAssignment',
  hcm: 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
  router: 'envoy.extensions.filters.http.router.v3.Router',
  fault: 'envoy.extensions.filters.http.fault.v3.HTTPFault',
};

type Obj = { [k: string]: unknown };

/** An Any holding `obj` encoded as `typeName`, as generators put extension configs on the wire. */
function any(typeName: string, obj: Obj): Obj {
  const type = lookupType(typeName);
  return { type_url: `type.googleapis.com/${typeName}`, value: type.encode(type.fromObject(obj)).finish() };
}

function cluster(extra: Obj = {}): Obj {
  return {
    name: 'outbound|9080||reviews.shop.svc.cluster.local',
    type: 'EDS',
    eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' } },
    connect_timeout: { seconds: 1 },
    lb_policy: 'ROUND_ROBIN',
    ...extra,
  };
}

function hcm(extra: Obj = {}, routerConfig: Obj = {}): Obj {
  return {
    stat_prefix: 'outbound_0.0.0.0_9080',
    rds: { route_config_name: '9080', config_source: { ads: {}, resource_api_version: 'V3' } },
    http_filters: [{ name: 'envoy.filters.http.router', typed_config: any(T.router, routerConfig) }],
    ...extra,
  };
}

function listener(hcmConfig: Obj = hcm(), address: Obj = { socket_address: { address: '0.0.0.0', port_value: 9080 } }): Obj {
  return {
    name: '0.0.0.0_9080',
    address,
    filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: any(T.hcm, hcmConfig) }] }],
  };
}

function routeConfig(route: Obj = { cluster: 'outbound|9080||reviews.shop.svc.cluster.local' }, vhost: Obj = {}): Obj {
  return {
    name: '9080',
    virtual_hosts: [{
      name: 'reviews.shop.svc.cluster.local:9080',
      domains: ['reviews', 'reviews.shop.svc.cluster.local'],
      routes: [{ match: { prefix: '/' }, route }],
      ...vhost,
    }],
  };
}

function expectClean(typeName: string, obj: Obj): void {
  const v = checkObject(typeName, obj);
  assert.deepEqual(v, [], `expected no violations, got:\n${formatViolations(v)}`);
}

function expectViolation(vs: readonly Violation[], path: string, rule: string): void {
  assert.ok(vs.some((v) => v.path === path && v.rule === rule),
    `expected ${rule} at ${path}; got:\n${formatViolations(vs) || '(no violations)'}`);
}

describe('validate-rules checker (protoc-gen-validate annotations on decoded Envoy messages)', () => {
  describe('passes good messages', () => {
    it('an EDS Cluster', () => expectClean(T.cluster, cluster()));
    it('a Listener with an HTTP connection manager and router inside Anys', () => expectClean(T.listener, listener()));
    it('a RouteConfiguration with weighted clusters, retries and header matching', () => expectClean(T.routeConfig, routeConfig({
      weighted_clusters: { clusters: [{ name: 'a', weight: { value: 90 } }, { name: 'b', weight: { value: 10 } }] },
      timeout: { seconds: 15 },
      retry_policy: { retry_on: '5xx', num_retries: { value: 3 }, per_try_timeout: { nanos: 250000000 } },
    }, { request_headers_to_remove: ['x-secret'] })));
    it('a ClusterLoadAssignment', () => expectClean(T.cla, {
      cluster_name: 'outbound|9080||reviews.shop.svc.cluster.local',
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '10.0.0.1', port_value: 9080 } } } }] }],
    }));
    it('an HTTP fault filter with a delay', () => expectClean(T.fault, { delay: { fixed_delay: { seconds: 1 }, percentage: { numerator: 10 } } }));
  });

  describe('fails bad messages', () => {
    it('Cluster with an empty name (string.min_len)', () => {
      expectViolation(checkObject(T.cluster, cluster({ name: '' })), 'name', 'string.min_len');
    });

    it('Cluster with an undefined enum value (enum.defined_only)', () => {
      expectViolation(checkObject(T.cluster, cluster({ lb_policy: 99 })), 'lb_policy', 'enum.defined_only');
    });

    it('Cluster with a too-small DNS refresh rate (duration.gt) and a too-large ring (uint64.lte in a wrapper)', () => {
      const vs = checkObject(T.cluster, cluster({
        dns_refresh_rate: { nanos: 1000 },
        lb_policy: 'RING_HASH',
        ring_hash_lb_config: { minimum_ring_size: { value: 9000000 } },
      }));
      expectViolation(vs, 'dns_refresh_rate', 'duration.gt');
      expectViolation(vs, 'ring_hash_lb_config.minimum_ring_size', 'uint64.lte');
    });

    it('Listener whose socket address lacks its required port oneof and has an empty address', () => {
      const vs = checkObject(T.listener, listener(hcm(), { socket_address: { address: '' } }));
      expectViolation(vs, 'address.socket_address.port_specifier', 'oneof.required');
      expectViolation(vs, 'address.socket_address.address', 'string.min_len');
    });

    it('Listener whose HTTP connection manager (inside an Any) lacks stat_prefix and route_specifier', () => {
      const bad = hcm();
      delete bad.rds;
      const vs = checkObject(T.listener, listener({ ...bad, stat_prefix: '' }));
      const at = `filter_chains[0].filters[0].typed_config<${T.hcm}>`;
      expectViolation(vs, `${at}.stat_prefix`, 'string.min_len');
      expectViolation(vs, `${at}.route_specifier`, 'oneof.required');
    });

    it('RouteAction without its required cluster_specifier oneof', () => {
      expectViolation(checkObject(T.routeConfig, routeConfig({ timeout: { seconds: 1 } })), 'virtual_hosts[0].routes[0].route.cluster_specifier', 'oneof.required');
    });

    it('an Any containing an invalid Router config', () => {
      const vs = checkObject(T.listener, listener(hcm({}, { strict_check_headers: ['x-envoy-bogus'] })));
      expectViolation(vs, `filter_chains[0].filters[0].typed_config<${T.hcm}>.http_filters[0].typed_config<${T.router}>.strict_check_headers[0]`, 'string.in');
    });

    it('an Any with a type the protos do not know', () => {
      const l = listener();
      (l.filter_chains as Obj[])[0].filters = [{ name: 'x', typed_config: { type_url: 'type.googleapis.com/envoy.nope.Nope', value: new Uint8Array() } }];
      expectViolation(checkObject(T.listener, l), 'filter_chains[0].filters[0].typed_config.type_url', 'any.type_url');
    });

    it('virtual host with no domains (repeated.min_items) and a header name with a newline (well_known_regex)', () => {
      const vs = checkObject(T.routeConfig, routeConfig(undefined, { domains: [], request_headers_to_remove: ['x-bad\nname'] }));
      expectViolation(vs, 'virtual_hosts[0].domains', 'repeated.min_items');
      expectViolation(vs, 'virtual_hosts[0].request_headers_to_remove[0]', 'string.well_known_regex');
    });

    it('weighted clusters without clusters, and a port above 65535 (uint32.lte)', () => {
      expectViolation(checkObject(T.routeConfig, routeConfig({ weighted_clusters: { clusters: [] } })),
        'virtual_hosts[0].routes[0].route.weighted_clusters.clusters', 'repeated.min_items');
      expectViolation(checkObject(T.cla, {
        cluster_name: 'c',
        endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '10.0.0.1', port_value: 70000 } } } }] }],
      }), 'endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value', 'uint32.lte');
    });

    it('HTTP connection manager with max_request_headers_kb 0 (uint32.gt on a wrapper)', () => {
      expectViolation(checkObject(T.hcm, hcm({ max_request_headers_kb: { value: 0 } })), 'max_request_headers_kb', 'uint32.gt');
    });

    it('health check without timeout (duration.required) and thresholds (message.required)', () => {
      const vs = checkObject(T.cluster, cluster({ health_checks: [{ interval: { seconds: 5 }, tcp_health_check: {} }] }));
      expectViolation(vs, 'health_checks[0].timeout', 'duration.required');
      expectViolation(vs, 'health_checks[0].unhealthy_threshold', 'message.required');
      expectViolation(vs, 'health_checks[0].healthy_threshold', 'message.required');
    });

    it('fault delay of zero (duration.gt) and a fault abort without its oneof', () => {
      const vs = checkObject(T.fault, { delay: { fixed_delay: {} }, abort: { percentage: { numerator: 1 } } });
      expectViolation(vs, 'delay.fixed_delay', 'duration.gt');
      expectViolation(vs, 'abort.error_type', 'oneof.required');
    });

    it('a double below its minimum (double.gte on a wrapper)', () => {
      expectViolation(checkObject(T.cluster, cluster({ preconnect_policy: { per_upstream_preconnect_ratio: { value: 0.5 } } })),
        'preconnect_policy.per_upstream_preconnect_ratio', 'double.gte');
    });

    it('a map with too few pairs (map.min_pairs)', () => {
      expectViolation(checkObject('xds.type.matcher.v3.Matcher.MatcherTree.MatchMap', { map: {} }), 'map', 'map.min_pairs');
    });
  });

  it('checks bytes straight off the wire', () => {
    const type = lookupType(T.cluster);
    const bytes = type.encode(type.fromObject(cluster({ name: '' }))).finish();
    expectViolation(checkEncoded(T.cluster, bytes), 'name', 'string.min_len');
    assert.deepEqual(checkEncoded(T.cluster, type.encode(type.fromObject(cluster())).finish()), []);
  });
});
