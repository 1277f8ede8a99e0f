// What a proxy subscribes to next, derived from what it received, as Envoy and gRPC do it:
// EDS names from EDS clusters, RDS names from HttpConnectionManagers in listeners, cluster names
// from route actions (proxyless clients request CDS by name). Resources are decoded with the real
// Envoy protos; results are cached by content (a SotW response by its version, a delta resource
// by its own version), so a thousand proxies of one class decode a response once, not a thousand
// times, and still each follow exactly what they were sent.
import type protobuf from 'protobufjs';
import { lookupType } from '../src/xds/protos.js';
import { CLUSTER, LISTENER, ROUTE, messageName } from '../src/xds/types.js';
import { clusterEdsName, sotwEdsNameSpans, splitAny } from './wire.js';

const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
/** Cluster.DiscoveryType.EDS */
const EDS_TYPE = 3;

type Obj = Record<string, unknown>;

const types = new Map<string, protobuf.Type>();
function typeOf(typeUrl: string): protobuf.Type {
  let t = types.get(typeUrl);
  if (!t) types.set(typeUrl, (t = lookupType(messageName(typeUrl))));
  return t;
}

/** Decodes a message into a plain object (fields as protobufjs holds them, enums as numbers). */
export function decodeMessage(typeUrl: string, value: Uint8Array): Obj {
  const T = typeOf(typeUrl);
  return T.toObject(T.decode(value), { defaults: false }) as Obj;
}

/** Decodes an encoded Any. */
export function decodeAny(any: Uint8Array): { typeUrl: string; value: Obj } {
  const { typeUrl, value } = splitAny(any);
  return { typeUrl, value: decodeMessage(typeUrl, value) };
}

function asObj(v: unknown): Obj | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined;
}

function asArray(v: unknown): Obj[] {
  return Array.isArray(v) ? (v as Obj[]) : [];
}

/** An embedded Any as protobufjs decodes it: {type_url, value}. */
function embeddedHcm(v: unknown): Obj | undefined {
  const any = asObj(v);
  if (!any || any.type_url !== HCM || !(any.value instanceof Uint8Array)) return undefined;
  const T = typeOf(HCM);
  return T.toObject(T.decode(any.value), { defaults: false }) as Obj;
}

/** EDS service names a cluster needs (empty for non-EDS clusters). */
export function clusterEdsNames(cluster: Obj): string[] {
  const type = cluster.type;
  if (type !== EDS_TYPE && type !== 'EDS') return [];
  const eds = asObj(cluster.eds_cluster_config);
  const serviceName = typeof eds?.service_name === 'string' && eds.service_name !== '' ? eds.service_name : cluster.name;
  return typeof serviceName === 'string' ? [serviceName] : [];
}

/** RDS names of every HttpConnectionManager of a listener (API listener or filter chains). */
export function listenerRouteNames(listener: Obj): string[] {
  const hcms: Obj[] = [];
  const api = embeddedHcm(asObj(listener.api_listener)?.api_listener);
  if (api) hcms.push(api);
  const chains = [...asArray(listener.filter_chains)];
  const def = asObj(listener.default_filter_chain);
  if (def) chains.push(def);
  for (const chain of chains) {
    for (const f of asArray(chain.filters)) {
      const h = embeddedHcm(f.typed_config);
      if (h) hcms.push(h);
    }
  }
  const out: string[] = [];
  for (const h of hcms) {
    const name = asObj(h.rds)?.route_config_name;
    if (typeof name === 'string' && name !== '') out.push(name);
  }
  return out;
}

/** Clusters the routes of a RouteConfiguration send to. */
export function routeClusterNames(rc: Obj): string[] {
  const out: string[] = [];
  for (const vh of asArray(rc.virtual_hosts)) {
    for (const r of asArray(vh.routes)) {
      const action = asObj(r.route);
      if (!action) continue;
      if (typeof action.cluster === 'string') out.push(action.cluster);
      for (const wc of asArray(asObj(action.weighted_clusters)?.clusters)) {
        if (typeof wc.name === 'string') out.push(wc.name);
      }
    }
  }
  return out;
}

/** The names a resource of `typeUrl` makes its holder subscribe to, of the dependent type. */
export function dependentNames(typeUrl: string, value: Obj): string[] {
  switch (typeUrl) {
    case CLUSTER: return clusterEdsNames(value);
    case LISTENER: return listenerRouteNames(value);
    case ROUTE: return routeClusterNames(value);
    default: return [];
  }
}

/**
 * dependentNames of an encoded Any. Clusters are read off the wire (clusterEdsName): they are
 * most of what a SotW sidecar receives, and the sampled proxies check the shortcut against the
 * full decode. Everything else is decoded with the protos.
 */
