// Reads one config file with a size bound that holds before the content is in memory: a 50 MiB
// file is refused from its size alone, and a file growing while it is read is cut at the bound.
import { promises as fsp } from 'node:fs';

/** Default bound on one config file (`--max-config-file-bytes`). */
export const DEFAULT_MAX_CONFIG_FILE_BYTES = 4 * 1024 * 1024;

type ReadOutcome =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'gone' }
  | { readonly kind: 'error'; readonly reason: string };

export async function readConfigFile(file: string, maxBytes: number): Promise<ReadOutcome> {
  let handle: fsp.FileHandle;
  try {
    handle = await fsp.open(file, 'r');
  } catch (err) {
    // Deleted between listing and reading: treat as gone.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'gone' };
    return { kind: 'error', reason: `cannot read file: ${(err as Error).message}` };
  }
  try {
    const { size } = await handle.stat();
    if (size > maxBytes) return tooLarge(`${size} bytes`, maxBytes);
    // One byte more than allowed tells a file that grew since stat from one that is exactly full.
    const buffer = Buffer.allocUnsafe(Math.min(size, maxBytes) + 1);
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > maxBytes) return tooLarge(`more than ${maxBytes} bytes`, maxBytes);
    return { kind: 'text', text: buffer.toString('utf8', 0, length) };
  } catch (err) {
    return { kind: 'error', reason: `cannot read file: ${(err as Error).message}` };
  } finally {
    await handle.close().catch(() => undefined);
  }
}

function tooLarge(size: string, maxBytes: number): ReadOutcome {
  return { kind: 'error', reason: `file is ${size}, over the limit of ${maxBytes} bytes (--max-config-file-bytes); not read` };
}
