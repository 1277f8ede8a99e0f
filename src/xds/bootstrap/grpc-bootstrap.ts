// The xDS bootstrap a proxyless gRPC client needs (GRPC_XDS_BOOTSTRAP / GRPC_XDS_BOOTSTRAP_CONFIG).
import path from 'node:path';
import { GRPC_CERTIFICATE_PROVIDER, GRPC_SERVER_LISTENER_TEMPLATE } from '../generate/tls.js';
import { META_KIND, META_NAMESPACE } from '../node-info.js';

/** Files the pod agent writes for proxyless workloads, in one directory (Istio's names). */
export const CERT_CHAIN_FILE = 'cert-chain.pem';
export const KEY_FILE = 'key.pem';
export const ROOT_CERT_FILE = 'root-cert.pem';

/**
 * How often gRPC's file watcher re-reads the files. The agent renews long before expiry (at half
 * the lifetime), so a minute of lag is harmless; tests with second-long lifetimes set it lower.
 */
export const DEFAULT_CERT_REFRESH_MS = 60_000;

export interface GrpcCertificateOptions {
  /** Directory holding CERT_CHAIN_FILE, KEY_FILE and ROOT_CERT_FILE. */
  readonly directory: string;
  readonly refreshIntervalMs?: number;
}

export interface GrpcBootstrapOptions {
  nodeId: string;
  xdsAddress: string;
  namespace?: string;
  zone?: string;
  /** Adds the `file_watcher` certificate provider that generated TLS contexts name (gRFC A29). */
  certificates?: GrpcCertificateOptions;
  /** Adds server_listener_resource_name_template, without which XdsServer refuses to start (gRFC A36). */
  xdsServer?: boolean;
}

export interface FileWatcherProvider {
  plugin_name: 'file_watcher';
  config: { certificate_file: string; private_key_file: string; ca_certificate_file: string; refresh_interval: string };
}

export interface GrpcBootstrap {
  xds_servers: Array<{ server_uri: string; channel_creds: Array<{ type: string }>; server_features: string[] }>;
  node: { id: string; metadata: Record<string, string>; locality: { zone: string } };
  certificate_providers?: Record<string, FileWatcherProvider>;
  server_listener_resource_name_template?: string;
}

/** A protobuf JSON duration, as gRPC parses it: whole seconds with up to nine decimals. */
function jsonDuration(ms: number): string {
  return `${Number((Math.max(ms, 1) / 1000).toFixed(3))}s`;
}

export function grpcBootstrap(opts: GrpcBootstrapOptions): GrpcBootstrap {
  const b: GrpcBootstrap = {
    xds_servers: [{
      server_uri: opts.xdsAddress,
      // In-cluster traffic to the control plane is plaintext until it gets its own mTLS.
      channel_creds: [{ type: 'insecure' }],
      server_features: ['xds_v3'],
    }],
    node: {
      id: opts.nodeId,
      metadata: { [META_KIND]: 'grpc', [META_NAMESPACE]: opts.namespace ?? 'default' },
      locality: { zone: opts.zone ?? '' },
    },
  };
  if (opts.certificates) {
    const dir = opts.certificates.directory;
    b.certificate_providers = {
      [GRPC_CERTIFICATE_PROVIDER]: {
        plugin_name: 'file_watcher',
        config: {
          certificate_file: path.posix.join(dir, CERT_CHAIN_FILE),
          private_key_file: path.posix.join(dir, KEY_FILE),
          ca_certificate_file: path.posix.join(dir, ROOT_CERT_FILE),
          refresh_interval: jsonDuration(opts.certificates.refreshIntervalMs ?? DEFAULT_CERT_REFRESH_MS),
        },
      },
    };
  }
  if (opts.xdsServer) b.server_listener_resource_name_template = GRPC_SERVER_LISTENER_TEMPLATE;
  return b;
}
