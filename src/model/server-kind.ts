// How the workload behind an endpoint receives traffic, read from its Pod's labels (the only
// Pod metadata the controller's cache keeps besides the service account; annotations are pruned):
//
// - `security.pilotfish.io/tlsMode: sidecar` — set by the injector on every Pod it injects
//   (Istio's `security.istio.io/tlsMode: istio`): an Envoy sidecar terminates mTLS.
// - `proxy.pilotfish.io/kind: grpc-server` — set by the user on Pods whose app is a proxyless
//   gRPC xDS server (gRFC A36, e.g. grpc-js-xds `XdsServer`) bootstrapped by pilotfish.
//
// Anything else is a workload outside the mesh: it cannot take mTLS.
import type { ServerKind } from './peer-authentication.js';

export const TLS_MODE_LABEL = 'security.pilotfish.io/tlsMode';
export const TLS_MODE_SIDECAR = 'sidecar';
export const PROXY_KIND_LABEL = 'proxy.pilotfish.io/kind';
export const PROXY_KIND_GRPC_SERVER = 'grpc-server';

export function serverKindOf(labels: Readonly<Record<string, string>>): ServerKind {
  if (labels[TLS_MODE_LABEL] === TLS_MODE_SIDECAR) return 'sidecar';
  if (labels[PROXY_KIND_LABEL] === PROXY_KIND_GRPC_SERVER) return 'proxyless';
  return 'none';
}
