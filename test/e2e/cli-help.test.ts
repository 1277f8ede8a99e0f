// Help and version, from the built binary. The commands and flags are enumerated from the command
// table the parser is built from (and from the parser itself), so a flag that the help leaves out,
// or that the parser accepts without the table declaring it, fails here.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { buildCommand } from '../../src/cli/command-line.js';
import { COMMANDS } from '../../src/cli/command-table.js';
import { REPO_ROOT, runPilotfish } from '../support/pilotfish-process.js';

const VERSION = (JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** `--flag` as a whole word: `--proxy` must not be found inside `--proxy-image`. */
function mentions(text: string, flag: string): boolean {
  return new RegExp(`(^|[\\s,])${flag.replace(/[-/\\^$*+?.()|[\]{}]/g, '\\$&')}(?![\\w-])`, 'm').test(text);
}

describe('e2e: help and version', function () {
  this.timeout(60_000);

  it('the command table declares commands, and every one has flags or arguments documented', () => {
    assert.ok(COMMANDS.length >= 10, COMMANDS.map((c) => c.name).join(', '));
    assert.equal(new Set(COMMANDS.map((c) => c.name)).size, COMMANDS.length, 'command names are unique');
  });

  it('pilotfish --help and pilotfish help list every command with its summary (exit 0)', async () => {
    for (const args of [['--help'], ['help'], ['-h']]) {
      const r = await runPilotfish(args);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      for (const c of COMMANDS) {
        assert.match(r.stdout, new RegExp(`^  ${c.name}\\b`, 'm'), `${args.join(' ')} lists ${c.name}`);
        assert.ok(r.stdout.replace(/\s+/g, ' ').includes(c.summary.replace(/\s+/g, ' ')), `${args.join(' ')} has the summary of ${c.name}`);
      }
      assert.match(r.stdout, /Exit codes: 0 ok, 1 runtime failure, 2 usage error, 3 problems found/);
    }
  });

  for (const spec of COMMANDS) {
    it(`pilotfish ${spec.name} --help lists every flag and argument the parser accepts (exit 0); pilotfish help ${spec.name} says the same`, async () => {
      // What the parser accepts, straight from the commander Command it is built as.
      const parser = buildCommand(spec);
      const parsed = parser.options.map((o) => o.long).filter((l): l is string => l !== undefined).sort();
      assert.deepEqual(parsed, Object.keys(spec.flags).map((f) => `--${f}`).sort(), 'parser and table agree');

      const r = await runPilotfish([spec.name, '--help']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '');
      assert.match(r.stdout, new RegExp(`^Usage: pilotfish ${spec.name} `));
      for (const [name, f] of Object.entries(spec.flags)) {
        assert.ok(mentions(r.stdout, `--${name}`), `--help of ${spec.name} lists --${name}:\n${r.stdout}`);
        if (f.short) assert.ok(mentions(r.stdout, `-${f.short},`), `--help of ${spec.name} lists -${f.short}`);
        if (f.default !== undefined && f.default !== '') assert.ok(r.stdout.includes(`"${f.default}"`), `--help of ${spec.name} gives the default of --${name}`);
        for (const choice of f.choices ?? []) assert.ok(r.stdout.includes(choice), `--help of ${spec.name} lists ${choice} for --${name}`);
      }
      for (const a of spec.args ?? []) assert.ok(r.stdout.includes(a.name), `--help of ${spec.name} names the argument ${a.name}`);

      const viaHelp = await runPilotfish(['help', spec.name]);
      assert.equal(viaHelp.code, 0, viaHelp.stderr);
      assert.equal(viaHelp.stdout, r.stdout);
    });
  }

  it('pilotfish version and pilotfish --version print the version of package.json (exit 0)', async () => {
    for (const args of [['version'], ['--version']]) {
      const r = await runPilotfish(args);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `${VERSION}\n`);
    }
  });
});
