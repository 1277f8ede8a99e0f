// Mutual TLS pieces of generated configuration, as pure builders of the generated Envoy types.
// Which pieces a proxy gets is decided elsewhere (model/peer-authentication.ts decides modes and
// what each endpoint accepts; src/security/GENERATION.md says which generator calls what).
//
// Sidecars get certificates over SDS from the pod agent on a Unix socket, under Istio's secret
// names: `default` (the workload's chain and key) and `ROOTCA` (the trust bundle). The socket is a
// static cluster of the Envoy bootstrap (sdsBootstrapCluster), never pushed over xDS, so
// certificates keep flowing while the control plane is away.
//
// Proxyless gRPC gets certificate provider instances (gRFC A29): the bootstrap maps an instance
// name to a file watcher on the files the pod agent writes, and CDS/LDS name only the instance.
// gRPC reads `tls_certificate_provider_instance` and `ca_certificate_provider_instance` (the
// deprecated `*_certificate_certificate_provider_instance` fields are ignored by grpc-js-xds 1.14)
// and checks SANs from `match_subject_alt_names` only (not the typed variant Envoy prefers).
import type { Protocol } from '../../model/mesh.js';
import type { EffectiveMtlsMode } from '../../model/peer-authentication.js';
import { trustDomainPrefix } from '../../model/spiffe.js';
import type {
  Cluster, DownstreamTlsContext, Listener, Secret, UpstreamTlsContext,
  envoy_config_cluster_v3_Cluster_TransportSocketMatch as TransportSocketMatch,
  envoy_config_core_v3_Metadata as Metadata,
  envoy_config_listener_v3_Filter as Filter,
  envoy_config_listener_v3_FilterChain as FilterChain,
  envoy_config_listener_v3_ListenerFilter as ListenerFilter,
  envoy_extensions_filters_network_http_connection_manager_v3_HttpFilter as HttpFilter,
  envoy_extensions_transport_sockets_tls_v3_CertificateProviderPluginInstance as ProviderInstance,
  envoy_extensions_transport_sockets_tls_v3_SdsSecretConfig as SdsSecretConfig,
  envoy_extensions_transport_sockets_tls_v3_SubjectAltNameMatcher as SubjectAltNameMatcher,
  envoy_type_matcher_v3_StringMatcher as StringMatcher,
} from '../envoy-types.js';
import { HCM_FILTER, HCM_TYPE, ROUTER_FILTER, ROUTER_TYPE } from './http-filters.js';
import { bool, duration, typed } from './proto-helpers.js';

export const TLS_TRANSPORT_SOCKET = 'envoy.transport_sockets.tls';
const RAW_BUFFER_TRANSPORT_SOCKET = 'envoy.transport_sockets.raw_buffer';
const UPSTREAM_TLS_TYPE = 'envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';
const DOWNSTREAM_TLS_TYPE = 'envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext';
const RAW_BUFFER_TYPE = 'envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer';
const TLS_INSPECTOR_FILTER = 'envoy.filters.listener.tls_inspector';
const TLS_INSPECTOR_TYPE = 'envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector';
const NETWORK_RBAC_FILTER = 'envoy.filters.network.rbac';
const NETWORK_RBAC_TYPE = 'envoy.extensions.filters.network.rbac.v3.RBAC';
const HTTP_PROTOCOL_OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

// ---------------------------------------------------------------------------------------------
// Sidecars: SDS from the pod agent

/** The bootstrap's static cluster that reaches the pod agent's SDS server. */
export const SDS_CLUSTER = 'sds-grpc';
/** Where the pod agent listens, relative to Envoy's working directory (/ in the injected container). */
export const DEFAULT_SDS_SOCKET = './var/run/pilotfish/sds.sock';
/** SDS secret with the workload's certificate chain and private key (Istio's name). */
export const WORKLOAD_SECRET = 'default';
/** SDS secret with the trust bundle: every root the mesh currently trusts (Istio's name). */
export const ROOT_CA_SECRET = 'ROOTCA';

/** Endpoint metadata filter and key that auto-mTLS matches on (Istio: tlsMode: istio). */
export const TRANSPORT_SOCKET_MATCH_FILTER = 'envoy.transport_socket_match';
export const TLS_MODE_KEY = 'tlsMode';
export const TLS_MODE_MESH = 'pilotfish';

