// A MeshSnapshot from YAML on disk, through the real config-dir source and store, so routing is
// validated exactly as in production (statuses included).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigDirSource } from '../../src/sources/config-dir/directory-source.js';
import { SnapshotStore } from '../../src/store/snapshot-store.js';
import { silentLogger } from '../../src/logging.js';
import type { MeshSnapshot } from '../../src/model/snapshot.js';

/** A snapshot of one YAML text (through a temporary config directory). */
export async function snapshotFromYaml(text: string): Promise<MeshSnapshot> {
  const dir = await mkdtemp(path.join(tmpdir(), 'pilotfish-gen-'));
  try {
    await writeFile(path.join(dir, 'mesh.yaml'), text);
    return await snapshotFromDir(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function snapshotFromDir(dir: string): Promise<MeshSnapshot> {
  const source = new ConfigDirSource(dir, silentLogger(), { watch: false });
  const store = new SnapshotStore({ logger: silentLogger(), quietMs: 0 });
  const snapshot = await store.start([source]);
  await store.stop();
  const errors = source.errors();
  if (errors.length > 0) throw new Error(`${dir} has errors: ${JSON.stringify(errors)}`);
  return snapshot;
}
