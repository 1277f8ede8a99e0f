// Calls until the outcome is the one wanted, for tests that switch a server's security live: a
// connection made before the switch may keep the old configuration for a call or two.
import assert from 'node:assert/strict';

/** The last outcome (the answer, or the error message); fails the test after `attempts` calls. */
export async function callUntil(call: () => Promise<string>, want: 'ok' | 'fails', attempts = 20): Promise<string> {
  let last = '';
  for (let i = 0; i < attempts; i++) {
    try {
      last = await call();
      if (want === 'ok') return last;
    } catch (err) {
      last = (err as Error).message;
      if (want === 'fails') return last;
    }
  }
  return assert.fail(`expected the call to ${want === 'ok' ? 'succeed' : 'fail'}; last outcome: ${last}`);
}
