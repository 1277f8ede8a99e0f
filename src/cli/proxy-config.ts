// `pilotfish proxy-config <cluster|listener|route|endpoint|all|bootstrap> --proxy ID`: what a
// connected proxy was sent, as a running control plane reports them. YAML and JSON are Envoy's
// config_dump form (durations `2s`, wrappers as values); the route table has one row per route,
// with its match, where it sends traffic (with weights) and the TrafficRoute it came from.
import { stringify as toYaml } from 'yaml';
import { DebugClientError, DEFAULT_SERVER, formatTable } from '../admin/debug-client.js';
import type { ProxyConfigDump, SentResource } from '../admin/sent-config.js';
import { parseCommandLine, type ParsedLine } from './command-line.js';
import { proxyConfigCommand } from './commands.js';
import { proxiesOfAll, replicasOf, resolveProxy } from './control-planes.js';
import { UsageError } from './flags.js';

type Obj = Record<string, unknown>;

interface Kind {
  readonly type: 'CDS' | 'LDS' | 'RDS' | 'EDS';
  /** The plural, as `all` titles its sections and keys its JSON. */
  readonly plural: string;
  readonly headers: readonly string[];
  /** The rows of one resource (usually one), one cell per header. */
  readonly rows: (r: SentResource, owners: RouteOwners) => string[][];
}

type RouteOwners = NonNullable<ProxyConfigDump['routeOwners']>;

const one = (summary: (r: Obj) => string[]) => (r: SentResource): string[][] => [[r.name, ...summary(r.resource)]];

function obj(v: unknown): Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {};
}

function list(v: unknown): Obj[] {
  return Array.isArray(v) ? v.map(obj) : [];
}

function socket(v: unknown): string {
  const s = obj(obj(v).socket_address);
  return s.address === undefined ? '' : `${String(s.address)}:${String(s.port_value ?? 0)}`;
}

function shortType(t: unknown): string {
  return typeof t === 'string' ? t.slice(t.lastIndexOf('.') + 1) : '';
}

function listenerSummary(l: Obj): string[] {
  const api = obj(obj(l.api_listener).api_listener);
  if (Object.keys(api).length > 0) {
    const rds = obj(api.rds);
    return ['api_listener', shortType(api['@type']), rds.route_config_name ? `RDS ${String(rds.route_config_name)}` : 'inline routes'];
  }
  const chains = list(l.filter_chains);
  const filters = chains.flatMap((c) => list(c.filters).map((f) => shortType(obj(f.typed_config)['@type']) || String(f.name ?? '')));
  const rds = chains.flatMap((c) => list(c.filters).map((f) => obj(obj(f.typed_config).rds).route_config_name)).filter((n) => n !== undefined);
  return [socket(l.address), [...new Set(filters)].join(',') || '-', rds.length > 0 ? `RDS ${[...new Set(rds)].join(',')}` : `${chains.length} filter chains`];
}

/** A route's match: path part, then header and query conditions (`!` negates, `~` is a regex). */
function matchText(m: Obj): string {
  const path = m.prefix !== undefined ? `prefix ${String(m.prefix)}`
    : m.path !== undefined ? `path ${String(m.path)}`
      : m.safe_regex !== undefined ? `regex ${String(obj(m.safe_regex).regex)}`
        : m.path_separated_prefix !== undefined ? `prefix ${String(m.path_separated_prefix)}` : '';
  const cond = (name: string, v: Obj): string => {
    const sm = obj(v.string_match);
    const not = v.invert_match === true ? '!' : '';
    if (v.present_match !== undefined) return `${not}${name} present`;
    if (sm.exact !== undefined) return `${not}${name}=${String(sm.exact)}`;
    if (sm.prefix !== undefined) return `${not}${name}=${String(sm.prefix)}*`;
    if (sm.suffix !== undefined) return `${not}${name}=*${String(sm.suffix)}`;
    if (sm.contains !== undefined) return `${not}${name}=*${String(sm.contains)}*`;
    if (sm.safe_regex !== undefined) return `${not}${name}~${String(obj(sm.safe_regex).regex)}`;
    return `${not}${name}`;
  };
  const headers = list(m.headers).map((h) => cond(String(h.name), h));
  const query = list(m.query_parameters).map((q) => cond(`?${String(q.name)}`, q));
  return [path, ...headers, ...query].filter((x) => x !== '').join(' ');
}

/** Where a route sends a request: a cluster, clusters with their share of traffic, or its answer. */
function actionText(r: Obj): string {
  const route = obj(r.route);
  if (route.cluster !== undefined) return String(route.cluster);
  const weighted = list(obj(route.weighted_clusters).clusters);
  if (weighted.length > 0) {
    const weight = (c: Obj): number => Number(obj(c).weight ?? 0) || 0;
    const total = weighted.reduce((n, c) => n + weight(c), 0);
    return weighted.map((c) => `${String(c.name)} ${total > 0 ? Math.round((100 * weight(c)) / total) : 0}%`).join(', ');
  }
  if (r.redirect !== undefined) return 'redirect';
  if (r.direct_response !== undefined) return `direct response ${String(obj(r.direct_response).status ?? '')}`;
  return '-';
}

function routeRows(rc: SentResource, owners: RouteOwners): string[][] {
  const rows: string[][] = [];
  for (const vh of list(rc.resource.virtual_hosts)) {
    const domains = Array.isArray(vh.domains) ? vh.domains.map(String) : [];
    const shown = (domains[0] ?? '') + (domains.length > 1 ? ` +${domains.length - 1}` : '');
    const owner = owners[rc.name]?.[String(vh.name)] ?? '-';
    for (const r of list(vh.routes)) {
      rows.push([rc.name, shown, String(r.name ?? ''), matchText(obj(r.match)), actionText(r), owner]);
    }
  }
  return rows;
}

