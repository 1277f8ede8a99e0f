// Mistyped command lines end with exit code 2 and a message naming the flag, never a stack trace.
import assert from 'node:assert/strict';
import { runPilotfish } from '../support/pilotfish-process.js';

describe('e2e: command-line usage errors', function () {
  this.timeout(30_000);

  const cases: Array<{ args: string[]; message: RegExp }> = [
    { args: ['serve', '--xds-address', 'nonsense'], message: /pilotfish serve: --xds-address: invalid address "nonsense"/ },
    { args: ['serve', '--http-address', '127.0.0.1:99999'], message: /--http-address: .*out of range/ },
    { args: ['serve', '--log-level', 'loud'], message: /--log-level must be one of/ },
    { args: ['serve', '--frobnicate'], message: /pilotfish serve: .*frobnicate/ },
    { args: ['controller', '--webhook-address', 'x'], message: /pilotfish controller: --webhook-address/ },
    { args: ['bootstrap'], message: /--node-id is required/ },
    { args: ['no-such-command'], message: /unknown command 'no-such-command'/ },
  ];

  for (const c of cases) {
    it(`pilotfish ${c.args.join(' ')}`, async () => {
      const r = await runPilotfish(c.args);
      assert.equal(r.code, 2, `exit code; stderr: ${r.stderr}`);
      assert.match(r.stderr, c.message);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    });
  }
});
