// Renders the AccessPolicy CRD (crds/accesspolicies.security.pilotfish.io.yaml) from
// access-policy-schema.ts, with the routing CRDs' renderer. The YAML is checked in (and copied
// into the Helm chart); a test fails when either copy drifts from this rendering.
import YAML from 'yaml';
import { renderSchema } from '../../routing/v1alpha1/crd.js';
import type { Schema } from '../../routing/v1alpha1/openapi.js';
import { ROUTING_STATUS } from '../../routing/v1alpha1/schema.js';
import { ACCESS_POLICY_SPEC } from './access-policy-schema.js';
import { SECURITY_API_VERSION, SECURITY_GROUP } from './crd.js';

export const ACCESS_POLICY_KIND = 'AccessPolicy';
export const ACCESS_POLICY_PLURAL = 'accesspolicies';

/** metadata.name of the CRD. */
export const ACCESS_POLICY_CRD_NAME = `${ACCESS_POLICY_PLURAL}.${SECURITY_GROUP}`;

/** File name of the CRD under crds/ (and deploy/helm/pilotfish/crds/). */
export const ACCESS_POLICY_CRD_FILE = `${ACCESS_POLICY_CRD_NAME}.yaml`;

function accessPolicySchema(): Schema {
  return {
    type: 'object',
    description: 'Who may call which workloads, and what (like an Istio AuthorizationPolicy). '
      + "Mesh-wide in pilotfish's own namespace without selector, namespace-wide elsewhere without selector, per workload with one.",
    properties: {
      apiVersion: { type: 'string', description: SECURITY_API_VERSION },
      kind: { type: 'string', description: ACCESS_POLICY_KIND },
      metadata: { type: 'object' },
      spec: ACCESS_POLICY_SPEC,
      // The same Accepted condition as the routing CRDs, written by the same status writer.
      status: ROUTING_STATUS,
    },
  };
}

type Json = ReturnType<typeof renderSchema>;

export function accessPolicyCrd(): Json {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: ACCESS_POLICY_CRD_NAME,
      labels: { 'app.kubernetes.io/name': 'pilotfish', 'app.kubernetes.io/part-of': 'pilotfish' },
    },
    spec: {
      group: SECURITY_GROUP,
      names: {
        kind: ACCESS_POLICY_KIND,
        listKind: `${ACCESS_POLICY_KIND}List`,
        plural: ACCESS_POLICY_PLURAL,
        singular: 'accesspolicy',
        shortNames: ['ap'],
        categories: ['pilotfish'],
      },
      scope: 'Namespaced',
      versions: [{
        name: 'v1alpha1',
        served: true,
        storage: true,
        subresources: { status: {} },
        additionalPrinterColumns: [
          { name: 'Action', type: 'string', jsonPath: '.spec.action' },
          { name: 'Accepted', type: 'string', jsonPath: '.status.conditions[?(@.type=="Accepted")].status' },
          { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
        ],
        schema: { openAPIV3Schema: renderSchema(accessPolicySchema()) },
      }],
    },
  };
}

export function renderAccessPolicyCrdYaml(): string {
  const header = '# Generated from src/api/security/v1alpha1/access-policy-schema.ts; do not edit by hand.\n'
    + '# Regenerate: npm run build && PILOTFISH_UPDATE_CRDS=1 npx mocha dist/test/api/security/access-policy-crd.test.js\n';
  return header + YAML.stringify(accessPolicyCrd(), { lineWidth: 0, aliasDuplicateObjects: false });
}
