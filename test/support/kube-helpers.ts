// Shared pieces of the controller/kube tests: a sink that records what a source reports, and
// object builders for the fake API.
import type { ObjectSet } from '../../src/sources/objects.js';
import type { SourceSink } from '../../src/sources/source.js';
import type { KubeObject } from './fake-kube-api.js';

export class RecordingSink implements SourceSink {
  readonly reports: ObjectSet[] = [];
  private waiters: { pred: (s: ObjectSet) => boolean; resolve: (s: ObjectSet) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }[] = [];

  replace(_source: string, objects: ObjectSet): void {
    this.reports.push(objects);
    for (const w of [...this.waiters]) {
      if (!w.pred(objects)) continue;
      clearTimeout(w.timer);
      this.waiters.splice(this.waiters.indexOf(w), 1);
      w.resolve(objects);
    }
  }

  get last(): ObjectSet | undefined {
    return this.reports[this.reports.length - 1];
  }

  /** The first report (the latest one, or a future one) that satisfies pred. */
  waitFor(pred: (s: ObjectSet) => boolean, what: string, timeoutMs = 20_000): Promise<ObjectSet> {
    const last = this.last;
    if (last && pred(last)) return Promise.resolve(last);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.timer !== timer);
        reject(new Error(`timed out waiting for ${what}; last report: ${JSON.stringify(summary(this.last))}`));
      }, timeoutMs);
      this.waiters.push({ pred, resolve, reject, timer });
    });
  }
}

export function names(objects: readonly { metadata?: { name?: string; namespace?: string } }[]): string[] {
  return objects.map((o) => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`).sort();
}

export function summary(set: ObjectSet | undefined): Record<string, string[]> | undefined {
  if (!set) return undefined;
  return Object.fromEntries(Object.entries(set).map(([k, v]) => [k, names(v as { metadata?: { name?: string } }[])]));
}

export function hasService(name: string, namespace = 'default'): (s: ObjectSet) => boolean {
  return (s) => s.services.some((x) => x.metadata?.name === name && x.metadata?.namespace === namespace);
}

export function service(name: string, namespace = 'default', extra: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'v1', kind: 'Service', metadata: { name, namespace },
    spec: { ports: [{ name: 'grpc', port: 50051, targetPort: 50051, appProtocol: 'grpc' }], ...extra },
  };
}

export interface SliceEndpoint {
  ip: string;
  ready?: boolean;
  serving?: boolean;
  terminating?: boolean;
  zone?: string;
  pod?: string;
}

export function endpointSlice(name: string, serviceName: string, namespace: string, port: number, endpoints: SliceEndpoint[]): KubeObject {
  return {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: { name, namespace, labels: { 'kubernetes.io/service-name': serviceName } },
    addressType: 'IPv4',
    ports: [{ name: 'grpc', port, protocol: 'TCP' }],
    endpoints: endpoints.map((e) => ({
      addresses: [e.ip],
      conditions: {
        ready: e.ready ?? true,
        ...(e.serving !== undefined ? { serving: e.serving } : {}),
        ...(e.terminating !== undefined ? { terminating: e.terminating } : {}),
      },
      ...(e.zone ? { zone: e.zone } : {}),
      ...(e.pod ? { targetRef: { kind: 'Pod', name: e.pod, namespace } } : {}),
    })),
  };
}

export function pod(name: string, namespace: string, ip: string, labels: Record<string, string>, serviceAccount = 'default'): KubeObject {
  return {
    apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace, labels },
    spec: { serviceAccountName: serviceAccount, containers: [{ name: 'app', image: 'example/app:1' }] },
    status: { phase: 'Running', podIP: ip, podIPs: [{ ip }] },
  };
}

export function namespace(name: string, labels: Record<string, string> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } };
}