function sdsSecretConfig(name: string): SdsSecretConfig {
  return {
    name,
    sds_config: {
      api_config_source: {
        api_type: 'GRPC',
        transport_api_version: 'V3',
        set_node_on_first_message_only: true,
        grpc_services: [{ envoy_grpc: { cluster_name: SDS_CLUSTER } }],
      },
      // Wait for the secret however long it takes: a listener or cluster without its certificate
      // must stay warming, never come up without TLS.
      initial_fetch_timeout: duration(0),
      resource_api_version: 'V3',
    },
  };
}

/**
 * The static cluster for the Envoy bootstrap: HTTP/2 (SDS is gRPC) over the pod agent's Unix
 * socket. `socketPath` must fit a sockaddr_un (107 bytes on Linux).
 */
export function sdsBootstrapCluster(socketPath: string = DEFAULT_SDS_SOCKET): Cluster {
  return {
    name: SDS_CLUSTER,
    type: 'STATIC',
    connect_timeout: duration(1000),
    typed_extension_protocol_options: {
      [HTTP_PROTOCOL_OPTIONS]: typed(HTTP_PROTOCOL_OPTIONS, { explicit_http_config: { http2_protocol_options: {} } }),
    },
    load_assignment: {
      cluster_name: SDS_CLUSTER,
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { pipe: { path: socketPath } } } }] }],
    },
  };
}

/** The workload certificate as the pod agent serves it over SDS (PEM text, chain leaf first). */
export function workloadCertificateSecret(certificateChainPem: string, privateKeyPem: string): Secret {
  return {
    name: WORKLOAD_SECRET,
    tls_certificate: { certificate_chain: { inline_string: certificateChainPem }, private_key: { inline_string: privateKeyPem } },
  };
}

/** The trust bundle as the pod agent serves it over SDS: during a root rotation, old and new roots. */
export function rootCaSecret(trustBundlePem: string): Secret {
  return { name: ROOT_CA_SECRET, validation_context: { trusted_ca: { inline_string: trustBundlePem } } };
}

function uriSanMatchers(spiffeIds: readonly string[], trustDomain: string): SubjectAltNameMatcher[] {
  const ids = [...new Set(spiffeIds)].sort();
  // No known account (no endpoints yet): still only identities of this mesh.
  if (ids.length === 0) return [{ san_type: 'URI', matcher: { prefix: trustDomainPrefix(trustDomain) } }];
  return ids.map((id) => ({ san_type: 'URI', matcher: { exact: id } }));
}

/** ALPN a sidecar offers upstream: what the cluster's codec speaks. */
function upstreamAlpn(protocol: Protocol): string[] {
  if (protocol === 'grpc' || protocol === 'http2') return ['h2'];
  if (protocol === 'http') return ['http/1.1'];
  return [];
}

export interface SidecarUpstreamTlsOptions {
  /** The outbound cluster name: what the server side sees as SNI. */
  readonly sni: string;
  /** SPIFFE IDs the server may present: one per service account behind the destination's endpoints. */
  readonly spiffeIds: readonly string[];
  readonly trustDomain: string;
  /** Protocol of the service port: picks the ALPN offered. */
  readonly protocol: Protocol;
}

/** What a sidecar presents and checks when it sends mTLS to a meshed endpoint. */
export function sidecarUpstreamTls(o: SidecarUpstreamTlsOptions): UpstreamTlsContext {
  const alpn = upstreamAlpn(o.protocol);
  return {
    common_tls_context: {
      tls_certificate_sds_secret_configs: [sdsSecretConfig(WORKLOAD_SECRET)],
      combined_validation_context: {
        default_validation_context: { match_typed_subject_alt_names: uriSanMatchers(o.spiffeIds, o.trustDomain) },
        validation_context_sds_secret_config: sdsSecretConfig(ROOT_CA_SECRET),
      },
      ...(alpn.length > 0 ? { alpn_protocols: alpn } : {}),
    },
    sni: o.sni,
  };
}

/**
 * Auto-mTLS for a sidecar's outbound cluster: endpoints whose metadata carries meshEndpointMetadata
 * get `tls`; every other endpoint (no sidecar, DISABLE, a proxyless server that is not STRICT)
 * gets plaintext. Envoy takes the first entry whose match is a subset of the endpoint's
 * metadata, so the empty match of the second entry is the fallback.
 */
export function autoMtlsTransportSocketMatches(tls: UpstreamTlsContext): TransportSocketMatch[] {
  return [
    {
      name: `${TLS_MODE_KEY}-${TLS_MODE_MESH}`,
      match: { fields: { [TLS_MODE_KEY]: { stringValue: TLS_MODE_MESH } } },
      transport_socket: { name: TLS_TRANSPORT_SOCKET, typed_config: typed(UPSTREAM_TLS_TYPE, tls) },
    },
    {
      name: `${TLS_MODE_KEY}-disabled`,
      match: {},
      transport_socket: { name: RAW_BUFFER_TRANSPORT_SOCKET, typed_config: typed(RAW_BUFFER_TYPE) },
    },
  ];
}

