// The status annotation: what the injector added to a Pod, so that a second invocation (the API
// server re-invoking the webhook after another mutation, or `pilotfish inject` run on its own
// output) strips exactly that and injects afresh instead of adding a second proxy.
import type { V1Container, V1Pod, V1Probe } from '@kubernetes/client-node';
import { TLS_MODE_LABEL } from '../model/server-kind.js';
import { STATUS_ANNOTATION } from './injection-names.js';

export type ProbeKind = 'livenessProbe' | 'readinessProbe' | 'startupProbe';
export const PROBE_KINDS: readonly ProbeKind[] = ['livenessProbe', 'readinessProbe', 'startupProbe'];

export interface InjectionStatus {
  readonly version: 1;
  readonly initContainers: readonly string[];
  readonly containers: readonly string[];
  /** Annotations the injector added (besides this one). */
  readonly annotations: readonly string[];
  /** Volumes the injector added; their mounts in the Pod's own containers go with them. */
  readonly volumes: readonly string[];
  /** Original app probes that were rewritten through the proxy, by container and kind. */
  readonly probes: Readonly<Record<string, Partial<Record<ProbeKind, V1Probe>>>>;
}

export function formatStatus(s: InjectionStatus): string {
  return JSON.stringify({
    version: s.version,
    initContainers: s.initContainers,
    containers: s.containers,
    annotations: s.annotations,
    volumes: s.volumes,
    probes: s.probes,
  });
}

export function parseStatus(text: string): InjectionStatus {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new Error(`annotation ${STATUS_ANNOTATION} is not JSON: ${(err as Error).message}`);
  }
  const o = raw as Partial<Record<keyof InjectionStatus, unknown>>;
  const names = (v: unknown, what: string): string[] => {
    if (v === undefined) return [];
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) {
      throw new Error(`annotation ${STATUS_ANNOTATION}: ${what} must be a list of names`);
    }
    return v;
  };
  if (typeof raw !== 'object' || raw === null || o.version !== 1) {
    throw new Error(`annotation ${STATUS_ANNOTATION} has an unknown format`);
  }
  const probes = o.probes ?? {};
  if (typeof probes !== 'object' || probes === null || Array.isArray(probes)) {
    throw new Error(`annotation ${STATUS_ANNOTATION}: probes must be an object`);
  }
  return {
    version: 1,
    initContainers: names(o.initContainers, 'initContainers'),
    containers: names(o.containers, 'containers'),
    annotations: names(o.annotations, 'annotations'),
    volumes: names(o.volumes, 'volumes'),
    probes: probes as InjectionStatus['probes'],
  };
}

/**
 * The Pod as it was before injection, as far as the status says. Pure; throws (naming the
 * annotation) if the status cannot be read, because guessing could remove a user's container.
 */
export function stripInjection(pod: V1Pod): V1Pod {
  const text = pod.metadata?.annotations?.[STATUS_ANNOTATION];
  if (text === undefined) return pod;
  const status = parseStatus(text);
  const out = structuredClone(pod);
  const spec = out.spec;
  if (spec) {
    const dropInit = new Set(status.initContainers);
    const dropMain = new Set(status.containers);
    if (spec.initContainers) {
      spec.initContainers = spec.initContainers.filter((c) => !dropInit.has(c.name));
      if (spec.initContainers.length === 0) delete spec.initContainers;
    }
    spec.containers = (spec.containers ?? []).filter((c) => !dropMain.has(c.name));
    for (const c of [...(spec.initContainers ?? []), ...spec.containers]) restoreProbes(c, status.probes[c.name]);
    const dropVolumes = new Set(status.volumes);
    if (dropVolumes.size > 0) {
      const volumes = (spec.volumes ?? []).filter((v) => !dropVolumes.has(v.name));
      if (volumes.length > 0) spec.volumes = volumes;
      else delete spec.volumes;
      for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
        const kept = (c.volumeMounts ?? []).filter((m) => !dropVolumes.has(m.name));
        if (kept.length === (c.volumeMounts ?? []).length) continue;
        if (kept.length > 0) c.volumeMounts = kept;
        else delete c.volumeMounts;
      }
    }
  }
  const annotations = out.metadata?.annotations;
  if (annotations && out.metadata) {
    delete annotations[STATUS_ANNOTATION];
    for (const a of status.annotations) delete annotations[a];
    if (Object.keys(annotations).length === 0) delete out.metadata.annotations;
  }
  // Always set by injection (inject.ts), so removed with it: a stripped Pod is not meshed.
  const labels = out.metadata?.labels;
  if (labels && out.metadata && labels[TLS_MODE_LABEL] !== undefined) {
    delete labels[TLS_MODE_LABEL];
    if (Object.keys(labels).length === 0) delete out.metadata.labels;
  }
  return out;
}

function restoreProbes(c: V1Container, originals: Partial<Record<ProbeKind, V1Probe>> | undefined): void {
  if (!originals) return;
  for (const kind of PROBE_KINDS) {
    const p = originals[kind];
    if (p) c[kind] = p;
  }
}
