// Turns a stored PeerAuthentication into the model of model/peer-authentication.ts.
//
// The spec is walked with the CRD's own schema (schema.ts) by the routing CRDs' validator, so an
// object is refused exactly where the API server would refuse it; the now well-typed spec is then
// converted. An empty selector (`selector: {}` or `matchLabels: {}`) selects the whole namespace,
// as in Istio, and becomes "no selector" in the model.
import type { CustomObject } from '../../../model/k8s-object.js';
import type { MtlsMode, PeerAuthentication, PeerAuthenticationMeta, PortMtls } from '../../../model/peer-authentication.js';
import { evaluateWithTwin, isPlainObject, validateValue, type FieldError, type RuleEvaluator } from '../../routing/v1alpha1/openapi.js';
import type { ParseResult } from '../../routing/v1alpha1/parse.js';
import { PEER_AUTHENTICATION_KIND, SECURITY_API_VERSION } from './crd.js';
import { PEER_AUTHENTICATION_SPEC } from './schema.js';

interface RawSpec {
  selector?: { matchLabels?: Record<string, string> };
  mtls?: { mode?: MtlsMode };
  portLevelMtls?: Record<string, { mode?: MtlsMode }>;
}

/** Peer-supplied values quoted in messages are cut to this many characters. */
const MAX_QUOTED = 100;

function quoted(v: unknown): string {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > MAX_QUOTED ? `${text.slice(0, MAX_QUOTED)}…` : text;
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function timestampOf(md: Record<string, unknown>): string | undefined {
  const ts = md.creationTimestamp;
  if (ts instanceof Date && !Number.isNaN(ts.getTime())) return ts.toISOString();
  if (typeof ts === 'string' && ts !== '') return ts;
  return undefined;
}

function envelope(obj: CustomObject, errors: FieldError[]): PeerAuthenticationMeta | undefined {
  if (!isPlainObject(obj)) {
    errors.push({ path: '', message: `a ${PEER_AUTHENTICATION_KIND} must be an object` });
    return undefined;
  }
  if (obj.apiVersion !== SECURITY_API_VERSION) {
    errors.push({ path: 'apiVersion', message: `must be ${SECURITY_API_VERSION} (got ${quoted(obj.apiVersion)})` });
  }
  if (obj.kind !== PEER_AUTHENTICATION_KIND) {
    errors.push({ path: 'kind', message: `must be ${PEER_AUTHENTICATION_KIND} (got ${quoted(obj.kind)})` });
  }
  const md: unknown = obj.metadata;
  if (!isPlainObject(md)) {
    errors.push({ path: 'metadata', message: 'is required' });
    return undefined;
  }
  const name = md.name;
  if (typeof name !== 'string' || name === '') {
    errors.push({ path: 'metadata.name', message: 'is required' });
    return undefined;
  }
  if (name.length > 253 || !DNS_SUBDOMAIN.test(name)) {
    errors.push({ path: 'metadata.name', message: `must be a DNS subdomain (lower-case letters, digits, "-" and ".") (got ${quoted(name)})` });
  }
  const creationTimestamp = timestampOf(md);
  return {
    kind: PEER_AUTHENTICATION_KIND,
    namespace: typeof md.namespace === 'string' && md.namespace !== '' ? md.namespace : 'default',
    name,
    ...(typeof md.generation === 'number' ? { generation: md.generation } : {}),
    ...(typeof md.uid === 'string' ? { uid: md.uid } : {}),
    ...(typeof md.resourceVersion === 'string' ? { resourceVersion: md.resourceVersion } : {}),
    ...(creationTimestamp !== undefined ? { creationTimestamp } : {}),
  };
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
    if (portLevelMtls.some((p) => p.port === port)) errors.push({ path: `spec.portLevelMtls[${key.slice(0, MAX_QUOTED)}]`, message: `port ${port} is given more than once` });
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