export function anyDependentNames(typeUrl: string, any: Uint8Array): string[] {
  if (typeUrl === CLUSTER) {
    const name = clusterEdsName(any);
    return name === undefined ? [] : [name];
  }
  return dependentNames(typeUrl, decodeAny(any).value);
}

/** Sorted, de-duplicated: one canonical array per distinct set, so request bytes can be shared. */
export function canonical(names: Iterable<string>): string[] {
  return [...new Set(names)].sort();
}

/**
 * What each resource of a Delta response makes its holder subscribe to, by type and name, for
 * the version last seen: thousands of Delta proxies get the same resources, and a lookup by the
 * name string (hashed once, when it was decoded) is far cheaper than by a composed key.
 */
export class ResourceDeriveCache {
  /** type -> name -> recent versions, newest last (proxy classes may hold different ones). */
  private readonly byType = new Map<string, Map<string, { version: string; names: readonly string[] }[]>>();
  hits = 0;
  misses = 0;

  constructor(private readonly versionsPerName = 16) {}

  get(typeUrl: string, name: string, version: string, compute: () => readonly string[]): readonly string[] {
    let byName = this.byType.get(typeUrl);
    if (!byName) this.byType.set(typeUrl, (byName = new Map()));
    let versions = byName.get(name);
    if (!versions) byName.set(name, (versions = []));
    for (const v of versions) {
      if (v.version === version) {
        this.hits++;
        return v.names;
      }
    }
    this.misses++;
    const names = compute();
    if (versions.length >= this.versionsPerName) versions.shift();
    versions.push({ version, names });
    return names;
  }
}

/**
 * The EDS names a SotW CDS response makes a sidecar ask for, canonical. Each workload class gets
 * its own cluster list (its inbound clusters differ), so responses rarely repeat byte for byte,
 * but the EDS clusters in them do: the names are found on the wire (sotwEdsNameSpans) and
 * compared byte for byte with the lists seen recently, and only a list not seen before is
 * decoded into strings. Proxies with the same list share one array, so their EDS requests share
 * one encoding too.
 */
export class SotwEdsNames {
  private readonly recent: { raw: Buffer; lengths: number[]; names: readonly string[] }[] = [];
  private readonly spans: number[] = [];
  hits = 0;
  misses = 0;

  /** Proxyless clients' short lists come between the sidecars' long ones: keep a few dozen. */
  constructor(private readonly keep = 32) {}

  get(msg: Buffer): readonly string[] {
    const spans = this.spans;
    spans.length = 0;
    sotwEdsNameSpans(msg, spans);
    for (let i = 0; i < this.recent.length; i++) {
      const entry = this.recent[i];
      if (sameNames(entry, msg, spans)) {
        this.hits++;
        // Most recently used first: a list in use is compared first and never evicted.
        if (i > 0) {
          this.recent.splice(i, 1);
          this.recent.unshift(entry);
        }
        return entry.names;
      }
    }
    this.misses++;
    const lengths: number[] = [];
    const parts: Buffer[] = [];
    const names: string[] = [];
    for (let i = 0; i < spans.length; i += 2) {
      lengths.push(spans[i + 1] - spans[i]);
      parts.push(msg.subarray(spans[i], spans[i + 1]));
      names.push(msg.toString('utf8', spans[i], spans[i + 1]));
    }
    const entry = { raw: Buffer.concat(parts), lengths, names: canonical(names) };
    this.recent.unshift(entry);
    if (this.recent.length > this.keep) this.recent.pop();
    return entry.names;
  }
}

function sameNames(entry: { raw: Buffer; lengths: number[] }, msg: Buffer, spans: readonly number[]): boolean {
  if (entry.lengths.length * 2 !== spans.length) return false;
  let at = 0;
  for (let i = 0; i < entry.lengths.length; i++) {
    const s = spans[2 * i], e = spans[2 * i + 1], len = entry.lengths[i];
    if (e - s !== len || msg.compare(entry.raw, at, at + len, s, e) !== 0) return false;
    at += len;
  }
  return true;
}

/** A bounded memo: benchmarks see a handful of versions at a time, never thousands. */
export class DeriveCache<V> {
  private readonly map = new Map<string, V>();
  hits = 0;
  misses = 0;

  constructor(private readonly limit = 4096) {}

  get(key: string, compute: () => V): V {
    const hit = this.map.get(key);
    if (hit !== undefined) {
      this.hits++;
      return hit;
    }
    this.misses++;
    const v = compute();
    if (this.map.size >= this.limit) this.map.delete(this.map.keys().next().value as string);
    this.map.set(key, v);
    return v;
  }
}