/** Metadata of an LbEndpoint that accepts mTLS on its port (see mtlsAcceptance). */
export function meshEndpointMetadata(): Metadata {
  return { filter_metadata: { [TRANSPORT_SOCKET_MATCH_FILTER]: { fields: { [TLS_MODE_KEY]: { stringValue: TLS_MODE_MESH } } } } };
}

/**
 * What a sidecar's inbound side presents and demands: a client certificate chaining to the
 * trust bundle and naming an identity of this trust domain. Which identities may call what is
 * authorization (issue 17), not this.
 */
export function sidecarDownstreamTls(trustDomain: string): DownstreamTlsContext {
  return {
    common_tls_context: {
      tls_certificate_sds_secret_configs: [sdsSecretConfig(WORKLOAD_SECRET)],
      combined_validation_context: {
        default_validation_context: { match_typed_subject_alt_names: uriSanMatchers([], trustDomain) },
        validation_context_sds_secret_config: sdsSecretConfig(ROOT_CA_SECRET),
      },
      alpn_protocols: ['h2', 'http/1.1'],
    },
    require_client_certificate: bool(true),
  };
}

/** Lets inbound filter chains match on transport_protocol ("tls" or "raw_buffer"). */
export function tlsInspectorListenerFilter(): ListenerFilter {
  return { name: TLS_INSPECTOR_FILTER, typed_config: typed(TLS_INSPECTOR_TYPE) };
}

/** Closes every connection: an RBAC filter with rules and no policy allows nothing. */
function refuseAllFilter(statPrefix: string): Filter {
  return { name: NETWORK_RBAC_FILTER, typed_config: typed(NETWORK_RBAC_TYPE, { stat_prefix: statPrefix, rules: { action: 'ALLOW' } }) };
}

/**
 * The inbound filter chains for one port (a chain with `filter_chain_match.destination_port`) or
 * for passthrough traffic (no destination_port), under `mode`:
 *
 * - DISABLE: the chain as given: plaintext, whatever the bytes are.
 * - PERMISSIVE: `<name>-mtls` for transport_protocol "tls" (terminates mTLS, then the chain's
 *   filters) and `<name>-plaintext` for "raw_buffer".
 * - STRICT: `<name>-mtls` and `<name>-plaintext-refused`, which closes plaintext connections —
 *   without it they would fall through to virtualInbound's default chain and reach the app.
 *
 * PERMISSIVE and STRICT need tlsInspectorListenerFilter on the listener.
 */
export function inboundChainsForMode(mode: EffectiveMtlsMode, chain: FilterChain, tls: DownstreamTlsContext): FilterChain[] {
  if (mode === 'DISABLE') return [chain];
  const name = chain.name ?? 'inbound';
  const match = chain.filter_chain_match ?? {};
  const mtls: FilterChain = {
    ...chain,
    name: `${name}-mtls`,
    filter_chain_match: { ...match, transport_protocol: 'tls' },
    transport_socket: { name: TLS_TRANSPORT_SOCKET, typed_config: typed(DOWNSTREAM_TLS_TYPE, tls) },
  };
  const plaintextMatch = { ...match, transport_protocol: 'raw_buffer' };
  if (mode === 'PERMISSIVE') return [mtls, { ...chain, name: `${name}-plaintext`, filter_chain_match: plaintextMatch }];
  const port = match.destination_port?.value;
  return [mtls, {
    name: `${name}-plaintext-refused`,
    filter_chain_match: plaintextMatch,
    filters: [refuseAllFilter(`inbound_plaintext_refused_${port ?? 'passthrough'}`)],
  }];
}

// ---------------------------------------------------------------------------------------------
// Proxyless gRPC: certificate provider instances (gRFC A29) and xDS-enabled servers (gRFC A36)

/** The instance name the generated bootstrap defines (xds/bootstrap/grpc-bootstrap.ts). */
export const GRPC_CERTIFICATE_PROVIDER = 'default';

/** gRFC A36's resource name of the Listener for a server bound to `%s` = "ip:port". */
export const GRPC_SERVER_LISTENER_TEMPLATE = 'grpc/server?xds.resource.listening_address=%s';

function instance(name: string): ProviderInstance {
  return { instance_name: name };
}

