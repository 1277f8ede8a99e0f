// The workload behind each sidecar class, kept from one snapshot to the next while what it is
// computed from is the same objects (its namespace's Services, the applied TrafficPolicies and
// PeerAuthentications and AccessPolicies and, for named target ports, the endpoints): a config change in another namespace then costs a class
// a few identity checks, not a pass over its namespace's services (generate/workload.ts).
import type { MeshIndex } from '../../model/mesh-index.js';
import type { ProxyIdentity } from '../../model/proxy.js';
import type { MeshSnapshot } from '../../model/snapshot.js';
import type { Service } from '../../model/mesh.js';
import { sameLabels, sidecarWorkload, workloadLabels, type Workload } from '../generate/workload.js';

/** What a workload was computed from, to reuse it in a later snapshot with the same inputs. */
interface WorkloadInputs {
  readonly services: readonly Service[];
  readonly policies: MeshSnapshot['routing']['applied']['policyByHost'];
  readonly endpoints: MeshSnapshot['endpoints'];
  /** The applied PeerAuthentications: they decide each port's mTLS mode. */
  readonly security: MeshSnapshot['security']['peerAuthentications'];
  /** The applied AccessPolicies: they decide the workload's RBAC filters. */
  readonly access: MeshSnapshot['access']['policies'];
  readonly workload: Workload;
}

/** Entries kept, least recently computed first out: a class that comes back later just computes again. */
const MAX_RECENT = 20_000;

function memoKey(p: ProxyIdentity): string {
  return JSON.stringify([p.namespace, p.podName ?? '', Object.entries(p.labels).sort()]);
}

export class WorkloadMemo {
  private readonly recent = new Map<string, WorkloadInputs>();
  /** Each class keeps its identity object: its key is serialized once, not on every config change. */
  private readonly keys = new WeakMap<ProxyIdentity, string>();

  /** The proxy's workload in the index's snapshot. */
  workloadOf(mesh: MeshIndex, proxy: ProxyIdentity): Workload {
    const snapshot = mesh.snapshot;
    let key = this.keys.get(proxy);
    if (key === undefined) this.keys.set(proxy, (key = memoKey(proxy)));
    const services = mesh.servicesIn(proxy.namespace);
    const policies = snapshot.routing.applied.policyByHost;
    const prev = this.recent.get(key);
    const security = snapshot.security.peerAuthentications;
    const access = snapshot.access.policies;
    if (prev && prev.services === services && prev.policies === policies && prev.security === security && prev.access === access && sameLabels(prev.workload.labels, workloadLabels(snapshot, proxy))
      && (prev.workload.endpointDependencies.size === 0 || prev.endpoints === snapshot.endpoints)) {
      return prev.workload;
    }
    const workload = sidecarWorkload(mesh, proxy);
    this.recent.delete(key);
    this.recent.set(key, { services, policies, endpoints: snapshot.endpoints, security, access, workload });
    if (this.recent.size > MAX_RECENT) this.recent.delete(this.recent.keys().next().value as string);
    return workload;
  }
}
