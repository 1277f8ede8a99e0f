// How a command that fails says so: one line on stderr (the stack too only at --log-level debug),
// with the everyday causes (a port in use, no kubeconfig) put in the operator's words.

/** A failure the user can act on; its message is the whole story. Exit code 1. */
export class CommandFailure extends Error {}

const LISTEN_ERRORS = ['EADDRINUSE', 'EACCES', 'EADDRNOTAVAIL'];

/** The error of a server that could not bind its address. */
export function isListenError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code !== undefined && LISTEN_ERRORS.includes(code) && (err as NodeJS.ErrnoException).syscall === 'listen';
}

/** Why binding `address` (given as `--flag`) failed, in one line. */
export function listenFailure(flag: string, address: string, err: unknown): CommandFailure {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const text = err instanceof Error ? err.message : String(err);
  let why: string;
  if (code === 'EADDRINUSE' || /EADDRINUSE/.test(text)) why = 'the address is already in use (another pilotfish, or pick another port)';
  else if (code === 'EACCES' || /EACCES/.test(text)) why = 'permission denied (ports below 1024 need privileges)';
  else if (code === 'EADDRNOTAVAIL' || /EADDRNOTAVAIL/.test(text)) why = 'no interface of this machine has that address';
  else why = firstLine(text);
  return new CommandFailure(`cannot listen on ${address} (--${flag}): ${why}`, { cause: err });
}

export function firstLine(text: string): string {
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
