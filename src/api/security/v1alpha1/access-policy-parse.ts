// Turns a stored AccessPolicy into the model of model/access-policy.ts. The spec is walked with
// the CRD's own schema (access-policy-schema.ts), so an object is refused exactly where the API
// server would refuse it; the now well-typed spec is then converted. An empty selector selects
// the whole namespace, as in Istio, and becomes "no selector" in the model.
import type { CustomObject } from '../../../model/k8s-object.js';
import type {
  AccessAction, AccessCondition, AccessOperation, AccessPattern, AccessPolicy, AccessRule, AccessSource,
} from '../../../model/access-policy.js';
import { evaluateWithTwin, validateValue, type FieldError, type RuleEvaluator } from '../../routing/v1alpha1/openapi.js';
import type { ParseResult } from '../../routing/v1alpha1/parse.js';
import { parseEnvelope } from '../../object-envelope.js';
import { ACCESS_POLICY_KIND } from './access-policy-crd.js';
import { ACCESS_POLICY_SPEC } from './access-policy-schema.js';
import { SECURITY_API_VERSION } from './crd.js';

interface RawRule {
  from?: { source: { principals?: string[]; namespaces?: string[] } }[];
  to?: { operation: { ports?: string[]; methods?: string[]; paths?: string[] } }[];
  when?: { key: string; values: string[] }[];
}

interface RawSpec {
  selector?: { matchLabels?: Record<string, string> };
  action?: AccessAction;
  rules?: RawRule[];
}

/** Istio's wildcard forms; the schema already refused a `*` anywhere else. */
function accessPattern(text: string): AccessPattern {
  if (text === '*') return { match: 'any', value: '' };
  if (text.startsWith('*')) return { match: 'suffix', value: text.slice(1) };
  if (text.endsWith('*')) return { match: 'prefix', value: text.slice(0, -1) };
  return { match: 'exact', value: text };
}

const SPIFFE = 'spiffe://';

/** Istio writes principals without the scheme; the certificate's URI SAN has it. */
function principalPattern(text: string): AccessPattern {
  const p = accessPattern(text);
  if ((p.match === 'exact' || p.match === 'prefix') && !p.value.startsWith(SPIFFE)) return { ...p, value: `${SPIFFE}${p.value}` };
  return p;
}

function source(raw: { principals?: string[]; namespaces?: string[] }): AccessSource {
  return { principals: (raw.principals ?? []).map(principalPattern), namespaces: (raw.namespaces ?? []).map(accessPattern) };
}

function operation(raw: { ports?: string[]; methods?: string[]; paths?: string[] }): AccessOperation {
  return {
    ports: [...new Set((raw.ports ?? []).map(Number))],
    methods: raw.methods ?? [],
    paths: (raw.paths ?? []).map(accessPattern),
  };
}

function condition(raw: { key: string; values: string[] }): AccessCondition {
  const header = raw.key.slice('request.headers['.length, -1).toLowerCase();
  return { key: raw.key, header, values: raw.values.map(accessPattern) };
}

function rule(raw: RawRule, index: number): AccessRule {
  return {
    index,
    from: (raw.from ?? []).map((f) => source(f.source)),
    to: (raw.to ?? []).map((t) => operation(t.operation)),
    when: (raw.when ?? []).map(condition),
  };
}

/**
 * Validates and normalizes an AccessPolicy. `evaluate` decides CEL rules; the default uses their
 * TypeScript twins (tests pass a real CEL engine to prove the twins right). An absent spec is an
 * empty one: an ALLOW policy without rules, which denies everything its scope receives (as Istio).
 */
export function parseAccessPolicy(obj: CustomObject, evaluate: RuleEvaluator = evaluateWithTwin): ParseResult<AccessPolicy> {
  const errors: FieldError[] = [];
  const meta = parseEnvelope(obj, SECURITY_API_VERSION, ACCESS_POLICY_KIND, errors);
  const rawSpec: unknown = meta ? (obj.spec ?? {}) : undefined;
  if (meta) errors.push(...validateValue(rawSpec, ACCESS_POLICY_SPEC, 'spec', evaluate));
  if (errors.length || !meta) return { errors };
  const spec = rawSpec as RawSpec;
  const labels = spec.selector?.matchLabels ?? {};
  return {
    ok: {
      meta,
      ...(Object.keys(labels).length > 0 ? { selector: { ...labels } } : {}),
      action: spec.action ?? 'ALLOW',
      rules: (spec.rules ?? []).map(rule),
    },
  };
}
