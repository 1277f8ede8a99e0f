// Server-side defaulting for the types pilotfish reads. A real cluster fills these in, so code that
// works against the fake must cope with them (and must not rely on them being absent): a Service
// gets a cluster IP and TCP ports, a Namespace its name label, a Secret its base64 data, and so on.
import { badRequest, invalid } from './status.js';
import type { KubeObject, ResourceType } from './types.js';

type Rec = Record<string, unknown>;

function rec(value: unknown): Rec {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? value as Rec : {};
}

function list(value: unknown): Rec[] {
  return Array.isArray(value) ? value.map(rec) : [];
}

/** Hands out cluster IPs from 10.96.0.0/16 in order, the way a fresh cluster's allocator looks. */
export class ClusterIpAllocator {
  private readonly used = new Set<string>(['10.96.0.1']);
  private next = 10;

  allocate(): string {
    for (;;) {
      const n = this.next++;
      const ip = `10.96.${Math.floor(n / 256) % 256}.${n % 256}`;
      if (n % 256 !== 0 && n % 256 !== 255 && !this.used.has(ip)) {
        this.used.add(ip);
        return ip;
      }
    }
  }

  claim(ip: string): boolean {
    if (this.used.has(ip)) return false;
    this.used.add(ip);
    return true;
  }

  release(ip: unknown): void {
    if (typeof ip === 'string') this.used.delete(ip);
  }
}

function defaultService(rt: ResourceType, obj: KubeObject, previous: KubeObject | undefined, ips: ClusterIpAllocator): void {
  const name = obj.metadata.name ?? '';
  const spec = rec(obj.spec);
  obj.spec = spec;
  spec.type ??= 'ClusterIP';
  spec.sessionAffinity ??= 'None';
  if (spec.type !== 'ExternalName') {
    spec.internalTrafficPolicy ??= 'Cluster';
    const oldIp = previous ? rec(previous.spec).clusterIP : undefined;
    if (typeof oldIp === 'string' && oldIp !== '') {
      if (spec.clusterIP !== undefined && spec.clusterIP !== '' && spec.clusterIP !== oldIp) {
        throw invalid(rt, name, 'spec.clusterIPs[0]',
          `Invalid value: []string{"${String(spec.clusterIP)}"}: may not change once set`);
      }
      spec.clusterIP = oldIp;
    } else if (spec.clusterIP === undefined || spec.clusterIP === '') {
      spec.clusterIP = ips.allocate();
    } else if (spec.clusterIP !== 'None' && !ips.claim(String(spec.clusterIP))) {
      throw invalid(rt, name, 'spec.clusterIPs',
        `Invalid value: []string{"${String(spec.clusterIP)}"}: failed to allocate IP ${String(spec.clusterIP)}: provided IP is already allocated`);
    }
    spec.clusterIPs = [spec.clusterIP];
    spec.ipFamilies ??= ['IPv4'];
    spec.ipFamilyPolicy ??= 'SingleStack';
  }
  for (const port of list(spec.ports)) {
    port.protocol ??= 'TCP';
    if (spec.type !== 'ExternalName') port.targetPort ??= port.port;
  }
  if (Array.isArray(spec.ports)) spec.ports = list(spec.ports);
  obj.status ??= { loadBalancer: {} };
}

function defaultNamespace(obj: KubeObject): void {
  const name = obj.metadata.name ?? '';
  obj.metadata.labels = { ...(obj.metadata.labels ?? {}), 'kubernetes.io/metadata.name': name };
  const spec = rec(obj.spec);
  spec.finalizers ??= ['kubernetes'];
  obj.spec = spec;
  const status = rec(obj.status);
  status.phase ??= 'Active';
  obj.status = status;
}

function defaultPod(obj: KubeObject): void {
  const spec = rec(obj.spec);
  obj.spec = spec;
  spec.restartPolicy ??= 'Always';
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.schedulerName ??= 'default-scheduler';
  spec.terminationGracePeriodSeconds ??= 30;
  for (const container of [...list(spec.initContainers), ...list(spec.containers)]) {
    for (const port of list(container.ports)) port.protocol ??= 'TCP';
  }
  const status = rec(obj.status);
  status.phase ??= 'Pending';
  obj.status = status;
}

