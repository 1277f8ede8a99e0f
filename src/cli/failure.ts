// How a command that fails says so: one line on stderr (the stack too only at --log-level debug),
// with the everyday causes (a port in use, no kubeconfig) put in the operator's words.

/** The command line is wrong: exit code 2. */
export class UsageError extends Error {}

/** A failure the user can act on; its message is the whole story. Exit code 1. */
export class CommandFailure extends Error {}

/** The bind errors an operator meets, in their words. */
const LISTEN_ERRORS: Readonly<Record<string, string>> = {
  EADDRINUSE: 'the address is already in use (another pilotfish, or pick another port)',
  EACCES: 'permission denied (ports below 1024 need privileges)',
  EADDRNOTAVAIL: 'no interface of this machine has that address',
};

/** The code of a failed bind, also when another error wrapped it in its message. */
function listenCode(err: unknown): string | undefined {
  const e = err as NodeJS.ErrnoException | undefined;
  if (e?.syscall === 'listen' && e.code !== undefined && e.code in LISTEN_ERRORS) return e.code;
  const m = err instanceof Error ? /\blisten (E[A-Z]+)\b/.exec(err.message) : null;
  return m?.[1] !== undefined && m[1] in LISTEN_ERRORS ? m[1] : undefined;
}

/** The error of a server that could not bind its address. */
export function isListenError(err: unknown): boolean {
  return listenCode(err) !== undefined;
}

/** Why binding `address` (given as `--flag`) failed, in one line. */
export function listenFailure(flag: string, address: string, err: unknown): CommandFailure {
  const code = listenCode(err);
  const why = code === undefined ? firstLine(err instanceof Error ? err.message : String(err)) : LISTEN_ERRORS[code];
  return new CommandFailure(`cannot listen on ${address} (--${flag}): ${why}`, { cause: err });
}

function firstLine(text: string): string {
  return text.split('\n')[0]?.trim() || text;
}

/** The line printed for a failed command, and the stack when asked for. */
export function failureReport(command: string, err: unknown, debug: boolean): string {
  const message = err instanceof Error ? err.message : String(err);
  const line = `${command}: ${firstLine(message)}\n`;
  if (!debug || !(err instanceof Error)) return line;
  let out = line;
  for (let e: unknown = err; e instanceof Error; e = e.cause) out += `${e === err ? '' : 'caused by: '}${e.stack ?? e.message}\n`;
  return out;
}
