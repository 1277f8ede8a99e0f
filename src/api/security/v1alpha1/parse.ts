// Turns a stored PeerAuthentication into the model of model/peer-authentication.ts.
//
// The spec is walked with the CRD's own schema (schema.ts) by the routing CRDs' validator, so an
// object is refused exactly where the API server would refuse it; the now well-typed spec is then
// converted. An empty selector (`selector: {}` or `matchLabels: {}`) selects the whole namespace,
// as in Istio, and becomes "no selector" in the model.
import type { CustomObject } from '../../../model/k8s-object.js';
import type { MtlsMode, PeerAuthentication, PeerAuthenticationMeta, PortMtls } from '../../../model/peer-authentication.js';
import { evaluateWithTwin, validateValue, type FieldError, type RuleEvaluator } from '../../routing/v1alpha1/openapi.js';
import type { ParseResult } from '../../routing/v1alpha1/parse.js';
import { parseEnvelope } from '../../object-envelope.js';
import { PEER_AUTHENTICATION_KIND, SECURITY_API_VERSION } from './crd.js';
import { PEER_AUTHENTICATION_SPEC } from './schema.js';

interface RawSpec {
  selector?: { matchLabels?: Record<string, string> };
  mtls?: { mode?: MtlsMode };
  portLevelMtls?: Record<string, { mode?: MtlsMode }>;
}

function envelope(obj: CustomObject, errors: FieldError[]): PeerAuthenticationMeta | undefined {
  return parseEnvelope(obj, SECURITY_API_VERSION, PEER_AUTHENTICATION_KIND, errors);
}

/**
 * Validates and normalizes a PeerAuthentication. `evaluate` decides CEL rules; the default uses
 * their TypeScript twins (tests pass a real CEL engine to prove the twins right). An absent spec
 * is an empty one, as the CRD allows: every level UNSET.
 */
export function parsePeerAuthentication(obj: CustomObject, evaluate: RuleEvaluator = evaluateWithTwin): ParseResult<PeerAuthentication> {
  const errors: FieldError[] = [];
  const meta = envelope(obj, errors);
  const rawSpec: unknown = meta ? (obj.spec ?? {}) : undefined;
  if (meta) errors.push(...validateValue(rawSpec, PEER_AUTHENTICATION_SPEC, 'spec', evaluate));
  if (errors.length || !meta) return { errors };
  const spec = rawSpec as RawSpec;
  const labels = spec.selector?.matchLabels ?? {};
  const portLevelMtls: PortMtls[] = [];
  for (const [key, v] of Object.entries(spec.portLevelMtls ?? {})) {
    const port = Number(key);
    // The API server admits "80" and "080" side by side; they are the same port.
    if (portLevelMtls.some((p) => p.port === port)) errors.push({ path: `spec.portLevelMtls[${key.slice(0, 100)}]`, message: `port ${port} is given more than once` });
    else portLevelMtls.push({ port, mode: v.mode ?? 'UNSET' });
  }
  if (errors.length) return { errors };
  portLevelMtls.sort((a, b) => a.port - b.port);
  return {
    ok: {
      meta,
      ...(Object.keys(labels).length > 0 ? { selector: { ...labels } } : {}),
      mode: spec.mtls?.mode ?? 'UNSET',
      portLevelMtls,
    },
  };
}
