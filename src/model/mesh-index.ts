// What generation looks up in a snapshot again and again, computed once per snapshot: Services by
// namespace, service ports by number, and each host's TrafficPolicy resolved per port and subset
// (effective-policy.ts). Generators read it and hold nothing themselves.
//
// Whoever keeps indexes across snapshots (the xDS cache) builds each from the one before
// (`next`): a namespace whose Services are the same objects keeps its list object, and an
// unchanged TrafficPolicy its resolution, so memos downstream can compare them by identity (the
// store keeps unchanged Services and applied routing identical). Lazy: a snapshot nobody
// generates from (an endpoint change) costs nothing to index.
import type { Service, ServicePort } from './mesh.js';
import { resolvePolicy, type EffectivePolicy } from './effective-policy.js';
import type { TrafficPolicy } from './routing.js';
import type { MeshSnapshot } from './snapshot.js';

export interface ServicePortRef {
  readonly svc: Service;
  readonly port: ServicePort;
}

const NO_SERVICES: readonly Service[] = [];

function sameServices(a: readonly Service[], b: readonly Service[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class MeshIndex {
  private byNamespace: ReadonlyMap<string, readonly Service[]> | undefined;
  /** The lists of the latest earlier index that built them: unchanged namespaces keep theirs. */
  private earlierLists: ReadonlyMap<string, readonly Service[]> | undefined;
  private byPort: ReadonlyMap<number, readonly ServicePortRef[]> | undefined;
  /** Shared along the chain of indexes; entries die with their TrafficPolicy. */
  private readonly resolved: WeakMap<TrafficPolicy, EffectivePolicy>;

  constructor(readonly snapshot: MeshSnapshot, previous?: MeshIndex) {
    this.earlierLists = previous?.byNamespace ?? previous?.earlierLists;
    this.resolved = previous?.resolved ?? new WeakMap();
  }

  /** The index of `snapshot`, keeping what is unchanged from this one. */
  next(snapshot: MeshSnapshot): MeshIndex {
    return snapshot === this.snapshot ? this : new MeshIndex(snapshot, this);
  }

  /** The snapshot's services in `namespace`, in snapshot order. */
  servicesIn(namespace: string): readonly Service[] {
    if (!this.byNamespace) {
      const fresh = new Map<string, Service[]>();
      for (const svc of this.snapshot.services.values()) {
        let list = fresh.get(svc.namespace);
        if (!list) fresh.set(svc.namespace, (list = []));
        list.push(svc);
      }
      const byNamespace = new Map<string, readonly Service[]>();
      for (const [ns, list] of fresh) {
        const before = this.earlierLists?.get(ns);
        byNamespace.set(ns, before && sameServices(before, list) ? before : list);
      }
      this.byNamespace = byNamespace;
      this.earlierLists = undefined;
    }
    return this.byNamespace.get(namespace) ?? NO_SERVICES;
  }

  /** Service ports by number, in ascending order of the number. */
  portsInMesh(): ReadonlyMap<number, readonly ServicePortRef[]> {
    if (!this.byPort) {
      const byPort = new Map<number, ServicePortRef[]>();
      for (const svc of this.snapshot.services.values()) {
        for (const port of svc.ports) {
          let list = byPort.get(port.port);
          if (!list) byPort.set(port.port, (list = []));
          list.push({ svc, port });
        }
      }
      this.byPort = new Map([...byPort].sort((a, b) => a[0] - b[0]));
    }
    return this.byPort;
  }

  /** The applied TrafficPolicy of a host (service key), resolved. */
  policyOf(hostKey: string): EffectivePolicy | undefined {
    const policy = this.snapshot.routing.applied.policyByHost.get(hostKey);
    if (!policy) return undefined;
    let resolved = this.resolved.get(policy);
    if (!resolved) this.resolved.set(policy, (resolved = resolvePolicy(policy)));
    return resolved;
  }
}
