// The coordination.k8s.io/v1 Lease that leader election reads and writes.
import { V1MicroTime } from '@kubernetes/client-node';
import { KubeApiError, type KubeRest } from '../kube/rest.js';
import type { ApiPermission } from '../kube/api-permission.js';

/** RBAC for KubeLeaseStore (collected in src/permissions.ts): its own Lease, in its own namespace. */
export const LEASE_PERMISSIONS: readonly ApiPermission[] = [
  { group: 'coordination.k8s.io', resource: 'leases', verbs: ['get', 'update'], scope: 'namespace', resourceName: 'lease', why: 'KubeLeaseStore: read and renew the leader Lease' },
  { group: 'coordination.k8s.io', resource: 'leases', verbs: ['create'], scope: 'namespace', why: 'KubeLeaseStore: create the leader Lease on first start' },
];

export interface LeaseSpec {
  readonly holderIdentity?: string;
  readonly leaseDurationSeconds?: number;
  /** MicroTime text (six fractional digits): a real API server refuses millisecond precision. */
  readonly acquireTime?: string;
  readonly renewTime?: string;
  readonly leaseTransitions?: number;
}

export interface StoredLease {
  readonly spec: LeaseSpec;
  readonly resourceVersion: string;
}

/** Where the Lease lives; an interface so election logic can be tested against anything. */
export interface LeaseStore {
  /** Undefined when the Lease does not exist. */
  get(): Promise<StoredLease | undefined>;
  /** Throws LeaseConflict when it already exists. */
  create(spec: LeaseSpec): Promise<StoredLease>;
  /** Throws LeaseConflict when resourceVersion is no longer current. */
  update(spec: LeaseSpec, resourceVersion: string): Promise<StoredLease>;
  /** For messages: namespace/name. */
  readonly description: string;
}

export class LeaseConflict extends Error {}

/** A Lease time as the API server wants it: RFC 3339 with microseconds. */
export function microTime(ms: number): string {
  return new V1MicroTime(ms).toISOString();
}

interface LeaseObject {
  metadata?: { resourceVersion?: string };
  spec?: LeaseSpec;
}

export class KubeLeaseStore implements LeaseStore {
  readonly description: string;
  private readonly collection: string;

  constructor(private readonly rest: KubeRest, private readonly namespace: string, private readonly name: string,
    private readonly timeoutMs = 10_000) {
    this.description = `${namespace}/${name}`;
    this.collection = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases`;
  }

  async get(): Promise<StoredLease | undefined> {
    try {
      return stored(await this.rest.request<LeaseObject>('GET', `${this.collection}/${encodeURIComponent(this.name)}`, { timeoutMs: this.timeoutMs }));
    } catch (err) {
      if (err instanceof KubeApiError && err.code === 404) return undefined;
      throw err;
    }
  }

  async create(spec: LeaseSpec): Promise<StoredLease> {
    try {
      return stored(await this.rest.request<LeaseObject>('POST', this.collection, {
        body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: this.name, namespace: this.namespace }, spec },
        timeoutMs: this.timeoutMs,
      }));
    } catch (err) {
      if (err instanceof KubeApiError && err.code === 409) throw new LeaseConflict(`Lease ${this.description} was created by someone else`);
      throw err;
    }
  }

  async update(spec: LeaseSpec, resourceVersion: string): Promise<StoredLease> {
    try {
      return stored(await this.rest.request<LeaseObject>('PUT', `${this.collection}/${encodeURIComponent(this.name)}`, {
        body: {
          apiVersion: 'coordination.k8s.io/v1', kind: 'Lease',
          metadata: { name: this.name, namespace: this.namespace, resourceVersion }, spec,
        },
        timeoutMs: this.timeoutMs,
      }));
    } catch (err) {
      if (err instanceof KubeApiError && err.code === 409) throw new LeaseConflict(`Lease ${this.description} changed under us`);
      throw err;
    }
  }
}

function stored(obj: LeaseObject): StoredLease {
  return { spec: obj.spec ?? {}, resourceVersion: obj.metadata?.resourceVersion ?? '' };
}
