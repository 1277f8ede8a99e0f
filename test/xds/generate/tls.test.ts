// The mTLS builders of src/xds/generate/tls.ts: every output encodes with the real Envoy protos,
// decodes to the same value and satisfies their validate.rules; proxyless outputs pass
// @grpc/grpc-js-xds's own resource validation against the generated bootstrap, which is itself
// checked by grpc-js-xds's bootstrap validator. Plus what each output means: which endpoints get
// mTLS, which plaintext connections are refused, which identities a client accepts.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as grpcXds from '@grpc/grpc-js-xds';
import {
  CERT_CHAIN_FILE, DEFAULT_CERT_REFRESH_MS, grpcBootstrap, KEY_FILE, ROOT_CERT_FILE, type FileWatcherProvider,
  type GrpcBootstrap, type GrpcBootstrapOptions, type GrpcCertificateOptions,
} from '../../../src/xds/bootstrap/grpc-bootstrap.js';
import { outboundCluster } from '../../../src/xds/generate/cds.js';
import {
  autoMtlsTransportSocketMatches, DEFAULT_SDS_SOCKET, GRPC_CERTIFICATE_PROVIDER, GRPC_SERVER_LISTENER_TEMPLATE, grpcClusterTransportSocket,
  grpcServerListener, grpcServerListenerName, grpcUpstreamTls, inboundChainsForMode, meshEndpointMetadata, ROOT_CA_SECRET, rootCaSecret,
  SDS_CLUSTER, sdsBootstrapCluster, sidecarDownstreamTls, sidecarUpstreamTls, TLS_MODE_KEY, TLS_MODE_MESH, TLS_TRANSPORT_SOCKET,
  tlsInspectorListenerFilter, TRANSPORT_SOCKET_MATCH_FILTER, WORKLOAD_SECRET, workloadCertificateSecret, type GrpcServerListenerOptions,
  type GrpcTlsOptions, type SidecarUpstreamTlsOptions,
} from '../../../src/xds/generate/tls.js';
import type { EffectiveMtlsMode } from '../../../src/model/peer-authentication.js';
import { spiffeId } from '../../../src/model/spiffe.js';
import type { Service, ServicePort } from '../../../src/model/mesh.js';
import { lookupType } from '../../../src/xds/protos.js';
import type { Listener } from '../../../src/xds/envoy-types.js';
import { checkObject, formatViolations } from '../../support/validate-rules.js';
import { roundTripProblems } from '../../support/envoy-round-trip.js';

grpcXds.register();

type Obj = { [k: string]: unknown };

const TD = 'cluster.local';
const REVIEWS = spiffeId(TD, 'shop', 'reviews');
const REVIEWS_V2 = spiffeId(TD, 'shop', 'reviews-v2');

/** Encodes, decodes, compares and checks validate.rules; fails with every problem found. */
function assertValid(typeName: string, value: object): void {
  const obj = value as Obj;
  const problems = roundTripProblems(typeName, obj);
  const violations = checkObject(typeName, obj);
  if (violations.length > 0) problems.push(`validate.rules:\n${formatViolations(violations)}`);
  assert.deepEqual(problems, [], `${typeName} is not valid`);
}

// ---------------------------------------------------------------------------------------------
// grpc-js-xds's own validation, with the generated bootstrap's certificate providers

interface GrpcResourceType { decode(context: unknown, resource: { type_url: string; value: Uint8Array }): { error?: string } }
interface ValidatedBootstrap { certificateProviders: Record<string, { pluginName: string; config: Record<string, unknown> }>; serverListenerResourceNameTemplate: string | null }

const require = createRequire(import.meta.url);
const grpcXdsSrc = path.dirname(require.resolve('@grpc/grpc-js-xds'));
const { validateBootstrapConfig, formatTemplateString } = require(path.join(grpcXdsSrc, 'xds-bootstrap.js')) as {
  validateBootstrapConfig(obj: unknown): ValidatedBootstrap;
  formatTemplateString(template: string, value: string): string;
};

function grpcType(file: string, exported: string): GrpcResourceType {
  const mod = require(path.join(grpcXdsSrc, 'xds-resource-type', file)) as Record<string, { get(): GrpcResourceType }>;
  return mod[exported].get();
}

const CERTS: GrpcCertificateOptions = { directory: '/var/run/pilotfish/certs' };

/** `null`: a bootstrap without certificate providers. */
function bootstrap(certificates: GrpcCertificateOptions | null = CERTS): ValidatedBootstrap {
  return validateBootstrapConfig(grpcBootstrap({ nodeId: 'n', xdsAddress: '127.0.0.1:15010', xdsServer: true, ...(certificates ? { certificates } : {}) }));
}

