// Full decoding and checking for the sampled proxies: every response is decoded with the real
// Envoy protos, compared with what the light envelope scanner read, validated resource by
// resource, and kept, so the converged state can be checked for dangling references and for the
// content the workload put in (cluster counts, endpoints, the change a measurement made).
import { isIP } from 'node:net';
import { decodeDeltaResponse, decodeSotwResponse } from '../test/support/xds-client-codec.js';
import { CLUSTER, ENDPOINT, LISTENER, ROUTE, isFullState, shortTypeName } from '../src/xds/types.js';
import { decodeMessage, listenerRouteNames, routeClusterNames, clusterEdsNames } from './derive.js';
import { clusterValueEdsName, type DeltaEnvelope, type SotwEnvelope } from './wire.js';

type Obj = Record<string, unknown>;

const MAX_ERRORS = 20;

export interface Expectations {
  /** Clusters a wildcard CDS subscriber must hold (subset and static clusters come on top). */
  readonly clusters?: readonly string[];
  /** Scoped meshes: the clusters by the sidecar's namespace, instead of `clusters`. */
  readonly clustersByNamespace?: Readonly<Record<string, readonly string[]>>;
  /** Every whole-service assignment (`outbound|<port>||...`) must have at least this many endpoints. */
  readonly minEndpoints?: number;
}

export interface CheckCounters {
  responses: number;
  resources: number;
  failures: number;
  errors: string[];
}

function resourceName(typeUrl: string, v: Obj): string {
  const n = typeUrl === ENDPOINT ? v.cluster_name : v.name;
  return typeof n === 'string' ? n : '';
}

function arr(v: unknown): Obj[] {
  return Array.isArray(v) ? (v as Obj[]) : [];
}

function obj(v: unknown): Obj | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined;
}

/** Problems with one decoded resource, as short sentences naming it. */
export function validateResource(typeUrl: string, name: string, v: Obj): string[] {
  const out: string[] = [];
  const where = `${shortTypeName(typeUrl)} ${name}`;
  switch (typeUrl) {
    case ENDPOINT:
      for (const loc of arr(v.endpoints)) {
        const w = obj(loc.load_balancing_weight)?.value;
        if (w !== undefined && !(typeof w === 'number' && w > 0)) out.push(`${where}: locality weight ${String(w)}`);
        for (const lb of arr(loc.lb_endpoints)) {
          const sa = obj(obj(obj(lb.endpoint)?.address)?.socket_address);
          const port = sa?.port_value;
          if (!sa || typeof sa.address !== 'string' || isIP(sa.address) === 0) out.push(`${where}: endpoint without a valid IP`);
          else if (typeof port !== 'number' || port < 1 || port > 65535) out.push(`${where}: endpoint ${sa.address} port ${String(port)}`);
        }
      }
      break;
    case CLUSTER:
      if ((v.type === 3 || v.type === 'EDS') && !obj(obj(v.eds_cluster_config)?.eds_config)) out.push(`${where}: EDS cluster without eds_config`);
      break;
    case LISTENER:
      if (!obj(v.api_listener) && !obj(v.address)) out.push(`${where}: neither api_listener nor address`);
      break;
    case ROUTE:
      for (const vh of arr(v.virtual_hosts)) {
        if (arr(vh.domains).length === 0) out.push(`${where}: virtual host ${String(vh.name)} has no domains`);
        for (const r of arr(vh.routes)) {
          if (!obj(r.match)) out.push(`${where}: route without match`);
          if (!obj(r.route) && !obj(r.redirect) && !obj(r.direct_response) && !obj(r.non_forwarding_action)) {
            out.push(`${where}: route without action`);
          }
        }
      }
      break;
    default:
      out.push(`unexpected resource type ${typeUrl}`);
  }
  return out;
}

export class Checker {
  readonly counters: CheckCounters = { responses: 0, resources: 0, failures: 0, errors: [] };
  /** typeUrl -> name -> decoded resource: what the proxy holds now. */
  private readonly state = new Map<string, Map<string, Obj>>();

  constructor(private readonly proxyId: string) {}

  /** A reconnect starts from nothing: what the old stream delivered is gone. */
  reset(): void {
    this.state.clear();
  }

  fail(message: string): void {
    this.counters.failures++;
    if (this.counters.errors.length < MAX_ERRORS) this.counters.errors.push(`${this.proxyId}: ${message}`);
  }

  private held(typeUrl: string): Map<string, Obj> {
    let m = this.state.get(typeUrl);
    if (!m) this.state.set(typeUrl, (m = new Map()));
    return m;
  }

