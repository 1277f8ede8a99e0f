// The single definition of the AccessPolicy schema (modelled on Istio's AuthorizationPolicy, so
// its rules carry over). The CRD in crds/ is rendered from here (access-policy-crd.ts) and parsing
// walks the very same data (access-policy-parse.ts), so a file in a config directory is refused
// exactly where the API server would refuse it.
//
// Every list and string is bounded (the limits below, also written into the CRD's descriptions).
// Values are checked with patterns, not CEL, so the rules' cost estimate stays small; CEL only
// says that a source or an operation names something.
import { ACCESS_ACTIONS } from '../../../model/access-policy.js';
import { MAX_HEADER_NAME_LENGTH } from '../../routing/v1alpha1/header-name.js';
import { isPlainObject, type CelRule, type Schema } from '../../routing/v1alpha1/openapi.js';
import { SELECTOR } from './schema.js';

/** Upper bounds (documented in the CRD descriptions too). */
export const MAX_ACCESS_RULES = 64;
/** Entries of one rule's from, to and when. */
export const MAX_RULE_CLAUSES = 16;
/** Values of one list: principals, namespaces, ports, methods, paths, condition values. */
export const MAX_MATCH_VALUES = 64;
const MAX_PRINCIPAL_LENGTH = 512;
const MAX_PATH_LENGTH = 1024;
const MAX_HEADER_VALUE_LENGTH = 1024;

function has(self: unknown, field: string): boolean {
  return isPlainObject(self) && self[field] !== undefined && self[field] !== null;
}

function atLeastOne(fields: readonly string[], message: string): CelRule {
  return {
    rule: fields.map((f) => `has(self.${f})`).join(' || '),
    message,
    check: (self) => fields.some((f) => has(self, f)),
  };
}

function values(description: string, item: Schema): Schema {
  return { type: 'array', description: `${description} At most ${MAX_MATCH_VALUES}.`, items: item, minItems: 1, maxItems: MAX_MATCH_VALUES };
}

/** `*`, `abc*`, `*abc` or `abc`, over the characters `chars` (a character class body without `*`). */
function wildcard(chars: string): string {
  return `^(\\*|\\*?[${chars}]+|[${chars}]+\\*)$`;
}

const WILDCARD_HINT = 'Istio\'s forms: "*" (any), "abc*" (prefix), "*abc" (suffix) or an exact value';

const PRINCIPAL: Schema = {
  type: 'string',
  maxLength: MAX_PRINCIPAL_LENGTH,
  pattern: wildcard('^*\\s'),
  patternMessage: `must be a SPIFFE ID in ${WILDCARD_HINT}, without spaces`,
  description: 'A peer identity: the URI SAN of its certificate, e.g. "spiffe://cluster.local/ns/shop/sa/checkout". '
    + 'Without a scheme "spiffe://" is added (Istio\'s "cluster.local/ns/shop/sa/checkout").',
};

const NAMESPACE: Schema = {
  type: 'string',
  maxLength: 63,
  pattern: wildcard('a-z0-9-'),
  patternMessage: `must be a namespace name in ${WILDCARD_HINT}`,
};

const PORT: Schema = {
  type: 'string',
  maxLength: 5,
  pattern: '^([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])$',
  patternMessage: 'must be a port number from 1 to 65535, as a string (as in Istio)',
};

const METHOD: Schema = {
  type: 'string',
  maxLength: 32,
  pattern: '^[A-Za-z-]+$',
  patternMessage: 'must be an HTTP method such as GET or POST',
};

const PATH: Schema = {
  type: 'string',
  maxLength: MAX_PATH_LENGTH,
  pattern: '^(\\*|\\*[^*\\x00-\\x20?#]+|/[^*\\x00-\\x20?#]*\\*?)$',
  patternMessage: 'must be "*", a path starting with "/" (optionally ending in "*" for a prefix) or "*" and a suffix; no query string',
};

const HEADER_KEY: Schema = {
  type: 'string',
  maxLength: MAX_HEADER_NAME_LENGTH + 'request.headers[]'.length,
  pattern: "^request\\.headers\\[[0-9A-Za-z!#$%&'*+.^_|~\\x60-]+\\]$",
  patternMessage: 'must be request.headers[<name>] (the only condition pilotfish supports), with an HTTP header name',
};

const HEADER_VALUE: Schema = {
  type: 'string',
  maxLength: MAX_HEADER_VALUE_LENGTH,
  pattern: wildcard('^*\\x00\\r\\n'),
  patternMessage: `must be a header value in ${WILDCARD_HINT}, without NUL, CR or LF`,
};

const SOURCE: Schema = {
  type: 'object',
  description: 'Who calls: every field given must match (a value list matches when any value does).',
  properties: {
    principals: values('Peer SPIFFE IDs; needs mutual TLS (a plaintext peer has none).', PRINCIPAL),
    namespaces: values('Namespaces of peers, read from their SPIFFE ID; needs mutual TLS.', NAMESPACE),
  },
  'x-kubernetes-validations': [atLeastOne(['principals', 'namespaces'], 'a source must name principals or namespaces')],
};

const OPERATION: Schema = {
  type: 'object',
  description: 'What is called: every field given must match (a value list matches when any value does).',
  properties: {
    ports: values('Ports the workload receives on (container ports), as strings.', PORT),
    methods: values('HTTP methods (HTTP only; every gRPC call is a POST).', METHOD),
    paths: values('URL paths without the query string (HTTP only); gRPC: "/package.Service/Method" or "/package.Service/*".', PATH),
  },
  'x-kubernetes-validations': [atLeastOne(['ports', 'methods', 'paths'], 'an operation must name ports, methods or paths')],
};

const CONDITION: Schema = {
  type: 'object',
  description: 'A request header the request must carry with one of the values (HTTP only).',
  properties: {
    key: HEADER_KEY,
    values: values('Values of the header.', HEADER_VALUE),
  },
  required: ['key', 'values'],
};

const RULE: Schema = {
  type: 'object',
  description: 'Matches when one entry of from, one of to and every condition of when match; an absent list matches anything.',
  properties: {
    from: {
      type: 'array', description: `Sources; at most ${MAX_RULE_CLAUSES}.`, maxItems: MAX_RULE_CLAUSES, minItems: 1,
      items: { type: 'object', description: 'One source.', properties: { source: SOURCE }, required: ['source'] },
    },
    to: {
      type: 'array', description: `Operations; at most ${MAX_RULE_CLAUSES}.`, maxItems: MAX_RULE_CLAUSES, minItems: 1,
      items: { type: 'object', description: 'One operation.', properties: { operation: OPERATION }, required: ['operation'] },
    },
    when: { type: 'array', description: `Conditions; at most ${MAX_RULE_CLAUSES}.`, items: CONDITION, maxItems: MAX_RULE_CLAUSES, minItems: 1 },
  },
};

export const ACCESS_POLICY_SPEC: Schema = {
  type: 'object',
  description: 'Who may call the selected workloads, and what.',
  properties: {
    selector: SELECTOR,
    action: {
      type: 'string',
      enum: ACCESS_ACTIONS,
      description: 'ALLOW (default): requests no ALLOW rule matches are denied. DENY: matching requests are denied (before any ALLOW). '
        + 'AUDIT: matching requests are only marked for the access log (Envoy); proxyless gRPC ignores AUDIT policies.',
    },
    rules: {
      type: 'array',
      description: `At most ${MAX_ACCESS_RULES}. Absent or empty: matches nothing (an ALLOW policy then denies everything); `
        + 'a rule `{}` matches everything.',
      items: RULE,
      maxItems: MAX_ACCESS_RULES,
    },
  },
};
