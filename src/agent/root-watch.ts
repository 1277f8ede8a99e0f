// The mesh roots file the agent was given (a mounted ConfigMap the control plane's leader keeps
// up to date) is followed while the agent runs: a root rotation changes it in every step (the
// bundle grows, its first root becomes the new signer's, the old root goes), and the agent
// renews at once instead of at its next scheduled renewal. The kubelet replaces a mounted
// ConfigMap by swapping a symlink in its directory, so the directory is watched, not the file;
// a slow poll covers filesystems without change events.
import { watch } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname } from 'node:path';

interface RootWatchOptions {
  /** Bound on the file read; larger content is ignored (the last content read stays). */
  readonly maxBytes: number;
  /** Read even without an event this often; default 30 s. 0: events only. */
  readonly pollMs?: number;
  /** Wait after an event before reading (the kubelet writes several entries); default 100 ms. */
  readonly settleMs?: number;
}

async function readBounded(path: string, maxBytes: number): Promise<string | undefined> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch {
    return undefined;
  }
  try {
    const { size } = await handle.stat();
    return size > maxBytes ? undefined : await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

/**
 * Calls `onChange` with the file's content each time it differs from the content read before
 * (the first read sets the baseline and is not reported). Returns the function that stops watching.
 */
export function watchRootFile(path: string, onChange: (text: string) => void, options: RootWatchOptions): () => void {
  let last: string | undefined;
  let stopped = false;
  let reading = false;
  let again = false;
  let settle: NodeJS.Timeout | undefined;

  const read = async (): Promise<void> => {
    if (reading) {
      again = true;
      return;
    }
    reading = true;
    try {
      do {
        again = false;
        const text = await readBounded(path, options.maxBytes);
        if (stopped || text === undefined || text === last) continue;
        const baseline = last === undefined;
        last = text;
        if (!baseline) onChange(text);
      } while (again && !stopped);
    } finally {
      reading = false;
    }
  };

  void read();
  let watcher: ReturnType<typeof watch> | undefined;
  try {
    watcher = watch(dirname(path), { persistent: false }, () => {
      clearTimeout(settle);
      settle = setTimeout(() => void read(), options.settleMs ?? 100);
    });
    watcher.on('error', () => watcher?.close());
  } catch {
    watcher = undefined;
  }
  const pollMs = options.pollMs ?? 30_000;
  const poll = pollMs > 0 ? setInterval(() => void read(), pollMs).unref() : undefined;
  return () => {
    stopped = true;
    clearTimeout(settle);
    clearInterval(poll);
    watcher?.close();
  };
}