  /** `subscribed` is undefined for a wildcard subscription. */
  onSotw(buf: Uint8Array, env: SotwEnvelope, subscribed: ReadonlySet<string> | undefined): void {
    this.counters.responses++;
    const full = decodeSotwResponse(buf);
    if (full.versionInfo !== env.versionInfo || full.nonce !== env.nonce || full.typeUrl !== env.typeUrl
      || full.resources.length !== env.resourceCount) {
      this.fail(`envelope scan disagrees with protobufjs for ${shortTypeName(env.typeUrl)} ${env.nonce}`);
    }
    // LDS and CDS are state of the world; an RDS or EDS response may carry only what changed.
    const next = isFullState(full.typeUrl) ? new Map<string, Obj>() : new Map(this.held(full.typeUrl));
    const seen = new Set<string>();
    for (const any of full.resources) {
      this.counters.resources++;
      if (any.type_url !== full.typeUrl) this.fail(`resource of type ${any.type_url} in a ${full.typeUrl} response`);
      const value = decodeMessage(any.type_url, any.value);
      const name = resourceName(full.typeUrl, value);
      if (name === '') this.fail(`${shortTypeName(full.typeUrl)} resource without a name`);
      if (seen.has(name)) this.fail(`${shortTypeName(full.typeUrl)} ${name} sent twice in one response`);
      seen.add(name);
      if (subscribed && !subscribed.has(name)) this.fail(`${shortTypeName(full.typeUrl)} ${name} was not subscribed`);
      for (const p of validateResource(full.typeUrl, name, value)) this.fail(p);
      if (full.typeUrl === CLUSTER) this.checkEdsScan(name, value, any);
      next.set(name, value);
    }
    this.state.set(full.typeUrl, next);
  }

  onDelta(buf: Uint8Array, env: DeltaEnvelope): void {
    this.counters.responses++;
    const full = decodeDeltaResponse(buf);
    const same = full.nonce === env.nonce && full.typeUrl === env.typeUrl && full.systemVersionInfo === env.systemVersionInfo
      && full.resources.length === env.resources.length && full.removed.length === env.removed.length
      && full.resources.every((r, i) => r.name === env.resources[i].name && r.version === env.resources[i].version)
      && full.removed.every((n, i) => n === env.removed[i]);
    if (!same) this.fail(`envelope scan disagrees with protobufjs for delta ${shortTypeName(env.typeUrl)} ${env.nonce}`);
    const held = this.held(full.typeUrl);
    const seen = new Set<string>();
    for (const r of full.resources) {
      this.counters.resources++;
      if (seen.has(r.name)) this.fail(`delta ${shortTypeName(full.typeUrl)} ${r.name} sent twice in one response`);
      seen.add(r.name);
      if (!r.resource) { this.fail(`delta ${shortTypeName(full.typeUrl)} ${r.name} has no body`); continue; }
      if (r.resource.type_url !== full.typeUrl) this.fail(`resource of type ${r.resource.type_url} in a ${full.typeUrl} response`);
      const value = decodeMessage(r.resource.type_url, r.resource.value);
      const name = resourceName(full.typeUrl, value);
      if (name !== r.name) this.fail(`delta entry ${r.name} carries resource ${name}`);
      for (const p of validateResource(full.typeUrl, name, value)) this.fail(p);
      if (full.typeUrl === CLUSTER) this.checkEdsScan(name, value, r.resource);
      held.set(r.name, value);
    }
    for (const n of full.removed) held.delete(n);
  }

  /** The proxies follow clusters with the wire scan; it must read what the protos read. */
  private checkEdsScan(name: string, value: Obj, any: { type_url: string; value: Uint8Array }): void {
    const scanned = clusterValueEdsName(any.value);
    const decoded = clusterEdsNames(value)[0];
    if (scanned !== decoded) this.fail(`cluster ${name}: wire scan reads EDS name ${String(scanned)}, the protos ${String(decoded)}`);
  }

  hasEndpoint(cluster: string, address: string): boolean {
    const cla = this.state.get(ENDPOINT)?.get(cluster);
    if (!cla) return false;
    return arr(cla.endpoints).some((loc) => arr(loc.lb_endpoints).some(
      (lb) => obj(obj(obj(lb.endpoint)?.address)?.socket_address)?.address === address));
  }

  has(typeUrl: string, name: string): boolean {
    return this.state.get(typeUrl)?.has(name) ?? false;
  }

  /** Referential integrity of the held config plus the workload's expectations. */
  verify(wildcardCds: boolean, exp: Expectations): void {
    const listeners = this.held(LISTENER), routes = this.held(ROUTE), clusters = this.held(CLUSTER), clas = this.held(ENDPOINT);
    for (const [name, l] of listeners) {
      for (const rn of listenerRouteNames(l)) if (!routes.has(rn)) this.fail(`listener ${name} needs route ${rn}, which it never got`);
    }
    for (const [name, rc] of routes) {
      for (const cn of routeClusterNames(rc)) if (!clusters.has(cn)) this.fail(`route ${name} sends to cluster ${cn}, which it never got`);
    }
    for (const [name, c] of clusters) {
      for (const en of clusterEdsNames(c)) if (!clas.has(en)) this.fail(`cluster ${name} has no endpoints assignment ${en}`);
    }
    if (wildcardCds && exp.clusters !== undefined) {
      const missing = exp.clusters.filter((c) => !clusters.has(c));
      if (missing.length > 0) this.fail(`lacks ${missing.length} of the workload's ${exp.clusters.length} clusters, e.g. ${missing[0]}`);
    }
    if (exp.minEndpoints !== undefined) {
      for (const [name, cla] of clas) {
        // Subsets select by pod labels, so they may rightly hold fewer.
        if (!/^outbound\|\d+\|\|/.test(name)) continue;
        let n = 0;
        for (const loc of arr(cla.endpoints)) n += arr(loc.lb_endpoints).length;
        if (n < exp.minEndpoints) this.fail(`${name} has ${n} endpoints, the workload gave it at least ${exp.minEndpoints}`);
      }
    }
  }
}