/** What grpc-js-xds says when it decodes the resource under this bootstrap: undefined when it accepts it. */
function grpcRejection(typeName: string, value: Obj, boot: ValidatedBootstrap = bootstrap()): string | undefined {
  const T = lookupType(typeName);
  const bytes = T.encode(T.fromObject(value)).finish();
  const type = typeName.endsWith('Listener') ? grpcType('listener-resource-type.js', 'ListenerResourceType')
    : grpcType('cluster-resource-type.js', 'ClusterResourceType');
  return type.decode({ bootstrap: boot, server: {} }, { type_url: `type.googleapis.com/${typeName}`, value: bytes }).error;
}

// ---------------------------------------------------------------------------------------------

const svc: Service = { name: 'reviews', namespace: 'shop', clusterIP: '10.96.0.10', ports: [], selector: { app: 'reviews' } };
const HTTP: ServicePort = { name: 'http', port: 9080, targetPort: 9080, protocol: 'http' };
const GRPC: ServicePort = { name: 'grpc', port: 50051, targetPort: 50051, protocol: 'grpc' };

function upstream(o: Partial<SidecarUpstreamTlsOptions> = {}) {
  return sidecarUpstreamTls({ sni: 'outbound|9080||reviews.shop.svc.cluster.local', spiffeIds: [REVIEWS_V2, REVIEWS, REVIEWS], trustDomain: TD, protocol: 'http', ...o });
}

/** Envoy's rule: the first transport_socket_matches entry whose fields all equal the endpoint's. */
function transportSocketFor(cluster: Obj, endpointMetadata: Obj | undefined): string | undefined {
  const fm = (endpointMetadata?.filter_metadata as Record<string, { fields: Record<string, { stringValue: string }> }> | undefined)?.[TRANSPORT_SOCKET_MATCH_FILTER]?.fields ?? {};
  for (const m of cluster.transport_socket_matches as { match: { fields?: Record<string, { stringValue: string }> }; transport_socket: { name: string } }[]) {
    if (Object.entries(m.match.fields ?? {}).every(([k, v]) => fm[k]?.stringValue === v.stringValue)) return m.transport_socket.name;
  }
  return undefined;
}

describe('tls: sidecar SDS', () => {
  it('the bootstrap cluster reaches the pod agent over a Unix socket, speaking HTTP/2', () => {
    const c = sdsBootstrapCluster();
    assertValid('envoy.config.cluster.v3.Cluster', c);
    assert.equal(c.name, SDS_CLUSTER);
    assert.deepEqual(c.load_assignment?.endpoints?.[0].lb_endpoints?.[0].endpoint?.address, { pipe: { path: DEFAULT_SDS_SOCKET } });
    assert.equal(sdsBootstrapCluster('/run/other.sock').load_assignment?.endpoints?.[0].lb_endpoints?.[0].endpoint?.address?.pipe?.path, '/run/other.sock');
  });

  it('secrets carry Istio\'s names and the PEM text the agent holds', () => {
    const cert = workloadCertificateSecret('-----BEGIN CERTIFICATE-----\nA\n-----END CERTIFICATE-----\n', '-----BEGIN PRIVATE KEY-----\nB\n-----END PRIVATE KEY-----\n');
    const root = rootCaSecret('-----BEGIN CERTIFICATE-----\nOLD\n-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\nNEW\n-----END CERTIFICATE-----\n');
    assertValid('envoy.extensions.transport_sockets.tls.v3.Secret', cert);
    assertValid('envoy.extensions.transport_sockets.tls.v3.Secret', root);
    assert.deepEqual([cert.name, root.name], [WORKLOAD_SECRET, ROOT_CA_SECRET]);
    assert.match(root.validation_context?.trusted_ca?.inline_string ?? '', /OLD[\s\S]*NEW/);
  });
});

