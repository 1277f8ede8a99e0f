// The single definition of the PeerAuthentication schema (like Istio's PeerAuthentication). The
// CRD in crds/ is rendered from here (crd.ts) and parsing walks the very same data (parse.ts), with
// the generic machinery of the routing CRDs (api/routing/v1alpha1/openapi.ts), so a file in a
// config directory is refused exactly where the API server would refuse it.
//
// Every map and string is bounded: the API server estimates the worst-case cost of each CEL rule
// from those bounds and refuses a CRD whose rules could cost too much. That is also why port keys
// are checked with int() and not with a regular expression: map keys have no length bound, and a
// regex over an unbounded string is priced out.
import { MTLS_MODES } from '../../../model/peer-authentication.js';
import { isPlainObject, type CelRule, type Schema } from '../../routing/v1alpha1/openapi.js';

/** Upper bounds (documented in the CRD descriptions too). */
export const MAX_SELECTOR_LABELS = 64;
export const MAX_PORT_LEVEL_ENTRIES = 64;

function has(self: unknown, field: string): boolean {
  return isPlainObject(self) && self[field] !== undefined && self[field] !== null;
}

/** CEL's int(string): base-10 with an optional sign, anything else is an evaluation error. */
function celInt(s: string): number {
  if (!/^[+-]?[0-9]+$/.test(s)) throw new Error(`cannot convert ${JSON.stringify(s)} to int`);
  return Number(s);
}

const MODE: Schema = {
  type: 'string',
  enum: MTLS_MODES,
  description: 'PERMISSIVE: mTLS and plaintext are accepted. STRICT: only mTLS. DISABLE: only plaintext. '
    + 'UNSET (or absent): inherit from the enclosing scope (port < workload < namespace < mesh); PERMISSIVE when nothing is set.',
};

const MTLS: Schema = { type: 'object', description: 'Mutual TLS settings.', properties: { mode: MODE } };

const PORT_KEYS_RULE: CelRule = {
  rule: 'self.all(key, 0 < int(key) && int(key) <= 65535)',
  message: 'port must be between 1 and 65535',
  check: (self) => isPlainObject(self) && Object.keys(self).every((k) => {
    const n = celInt(k);
    return n > 0 && n <= 65535;
  }),
};

/** A label name: an optional DNS-subdomain prefix (253) and "/" and a name (63). */
export const MAX_LABEL_NAME_LENGTH = 317;

const LABEL_KEYS_RULE: CelRule = {
  rule: `self.all(k, size(k) > 0 && size(k) <= ${MAX_LABEL_NAME_LENGTH})`,
  message: `label names must be 1 to ${MAX_LABEL_NAME_LENGTH} characters long`,
  check: (self) => isPlainObject(self) && Object.keys(self).every((k) => k.length > 0 && k.length <= MAX_LABEL_NAME_LENGTH),
};

/** A selector's matchLabels (`description` should state the MAX_SELECTOR_LABELS bound): pod labels a workload must have, all of them (shared with TrafficScope). */
export function matchLabelsSchema(description: string): Schema {
  return {
    type: 'object',
    description,
    additionalProperties: {
      type: 'string',
      maxLength: 63,
      pattern: '^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$',
      patternMessage: 'must be a label value (up to 63 letters, digits, "-", "_" and ".")',
    },
    maxProperties: MAX_SELECTOR_LABELS,
    'x-kubernetes-validations': [LABEL_KEYS_RULE],
  };
}

export const SELECTOR: Schema = {
  type: 'object',
  description: 'The workloads (pods) of this namespace the policy applies to. Absent: the whole namespace '
    + "(the whole mesh for a policy in pilotfish's own namespace).",
  properties: {
    matchLabels: matchLabelsSchema(`Pod labels a workload must have, all of them (at most ${MAX_SELECTOR_LABELS}). Empty selects the whole namespace.`),
  },
};

const SELECTOR_RULE: CelRule = {
  rule: '!has(self.portLevelMtls) || (has(self.selector) && has(self.selector.matchLabels) && size(self.selector.matchLabels) > 0)',
  message: 'portLevelMtls requires a selector with matchLabels',
  check: (self) => {
    if (!has(self, 'portLevelMtls')) return true;
    const selector = isPlainObject(self) ? self.selector : undefined;
    return has(self, 'selector') && has(selector, 'matchLabels')
      && Object.keys((selector as { matchLabels: object }).matchLabels).length > 0;
  },
};

export const PEER_AUTHENTICATION_SPEC: Schema = {
  type: 'object',
  description: 'Which traffic a workload accepts: mutual TLS, plaintext or both.',
  properties: {
    selector: SELECTOR,
    mtls: { ...MTLS, description: 'Mutual TLS settings of the selected workloads.' },
    portLevelMtls: {
      type: 'object',
      description: `Settings per port the workload receives on (the container port), overriding mtls for that port. `
        + `Only with a selector; at most ${MAX_PORT_LEVEL_ENTRIES} ports.`,
      additionalProperties: { ...MTLS, description: 'Mutual TLS settings of this port.' },
      maxProperties: MAX_PORT_LEVEL_ENTRIES,
      'x-kubernetes-validations': [PORT_KEYS_RULE],
    },
  },
  'x-kubernetes-validations': [SELECTOR_RULE],
};
