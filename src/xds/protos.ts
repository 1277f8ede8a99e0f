// Loads the Envoy/xDS protos that @grpc/grpc-js-xds ships under deps/, so every resource we
// generate is encoded by the same definitions the real clients decode with.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import path from 'node:path';
import protobuf from 'protobufjs';

const require = createRequire(import.meta.url);

/** Every top-level proto the control plane encodes, directly or inside an Any. */
const PROTO_FILES: readonly string[] = [
  'envoy/service/discovery/v3/ads.proto',
  'envoy/service/discovery/v3/discovery.proto',
  'envoy/service/listener/v3/lds.proto',
  'envoy/service/route/v3/rds.proto',
  'envoy/service/cluster/v3/cds.proto',
  'envoy/service/endpoint/v3/eds.proto',
  'envoy/config/listener/v3/listener.proto',
  'envoy/config/route/v3/route.proto',
  'envoy/config/cluster/v3/cluster.proto',
  'envoy/config/endpoint/v3/endpoint.proto',
  'envoy/config/bootstrap/v3/bootstrap.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
  'envoy/extensions/filters/http/fault/v3/fault.proto',
  'envoy/extensions/filters/http/local_ratelimit/v3/local_rate_limit.proto',
  'envoy/extensions/filters/listener/original_dst/v3/original_dst.proto',
  'envoy/extensions/filters/listener/http_inspector/v3/http_inspector.proto',
  'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
  'envoy/extensions/load_balancing_policies/ring_hash/v3/ring_hash.proto',
  'envoy/extensions/load_balancing_policies/round_robin/v3/round_robin.proto',
  'envoy/extensions/load_balancing_policies/least_request/v3/least_request.proto',
  'envoy/extensions/load_balancing_policies/random/v3/random.proto',
  'envoy/extensions/load_balancing_policies/wrr_locality/v3/wrr_locality.proto',
  'envoy/extensions/transport_sockets/tls/v3/tls.proto',
  'envoy/extensions/transport_sockets/tls/v3/secret.proto',
  'envoy/extensions/transport_sockets/raw_buffer/v3/raw_buffer.proto',
  'envoy/extensions/filters/http/rbac/v3/rbac.proto',
  'envoy/extensions/filters/network/rbac/v3/rbac.proto',
  'envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector.proto',
  'envoy/service/secret/v3/sds.proto',
];

function depsDir(): string {
  // The package's main file lives in build/src; deps/ sits at the package root.
  const main = require.resolve('@grpc/grpc-js-xds');
  let dir = path.dirname(main);
  while (!existsSync(path.join(dir, 'deps'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('cannot find deps/ of @grpc/grpc-js-xds; is it installed?');
    dir = up;
  }
  return path.join(dir, 'deps');
}

function includeDirs(): string[] {
  const deps = depsDir();
  const protobufjsDir = path.dirname(require.resolve('protobufjs/package.json'));
  return [
    path.join(deps, 'envoy-api'),
    path.join(deps, 'xds'),
    path.join(deps, 'googleapis'),
    path.join(deps, 'protoc-gen-validate'),
    // descriptor.proto and friends, which validate.proto imports.
    protobufjsDir,
  ];
}

let cached: protobuf.Root | undefined;

/** The loaded root, with proto field names kept (snake_case), as Envoy's docs and YAML use them. */
export function envoyRoot(): protobuf.Root {
  if (cached) return cached;
  const dirs = includeDirs();
  const root = new protobuf.Root();
  root.resolvePath = (_origin: string, target: string): string | null => {
    if (path.isAbsolute(target) && existsSync(target)) return target;
    for (const dir of dirs) {
      const candidate = path.join(dir, target);
      if (existsSync(candidate)) return candidate;
    }
    return null;
  };
  root.loadSync([...PROTO_FILES], { keepCase: true });
  root.resolveAll();
  cached = root;
  return root;
}

export function lookupType(name: string): protobuf.Type {
  return envoyRoot().lookupType(name);
}
