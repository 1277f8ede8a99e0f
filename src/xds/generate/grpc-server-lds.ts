// LDS for proxyless gRPC xDS servers (gRFC A36): an XdsServer bound to ip:port asks for the
// Listener `grpc/server?xds.resource.listening_address=ip:port` by name. pilotfish offers one per
// proxyless server Pod of the namespace (label proxy.pilotfish.io/kind: grpc-server) at its Pod IP,
// for every port a Service of the namespace targets on it, secured as the Pod's PeerAuthentication
// says for that port (tls.ts grpcServerListener) and guarded by the AccessPolicies that apply to
// the Pod (RBAC HTTP filters, gRFC A41: access-rbac.ts). Every gRPC proxy of the namespace is offered them
// all; gRPC subscribes by name, so a server receives only its own.
//
// A server must bind its Pod IP: gRPC compares the Listener's address with the bound one exactly,
// and 0.0.0.0 / [::] would name no Pod in a listener map shared by the namespace.
import { serviceKey, type Service } from '../../model/mesh.js';
import type { MeshIndex } from '../../model/mesh-index.js';
import { serverKindOf } from '../../model/server-kind.js';
import type { PodInfo } from '../../model/snapshot.js';
import type { Listener } from '../envoy-types.js';
import type { Named } from './resource.js';
import { grpcServerListener } from './tls.js';
import { accessHttpFilters } from './access-rbac.js';

function selects(svc: Service, labels: Readonly<Record<string, string>>): boolean {
  const entries = Object.entries(svc.selector ?? {});
  return entries.length > 0 && entries.every(([k, v]) => labels[k] === v);
}

/** The ports Services of the Pod's namespace send it traffic on (a named targetPort from the Pod's endpoint). */
function targetPorts(mesh: MeshIndex, pod: PodInfo): number[] {
  const ports = new Set<number>();
  for (const svc of mesh.servicesIn(pod.namespace)) {
    if (!selects(svc, pod.labels)) continue;
    for (const sp of svc.ports) {
      if (typeof sp.targetPort === 'number') {
        ports.add(sp.targetPort);
        continue;
      }
      const own = mesh.snapshot.endpoints.get(serviceKey(svc.namespace, svc.name))?.find((ep) => ep.podName === pod.name);
      const n = own?.ports[sp.name];
      if (n !== undefined) ports.add(n);
    }
  }
  return [...ports].sort((a, b) => a - b);
}

export function grpcServerListeners(mesh: MeshIndex, namespace: string): Named<Listener>[] {
  const out: Named<Listener>[] = [];
  for (const pod of mesh.snapshot.pods.values()) {
    if (pod.namespace !== namespace || pod.ip === undefined || serverKindOf(pod.labels) !== 'proxyless') continue;
    for (const port of targetPorts(mesh, pod)) {
      const workload = { namespace, labels: pod.labels };
      const mode = mesh.mtlsMode(workload, port);
      // AUDIT is left out: gRPC refuses the RBAC LOG action (the policy's status says so).
      const httpFilters = accessHttpFilters(mesh.accessFor(workload), { trustDomain: mesh.trustDomain, audit: false });
      const l = grpcServerListener({ address: pod.ip, port, mode, trustDomain: mesh.trustDomain, httpFilters });
      out.push({ ...l, name: l.name ?? '' });
    }
  }
  return out;
}
