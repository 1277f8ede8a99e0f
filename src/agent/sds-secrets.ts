// The two secrets an Envoy sidecar asks its agent for, built by the same functions the generated
// configuration names them with (src/xds/generate/tls.ts): `default` (the workload's certificate
// chain and private key) and `ROOTCA` (the trust bundle peers are verified against).
import { createHash } from 'node:crypto';
import protobuf from 'protobufjs';
import type { Secret } from '../xds/envoy-types.js';
import { rootCaSecret, workloadCertificateSecret } from '../xds/generate/tls.js';
import { lookupType } from '../xds/protos.js';
import type { XdsResource } from '../xds/proxy-view.js';
import { messageName, SECRET } from '../xds/types.js';

export interface SecretMaterial {
  /** Leaf first, then the intermediates (never the root). */
  readonly certChainPem: readonly string[];
  readonly privateKeyPem: string;
  readonly trustBundlePem: readonly string[];
}

export function secretMessages(m: SecretMaterial): { certificate: Secret; roots: Secret } {
  return {
    certificate: workloadCertificateSecret(m.certChainPem.join(''), m.privateKeyPem),
    roots: rootCaSecret(m.trustBundlePem.join('')),
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
  const wrapped = protobuf.Writer.create().uint32(10).string(SECRET).uint32(18).bytes(value).finish();
  return { name: secret.name ?? '', version: createHash('sha256').update(value).digest('base64url').slice(0, 16), any: wrapped };
}
