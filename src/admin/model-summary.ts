// The current mesh snapshot in a form an operator can read in one screen (/debug/model):
// versions, and per service its ports and how many endpoints are ready.
import type { MeshSnapshot } from '../model/snapshot.js';

interface ServiceSummary {
  readonly key: string;
  readonly clusterIP?: string;
  readonly synthetic: boolean;
  readonly ports: readonly string[];
  readonly endpoints: number;
  readonly ready: number;
}

export interface ModelSummary {
  readonly version: number;
  readonly configGeneration: number;
  readonly endpointsGeneration: number;
  readonly changedAt?: string;
  readonly namespaces: number;
  readonly pods: number;
  readonly trafficRoutes: number;
  readonly trafficPolicies: number;
  readonly changedEndpoints: readonly string[];
  readonly services: readonly ServiceSummary[];
}

export function summarizeSnapshot(s: MeshSnapshot): ModelSummary {
  const services: ServiceSummary[] = [];
  for (const [key, svc] of s.services) {
    const eps = s.endpoints.get(key) ?? [];
    services.push({
      key,
      ...(svc.clusterIP ? { clusterIP: svc.clusterIP } : {}),
      synthetic: svc.synthetic === true,
      ports: svc.ports.map((p) => `${p.name || '-'}:${p.port}/${p.protocol}`),
      endpoints: eps.length,
      ready: eps.filter((e) => e.ready).length,
    });
  }
  return {
    version: s.version,
    configGeneration: s.configGeneration,
    endpointsGeneration: s.endpointsGeneration,
    ...(s.changedAt !== undefined ? { changedAt: new Date(s.changedAt).toISOString() } : {}),
    namespaces: s.namespaces.size,
    pods: s.pods.size,
    trafficRoutes: s.routingObjects.trafficRoutes.length,
    trafficPolicies: s.routingObjects.trafficPolicies.length,
    changedEndpoints: [...s.changedEndpoints].sort(),
    services,
  };
}