describe('tls: sidecar outbound (auto-mTLS)', () => {
  it('checks exactly the destination\'s SPIFFE IDs (deduplicated, sorted), with the cluster name as SNI', () => {
    const tls = upstream();
    assertValid('envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext', tls);
    const v = tls.common_tls_context?.combined_validation_context;
    assert.deepEqual(v?.default_validation_context?.match_typed_subject_alt_names, [
      { san_type: 'URI', matcher: { exact: REVIEWS } }, { san_type: 'URI', matcher: { exact: REVIEWS_V2 } },
    ]);
    assert.equal(v?.validation_context_sds_secret_config?.name, ROOT_CA_SECRET);
    assert.equal(tls.common_tls_context?.tls_certificate_sds_secret_configs?.[0].name, WORKLOAD_SECRET);
    assert.equal(tls.sni, 'outbound|9080||reviews.shop.svc.cluster.local');
  });

  it('without a known service account still accepts only this trust domain, never any certificate of the CA', () => {
    const sans = upstream({ spiffeIds: [] }).common_tls_context?.combined_validation_context?.default_validation_context?.match_typed_subject_alt_names;
    assert.deepEqual(sans, [{ san_type: 'URI', matcher: { prefix: 'spiffe://cluster.local/' } }]);
  });

  it('offers the ALPN the cluster speaks', () => {
    assert.deepEqual(upstream({ protocol: 'grpc' }).common_tls_context?.alpn_protocols, ['h2']);
    assert.deepEqual(upstream({ protocol: 'http2' }).common_tls_context?.alpn_protocols, ['h2']);
    assert.deepEqual(upstream({ protocol: 'http' }).common_tls_context?.alpn_protocols, ['http/1.1']);
    assert.equal(upstream({ protocol: 'tcp' }).common_tls_context?.alpn_protocols, undefined);
  });

  it('a cluster sends mTLS exactly to endpoints marked as meshed, plaintext to the rest', () => {
    const cluster: Obj = { ...outboundCluster(svc, HTTP, 'sidecar'), transport_socket_matches: autoMtlsTransportSocketMatches(upstream()) };
    assertValid('envoy.config.cluster.v3.Cluster', cluster);
    assert.equal(transportSocketFor(cluster, meshEndpointMetadata() as Obj), TLS_TRANSPORT_SOCKET);
    assert.equal(transportSocketFor(cluster, undefined), 'envoy.transport_sockets.raw_buffer');
    assert.equal(transportSocketFor(cluster, { filter_metadata: { [TRANSPORT_SOCKET_MATCH_FILTER]: { fields: { [TLS_MODE_KEY]: { stringValue: 'disabled' } } } } }),
      'envoy.transport_sockets.raw_buffer');
  });

  it('endpoint metadata for a mix of meshed and unmeshed endpoints encodes in a ClusterLoadAssignment', () => {
    const cla = {
      cluster_name: 'outbound|9080||reviews.shop.svc.cluster.local',
      endpoints: [{
        load_balancing_weight: { value: 2 },
        lb_endpoints: [
          { endpoint: { address: { socket_address: { address: '10.1.0.1', port_value: 9080 } } }, metadata: meshEndpointMetadata() },
          { endpoint: { address: { socket_address: { address: '10.1.0.2', port_value: 9080 } } } },
        ],
      }],
    };
    assertValid('envoy.config.endpoint.v3.ClusterLoadAssignment', cla);
    assert.deepEqual(meshEndpointMetadata(), { filter_metadata: { 'envoy.transport_socket_match': { fields: { tlsMode: { stringValue: TLS_MODE_MESH } } } } });
  });
});

