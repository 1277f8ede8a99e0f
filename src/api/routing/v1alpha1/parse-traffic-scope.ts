// Turns a stored TrafficScope into the model of model/traffic-scope.ts.
//
// The spec is walked with the CRD's own schema (schema.ts TRAFFIC_SCOPE_SPEC), so an object is
// refused exactly where the API server would refuse it; the now well-typed spec is then
// converted: `.` in an egress host becomes the scope's own namespace, and entries that say the
// same thing after that are kept once.
import type { CustomObject } from '../../../model/k8s-object.js';
import type { EgressHost, TrafficScope } from '../../../model/traffic-scope.js';
import { parseEnvelope } from '../../object-envelope.js';
import { ROUTING_API_VERSION } from './crd.js';
import { evaluateWithTwin, validateValue, type FieldError, type RuleEvaluator } from './openapi.js';
import type { ParseResult } from './parse.js';
import { TRAFFIC_SCOPE_SPEC } from './schema.js';

interface RawSpec {
  selector?: { matchLabels?: Record<string, string> };
  egress: { hosts: string[] };
}

/**
 * Validates and normalizes a TrafficScope. `evaluate` decides CEL rules; the default uses their
 * TypeScript twins (tests pass a real CEL engine to prove the twins right).
 */
export function parseTrafficScope(obj: CustomObject, evaluate: RuleEvaluator = evaluateWithTwin): ParseResult<TrafficScope> {
  const errors: FieldError[] = [];
  const meta = parseEnvelope(obj, ROUTING_API_VERSION, 'TrafficScope', errors);
  if (meta) {
    if (obj.spec === undefined || obj.spec === null) errors.push({ path: 'spec', message: 'is required' });
    else errors.push(...validateValue(obj.spec, TRAFFIC_SCOPE_SPEC, 'spec', evaluate));
  }
  if (errors.length || !meta) return { errors };
  const spec = obj.spec as RawSpec;
  const hosts: EgressHost[] = [];
  const seen = new Set<string>();
  for (const entry of spec.egress.hosts) {
    const slash = entry.indexOf('/');
    const written = entry.slice(0, slash);
    const host: EgressHost = { namespace: written === '.' ? meta.namespace : written, host: entry.slice(slash + 1) };
    const key = `${host.namespace}/${host.host}`;
    if (seen.has(key)) continue;
    seen.add(key);
    hosts.push(host);
  }
  const labels = spec.selector?.matchLabels ?? {};
  return { ok: { meta, ...(Object.keys(labels).length > 0 ? { selector: { ...labels } } : {}), egressHosts: hosts } };
}
