// The CA material as files or Secret keys, in Istio's "cacerts" layout, which cert-manager
// recipes and corporate PKI hand-overs already produce:
//   ca-cert.pem     the certificate pilotfish signs with (a root, or an intermediate)
//   ca-key.pem      its private key
//   cert-chain.pem  the chain from ca-cert.pem up to the root (optional when ca-cert.pem is a root)
//   root-cert.pem   the trust bundle: one root, or several while a root rotation is under way

export const CA_CERT_FILE = 'ca-cert.pem';
export const CA_KEY_FILE = 'ca-key.pem';
export const CERT_CHAIN_FILE = 'cert-chain.pem';
export const ROOT_CERT_FILE = 'root-cert.pem';

export const CA_FILE_NAMES = [CA_CERT_FILE, CA_KEY_FILE, CERT_CHAIN_FILE, ROOT_CERT_FILE] as const;
export type CaFileName = (typeof CA_FILE_NAMES)[number];

/**
 * CA material as stored. Every entry is optional because an operator's Secret or directory may be
 * incomplete; validateCaFiles() says which entry is missing.
 */
export type CaFiles = { readonly [K in CaFileName]?: string };

/** Bound on each entry read from a store: CA material is a few KiB; a larger file is a mistake. */
export const MAX_CA_FILE_BYTES = 256 * 1024;

/** True when no entry is present: nothing was ever stored. */
export function isEmptyCaFiles(files: CaFiles): boolean {
  return CA_FILE_NAMES.every((n) => files[n] === undefined);
}
