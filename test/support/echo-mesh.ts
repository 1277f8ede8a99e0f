// The mesh the proxyless mTLS end-to-end tests serve from a config directory: Service echo in
// namespace shop, one endpoint on 127.0.0.1 whose Pod (service account echo) is a proxyless xDS
// server, so pilotfish generates its A36 Listener and the clients' A29 cluster.
import { once } from 'node:events';
import net, { type AddressInfo } from 'node:net';
import { PROXY_KIND_GRPC_SERVER, PROXY_KIND_LABEL } from '../../src/model/server-kind.js';

/** A loopback port nobody listens on right now (for a server that must bind a port known in advance). */
export async function freeLoopbackPort(): Promise<number> {
  const s = net.createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address() as AddressInfo;
  s.close();
  await once(s, 'close');
  return port;
}

/** Service, EndpointSlice and Pod of the echo server listening on 127.0.0.1:`port`, as YAML. */
export function proxylessEchoMeshYaml(port: number): string {
  return `apiVersion: v1
kind: Service
metadata: { name: echo, namespace: shop }
spec:
  selector: { app: echo }
  ports: [{ name: grpc, port: 50051, targetPort: ${port}, appProtocol: grpc }]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: echo-1, namespace: shop, labels: { kubernetes.io/service-name: echo } }
addressType: IPv4
ports: [{ name: grpc, port: ${port} }]
endpoints:
  - addresses: ["127.0.0.1"]
    conditions: { ready: true }
    targetRef: { kind: Pod, name: echo-0 }
---
apiVersion: v1
kind: Pod
metadata:
  name: echo-0
  namespace: shop
  labels: { app: echo, ${PROXY_KIND_LABEL}: ${PROXY_KIND_GRPC_SERVER} }
spec: { serviceAccountName: echo, containers: [{ name: app, image: echo }] }
status: { podIP: 127.0.0.1 }
`;
}

/** The namespace-wide PeerAuthentication of shop. */
export function shopPolicyYaml(mode: 'STRICT' | 'PERMISSIVE'): string {
  return `apiVersion: security.pilotfish.io/v1alpha1
kind: PeerAuthentication
metadata: { name: default, namespace: shop }
spec: { mtls: { mode: ${mode} } }
`;
}
