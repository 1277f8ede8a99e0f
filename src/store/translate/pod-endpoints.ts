// The endpoint Kubernetes' EndpointSlice controller would make for a Pod a Service selects, for
// config files that hold an app's own manifests (Pods, no EndpointSlices). Deployments and
// StatefulSets carry no addresses, so only Pods (with `status.podIP`) become endpoints.
import type { Endpoint, Service } from '../../model/mesh.js';
import type { V1Pod } from '../../sources/objects.js';
import { localityOf } from './locality.js';

/** Every selector label present with the same value (a Service selector is equality-only). */
export function matchesSelector(selector: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>>): boolean {
  for (const k in selector) if (labels[k] !== selector[k]) return false;
  return true;
}

/**
 * The Pod as an endpoint of the Service, or undefined where Kubernetes lists none: no
 * `status.podIP`, a finished Pod (phase Succeeded or Failed), or no container port for any of the
 * Service's named target ports. Ready follows the Pod's Ready condition; a hand-written Pod with
 * no Ready condition at all counts as ready (the config-dir convention: a Pod in a file is up).
 * A Pod being deleted is terminating: not ready, serving while its Ready condition still holds.
 */
export function podEndpoint(pod: V1Pod, service: Service): Endpoint | undefined {
  const address = pod.status?.podIP;
  if (address === undefined || address === '') return undefined;
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return undefined;
  const ports: Record<string, number> = {};
  for (const sp of service.ports) {
    const number = typeof sp.targetPort === 'number' ? sp.targetPort : containerPort(pod, sp.targetPort);
    if (number !== undefined) ports[sp.name] = number;
  }
  if (Object.keys(ports).length === 0) return undefined;
  const readyCondition = pod.status?.conditions?.find((c) => c.type === 'Ready');
  const up = readyCondition === undefined || readyCondition.status === 'True';
  const terminating = pod.metadata?.deletionTimestamp !== undefined;
  const labels = { ...(pod.metadata?.labels ?? {}) };
  const endpoint: { -readonly [K in keyof Endpoint]: Endpoint[K] } = {
    address,
    ports,
    ready: up && !terminating,
    serving: up,
    terminating,
    locality: localityOf(undefined, {}, labels),
    labels,
  };
  if (pod.metadata?.name) endpoint.podName = pod.metadata.name;
  return endpoint;
}

/** The number of the Pod's TCP container port with this name (a Service's named targetPort). */
function containerPort(pod: V1Pod, name: string): number | undefined {
  for (const c of pod.spec?.containers ?? []) {
    for (const p of c.ports ?? []) {
      if (p.name === name && (p.protocol ?? 'TCP') === 'TCP') return p.containerPort;
    }
  }
  return undefined;
}