function defaultSecret(obj: KubeObject): void {
  obj.type ??= 'Opaque';
  const stringData = rec(obj.stringData);
  if (Object.keys(stringData).length > 0) {
    const data = rec(obj.data);
    for (const [key, value] of Object.entries(stringData)) data[key] = Buffer.from(String(value)).toString('base64');
    obj.data = data;
  }
  delete obj.stringData;
}

function defaultEndpointSlice(obj: KubeObject): void {
  for (const port of list(obj.ports)) port.protocol ??= 'TCP';
}

function defaultWebhooks(obj: KubeObject): void {
  for (const webhook of list(obj.webhooks)) {
    webhook.failurePolicy ??= 'Fail';
    webhook.matchPolicy ??= 'Equivalent';
    webhook.namespaceSelector ??= {};
    webhook.objectSelector ??= {};
    webhook.timeoutSeconds ??= 10;
    if (obj.kind === 'MutatingWebhookConfiguration') webhook.reinvocationPolicy ??= 'Never';
    const service = rec(rec(webhook.clientConfig).service);
    if (Object.keys(service).length > 0) service.port ??= 443;
  }
}

function defaultCrd(obj: KubeObject): void {
  const spec = rec(obj.spec);
  const status = rec(obj.status);
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  status.acceptedNames ??= spec.names ?? {};
  status.conditions ??= [
    { type: 'NamesAccepted', status: 'True', reason: 'NoConflicts', message: 'no conflicts found', lastTransitionTime: now },
    { type: 'Established', status: 'True', reason: 'InitialNamesAccepted',
      message: 'the initial names have been accepted', lastTransitionTime: now },
  ];
  const versions = list(spec.versions);
  status.storedVersions ??= versions.filter((v) => v.storage === true).map((v) => v.name);
  obj.status = status;
}

/** Fills defaults in place. `previous` is the stored object on update, absent on create. */
export function applyDefaults(rt: ResourceType, obj: KubeObject, previous: KubeObject | undefined,
  ips: ClusterIpAllocator): void {
  if (rt.group === '' && rt.resource === 'services') defaultService(rt, obj, previous, ips);
  else if (rt.group === '' && rt.resource === 'namespaces') defaultNamespace(obj);
  else if (rt.group === '' && rt.resource === 'pods') defaultPod(obj);
  else if (rt.group === '' && rt.resource === 'secrets') defaultSecret(obj);
  else if (rt.group === 'discovery.k8s.io' && rt.resource === 'endpointslices') defaultEndpointSlice(obj);
  else if (rt.group === 'admissionregistration.k8s.io') defaultWebhooks(obj);
  else if (rt.group === 'apiextensions.k8s.io' && rt.resource === 'customresourcedefinitions') defaultCrd(obj);
}

/** Resources a type holds that must be given back when an object goes away. */
export function releaseResources(rt: ResourceType, obj: KubeObject, ips: ClusterIpAllocator): void {
  if (rt.group === '' && rt.resource === 'services') ips.release(rec(obj.spec).clusterIP);
}

// metav1.MicroTime decodes with Go's time.Parse and the layout below, which demands exactly six
// fractional digits: a JavaScript Date's toISOString() (three digits) is refused by a real server.
const MICRO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}(Z|[+-]\d{2}:\d{2})$/;
const MICRO_TIME_FIELDS: Record<string, readonly string[]> = {
  'coordination.k8s.io/leases': ['acquireTime', 'renewTime'],
};

/** Rejects values a real server could not decode from JSON (400, as the decoder failure is). */
export function checkWireFormat(rt: ResourceType, obj: KubeObject): void {
  const fields = MICRO_TIME_FIELDS[`${rt.group}/${rt.resource}`];
  if (!fields) return;
  const spec = rec(obj.spec);
  for (const field of fields) {
    const value = spec[field];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string' || !MICRO_TIME.test(value)) {
      throw badRequest(`${rt.kind} in version "${rt.version}" cannot be handled as a ${rt.kind}: parsing time ${JSON.stringify(value)} as "2006-01-02T15:04:05.000000Z07:00": spec.${field} needs exactly six fractional digits (metav1.MicroTime)`);
    }
  }
}
