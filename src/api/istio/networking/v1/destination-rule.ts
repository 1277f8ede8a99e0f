// An Istio DestinationRule as pilotfish applies it: translated into the spec of its TrafficPolicy
// twin and parsed by the TrafficPolicy parser, so the model is the twin's. Settings without a
// TrafficPolicy counterpart (TLS origination, locality load balancing, warm-up, …) are left out
// and listed; none of them decides where a request goes, so leaving one out never misroutes.
import type { CustomObject } from '../../../../model/k8s-object.js';
import type { TrafficPolicy } from '../../../../model/routing.js';
import { parseTrafficPolicy } from '../../../routing/v1alpha1/parse.js';
import { evaluateWithTwin, isPlainObject, type FieldError, type RuleEvaluator } from '../../../routing/v1alpha1/openapi.js';
import { asPilotfishObject, istioEnvelope, portNumber, type IstioParseResult } from './istio-object.js';
import { UnsupportedFields } from './unsupported-fields.js';

type Json = Record<string, unknown>;

const SIMPLE: readonly string[] = ['ROUND_ROBIN', 'LEAST_REQUEST', 'RANDOM'];

/** Copies the listed keys that are set; reports the others. */
function pick(o: Json, at: string, keys: readonly string[], f: UnsupportedFields, reasons: Readonly<Record<string, string>> = {}): Json {
  f.rest(o, at, keys, reasons);
  return Object.fromEntries(keys.filter((k) => o[k] !== undefined).map((k) => [k, o[k]]));
}

function loadBalancer(lb: unknown, at: string, f: UnsupportedFields): unknown {
  if (!isPlainObject(lb)) return lb;
  f.rest(lb, at, ['simple', 'consistentHash'], {
    localityLbSetting: 'locality load balancing settings are not supported; ignored',
    warmup: 'slow start is not supported; ignored',
    warmupDurationSecs: 'slow start is not supported; ignored',
  });
  if (lb.simple !== undefined) {
    // LEAST_CONN is Istio's older name of LEAST_REQUEST.
    const simple = lb.simple === 'LEAST_CONN' ? 'LEAST_REQUEST' : lb.simple;
    if (typeof simple === 'string' && !SIMPLE.includes(simple)) {
      f.add(`${at}.simple`, `${JSON.stringify(simple.slice(0, 32))} is not supported (supported: ${SIMPLE.join(', ')}, LEAST_CONN); the proxy default applies`);
      return undefined;
    }
    return { simple };
  }
  if (!isPlainObject(lb.consistentHash)) return lb.consistentHash === undefined ? undefined : { consistentHash: lb.consistentHash };
  const ch = lb.consistentHash;
  const where = `${at}.consistentHash`;
  f.rest(ch, where, ['httpHeaderName', 'httpCookie', 'useSourceIp', 'minimumRingSize', 'ringHash'], {
    httpQueryParameterName: 'hashing on a query parameter is not supported; the proxy default applies',
    maglev: 'Maglev hashing is not supported; the proxy default applies',
  });
  if (ch.httpHeaderName === undefined && ch.httpCookie === undefined && ch.useSourceIp === undefined) return undefined;
  const ring = isPlainObject(ch.ringHash) ? pick(ch.ringHash, `${where}.ringHash`, ['minimumRingSize'], f).minimumRingSize : undefined;
  const out: Json = {};
  if (ch.httpHeaderName !== undefined) out.httpHeaderName = ch.httpHeaderName;
  if (ch.httpCookie !== undefined) {
    out.httpCookie = isPlainObject(ch.httpCookie)
      ? pick(ch.httpCookie, `${where}.httpCookie`, ['name', 'ttl'], f, {
        path: 'cookie paths are not supported; ignored', attributes: 'cookie attributes are not supported; ignored',
      })
      : ch.httpCookie;
  }
  if (ch.useSourceIp !== undefined) out.useSourceIp = ch.useSourceIp;
  const minimumRingSize = ring ?? ch.minimumRingSize;
  if (minimumRingSize !== undefined) out.minimumRingSize = minimumRingSize;
  return { consistentHash: out };
}

function connectionPool(cp: unknown, at: string, f: UnsupportedFields): unknown {
  if (!isPlainObject(cp)) return cp;
  f.rest(cp, at, ['tcp', 'http']);
  const out: Json = {};
  if (cp.tcp !== undefined) {
    out.tcp = isPlainObject(cp.tcp) ? pick(cp.tcp, `${at}.tcp`, ['maxConnections', 'connectTimeout'], f, {
      idleTimeout: 'not supported; the proxy default applies',
      maxConnectionDuration: 'not supported; the proxy default applies',
      tcpKeepalive: 'TCP keepalive settings are not supported; the proxy default applies',
    }) : cp.tcp;
  }
  if (cp.http !== undefined) {
    out.http = isPlainObject(cp.http) ? pick(cp.http, `${at}.http`, ['http1MaxPendingRequests', 'http2MaxRequests', 'maxRequestsPerConnection', 'maxRetries'], f, {
      idleTimeout: 'not supported; the proxy default applies',
      h2UpgradePolicy: 'HTTP/2 upgrades are not supported; ignored',
      useClientProtocol: 'not supported; the Service port\'s protocol is used',
      maxConcurrentStreams: 'not supported; the proxy default applies',
    }) : cp.http;
  }
  return out;
}

