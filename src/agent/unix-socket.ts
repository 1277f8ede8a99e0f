// The agent's Unix sockets live in a directory the pod's containers share (an emptyDir). Who may
// connect is decided by the socket file's mode: connecting needs write permission on it.
import { chmod, lstat, mkdir, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Longest path a Unix socket address holds on Linux (sun_path is 108 bytes with its NUL). */
const MAX_SOCKET_PATH_BYTES = 107;

/**
 * Makes `socketPath` bindable: creates a missing parent directory (mode 0700; an existing one,
 * such as a shared emptyDir, is left as it is) and removes a stale socket a previous run of the
 * agent left behind. Anything else already at the path is refused, never deleted.
 */
export async function prepareSocketPath(socketPath: string): Promise<void> {
  if (Buffer.byteLength(socketPath, 'utf8') > MAX_SOCKET_PATH_BYTES) {
    throw new Error(`the socket path ${socketPath} is longer than ${MAX_SOCKET_PATH_BYTES} bytes`);
  }
  await mkdir(dirname(socketPath), { recursive: true, mode: 0o700 });
  const existing = await lstat(socketPath).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw new Error(`cannot inspect the socket path ${socketPath}: ${err.message}`);
  });
  if (!existing) return;
  if (!existing.isSocket()) throw new Error(`${socketPath} exists and is not a socket; refusing to replace it`);
  await unlink(socketPath);
}

/**
 * Sets the socket's mode once it is bound. Until then it has the mode the umask leaves
 * (0755 with the usual 022: only the owner can connect), so the window is not an opening.
 */
export async function restrictSocket(socketPath: string, mode: number): Promise<void> {
  try {
    await chmod(socketPath, mode);
  } catch (err) {
    throw new Error(`cannot set the mode of the socket ${socketPath}: ${(err as Error).message}`);
  }
}
