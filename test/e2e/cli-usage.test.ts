// Mistyped command lines end with exit code 2 and a message naming the flag, never a stack trace;
// a mistyped command or flag gets a suggestion, and a stray argument is refused, not ignored.
import assert from 'node:assert/strict';
import { runPilotfish } from '../support/pilotfish-process.js';

describe('e2e: command-line usage errors', function () {
  this.timeout(30_000);

  const cases: Array<{ args: string[]; message: RegExp }> = [
    { args: ['serve', '--xds-address', 'nonsense'], message: /pilotfish serve: --xds-address: invalid address "nonsense"/ },
    { args: ['serve', '--http-address', '127.0.0.1:99999'], message: /--http-address: .*out of range/ },
    { args: ['serve', '--log-level', 'loud'], message: /--log-level must be one of error, warn, info, debug \(got "loud"\)/ },
    { args: ['serve', '--log-format', 'xml'], message: /--log-format must be json or text \(got "xml"\)/ },
    { args: ['serve', '--frobnicate'], message: /pilotfish serve: unknown option '--frobnicate'/ },
    // A mistyped flag or command: the library's words, with a suggestion.
    { args: ['serve', '--xds-adress', '127.0.0.1:0'], message: /pilotfish serve: unknown option '--xds-adress' \(did you mean --xds-address\?\)/ },
    { args: ['controller', '--kubeconfg', 'x'], message: /unknown option '--kubeconfg' \(did you mean --kubeconfig\?\)/ },
    { args: ['serv'], message: /pilotfish: unknown command 'serv' \(did you mean serve\?\)/ },
    { args: ['no-such-command'], message: /unknown command 'no-such-command'/ },
    { args: ['help', 'analyse'], message: /pilotfish: unknown command 'analyse' \(did you mean analyze\?\)/ },
    // Stray positionals are refused, naming the argument.
    { args: ['serve', 'examples/demo'], message: /pilotfish serve: unexpected argument "examples\/demo" \(serve takes no arguments, only flags\)/ },
    { args: ['proxy-status', 'a', 'b'], message: /pilotfish proxy-status: unexpected argument "b"/ },
    { args: ['inject', '-f', '-', 'pod.yaml'], message: /pilotfish inject: unexpected argument "pod.yaml"/ },
    { args: ['controller', '--webhook-address', 'x'], message: /pilotfish controller: --webhook-address/ },
    { args: ['bootstrap'], message: /--node-id is required/ },
    { args: ['bootstrap', '--node-id', 'x', '--kind', 'envoy'], message: /pilotfish bootstrap: --kind must be grpc or sidecar \(got "envoy"\)/ },
    { args: ['analyze'], message: /pilotfish analyze: -f FILE\|DIR is required/ },
    { args: ['config-dump', '--config-dir', 'x', '--node-id', 'y', '-o', 'xml'], message: /pilotfish config-dump: -o\/--output must be json or yaml \(got "xml"\)/ },
  ];

  for (const c of cases) {
    it(`pilotfish ${c.args.join(' ')}`, async () => {
      const r = await runPilotfish(c.args);
      assert.equal(r.code, 2, `exit code; stderr: ${r.stderr}`);
      assert.match(r.stderr, c.message);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
      assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
    });
  }

  it('pilotfish with no command prints the help on stderr and exits 2', async () => {
    const r = await runPilotfish([]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /Usage: pilotfish \[options\] \[command\]/);
    assert.equal(r.stdout, '');
  });
});
