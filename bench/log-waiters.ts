// Waiting on a child process's log: a condition re-evaluated after every line it writes, failing
// with the last lines when the process exits or the time is up. Shared by the servers the bench runs.
export class LogWaiters {
  private readonly waiting: Array<() => void> = [];

  /**
   * @param exited why waiting is over because the process is gone ("istiod exited (code 1)"), if it is
   * @param tail the last log lines, for the error message
   */
  constructor(private readonly exited: () => string | undefined, private readonly tail: () => string) {}

  /** Re-evaluates every waiting condition (after a log line, or when the process exits). */
  wake(): void {
    for (const w of this.waiting.splice(0)) w();
  }

  /** Resolves with the first truthy value of `probe`. */
  waitFor<T>(probe: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last logs:\n${this.tail()}`)), timeoutMs);
      const check = (): void => {
        const v = probe();
        const gone = this.exited();
        if (v !== undefined && v !== null && v !== false) {
          clearTimeout(timer);
          resolve(v);
        } else if (gone !== undefined) {
          clearTimeout(timer);
          reject(new Error(`${gone} while waiting for ${what}; last logs:\n${this.tail()}`));
        } else {
          this.waiting.push(check);
        }
      };
      check();
    });
  }
}