describe('tls: sidecar inbound', () => {
  const port = 9080;
  const base = {
    name: `inbound|${port}||`,
    filter_chain_match: { destination_port: { value: port } },
    filters: [{ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy', stat_prefix: 'in', cluster: `inbound|${port}||` } }],
  };
  const passthrough = { name: 'virtualInbound-passthrough', filters: base.filters };
  const tls = sidecarDownstreamTls(TD);

  function inbound(mode: EffectiveMtlsMode): Listener {
    return {
      name: 'virtualInbound',
      address: { socket_address: { address: '0.0.0.0', port_value: 15006 } },
      listener_filters: [tlsInspectorListenerFilter()],
      filter_chains: [...inboundChainsForMode(mode, base, tls), ...inboundChainsForMode(mode, passthrough, tls)],
      default_filter_chain: passthrough,
    };
  }

  it('requires a client certificate of this trust domain, chained to ROOTCA', () => {
    assertValid('envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext', tls);
    assert.deepEqual(tls.require_client_certificate, { value: true });
    assert.deepEqual(tls.common_tls_context?.combined_validation_context?.default_validation_context?.match_typed_subject_alt_names,
      [{ san_type: 'URI', matcher: { prefix: 'spiffe://cluster.local/' } }]);
    assert.equal(tls.common_tls_context?.combined_validation_context?.validation_context_sds_secret_config?.name, ROOT_CA_SECRET);
  });

  for (const mode of ['PERMISSIVE', 'STRICT', 'DISABLE'] as const) {
    it(`${mode}: the listener encodes, passes validate.rules and has no two chains with the same match`, () => {
      const l = inbound(mode);
      assertValid('envoy.config.listener.v3.Listener', l);
      const matches = (l.filter_chains ?? []).map((c) => JSON.stringify(c.filter_chain_match ?? {}));
      assert.equal(new Set(matches).size, matches.length, `duplicate filter_chain_match: ${matches.join(' ')}`);
    });
  }

  it('PERMISSIVE: mTLS and plaintext each get the port\'s filters', () => {
    const chains = inboundChainsForMode('PERMISSIVE', base, tls);
    assert.deepEqual(chains.map((c) => [c.name, c.filter_chain_match?.transport_protocol, c.transport_socket?.name]), [
      [`inbound|${port}||-mtls`, 'tls', TLS_TRANSPORT_SOCKET],
      [`inbound|${port}||-plaintext`, 'raw_buffer', undefined],
    ]);
    for (const c of chains) {
      assert.deepEqual(c.filters, base.filters);
      assert.deepEqual(c.filter_chain_match?.destination_port, { value: port });
    }
  });

  it('STRICT: plaintext is refused on the port and in passthrough, never handed to the app', () => {
    for (const chain of [base, passthrough]) {
      const [mtls, plaintext] = inboundChainsForMode('STRICT', chain, tls);
      assert.equal(mtls.filter_chain_match?.transport_protocol, 'tls');
      assert.deepEqual(mtls.filters, base.filters);
      assert.equal(plaintext.filter_chain_match?.transport_protocol, 'raw_buffer');
      assert.equal(plaintext.transport_socket, undefined);
      // One filter: RBAC with rules and no policy, which allows nothing. No tcp_proxy, no HCM.
      assert.deepEqual(plaintext.filters?.map((f) => f.name), ['envoy.filters.network.rbac']);
      const rbac = plaintext.filters?.[0].typed_config as unknown as { rules: Obj };
      assert.deepEqual(rbac.rules, { action: 'ALLOW' });
    }
  });

  it('DISABLE: the chain is unchanged, with no TLS', () => {
    assert.deepEqual(inboundChainsForMode('DISABLE', base, tls), [base]);
  });
});

describe('tls: proxyless gRPC', () => {
  const opts: GrpcTlsOptions = { trustDomain: TD };

  it('the bootstrap passes grpc-js-xds\'s validator, with a file watcher on the agent\'s files and the A36 template', () => {
    const options: GrpcBootstrapOptions = { nodeId: 'n', xdsAddress: '127.0.0.1:15010', certificates: { directory: '/certs', refreshIntervalMs: 1500 }, xdsServer: true };
    const raw: GrpcBootstrap = grpcBootstrap(options);
    const provider: FileWatcherProvider | undefined = raw.certificate_providers?.[GRPC_CERTIFICATE_PROVIDER];
    assert.deepEqual(provider?.config, {
      certificate_file: `/certs/${CERT_CHAIN_FILE}`, private_key_file: `/certs/${KEY_FILE}`, ca_certificate_file: `/certs/${ROOT_CERT_FILE}`,
      refresh_interval: '1.5s',
    });
    const v = validateBootstrapConfig(raw);
    assert.deepEqual(v.certificateProviders[GRPC_CERTIFICATE_PROVIDER].config, {
      certificateFile: '/certs/cert-chain.pem', privateKeyFile: '/certs/key.pem', caCertificateFile: '/certs/root-cert.pem', refreshIntervalMs: 1500,
    });
    assert.equal(v.serverListenerResourceNameTemplate, GRPC_SERVER_LISTENER_TEMPLATE);
    assert.equal(bootstrap().certificateProviders[GRPC_CERTIFICATE_PROVIDER].config.refreshIntervalMs, DEFAULT_CERT_REFRESH_MS);
  });

  it('a bootstrap without the options is what it was: no providers, no server template', () => {
    const raw = grpcBootstrap({ nodeId: 'n', xdsAddress: '127.0.0.1:15010' });
    assert.equal(raw.certificate_providers, undefined);
    assert.equal(raw.server_listener_resource_name_template, undefined);
  });

  it('the A36 listener name is what grpc-js-xds asks for when a server binds the address', () => {
    assert.equal(grpcServerListenerName('10.1.2.3', 50051), formatTemplateString(GRPC_SERVER_LISTENER_TEMPLATE, '10.1.2.3:50051'));
    assert.equal(grpcServerListenerName('::1', 50051), 'grpc/server?xds.resource.listening_address=[::1]:50051');
  });

  it('a client cluster with mTLS is valid for Envoy\'s protos and accepted by grpc-js-xds, checking the SPIFFE IDs', () => {
    const tls = grpcUpstreamTls([REVIEWS_V2, REVIEWS], opts);
    assertValid('envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext', tls);
    assert.deepEqual(tls.common_tls_context?.validation_context?.match_subject_alt_names, [{ exact: REVIEWS }, { exact: REVIEWS_V2 }]);
    assert.deepEqual(grpcUpstreamTls([], opts).common_tls_context?.validation_context?.match_subject_alt_names, [{ prefix: 'spiffe://cluster.local/' }]);
    const cluster: Obj = { ...outboundCluster(svc, GRPC, 'grpc'), transport_socket: grpcClusterTransportSocket(tls) };
    assertValid('envoy.config.cluster.v3.Cluster', cluster);
    assert.equal(grpcRejection('envoy.config.cluster.v3.Cluster', cluster), undefined);
  });

  it('grpc-js-xds refuses the cluster when the bootstrap has no such certificate provider', () => {
    const cluster: Obj = { ...outboundCluster(svc, GRPC, 'grpc'), transport_socket: grpcClusterTransportSocket(grpcUpstreamTls([REVIEWS], opts)) };
    assert.match(grpcRejection('envoy.config.cluster.v3.Cluster', cluster, bootstrap(null)) ?? '', /Unmatched .*instance_name: default/);
    const other = { ...cluster, transport_socket: grpcClusterTransportSocket(grpcUpstreamTls([REVIEWS], { ...opts, providerInstance: 'other' })) };
    assert.match(grpcRejection('envoy.config.cluster.v3.Cluster', other) ?? '', /Unmatched .*instance_name: other/);
  });

  function serverListener(mode: EffectiveMtlsMode, o: Partial<GrpcServerListenerOptions> = {}): Listener {
    return grpcServerListener({ address: '10.1.2.3', port: 50051, mode, trustDomain: TD, ...o });
  }

  for (const mode of ['STRICT', 'PERMISSIVE', 'DISABLE'] as const) {
    it(`${mode}: the server listener is valid for Envoy's protos and accepted by grpc-js-xds`, () => {
      const l = serverListener(mode);
      assertValid('envoy.config.listener.v3.Listener', l);
      assert.equal(grpcRejection('envoy.config.listener.v3.Listener', l as Obj), undefined);
      assert.equal(l.name, 'grpc/server?xds.resource.listening_address=10.1.2.3:50051');
      assert.deepEqual(l.address, { socket_address: { address: '10.1.2.3', port_value: 50051 } });
    });
  }

  it('STRICT demands a client certificate chained to the provider\'s roots; PERMISSIVE and DISABLE serve plaintext', () => {
    const strict = serverListener('STRICT').default_filter_chain?.transport_socket;
    assert.equal(strict?.name, TLS_TRANSPORT_SOCKET);
    const ctx = strict?.typed_config as unknown as { require_client_certificate: unknown; common_tls_context: Obj };
    assert.deepEqual(ctx.require_client_certificate, { value: true });
    assert.deepEqual(ctx.common_tls_context, {
      tls_certificate_provider_instance: { instance_name: GRPC_CERTIFICATE_PROVIDER },
      validation_context: { ca_certificate_provider_instance: { instance_name: GRPC_CERTIFICATE_PROVIDER } },
    });
    assert.equal(serverListener('PERMISSIVE').default_filter_chain?.transport_socket, undefined);
    assert.equal(serverListener('DISABLE').default_filter_chain?.transport_socket, undefined);
  });

  it('grpc-js-xds refuses a STRICT listener whose provider the bootstrap lacks', () => {
    assert.match(grpcRejection('envoy.config.listener.v3.Listener', serverListener('STRICT') as Obj, bootstrap(null)) ?? '', /Unmatched .*instance_name: default/);
    assert.equal(grpcRejection('envoy.config.listener.v3.Listener', serverListener('PERMISSIVE') as Obj, bootstrap(null)), undefined);
  });

  it('an IPv6 server listener names the bracketed address and binds the bare one', () => {
    const l = serverListener('STRICT', { address: '::1' });
    assertValid('envoy.config.listener.v3.Listener', l);
    assert.equal(l.address?.socket_address?.address, '::1');
    assert.match(l.name ?? '', /\[::1\]:50051$/);
  });
});
