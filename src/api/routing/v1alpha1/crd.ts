// Renders the routing CRDs (crds/*.yaml) from the schemas in schema.ts. The YAML files
// are checked in and a test fails when they drift from this rendering.
import YAML from 'yaml';
import { ROUTING_STATUS, TRAFFIC_POLICY_SPEC, TRAFFIC_ROUTE_SPEC, TRAFFIC_SCOPE_SPEC } from './schema.js';
import type { Schema } from './openapi.js';

export const ROUTING_GROUP = 'routing.pilotfish.io';
const ROUTING_VERSION = 'v1alpha1';
export const ROUTING_API_VERSION = `${ROUTING_GROUP}/${ROUTING_VERSION}`;

export interface RoutingKindInfo {
  readonly kind: 'TrafficRoute' | 'TrafficPolicy' | 'TrafficScope';
  readonly plural: string;
  readonly singular: string;
  readonly shortName: string;
  readonly spec: Schema;
  readonly description: string;
  /** Printer column showing what the object is about. */
  readonly hostColumn: { readonly name: string; readonly jsonPath: string };
}

export const TRAFFIC_ROUTE_KIND: RoutingKindInfo = {
  kind: 'TrafficRoute',
  plural: 'trafficroutes',
  singular: 'trafficroute',
  shortName: 'tr',
  spec: TRAFFIC_ROUTE_SPEC,
  description: 'Routes HTTP and gRPC requests for one or more Services (like an Istio VirtualService).',
  hostColumn: { name: 'Hosts', jsonPath: '.spec.hosts' },
};

export const TRAFFIC_POLICY_KIND: RoutingKindInfo = {
  kind: 'TrafficPolicy',
  plural: 'trafficpolicies',
  singular: 'trafficpolicy',
  shortName: 'tp',
  spec: TRAFFIC_POLICY_SPEC,
  description: 'Load balancing, connection limits, health checks and subsets of one Service (like an Istio DestinationRule).',
  hostColumn: { name: 'Host', jsonPath: '.spec.host' },
};

export const TRAFFIC_SCOPE_KIND: RoutingKindInfo = {
  kind: 'TrafficScope',
  plural: 'trafficscopes',
  singular: 'trafficscope',
  shortName: 'ts',
  spec: TRAFFIC_SCOPE_SPEC,
  description: 'Which Services the sidecars of a namespace or workload get configuration for (like an Istio Sidecar\'s egress hosts).',
  hostColumn: { name: 'Hosts', jsonPath: '.spec.egress.hosts' },
};

export function crdName(info: RoutingKindInfo): string {
  return `${info.plural}.${ROUTING_GROUP}`;
}

/** The full OpenAPI schema of an object of this kind, as the API server sees it. */
function objectSchema(info: RoutingKindInfo): Schema {
  return {
    type: 'object',
    description: info.description,
    properties: {
      apiVersion: { type: 'string', description: `${ROUTING_API_VERSION}` },
      kind: { type: 'string', description: info.kind },
      metadata: { type: 'object' },
      spec: info.spec,
      status: ROUTING_STATUS,
    },
    required: ['spec'],
  };
}

type Json = string | number | boolean | null | Json[] | { [k: string]: Json };

/** The schema as Kubernetes JSON: TypeScript twins dropped, pattern hints folded into descriptions. */
function renderSchema(s: Schema): Json {
  const out: { [k: string]: Json } = {};
  const description = [s.description, s.patternMessage ? `Value ${s.patternMessage}.` : undefined]
    .filter((d): d is string => d !== undefined).join(' ');
  out.type = s.type;
  if (description) out.description = description;
  if (s.format) out.format = s.format;
  if (s.enum) out.enum = [...s.enum];
  if (s.pattern !== undefined) out.pattern = s.pattern;
  for (const k of ['minLength', 'maxLength', 'minimum', 'maximum', 'minItems', 'maxItems', 'minProperties', 'maxProperties'] as const) {
    const v = s[k];
    if (v !== undefined) out[k] = v;
  }
  if (s.required?.length) out.required = [...s.required];
  if (s.properties) {
    const props: { [k: string]: Json } = {};
    for (const [k, v] of Object.entries(s.properties)) props[k] = renderSchema(v);
    out.properties = props;
  }
  if (s.additionalProperties) out.additionalProperties = renderSchema(s.additionalProperties);
  if (s.items) out.items = renderSchema(s.items);
  if (s['x-kubernetes-list-type']) out['x-kubernetes-list-type'] = s['x-kubernetes-list-type'];
  if (s['x-kubernetes-list-map-keys']) out['x-kubernetes-list-map-keys'] = [...s['x-kubernetes-list-map-keys']];
  if (s['x-kubernetes-validations']?.length) {
    out['x-kubernetes-validations'] = s['x-kubernetes-validations'].map((r) => ({ rule: r.rule, message: r.message }));
  }
  return out;
}

/** What differs between pilotfish's CRDs: the rest of the document is the same for every kind. */
interface CrdShape {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  readonly plural: string;
  readonly singular: string;
  readonly shortName: string;
  /** The printer column before Accepted and Age. */
  readonly column: { readonly name: string; readonly jsonPath: string };
  readonly schema: Schema;
}

/** A namespaced, single-version CRD with a status subresource and the Accepted/Age columns. */
export function crdDocument(c: CrdShape): Json {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${c.plural}.${c.group}`,
      labels: { 'app.kubernetes.io/name': 'pilotfish', 'app.kubernetes.io/part-of': 'pilotfish' },
    },
    spec: {
      group: c.group,
      names: {
        kind: c.kind,
        listKind: `${c.kind}List`,
        plural: c.plural,
        singular: c.singular,
        shortNames: [c.shortName],
        categories: ['pilotfish'],
      },
      scope: 'Namespaced',
      versions: [{
        name: c.version,
        served: true,
        storage: true,
        subresources: { status: {} },
        additionalPrinterColumns: [
          { name: c.column.name, type: 'string', jsonPath: c.column.jsonPath },
          { name: 'Accepted', type: 'string', jsonPath: '.status.conditions[?(@.type=="Accepted")].status' },
          { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
        ],
        schema: { openAPIV3Schema: renderSchema(c.schema) },
      }],
    },
  };
}

export function routingCrd(info: RoutingKindInfo): Json {
  return crdDocument({
    group: ROUTING_GROUP, version: ROUTING_VERSION, kind: info.kind, plural: info.plural, singular: info.singular,
    shortName: info.shortName, column: info.hostColumn, schema: objectSchema(info),
  });
}

/** File name of the CRD under crds/. */
export function crdFileName(info: RoutingKindInfo): string {
  return `${crdName(info)}.yaml`;
}

export function renderCrdYaml(info: RoutingKindInfo): string {
  const header = `# Generated from src/api/routing/v1alpha1/schema.ts; do not edit by hand.\n`
    + `# Regenerate: npm run build && PILOTFISH_UPDATE_CRDS=1 npx mocha dist/test/api/routing/crds.test.js\n`;
  return header + YAML.stringify(routingCrd(info), { lineWidth: 0, aliasDuplicateObjects: false });
}
