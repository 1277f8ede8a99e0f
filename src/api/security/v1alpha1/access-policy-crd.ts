// Renders the AccessPolicy CRD (crds/accesspolicies.security.pilotfish.io.yaml) from
// access-policy-schema.ts, with the routing CRDs' renderer. The YAML is checked in (and copied
// into the Helm chart); a test fails when either copy drifts from this rendering.
import YAML from 'yaml';
import { ACCESS_POLICY_SPEC } from './access-policy-schema.js';
import { SECURITY_GROUP, securityCrd } from './crd.js';

export const ACCESS_POLICY_KIND = 'AccessPolicy';
export const ACCESS_POLICY_PLURAL = 'accesspolicies';

/** metadata.name of the CRD. */
export const ACCESS_POLICY_CRD_NAME = `${ACCESS_POLICY_PLURAL}.${SECURITY_GROUP}`;

/** File name of the CRD under crds/ (and deploy/helm/pilotfish/crds/). */
export const ACCESS_POLICY_CRD_FILE = `${ACCESS_POLICY_CRD_NAME}.yaml`;

export function accessPolicyCrd(): ReturnType<typeof securityCrd> {
  return securityCrd({
    kind: ACCESS_POLICY_KIND,
    plural: ACCESS_POLICY_PLURAL,
    singular: 'accesspolicy',
    shortName: 'ap',
    description: 'Who may call which workloads, and what (like an Istio AuthorizationPolicy). '
      + "Mesh-wide in pilotfish's own namespace without selector, namespace-wide elsewhere without selector, per workload with one.",
    spec: ACCESS_POLICY_SPEC,
    column: { name: 'Action', jsonPath: '.spec.action' },
  });
}

export function renderAccessPolicyCrdYaml(): string {
  const header = '# Generated from src/api/security/v1alpha1/access-policy-schema.ts; do not edit by hand.\n'
    + '# Regenerate: npm run build && PILOTFISH_UPDATE_CRDS=1 npx mocha dist/test/api/security/access-policy-crd.test.js\n';
  return header + YAML.stringify(accessPolicyCrd(), { lineWidth: 0, aliasDuplicateObjects: false });
}
