// Start-up: the stored CA if there is one (plugged in by an operator or made by another replica),
// otherwise a fresh self-signed root stored create-if-absent, validated either way.
import type { Logger } from '../../logging.js';
import type { CaStore } from './ca-store.js';
import { validateCaFiles } from './ca-material.js';
import { MeshCa, type MeshCaOptions } from './mesh-ca.js';
import { generateRootCaFiles } from './self-signed-root.js';

interface LoadCaOptions extends MeshCaOptions {
  readonly logger: Logger;
}

/** Loads or creates the mesh CA; throws CaMaterialError when stored material is unusable (never replaces it). */
export async function loadOrCreateMeshCa(store: CaStore, options: LoadCaOptions): Promise<MeshCa> {
  let files = await store.read();
  if (!files) {
    const fresh = await generateRootCaFiles({ now: options.now?.() });
    files = await store.createIfAbsent(fresh);
    options.logger.info(files === fresh ? 'created a self-signed mesh root' : 'another replica created the mesh root first; using it',
      { store: store.description });
  }
  const material = validateCaFiles(files, store.description, options.now?.());
  const ca = await MeshCa.create(material, options);
  options.logger.info('mesh CA loaded', {
    store: store.description,
    signer: material.signingCert.subject.replace(/\n/g, ', '),
    signerExpires: new Date(material.signingCert.validTo).toISOString(),
    roots: material.trustBundle.length,
  });
  return ca;
}
