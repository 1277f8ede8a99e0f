// The xDS bootstrap a proxyless gRPC client needs (GRPC_XDS_BOOTSTRAP / GRPC_XDS_BOOTSTRAP_CONFIG).
import { META_KIND, META_NAMESPACE } from '../node-info.js';

export interface GrpcBootstrapOptions {
  nodeId: string;
  xdsAddress: string;
  namespace?: string;
  zone?: string;
}

export interface GrpcBootstrap {
  xds_servers: Array<{ server_uri: string; channel_creds: Array<{ type: string }>; server_features: string[] }>;
  node: { id: string; metadata: Record<string, string>; locality: { zone: string } };
}

export function grpcBootstrap(opts: GrpcBootstrapOptions): GrpcBootstrap {
  return {
    xds_servers: [{
      server_uri: opts.xdsAddress,
      // In-cluster traffic to the control plane is plaintext until SDS/mTLS lands.
      channel_creds: [{ type: 'insecure' }],
      server_features: ['xds_v3'],
    }],
    node: {
      id: opts.nodeId,
      metadata: { [META_KIND]: 'grpc', [META_NAMESPACE]: opts.namespace ?? 'default' },
      locality: { zone: opts.zone ?? '' },
    },
  };
}
