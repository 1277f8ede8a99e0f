// Writing a new file so that, once the promise resolves, its content is on disk: created (never
// over an existing file), written, flushed, closed. Callers then rename it into place, which is
// what makes their updates atomic for readers.
import { open } from 'node:fs/promises';

export async function writeNewFileDurably(path: string, content: string, mode: number): Promise<void> {
  const handle = await open(path, 'wx', mode);
  try {
    await handle.writeFile(content, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
}