function sanStringMatchers(spiffeIds: readonly string[], trustDomain: string): StringMatcher[] {
  const ids = [...new Set(spiffeIds)].sort();
  if (ids.length === 0) return [{ prefix: trustDomainPrefix(trustDomain) }];
  // gRPC compares an exact matcher with each SAN ("URI:<id>" stripped of its type) for equality.
  return ids.map((id) => ({ exact: id }));
}

export interface GrpcTlsOptions {
  readonly trustDomain: string;
  /** Certificate provider instance for both the identity and the roots; default GRPC_CERTIFICATE_PROVIDER. */
  readonly providerInstance?: string;
}

/** What a proxyless client presents and checks when its cluster uses mTLS (clientSendsMtls). */
export function grpcUpstreamTls(spiffeIds: readonly string[], o: GrpcTlsOptions): UpstreamTlsContext {
  const name = o.providerInstance ?? GRPC_CERTIFICATE_PROVIDER;
  return {
    common_tls_context: {
      tls_certificate_provider_instance: instance(name),
      validation_context: {
        ca_certificate_provider_instance: instance(name),
        match_subject_alt_names: sanStringMatchers(spiffeIds, o.trustDomain),
      },
    },
  };
}

/** A proxyless cluster's transport socket: set it as Cluster.transport_socket (gRPC ignores transport_socket_matches). */
export function grpcClusterTransportSocket(tls: UpstreamTlsContext): NonNullable<Cluster['transport_socket']> {
  return { name: TLS_TRANSPORT_SOCKET, typed_config: typed(UPSTREAM_TLS_TYPE, tls) };
}

/** gRFC A29 server side: a client certificate chaining to the provider's roots is required. */
function grpcDownstreamTls(providerInstance: string): DownstreamTlsContext {
  return {
    common_tls_context: {
      tls_certificate_provider_instance: instance(providerInstance),
      validation_context: { ca_certificate_provider_instance: instance(providerInstance) },
    },
    require_client_certificate: bool(true),
  };
}

/** `ip:port`, with brackets for IPv6, as grpc-js-xds formats the address it binds. */
function hostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

export function grpcServerListenerName(address: string, port: number): string {
  return GRPC_SERVER_LISTENER_TEMPLATE.replace('%s', hostPort(address, port));
}

export interface GrpcServerListenerOptions extends GrpcTlsOptions {
  /** The IP the server binds, exactly as it passes it to XdsServer.bindAsync (gRPC compares them). */
  readonly address: string;
  readonly port: number;
  readonly mode: EffectiveMtlsMode;
  /** HTTP filters to run before the router: the server's RBAC filters (gRFC A41), if any. */
  readonly httpFilters?: readonly HttpFilter[];
}

/**
 * The Listener of an xDS-enabled gRPC server (gRFC A36) for one bound address. One chain serves
 * every connection: gRPC picks chains by addresses only and cannot tell TLS from plaintext, so
 * STRICT means mTLS with a required client certificate and PERMISSIVE or DISABLE mean plaintext
 * (see mtlsAcceptance, which tells clients the same). Requests are served locally: a route with
 * non_forwarding_action, then the router filter, as A36 requires.
 */
export function grpcServerListener(o: GrpcServerListenerOptions): Listener {
  const secure = o.mode === 'STRICT';
  const hcm = typed(HCM_TYPE, {
    // Differs by security on purpose: grpc-js-xds 1.14 decides whether a new Listener changes
    // anything by comparing filter bytes, and its check misses a transport socket that appears or
    // goes away — with one stat prefix, a switch between STRICT and PERMISSIVE would be ignored.
    stat_prefix: `inbound_${o.port}_${secure ? 'mtls' : 'plaintext'}`,
    route_config: {
      name: 'inbound',
      virtual_hosts: [{ name: 'inbound', domains: ['*'], routes: [{ match: { prefix: '/' }, non_forwarding_action: {} }] }],
    },
    http_filters: [...(o.httpFilters ?? []), { name: ROUTER_FILTER, typed_config: typed(ROUTER_TYPE) }],
  });
  const chain: FilterChain = {
    name: secure ? 'inbound-mtls' : 'inbound-plaintext',
    filters: [{ name: HCM_FILTER, typed_config: hcm }],
    ...(secure ? {
      transport_socket: {
        name: TLS_TRANSPORT_SOCKET,
        typed_config: typed(DOWNSTREAM_TLS_TYPE, grpcDownstreamTls(o.providerInstance ?? GRPC_CERTIFICATE_PROVIDER)),
      },
    } : {}),
  };
  return {
    name: grpcServerListenerName(o.address, o.port),
    address: { socket_address: { address: o.address, port_value: o.port } },
    default_filter_chain: chain,
    traffic_direction: 'INBOUND',
  };
}
