// What a proxyless gRPC client would NACK: @grpc/grpc-js-xds's own resource decoders, reached
// through its package files because it exports no validation API.
import { createRequire } from 'node:module';
import path from 'node:path';
import { lookupType } from '../../src/xds/protos.js';
import { grpcBootstrap } from '../../src/xds/bootstrap/grpc-bootstrap.js';
import { enableGrpcRbac } from './grpc-rbac.js';

type Obj = { [k: string]: unknown };

interface GrpcResourceType { decode(context: unknown, resource: { type_url: string; value: Uint8Array }): { error?: string } }

const require = createRequire(import.meta.url);
const grpcXdsSrc = path.dirname(require.resolve('@grpc/grpc-js-xds'));
const { validateBootstrapConfig } = require(path.join(grpcXdsSrc, 'xds-bootstrap.js')) as { validateBootstrapConfig(obj: unknown): unknown };

/**
 * The bootstrap resources are decoded under: pilotfish's own, as `pilotfish bootstrap --kind grpc
 * --cert-dir … --xds-server` makes it (validated by grpc-js-xds), so the certificate provider
 * that generated mTLS contexts name exists — as it does in every pod the agent serves.
 */
function meshBootstrap(): unknown {
  return validateBootstrapConfig(grpcBootstrap({
    nodeId: 'checks', xdsAddress: '127.0.0.1:15010', certificates: { directory: '/var/run/pilotfish/certs' }, xdsServer: true,
  }));
}

function grpcType(file: string, exported: string): GrpcResourceType {
  const mod = require(path.join(grpcXdsSrc, 'xds-resource-type', file)) as Record<string, { get(): GrpcResourceType }>;
  return mod[exported].get();
}

const GRPC_TYPES: Record<string, () => GrpcResourceType> = {
  'envoy.config.listener.v3.Listener': () => grpcType('listener-resource-type.js', 'ListenerResourceType'),
  'envoy.config.route.v3.RouteConfiguration': () => grpcType('route-config-resource-type.js', 'RouteConfigurationResourceType'),
  'envoy.config.cluster.v3.Cluster': () => grpcType('cluster-resource-type.js', 'ClusterResourceType'),
  'envoy.config.endpoint.v3.ClusterLoadAssignment': () => grpcType('endpoint-resource-type.js', 'EndpointResourceType'),
};

/**
 * What @grpc/grpc-js-xds says when it decodes the resource: undefined when it accepts it, else its
 * NACK message.
 */
export function grpcRejection(typeName: string, generated: Obj): string | undefined {
  // The decoders know the HTTP filters only once registered; register() runs once however often called.
  // RBAC (gRFC A41) is registered too: pilotfish's server Listeners carry it, for servers that enable it.
  enableGrpcRbac();
  const type = lookupType(typeName);
  const value = type.encode(type.fromObject(generated)).finish();
  const context = { bootstrap: meshBootstrap(), server: {} };
  const result = GRPC_TYPES[typeName]().decode(context, { type_url: `type.googleapis.com/${typeName}`, value });
  return result.error;
}
