// Renders the PeerAuthentication CRD (crds/peerauthentications.security.pilotfish.io.yaml) from
// schema.ts, with the routing CRDs' renderer. The YAML is checked in (and copied into the Helm
// chart); a test fails when either copy drifts from this rendering.
import YAML from 'yaml';
import { crdDocument } from '../../routing/v1alpha1/crd.js';
import type { Schema } from '../../routing/v1alpha1/openapi.js';
import { ROUTING_STATUS } from '../../routing/v1alpha1/schema.js';
import { PEER_AUTHENTICATION_SPEC } from './schema.js';

export const SECURITY_GROUP = 'security.pilotfish.io';
const SECURITY_VERSION = 'v1alpha1';
export const SECURITY_API_VERSION = `${SECURITY_GROUP}/${SECURITY_VERSION}`;

export const PEER_AUTHENTICATION_KIND = 'PeerAuthentication';
export const PEER_AUTHENTICATION_PLURAL = 'peerauthentications';
const PLURAL = PEER_AUTHENTICATION_PLURAL;

/** metadata.name of the CRD. */
export const PEER_AUTHENTICATION_CRD_NAME = `${PLURAL}.${SECURITY_GROUP}`;

/** File name of the CRD under crds/ (and deploy/helm/pilotfish/crds/). */
export const PEER_AUTHENTICATION_CRD_FILE = `${PEER_AUTHENTICATION_CRD_NAME}.yaml`;

type Json = ReturnType<typeof crdDocument>;

/** What differs between the CRDs of the security group. */
interface SecurityKindInfo {
  readonly kind: string;
  readonly plural: string;
  readonly singular: string;
  readonly shortName: string;
  readonly description: string;
  readonly spec: Schema;
  /** The printer column showing the object's gist (before Accepted and Age). */
  readonly column: { readonly name: string; readonly jsonPath: string };
}

/** A CRD of the security group: namespaced, one version, the routing CRDs' Accepted condition as status. */
export function securityCrd(info: SecurityKindInfo): Json {
  const schema: Schema = {
    type: 'object',
    description: info.description,
    properties: {
      apiVersion: { type: 'string', description: SECURITY_API_VERSION },
      kind: { type: 'string', description: info.kind },
      metadata: { type: 'object' },
      spec: info.spec,
      // The same Accepted condition as the routing CRDs, written by the same status writer.
      status: ROUTING_STATUS,
    },
  };
  return crdDocument({
    group: SECURITY_GROUP, version: SECURITY_VERSION, kind: info.kind, plural: info.plural, singular: info.singular,
    shortName: info.shortName, column: info.column, schema,
  });
}

export function peerAuthenticationCrd(): Json {
  return securityCrd({
    kind: PEER_AUTHENTICATION_KIND,
    plural: PLURAL,
    singular: 'peerauthentication',
    shortName: 'pa',
    description: 'Which traffic workloads accept: mutual TLS, plaintext or both (like an Istio PeerAuthentication). '
      + "Mesh-wide in pilotfish's own namespace without selector, namespace-wide elsewhere without selector, per workload with one.",
    spec: PEER_AUTHENTICATION_SPEC,
    column: { name: 'Mode', jsonPath: '.spec.mtls.mode' },
  });
}

export function renderPeerAuthenticationCrdYaml(): string {
  const header = '# Generated from src/api/security/v1alpha1/schema.ts; do not edit by hand.\n'
    + '# Regenerate: npm run build && PILOTFISH_UPDATE_CRDS=1 npx mocha dist/test/api/security/crd.test.js\n';
  return header + YAML.stringify(peerAuthenticationCrd(), { lineWidth: 0, aliasDuplicateObjects: false });
}
