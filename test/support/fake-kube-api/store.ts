// Object storage with the API server's write semantics: one global, increasing resourceVersion;
// optimistic concurrency; status subresource rules; generation; finalizers; no-op writes that
// change nothing (and notify nobody); and a bounded history that watches resume from.
import { randomBytes, randomUUID } from 'node:crypto';
import { applyDefaults, checkWireFormat, ClusterIpAllocator, releaseResources } from './defaults.js';
import { sameJson } from './patch.js';
import { apiVersionOf, type ResourceRegistry, typeKey, typesFromCrd } from './resources.js';
import type { Selector } from './selectors.js';
import {
  alreadyExists, badRequest, conflict, expired, invalid, MODIFIED_CONFLICT, notFound,
} from './status.js';
import type { HistoryEvent, KubeObject, ResourceType, StoredObject } from './types.js';

export interface StoreOptions {
  startResourceVersion: number;
  historyLimit: number;
  /** Reject namespaced objects whose namespace does not exist, as the real server does. */
  enforceNamespaces: boolean;
}

export interface WriteOptions {
  /**
   * Writes that came over HTTP follow the subresource rules (a spec write keeps the stored status,
   * create drops status). In-process test writes stand in for other controllers and may set anything.
   */
  fromClient: boolean;
  dryRun?: boolean;
}

export interface UpdateOptions extends WriteOptions {
  subresource?: 'status';
  /** PUT of a custom resource must carry a resourceVersion; a patch never has to. */
  verb: 'update' | 'patch';
}

export interface DeletePreconditions {
  uid?: string;
  resourceVersion?: string;
}

const NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

function nowSeconds(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}

function key(namespace: string | undefined, name: string): string {
  return `${namespace ?? ''}/${name}`;
}

function clone<T>(value: T): T {
  return structuredClone(value);
}

// Everything that is neither metadata nor status: a change here is a new generation.
function specPart(obj: KubeObject): Record<string, unknown> {
  const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = obj;
  return rest;
}

export class ObjectStore {
  private rv: number;
  /** A watch may resume from resourceVersion R only if R >= compactedRv (all later events are kept). */
  private compactedRv: number;
  private readonly objects = new Map<string, Map<string, StoredObject>>();
  private history: HistoryEvent[] = [];
  private readonly listeners = new Set<(event: HistoryEvent) => void>();
  readonly ips = new ClusterIpAllocator();

  constructor(private readonly registry: ResourceRegistry, private readonly options: StoreOptions) {
    this.rv = options.startResourceVersion;
    this.compactedRv = options.startResourceVersion;
  }

  currentResourceVersion(): number {
    return this.rv;
  }

  oldestResumableResourceVersion(): number {
    return this.compactedRv;
  }