function clusterSummary(c: Obj): string[] {
  // Proto3 JSON leaves out enum zero values: STATIC and ROUND_ROBIN.
  // Without a service_name an EDS cluster is asked for under its own name.
  const eds = c.eds_cluster_config === undefined ? undefined : obj(c.eds_cluster_config).service_name ?? c.name;
  return [String(c.type ?? 'STATIC'), String(c.lb_policy ?? 'ROUND_ROBIN'), eds === undefined ? '' : String(eds)];
}

function endpointSummary(e: Obj): string[] {
  const eps = list(e.endpoints).flatMap((loc) => list(loc.lb_endpoints).map((lb) => {
    const health = typeof lb.health_status === 'string' ? lb.health_status : 'UNKNOWN';
    return `${socket(obj(lb.endpoint).address)} ${health}`;
  }));
  return [String(eps.length), eps.join(', ')];
}

const KINDS: Record<string, Kind> = {
  cluster: { type: 'CDS', plural: 'clusters', headers: ['NAME', 'TYPE', 'LB POLICY', 'EDS SERVICE'], rows: one(clusterSummary) },
  listener: { type: 'LDS', plural: 'listeners', headers: ['NAME', 'ADDRESS', 'FILTERS', 'ROUTES'], rows: one(listenerSummary) },
  route: { type: 'RDS', plural: 'routes', headers: ['ROUTE CONFIG', 'DOMAINS', 'NAME', 'MATCH', 'DESTINATION', 'FROM'], rows: routeRows },
  endpoint: { type: 'EDS', plural: 'endpoints', headers: ['NAME', 'COUNT', 'ENDPOINTS (address health)'], rows: one(endpointSummary) },
};

const WHAT = ['all', 'bootstrap', ...Object.keys(KINDS)];

function kindsOf(word: string | undefined): readonly Kind[] | 'bootstrap' {
  const k = word?.toLowerCase().replace(/s$/, '');
  if (k === 'all') return Object.values(KINDS);
  if (k === 'bootstrap') return 'bootstrap';
  const kind = k === undefined ? undefined : KINDS[k];
  if (!kind) {
    throw new UsageError(`pilotfish proxy-config: the first argument must be one of ${WHAT.join(', ')}${word ? ` (got "${word}")` : ''}`);
  }
  return [kind];
}

function table(kind: Kind, dump: ProxyConfigDump): string {
  const resources = dump.types[kind.type]?.resources ?? [];
  return formatTable(kind.headers, resources.flatMap((r) => kind.rows(r, dump.routeOwners ?? {})));
}

/** `pilotfish proxy-config` from its arguments. */
export async function runProxyConfig(argv: readonly string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  return proxyConfig(parseCommandLine(proxyConfigCommand, argv), out, err);
}

export async function proxyConfig({ values, positionals }: ParsedLine<typeof proxyConfigCommand.flags>, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const kinds = kindsOf(positionals[0]);
  // `proxy-config cluster ID` works too, as istioctl users type it.
  const proxy = values.proxy ?? positionals[1];
  if (!proxy) throw new UsageError('pilotfish proxy-config: --proxy ID is required (see pilotfish proxy-status)');
  if (values.proxy !== undefined && positionals[1] !== undefined) {
    throw new UsageError(`pilotfish proxy-config: unexpected argument "${positionals[1]}" (the proxy is given by --proxy)`);
  }
  const format = values.output!;

  let dump: ProxyConfigDump;
  try {
    // The replica the proxy is connected to, and its node id if it was named by its Pod.
    const servers = await replicasOf(values, DEFAULT_SERVER, 'proxy-config');
    const { proxies, failures } = await proxiesOfAll(servers);
    const found = resolveProxy(proxy, proxies);
    if (found.length > 1) throw new UsageError(`pilotfish proxy-config: "${proxy}" names ${found.length} proxies (${found.map((f) => f.proxy.id).join(', ')}); give a node id`);
    if (found.length === 0 && failures.length > 0) throw new DebugClientError(failures.join('; '));
    const replica = found[0]?.replica ?? servers[0]!;
    const id = found[0]?.proxy.id ?? proxy;
    dump = await replica.get<ProxyConfigDump>('/debug/config_dump', { proxy: id });
  } catch (e) {
    if (!(e instanceof DebugClientError)) throw e;
    err.write(`pilotfish proxy-config: ${e.message}\n`);
    return 1;
  }
  const resourcesOf = (kind: Kind): Obj[] => (dump.types[kind.type]?.resources ?? []).map((r) => r.resource);
  let data: unknown;
  if (kinds === 'bootstrap') data = dump.bootstrap;
  else if (kinds.length === 1) data = resourcesOf(kinds[0]!);
  else data = Object.fromEntries(kinds.map((k) => [k.plural, resourcesOf(k)]));
  if (format === 'json') out.write(`${JSON.stringify(data, null, 2)}\n`);
  else if (format === 'yaml' || kinds === 'bootstrap') out.write(toYaml(data, { lineWidth: 0, aliasDuplicateObjects: false }));
  else if (kinds.length === 1) out.write(table(kinds[0]!, dump));
  else out.write(kinds.map((k) => `${k.plural.toUpperCase()}\n${table(k, dump)}`).join('\n'));
  return 0;
}
