// Whether a Pod gets a sidecar. One pure function; the rules, in the order they are applied:
//
//  1. hostNetwork Pods are skipped: the redirect would capture the node's own traffic.
//  2. Pods in kube-system and in the control plane's own namespace are skipped, whatever their
//     labels say: injecting the control plane into itself would deadlock its own start.
//  3. A Pod that declares one of the proxy's ports (15000, 15001, 15006, 15021, 15090) or the
//     agent's (15020) is skipped: they could not be bound, and the Pod would never become ready.
//  4. A Pod with a container (or volume) named like ours but without the status annotation was set up by
//     hand (or by another tool): skipped rather than given a second proxy.
//  5. The pod label `sidecar.pilotfish.io/inject` = `true` or `false` decides if present.
//  6. Otherwise the namespace label `pilotfish.io/inject=enabled` decides.
//
// A Pod skipped by rule 3 or 4 although its labels ask for a sidecar gets an AdmissionReview
// warning (review.ts): the user asked and can fix it; the other skips are what was asked for.
//
// A Pod that carries the status annotation was injected before (the API server re-invoked the
// webhook, or a template was injected offline): it is injected again from a stripped copy, never twice.
import type { V1Pod } from '@kubernetes/client-node';
import {
  AGENT_CONTAINER_NAME, INIT_CONTAINER_NAME, NAMESPACE_INJECT_ENABLED, PORT_AGENT_STATUS, NAMESPACE_INJECT_LABEL, POD_INJECT_LABEL,
  PROXY_CONTAINER_NAME, PROXY_PORTS, STATUS_ANNOTATION, VOLUME_AGENT_RUN, VOLUME_AGENT_TOKEN, VOLUME_CA_ROOT,
} from './injection-names.js';

const OUR_VOLUMES: ReadonlySet<string> = new Set([VOLUME_AGENT_RUN, VOLUME_AGENT_TOKEN, VOLUME_CA_ROOT]);
const OUR_CONTAINERS: ReadonlySet<unknown> = new Set([INIT_CONTAINER_NAME, AGENT_CONTAINER_NAME, PROXY_CONTAINER_NAME]);
/** Ports a Pod may not declare: the proxy's and the agent's. */
const RESERVED_PORTS: ReadonlySet<unknown> = new Set([...PROXY_PORTS, PORT_AGENT_STATUS]);

export interface DecisionPolicy {
  /** The namespace pilotfish itself runs in. */
  readonly controlPlaneNamespace: string;
  /** Further namespaces never injected; kube-system always is one. */
  readonly excludedNamespaces?: readonly string[];
}

interface DecisionInput {
  readonly pod: V1Pod;
  /** The Pod's namespace (from the admission request when the Pod itself does not say). */
  readonly namespace: string;
  /** Labels of that namespace; undefined when unknown (then only the pod label can enable). */
  readonly namespaceLabels: Readonly<Record<string, string>> | undefined;
}

/** Stable, low-cardinality name of the rule that decided (for metrics); `reason` says the details. */
type DecisionCode =
  | 'pod-label' | 'namespace-label'
  | 'no-containers' | 'host-network' | 'excluded-namespace' | 'foreign-container' | 'reserved-port'
  | 'namespace-not-enabled' | 'namespace-unknown';

export type Decision =
  | { readonly inject: true; readonly code: DecisionCode; readonly reason: string; readonly reinject: boolean }
  | { readonly inject: false; readonly code: DecisionCode; readonly reason: string };

export const SYSTEM_NAMESPACES: readonly string[] = ['kube-system'];

/** Skips that contradict an explicit request for a sidecar, which the user can fix. */
export const WARNED_SKIPS: ReadonlySet<DecisionCode> = new Set<DecisionCode>(['foreign-container', 'reserved-port']);

/** Container names come from the Pod before the API server validated it: shown bounded. */
function shownName(name: unknown): string {
  const s = typeof name === 'string' ? name : String(name);
  return s.length > 63 ? `${s.slice(0, 63)}…` : s;
}

function skip(code: DecisionCode, reason: string): Decision {
  return { inject: false, code, reason };
}

export function decideInjection(input: DecisionInput, policy: DecisionPolicy): Decision {
  const { pod, namespace } = input;
  const spec = pod.spec;
  const labels = pod.metadata?.labels ?? {};
  const annotations = pod.metadata?.annotations ?? {};

  if (!spec || !Array.isArray(spec.containers) || spec.containers.length === 0) return skip('no-containers', 'pod has no containers');
  if (spec.hostNetwork === true) return skip('host-network', 'hostNetwork pod');
  // Tested in place rather than gathered in a Set: this runs for every Pod.
  if (namespace === policy.controlPlaneNamespace || SYSTEM_NAMESPACES.includes(namespace) || policy.excludedNamespaces?.includes(namespace)) {
    return skip('excluded-namespace', namespace === policy.controlPlaneNamespace
      ? `namespace ${namespace} is the control plane's own` : `namespace ${namespace} is never injected`);
  }

  const reinject = STATUS_ANNOTATION in annotations;
  const all = [...(spec.initContainers ?? []), ...spec.containers];
  if (!reinject) {
    const clash = all.find((c) => OUR_CONTAINERS.has(c.name));
    if (clash) return skip('foreign-container', `pod already has a container named ${clash.name} but no ${STATUS_ANNOTATION} annotation`);
    const volume = (spec.volumes ?? []).find((v) => OUR_VOLUMES.has(v.name));
    if (volume) return skip('foreign-container', `pod already has a volume named ${volume.name} but no ${STATUS_ANNOTATION} annotation`);
  }
  for (const c of all) {
    if (OUR_CONTAINERS.has(c.name) && reinject) continue;
    const port = (c.ports ?? []).find((p) => RESERVED_PORTS.has(p.containerPort));
    if (port) return skip('reserved-port', `container ${shownName(c.name)} uses port ${port.containerPort}, which the ${port.containerPort === PORT_AGENT_STATUS ? 'agent' : 'proxy'} needs`);
  }

  const podLabel = labels[POD_INJECT_LABEL];
  if (podLabel === 'false') return skip('pod-label', `pod label ${POD_INJECT_LABEL}=false`);
  if (podLabel === 'true') return { inject: true, code: 'pod-label', reason: `pod label ${POD_INJECT_LABEL}=true`, reinject };

  if (input.namespaceLabels === undefined) return skip('namespace-unknown', `labels of namespace ${namespace} unknown`);
  if (input.namespaceLabels[NAMESPACE_INJECT_LABEL] === NAMESPACE_INJECT_ENABLED) {
    return { inject: true, code: 'namespace-label', reason: `namespace label ${NAMESPACE_INJECT_LABEL}=${NAMESPACE_INJECT_ENABLED}`, reinject };
  }
  return skip('namespace-not-enabled', `namespace ${namespace} not labelled ${NAMESPACE_INJECT_LABEL}=${NAMESPACE_INJECT_ENABLED}`);
}

/** Whether the labels ask for a sidecar: the pod label says true, or the namespace is enabled and the pod does not opt out. */
export function injectionRequested(input: DecisionInput): boolean {
  const podLabel = input.pod.metadata?.labels?.[POD_INJECT_LABEL];
  if (podLabel === 'true') return true;
  if (podLabel === 'false') return false;
  return input.namespaceLabels?.[NAMESPACE_INJECT_LABEL] === NAMESPACE_INJECT_ENABLED;
}
