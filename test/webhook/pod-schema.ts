// Checks that a Pod would be accepted by the API server and kubelet, using the real Kubernetes
// OpenAPI schemas twice over: kubernetes-models' generated validators (types, enums, required
// fields) and @kubernetes/client-node's generated models (which name every field, so unknown
// ones are caught; kubernetes-models allows them). On top, the API server's own validation rules
// that our mutation could break and no schema expresses (pkg/apis/core/validation).
import * as k8s from '@kubernetes/client-node';
import type { V1Container, V1Pod, V1Probe } from '@kubernetes/client-node';
import { Pod } from 'kubernetes-models/v1/Pod';
import { quantityValue } from '../../src/webhook/inject.js';

interface Attr { name: string; baseName: string; type: string }
type ModelClass = { attributeTypeMap?: Attr[]; getAttributeTypeMap?: () => Attr[] };

function model(typeName: string): Attr[] | undefined {
  const cls = (k8s as unknown as Record<string, ModelClass | undefined>)[typeName];
  return cls?.getAttributeTypeMap?.() ?? cls?.attributeTypeMap;
}

function checkValue(value: unknown, type: string, path: string, problems: string[]): void {
  if (value === undefined || value === null) return;
  const array = /^Array<(.+)>$/.exec(type);
  if (array) {
    if (!Array.isArray(value)) problems.push(`${path}: expected a list`);
    else value.forEach((v, i) => checkValue(v, array[1], `${path}[${i}]`, problems));
    return;
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) {
    if (typeof value !== 'object' || Array.isArray(value)) problems.push(`${path}: expected a map`);
    else for (const [k, v] of Object.entries(value)) checkValue(v, map[1], `${path}.${k}`, problems);
    return;
  }
  switch (type) {
    case 'string': case 'Date':
      if (typeof value !== 'string') problems.push(`${path}: expected a string, got ${JSON.stringify(value)}`);
      return;
    case 'number':
      if (typeof value !== 'number') problems.push(`${path}: expected a number, got ${JSON.stringify(value)}`);
      return;
    case 'boolean':
      if (typeof value !== 'boolean') problems.push(`${path}: expected a boolean`);
      return;
    case 'IntOrString':
      if (typeof value !== 'string' && typeof value !== 'number') problems.push(`${path}: expected int or string`);
      return;
    case 'any': case 'object':
      return;
    default: {
      const attrs = model(type);
      if (!attrs) {
        problems.push(`${path}: no model for type ${type}`);
        return;
      }
      if (typeof value !== 'object' || Array.isArray(value)) {
        problems.push(`${path}: expected an object of type ${type}`);
        return;
      }
      const byName = new Map(attrs.map((a) => [a.baseName, a]));
      for (const [k, v] of Object.entries(value)) {
        const attr = byName.get(k);
        if (!attr) problems.push(`${path}.${k}: unknown field of ${type}`);
        else checkValue(v, attr.type, `${path}.${k}`, problems);
      }
    }
  }
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const IANA_SVC_NAME = /^(?=.*[a-z])[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;
const FIELD_PATHS = new Set([
  'metadata.name', 'metadata.namespace', 'metadata.uid', 'metadata.labels', 'metadata.annotations',
  'spec.nodeName', 'spec.serviceAccountName', 'status.hostIP', 'status.hostIPs', 'status.podIP', 'status.podIPs',
]);

function checkProbe(c: V1Container, kind: string, p: V1Probe, where: string, problems: string[]): void {
  const handlers = [p.httpGet, p.tcpSocket, p.exec, p.grpc].filter((h) => h !== undefined);
  if (handlers.length !== 1) problems.push(`${where}.${kind}: must have exactly one handler`);
  const port = p.httpGet?.port ?? p.tcpSocket?.port;
  if (typeof port === 'number' && (port < 1 || port > 65535)) problems.push(`${where}.${kind}: port ${port} out of range`);
  if (typeof port === 'string' && !/^\d+$/.test(port) && !(c.ports ?? []).some((x) => x.name === port)) {
    problems.push(`${where}.${kind}: named port ${port} not declared by the container`);
  }
  if (p.httpGet?.path !== undefined && !p.httpGet.path.startsWith('/')) problems.push(`${where}.${kind}: path must start with /`);
}

function checkContainer(c: V1Container, where: string, init: boolean, problems: string[]): void {
  if (!DNS_LABEL.test(c.name) || c.name.length > 63) problems.push(`${where}: name ${c.name} is not a DNS label`);
  if (!c.image) problems.push(`${where}: image is required`);
  const restartable = init && c.restartPolicy === 'Always';
  if (c.restartPolicy !== undefined && (!init || c.restartPolicy !== 'Always')) {
    problems.push(`${where}: restartPolicy ${c.restartPolicy} is only allowed as Always on init containers`);
  }
  if (init && !restartable) {
    for (const f of ['lifecycle', 'livenessProbe', 'readinessProbe', 'startupProbe'] as const) {
      if (c[f] !== undefined) problems.push(`${where}: ${f} is not allowed on a (non-sidecar) init container`);
    }
  }
  const portNames = new Set<string>();
  for (const p of c.ports ?? []) {
    if (p.containerPort < 1 || p.containerPort > 65535) problems.push(`${where}: containerPort ${p.containerPort} out of range`);
    if (p.name !== undefined) {
      if (p.name.length > 15 || !IANA_SVC_NAME.test(p.name)) problems.push(`${where}: port name ${p.name} is not an IANA_SVC_NAME`);
      if (portNames.has(p.name)) problems.push(`${where}: duplicate port name ${p.name}`);
      portNames.add(p.name);
    }
  }
  const envNames = new Set<string>();
  for (const e of c.env ?? []) {
    if (!ENV_NAME.test(e.name)) problems.push(`${where}: env name ${e.name} invalid`);
    if (envNames.has(e.name)) problems.push(`${where}: duplicate env ${e.name}`);
    envNames.add(e.name);
    const fp = e.valueFrom?.fieldRef?.fieldPath;
    if (fp !== undefined && !FIELD_PATHS.has(fp) && !/^metadata\.(labels|annotations)\['.+'\]$/.test(fp)) {
      problems.push(`${where}: env ${e.name} uses unsupported fieldPath ${fp}`);
    }
  }
  for (const kind of ['livenessProbe', 'readinessProbe', 'startupProbe'] as const) {
    const p = c[kind];
    if (p) checkProbe(c, kind, p, where, problems);
  }
  const post = c.lifecycle?.postStart?.exec?.command;
  if (c.lifecycle?.postStart?.exec && (!post || post.length === 0)) problems.push(`${where}: postStart exec needs a command`);
  const sc = c.securityContext;
  if (sc?.runAsNonRoot === true && sc.runAsUser === 0) problems.push(`${where}: runAsNonRoot with runAsUser 0`);
  if (sc?.allowPrivilegeEscalation === false && (sc.privileged === true || sc.capabilities?.add?.includes('SYS_ADMIN'))) {
    problems.push(`${where}: allowPrivilegeEscalation false contradicts privileged/SYS_ADMIN`);
  }
  const req = c.resources?.requests ?? {};
  const lim = c.resources?.limits ?? {};
  for (const r of Object.keys(req)) {
    if (Number.isNaN(quantityValue(String(req[r])))) problems.push(`${where}: request ${r} is not a quantity`);
    if (lim[r] !== undefined && quantityValue(String(req[r])) > quantityValue(String(lim[r]))) {
      problems.push(`${where}: request ${r} ${req[r]} exceeds limit ${lim[r]}`);
    }
  }
}

const VOLUME_SOURCES = ['emptyDir', 'projected', 'configMap', 'secret', 'hostPath', 'persistentVolumeClaim', 'downwardAPI', 'csi', 'ephemeral', 'nfs', 'image'] as const;

/** ValidateVolumes and ValidateVolumeMounts: unique names, one source each, mounts of existing volumes at distinct paths. */
function checkVolumes(spec: NonNullable<V1Pod['spec']>, problems: string[]): void {
  const volumes = new Set<string>();
  (spec.volumes ?? []).forEach((v, i) => {
    if (!DNS_LABEL.test(v.name) || v.name.length > 63) problems.push(`volumes[${i}]: name ${v.name} is not a DNS label`);
    if (volumes.has(v.name)) problems.push(`volumes[${i}]: duplicate volume name ${v.name}`);
    volumes.add(v.name);
    const sources = VOLUME_SOURCES.filter((k) => (v as unknown as Record<string, unknown>)[k] !== undefined);
    if (sources.length !== 1) problems.push(`volumes[${i}](${v.name}): must have exactly one source, has ${sources.join(', ') || 'none'}`);
    for (const [j, src] of (v.projected?.sources ?? []).entries()) {
      const t = src.serviceAccountToken;
      if (t && (t.expirationSeconds ?? 3600) < 600) problems.push(`volumes[${i}].projected.sources[${j}]: expirationSeconds must be at least 600`);
      if (t && (!t.path || t.path.startsWith('/') || t.path.includes('..'))) problems.push(`volumes[${i}].projected.sources[${j}]: path must be relative`);
    }
  });
  for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
    const paths = new Set<string>();
    for (const m of c.volumeMounts ?? []) {
      if (!volumes.has(m.name)) problems.push(`container ${c.name}: volumeMount ${m.name} names no volume of the pod`);
      if (!m.mountPath.startsWith('/')) problems.push(`container ${c.name}: mountPath ${m.mountPath} must be absolute`);
      if (paths.has(m.mountPath)) problems.push(`container ${c.name}: duplicate mountPath ${m.mountPath}`);
      paths.add(m.mountPath);
    }
  }
}

/** Every reason the API server or kubelet would reject this Pod that we can see; [] if none. */
export function podProblems(pod: V1Pod): string[] {
  const problems: string[] = [];
  try {
    new Pod(pod as unknown as ConstructorParameters<typeof Pod>[0]).validate();
  } catch (err) {
    problems.push(`kubernetes-models: ${(err as Error).message}`);
  }
  checkValue(pod, 'V1Pod', 'pod', problems);
  const spec = pod.spec;
  if (!spec) return [...problems, 'pod: spec is required'];
  const names = new Set<string>();
  (spec.initContainers ?? []).forEach((c, i) => {
    if (names.has(c.name)) problems.push(`initContainers[${i}]: duplicate container name ${c.name}`);
    names.add(c.name);
    checkContainer(c, `initContainers[${i}](${c.name})`, true, problems);
  });
  spec.containers.forEach((c, i) => {
    if (names.has(c.name)) problems.push(`containers[${i}]: duplicate container name ${c.name}`);
    names.add(c.name);
    checkContainer(c, `containers[${i}](${c.name})`, false, problems);
  });
  checkVolumes(spec, problems);
  const annotations = pod.metadata?.annotations ?? {};
  const size = Object.entries(annotations).reduce((n, [k, v]) => n + k.length + v.length, 0);
  if (size > 256 * 1024) problems.push(`metadata.annotations: ${size} bytes exceed 256 KiB`);
  return problems;
}