  subscribe(listener: (event: HistoryEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private bucket(rt: ResourceType): Map<string, StoredObject> {
    const k = typeKey(rt);
    let bucket = this.objects.get(k);
    if (!bucket) {
      bucket = new Map();
      this.objects.set(k, bucket);
    }
    return bucket;
  }

  private stored(rt: ResourceType, namespace: string | undefined, name: string): StoredObject {
    const obj = this.bucket(rt).get(key(rt.namespaced ? namespace : undefined, name));
    if (!obj) throw notFound(rt, name);
    return obj;
  }

  get(rt: ResourceType, namespace: string | undefined, name: string): StoredObject {
    return clone(this.stored(rt, namespace, name));
  }

  /** Matching objects in etcd key order (namespace, then name), with the resourceVersion they are current at. */
  list(rt: ResourceType, namespace: string | undefined, selector: Selector): { items: StoredObject[]; rv: number } {
    const items = [...this.bucket(rt).entries()]
      .filter(([, obj]) => namespace === undefined || obj.metadata.namespace === namespace)
      .filter(([, obj]) => selector(obj))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, obj]) => clone(obj));
    return { items, rv: this.rv };
  }

  /** Committed changes after `rv`, or 410 Expired when some of them have been compacted away. */
  eventsSince(rv: number): HistoryEvent[] {
    if (rv < this.compactedRv) throw expired(`too old resource version: ${rv} (${this.compactedRv})`);
    return this.history.filter((e) => e.rv > rv);
  }

  /**
   * Compacts everything: the resourceVersion moves past every one handed out so far (as writes to
   * unrelated resources do in a real cluster) and the history is dropped, so any watch resuming from
   * an earlier resourceVersion is told 410 Expired and must re-list.
   */
  expireHistory(): void {
    this.rv++;
    this.history = [];
    this.compactedRv = this.rv;
  }

  private commit(event: Omit<HistoryEvent, 'rv'> & { rv: number }): void {
    this.history.push(event);
    if (this.history.length > this.options.historyLimit) {
      const dropped = this.history.splice(0, this.history.length - this.options.historyLimit);
      this.compactedRv = dropped[dropped.length - 1].rv;
    }
    for (const listener of [...this.listeners]) listener(event);
  }

  private checkTypeMeta(rt: ResourceType, obj: KubeObject): void {
    const apiVersion = apiVersionOf(rt);
    if (obj.apiVersion !== undefined && obj.apiVersion !== apiVersion) {
      throw badRequest(`the API version in the data (${String(obj.apiVersion)}) does not match the expected API version (${apiVersion})`);
    }
    if (obj.kind !== undefined && obj.kind !== rt.kind) {
      throw badRequest(`the kind in the data (${String(obj.kind)}) does not match the expected kind (${rt.kind})`);
    }
  }

  private resolveNamespace(rt: ResourceType, pathNamespace: string | undefined, obj: KubeObject): string | undefined {
    if (!rt.namespaced) return undefined;
    const bodyNamespace = obj.metadata.namespace;
    if (pathNamespace !== undefined && bodyNamespace !== undefined && bodyNamespace !== pathNamespace) {
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    const namespace = pathNamespace ?? bodyNamespace;
    if (!namespace) throw badRequest(`${rt.kind} "${obj.metadata.name ?? ''}": a namespaced object needs metadata.namespace`);
    return namespace;
  }

  private namespaceType(): ResourceType | undefined {
    return this.registry.find('', 'v1', 'namespaces');
  }

  create(rt: ResourceType, pathNamespace: string | undefined, body: KubeObject, options: WriteOptions): StoredObject {
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw badRequest('the body must be a JSON object');
    const obj = clone(body);
    obj.metadata = { ...(obj.metadata ?? {}) };
    this.checkTypeMeta(rt, obj);
    checkWireFormat(rt, obj);
    const namespace = this.resolveNamespace(rt, pathNamespace, obj);
    if (namespace === undefined) delete obj.metadata.namespace;
    else obj.metadata.namespace = namespace;
    if (!obj.metadata.name && obj.metadata.generateName) {
      obj.metadata.name = obj.metadata.generateName + randomBytes(4).toString('hex').slice(0, 5);
    }
    const name = obj.metadata.name;
    if (!name) throw invalid(rt, '', 'metadata.name', 'Required value: name or generateName is required');
    if (name.length > 253 || !NAME.test(name)) {
      throw invalid(rt, name, 'metadata.name',
        `Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'`);
    }
    const nsType = this.namespaceType();
    if (namespace !== undefined && this.options.enforceNamespaces && nsType && !this.bucket(nsType).has(key(undefined, namespace))) {
      throw notFound(nsType, namespace);
    }
    const bucket = this.bucket(rt);
    if (bucket.has(key(namespace, name))) throw alreadyExists(rt, name);

    obj.apiVersion = apiVersionOf(rt);
    obj.kind = rt.kind;
    if (options.fromClient && rt.hasStatus) delete obj.status;
    for (const field of ['deletionTimestamp', 'deletionGracePeriodSeconds', 'resourceVersion', 'managedFields'] as const) {
      delete obj.metadata[field];
    }
    obj.metadata.uid = randomUUID();
    obj.metadata.creationTimestamp = nowSeconds();
    if (rt.generation) obj.metadata.generation = 1;
    else delete obj.metadata.generation;
    applyDefaults(rt, obj, undefined, this.ips);
    if (options.dryRun) {
      releaseResources(rt, obj, this.ips);
      return obj as StoredObject;
    }
    const rv = ++this.rv;
    obj.metadata.resourceVersion = String(rv);
    const stored = obj as StoredObject;
    bucket.set(key(namespace, name), stored);
    this.afterWrite(rt, stored, undefined);
    this.commit({ rv, typeKey: typeKey(rt), type: 'ADDED', object: clone(stored) });
    return clone(stored);
  }

  update(rt: ResourceType, pathNamespace: string | undefined, name: string, body: KubeObject,
    options: UpdateOptions): StoredObject {
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw badRequest('the body must be a JSON object');
    const bodyMeta = body.metadata ?? {};
    const namespace = rt.namespaced ? (pathNamespace ?? bodyMeta.namespace) : undefined;
    const current = this.stored(rt, namespace, name);
    this.checkTypeMeta(rt, body);
    checkWireFormat(rt, body);
    if (bodyMeta.name !== undefined && bodyMeta.name !== name) {
      throw badRequest(`the name of the object (${bodyMeta.name}) does not match the name on the URL (${name})`);
    }
    if (rt.namespaced && bodyMeta.namespace !== undefined && bodyMeta.namespace !== namespace) {
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    const wantedRv = bodyMeta.resourceVersion;
    if (wantedRv !== undefined && wantedRv !== '') {
      if (wantedRv !== current.metadata.resourceVersion) throw conflict(rt, name, MODIFIED_CONFLICT);
    } else if (options.verb === 'update' && options.fromClient && rt.custom) {
      throw invalid(rt, name, 'metadata.resourceVersion', 'Invalid value: 0x0: must be specified for an update');
    }

    let next: KubeObject;
    if (options.subresource === 'status') {
      next = clone(current);
      if (body.status === undefined) delete next.status;
      else next.status = clone(body.status);
    } else {
      next = clone(body);
      next.metadata = { ...bodyMeta };
      if (options.fromClient && rt.hasStatus) {
        if (current.status === undefined) delete next.status;
        else next.status = clone(current.status);
      }
    }
    next.apiVersion = apiVersionOf(rt);
    next.kind = rt.kind;
    const meta = next.metadata;
    meta.name = name;
    if (rt.namespaced) meta.namespace = namespace;
    else delete meta.namespace;
    meta.uid = current.metadata.uid;
    meta.creationTimestamp = current.metadata.creationTimestamp;
    meta.resourceVersion = current.metadata.resourceVersion;
    for (const field of ['deletionTimestamp', 'deletionGracePeriodSeconds', 'generation'] as const) {
      if (current.metadata[field] === undefined) delete meta[field];
      else meta[field] = current.metadata[field] as never;
    }
    applyDefaults(rt, next, current, this.ips);
    if (rt.generation && !sameJson(specPart(next), specPart(current))) {
      meta.generation = (current.metadata.generation ?? 0) + 1;
    }
    // The real server does not write (nor bump the resourceVersion, nor notify watches) when nothing changed.
    if (sameJson(next, current)) return clone(current);
    if (options.dryRun) return next as StoredObject;

    if (meta.deletionTimestamp !== undefined && (meta.finalizers ?? []).length === 0) {
      return this.remove(rt, next as StoredObject, current);
    }
    const rv = ++this.rv;
    meta.resourceVersion = String(rv);
    const stored = next as StoredObject;
    this.bucket(rt).set(key(namespace, name), stored);
    this.afterWrite(rt, stored, current);
    this.commit({ rv, typeKey: typeKey(rt), type: 'MODIFIED', object: clone(stored), previous: current });
    return clone(stored);
  }

  delete(rt: ResourceType, namespace: string | undefined, name: string,
    preconditions: DeletePreconditions | undefined, options: WriteOptions): StoredObject {
    const current = this.stored(rt, namespace, name);
    if (preconditions?.uid !== undefined && preconditions.uid !== current.metadata.uid) {
      throw conflict(rt, name, `Precondition failed: UID in precondition: ${preconditions.uid}, UID in object meta: ${current.metadata.uid}`);
    }
    if (preconditions?.resourceVersion !== undefined && preconditions.resourceVersion !== current.metadata.resourceVersion) {
      throw conflict(rt, name, `Precondition failed: ResourceVersion in precondition: ${preconditions.resourceVersion}, ResourceVersion in object meta: ${current.metadata.resourceVersion}`);
    }
    if (options.dryRun) return clone(current);
    if ((current.metadata.finalizers ?? []).length > 0) {
      if (current.metadata.deletionTimestamp !== undefined) return clone(current);
      const marked = clone(current);
      marked.metadata.deletionTimestamp = nowSeconds();
      marked.metadata.deletionGracePeriodSeconds = 0;
      const rv = ++this.rv;
      marked.metadata.resourceVersion = String(rv);
      this.bucket(rt).set(key(current.metadata.namespace, name), marked);
      this.commit({ rv, typeKey: typeKey(rt), type: 'MODIFIED', object: clone(marked), previous: current });
      return clone(marked);
    }
    if (rt.group === '' && rt.resource === 'namespaces') this.emptyNamespace(name);
    return this.remove(rt, current, current);
  }

  // The namespace controller's job, done at once: everything in a deleted namespace goes with it.
  private emptyNamespace(namespace: string): void {
    for (const rt of this.registry.all()) {
      if (!rt.namespaced) continue;
      for (const obj of [...this.bucket(rt).values()]) {
        if (obj.metadata.namespace === namespace) this.remove(rt, obj, obj);
      }
    }
  }

  private remove(rt: ResourceType, last: StoredObject, previous: StoredObject): StoredObject {
    const bucket = this.bucket(rt);
    if (!bucket.delete(key(last.metadata.namespace, last.metadata.name))) return clone(last);
    const rv = ++this.rv;
    const deleted = clone(last);
    deleted.metadata.resourceVersion = String(rv);
    releaseResources(rt, deleted, this.ips);
    if (rt.group === 'apiextensions.k8s.io' && rt.resource === 'customresourcedefinitions') {
      for (const served of typesFromCrd(deleted)) this.registry.remove(served);
    }
    this.commit({ rv, typeKey: typeKey(rt), type: 'DELETED', object: clone(deleted), previous });
    return deleted;
  }

  private afterWrite(rt: ResourceType, obj: StoredObject, previous: StoredObject | undefined): void {
    if (rt.group === 'apiextensions.k8s.io' && rt.resource === 'customresourcedefinitions') {
      if (previous) for (const old of typesFromCrd(previous)) this.registry.remove(old);
      for (const served of typesFromCrd(obj)) this.registry.add(served);
    }
  }
}