function outlierDetection(od: unknown, at: string, f: UnsupportedFields): unknown {
  if (!isPlainObject(od)) return od;
  return pick(od, at, ['consecutive5xxErrors', 'consecutiveGatewayErrors', 'interval', 'baseEjectionTime', 'maxEjectionPercent'], f, {
    consecutiveErrors: 'deprecated by Istio and not supported; use consecutive5xxErrors',
    consecutiveLocalOriginFailures: 'not supported; ignored',
    splitExternalLocalOriginErrors: 'not supported; ignored',
    minHealthPercent: 'not supported; outlier detection stays on whatever the share of healthy endpoints',
  });
}

const POLICY_REASONS: Readonly<Record<string, string>> = {
  tls: 'client TLS settings (TLS origination, SNI, certificates) are not supported; mesh mutual TLS follows PeerAuthentication',
  proxyProtocol: 'the PROXY protocol is not supported; ignored',
  retryBudget: 'retry budgets are not supported; ignored',
  tunnel: 'tunnelling is not supported; ignored',
};

/** Settings at one level; `ports` says whether this level may hold portLevelSettings. */
function settings(tp: unknown, at: string, ports: boolean, f: UnsupportedFields): unknown {
  if (!isPlainObject(tp)) return tp;
  f.rest(tp, at, ['loadBalancer', 'connectionPool', 'outlierDetection', ...(ports ? ['portLevelSettings'] : ['port'])], POLICY_REASONS);
  const out: Json = {};
  if (!ports && tp.port !== undefined) out.port = portNumber(tp.port);
  if (tp.loadBalancer !== undefined) {
    const lb = loadBalancer(tp.loadBalancer, `${at}.loadBalancer`, f);
    if (lb !== undefined) out.loadBalancer = lb;
  }
  if (tp.connectionPool !== undefined) out.connectionPool = connectionPool(tp.connectionPool, `${at}.connectionPool`, f);
  if (tp.outlierDetection !== undefined) out.outlierDetection = outlierDetection(tp.outlierDetection, `${at}.outlierDetection`, f);
  if (ports && tp.portLevelSettings !== undefined) {
    out.portLevelSettings = Array.isArray(tp.portLevelSettings)
      ? tp.portLevelSettings.map((p: unknown, i) => settings(p, `${at}.portLevelSettings[${i}]`, false, f))
      : tp.portLevelSettings;
  }
  return out;
}

function translateSpec(spec: unknown, f: UnsupportedFields): unknown {
  if (!isPlainObject(spec)) return spec;
  f.rest(spec, 'spec', ['host', 'trafficPolicy', 'subsets'], {
    exportTo: 'visibility scoping is not supported: the DestinationRule applies to clients in every namespace',
    workloadSelector: 'selecting client workloads is not supported: the DestinationRule applies to every client',
  });
  const out: Json = {};
  if (spec.host !== undefined) out.host = spec.host;
  if (spec.trafficPolicy !== undefined) out.trafficPolicy = settings(spec.trafficPolicy, 'spec.trafficPolicy', true, f);
  if (Array.isArray(spec.subsets)) {
    out.subsets = spec.subsets.map((s: unknown, i) => {
      if (!isPlainObject(s)) return s;
      const at = `spec.subsets[${i}]`;
      f.rest(s, at, ['name', 'labels', 'trafficPolicy']);
      return {
        ...(s.name !== undefined ? { name: s.name } : {}),
        ...(s.labels !== undefined ? { labels: s.labels } : {}),
        ...(s.trafficPolicy !== undefined ? { trafficPolicy: settings(s.trafficPolicy, `${at}.trafficPolicy`, true, f) } : {}),
      };
    });
  } else if (spec.subsets !== undefined) out.subsets = spec.subsets;
  return out;
}

/** Validates and translates a DestinationRule; `ok.meta.kind` is DestinationRule. */
export function parseDestinationRule(obj: CustomObject, evaluate: RuleEvaluator = evaluateWithTwin): IstioParseResult<TrafficPolicy> {
  const errors: FieldError[] = [];
  const meta = istioEnvelope(obj, 'DestinationRule', errors);
  if (!meta || errors.length) return { errors, unsupported: [] };
  const f = new UnsupportedFields();
  const spec = translateSpec(obj.spec, f);
  const parsed = parseTrafficPolicy(asPilotfishObject(obj, 'TrafficPolicy', spec), evaluate);
  if (parsed.errors) return { errors: parsed.errors, unsupported: f.result() };
  return { ok: { ...parsed.ok, meta: { ...parsed.ok.meta, kind: 'DestinationRule' } }, unsupported: f.result() };
}
