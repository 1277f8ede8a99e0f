// The two secrets an Envoy sidecar asks its agent for, under Istio's names so bootstraps and
// tooling written for Istio's agent read them unchanged: `default` (the workload's certificate
// chain and private key) and `ROOTCA` (the trust bundle peers are verified against).
import { createHash } from 'node:crypto';
import protobuf from 'protobufjs';
import type { Secret } from '../xds/envoy-types.js';
import { lookupType } from '../xds/protos.js';
import type { XdsResource } from '../xds/proxy-view.js';
import { messageName, SECRET } from '../xds/types.js';

export const DEFAULT_SECRET = 'default';
export const ROOT_SECRET = 'ROOTCA';

export interface SecretMaterial {
  /** Leaf first, then the intermediates (never the root). */
  readonly certChainPem: readonly string[];
  readonly privateKeyPem: string;
  readonly trustBundlePem: readonly string[];
}

/** The Secret messages, typed against the Envoy protos (inline bytes, as Envoy keeps SDS secrets in memory only). */
export function secretMessages(m: SecretMaterial): { certificate: Secret; roots: Secret } {
  return {
    certificate: {
      name: DEFAULT_SECRET,
      tls_certificate: {
        certificate_chain: { inline_bytes: Buffer.from(m.certChainPem.join(''), 'utf8') },
        private_key: { inline_bytes: Buffer.from(m.privateKeyPem, 'utf8') },
      },
    },
    roots: {
      name: ROOT_SECRET,
      validation_context: { trusted_ca: { inline_bytes: Buffer.from(m.trustBundlePem.join(''), 'utf8') } },
    },
  };
}

/**
 * One Secret as an xDS resource. The version is a hash of the encoded bytes, so the same material
 * is the same version (no push) and new material always a new one. Not cached: a secret changes
 * at each renewal, and an encoder cache would keep every old private key alive.
 */
export function encodeSecret(secret: Secret): XdsResource {
  const type = lookupType(messageName(SECRET));
  const value = type.encode(type.fromObject(secret)).finish();
  const any = protobuf.Writer.create().uint32(10).string(SECRET).uint32(18).bytes(value).finish();
  return { name: secret.name ?? '', version: createHash('sha256').update(value).digest('base64url').slice(0, 16), any };
}
