// CA material in a directory (`pilotfish serve`, or an operator's cacerts files). Creation writes
// the four files into a fresh sibling directory and renames it into place: rename(2) of a
// directory is atomic and fails when the target exists and is not empty, so two processes racing
// on first start cannot both win, and no reader ever sees a half-written set.
import { randomBytes } from 'node:crypto';
import { watch } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { CA_FILE_NAMES, CA_KEY_FILE, MAX_CA_FILE_BYTES, isEmptyCaFiles, type CaFileName, type CaFiles } from './ca-files.js';
import type { CaStore } from './ca-store.js';
import { writeNewFileDurably } from '../../durable-file.js';

function errCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

async function readBounded(path: string, name: CaFileName): Promise<string | undefined> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    if (errCode(err) === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const { size } = await handle.stat();
    if (size > MAX_CA_FILE_BYTES) throw new Error(`${path}: ${name} is larger than ${MAX_CA_FILE_BYTES} bytes`);
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

export class DirectoryCaStore implements CaStore {
  readonly description: string;

  constructor(private readonly dir: string) {
    this.description = `directory ${dir}`;
  }

  async read(): Promise<CaFiles | undefined> {
    const files: Partial<Record<CaFileName, string>> = {};
    for (const name of CA_FILE_NAMES) {
      const text = await readBounded(join(this.dir, name), name);
      if (text !== undefined) files[name] = text;
    }
    return isEmptyCaFiles(files) ? undefined : files;
  }

  // A watch on the directory sees files written in place and files renamed over (an operator's
  // atomic copy); a directory replaced as a whole loses the watch, and the reloader's poll covers that.
  watch(onChange: () => void): () => void {
    try {
      const watcher = watch(this.dir, { persistent: false }, () => onChange());
      watcher.on('error', () => watcher.close());
      return () => watcher.close();
    } catch {
      return () => undefined;
    }
  }

  async createIfAbsent(files: CaFiles): Promise<CaFiles> {
    const existing = await this.read();
    if (existing) return existing;
    const parent = dirname(this.dir);
    await mkdir(parent, { recursive: true, mode: 0o700 });
    const staging = join(parent, `.${basename(this.dir)}.staging-${randomBytes(6).toString('hex')}`);
    await mkdir(staging, { mode: 0o700 });
    try {
      for (const name of CA_FILE_NAMES) {
        const content = files[name];
        if (content !== undefined) await writeNewFileDurably(join(staging, name), content, name === CA_KEY_FILE ? 0o600 : 0o644);
      }
      try {
        // Replaces the target only when it is absent or an empty directory.
        await rename(staging, this.dir);
        return files;
      } catch (err) {
        const code = errCode(err);
        if (code === 'ENOTEMPTY' || code === 'EEXIST') return await this.afterLostRace();
        if (code === 'EBUSY' || code === 'EXDEV' || code === 'EPERM') {
          throw new Error(`cannot create the CA in ${this.dir} (${code}): it is probably a mount point; `
            + 'point pilotfish at a new directory inside it');
        }
        throw err;
      }
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }

  private async afterLostRace(): Promise<CaFiles> {
    const stored = await this.read();
    if (stored) return stored;
    const names = await readdir(this.dir).catch(() => []);
    const kind = await stat(this.dir).then((s) => (s.isDirectory() ? 'directory' : 'file'), () => 'path');
    throw new Error(`cannot create the CA in ${this.dir}: the ${kind} exists and holds ${names.length} other entries but none of `
      + `${CA_FILE_NAMES.join(', ')}; point pilotfish at an empty or new directory`);
  }
}
