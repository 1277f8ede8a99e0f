// Calls a client back to back while `work` runs (a routing change, say), recording which backend
// answered each call and every call that failed: what "traffic shifts without failed calls"
// tests assert on.
import type { CallResult, EchoClient } from './echo-service.js';

export interface CallsDuring {
  /** The backend of each successful call, in order. */
  readonly seen: readonly string[];
  readonly failed: readonly CallResult[];
}

export async function callsDuring(c: EchoClient, work: () => Promise<void>): Promise<CallsDuring> {
  let running = true;
  const seen: string[] = [];
  const failed: CallResult[] = [];
  const background = (async () => {
    while (running) {
      const r = await c.call();
      if (r.ok && r.backend) seen.push(r.backend);
      else failed.push(r);
    }
  })();
  try {
    await work();
  } finally {
    running = false;
    await background;
  }
  return { seen, failed };
}
