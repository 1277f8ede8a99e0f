// `pilotfish proxy-config <cluster|listener|route|endpoint> --proxy ID`: the resources of one
// type that a connected proxy was sent, as a running control plane reports them.
import { stringify as toYaml } from 'yaml';
import { DebugClientError, formatTable, getDebugJson } from '../admin/debug-client.js';
import type { ProxyConfigDump, SentResource } from '../admin/sent-config.js';
import { parseCommandLine, type ParsedLine } from './command-line.js';
import { proxyConfigCommand } from './commands.js';
import { UsageError } from './flags.js';

type Obj = Record<string, unknown>;

interface Kind {
  readonly type: 'CDS' | 'LDS' | 'RDS' | 'EDS';
  readonly headers: readonly string[];
  /** The key facts of one resource, one cell per header after NAME. */
  readonly summary: (r: Obj) => string[];
}

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

function routeSummary(r: Obj): string[] {
  const vhosts = list(r.virtual_hosts);
  const domains = vhosts.flatMap((v) => (Array.isArray(v.domains) ? v.domains.map(String) : []));
  const routes = vhosts.reduce((n, v) => n + list(v.routes).length, 0);
  const shown = domains.slice(0, 3).join(',') + (domains.length > 3 ? `,+${domains.length - 3} more` : '');
  return [String(vhosts.length), shown, String(routes)];
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
  cluster: { type: 'CDS', headers: ['TYPE', 'LB POLICY', 'EDS SERVICE'], summary: clusterSummary },
  listener: { type: 'LDS', headers: ['ADDRESS', 'FILTERS', 'ROUTES'], summary: listenerSummary },
  route: { type: 'RDS', headers: ['VIRTUAL HOSTS', 'DOMAINS', 'ROUTES'], summary: routeSummary },
  endpoint: { type: 'EDS', headers: ['COUNT', 'ENDPOINTS (address health)'], summary: endpointSummary },
};

function kindOf(word: string | undefined): Kind {
  const k = word?.toLowerCase().replace(/s$/, '');
  const kind = k === undefined ? undefined : KINDS[k];
  if (!kind) {
    throw new UsageError(`pilotfish proxy-config: the first argument must be cluster, listener, route or endpoint${word ? ` (got "${word}")` : ''}`);
  }
  return kind;
}

export function proxyConfigTable(word: string, resources: readonly SentResource[]): string {
  const kind = kindOf(word);
  return formatTable(['NAME', ...kind.headers], resources.map((r) => [r.name, ...kind.summary(r.resource)]));
}

/** `pilotfish proxy-config` from its arguments. */
export async function runProxyConfig(argv: readonly string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  return proxyConfig(parseCommandLine(proxyConfigCommand, argv), out, err);
}

export async function proxyConfig({ values, positionals }: ParsedLine<typeof proxyConfigCommand.flags>, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const kind = kindOf(positionals[0]);
  // `proxy-config cluster ID` works too, as istioctl users type it.
  const proxy = values.proxy ?? positionals[1];
  if (!proxy) throw new UsageError('pilotfish proxy-config: --proxy ID is required (see pilotfish proxy-status)');
  if (values.proxy !== undefined && positionals[1] !== undefined) {
    throw new UsageError(`pilotfish proxy-config: unexpected argument "${positionals[1]}" (the proxy is given by --proxy)`);
  }
  const format = values.output!;

  let dump: ProxyConfigDump;
  try {
    dump = await getDebugJson<ProxyConfigDump>(values.server!, '/debug/config_dump', { proxy });
  } catch (e) {
    if (!(e instanceof DebugClientError)) throw e;
    err.write(`pilotfish proxy-config: ${e.message}\n`);
    return 1;
  }
  const resources = dump.types[kind.type]?.resources ?? [];
  if (format === 'json') out.write(`${JSON.stringify(resources.map((r) => r.resource), null, 2)}\n`);
  else if (format === 'yaml') out.write(toYaml(resources.map((r) => r.resource)));
  else out.write(proxyConfigTable(positionals[0]!, resources));
  return 0;
}
