// The whole command line: `pilotfish <command> [flags]`, built from the command table, with help
// (`pilotfish help <command>`, `pilotfish <command> --help`), `--version`, suggestions for
// mistyped commands and flags, and the exit codes the README documents.
import { Command, CommanderError } from 'commander';
import { buildCommand, parsedLineOf, type CommandSpec } from './command-line.js';
import { COMMANDS } from './command-table.js';
import { EXIT } from './exit-codes.js';
import { failureReport, UsageError } from './failure.js';
import { pilotfishVersion } from './version.js';

interface ProgramIO {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

function buildProgram(io: ProgramIO, ran: (code: number) => void): Command {
  const program = new Command('pilotfish')
    .description('pilotfish — a small, fast service-mesh control plane (sidecar injector, controller and xDS server)')
    .version(pilotfishVersion(), '--version', 'print the version')
    .helpCommand('help [command]', 'show help for a command')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      outputError: (s, write) => write(`${s.replace(/^error: /, 'pilotfish: ').replace(/\n\(Did you mean/, ' (did you mean')}`),
    })
    .addHelpText('after', '\nExit codes: 0 ok, 1 runtime failure, 2 usage error, 3 problems found in the config (analyze, config-dump).\n'
      + 'Run `pilotfish help <command>` for a command\'s flags.');
  for (const spec of COMMANDS) {
    const cmd = buildCommand(spec).configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
    cmd.action(async () => { ran(await runSpec(spec, cmd, io)); });
    program.addCommand(cmd);
  }
  return program;
}

async function runSpec(spec: CommandSpec, cmd: Command, io: ProgramIO): Promise<number> {
  const name = `pilotfish ${spec.name}`;
  let debug = false;
  try {
    const line = parsedLineOf(spec, cmd);
    debug = spec.debug?.(line.values) ?? false;
    return await spec.run(line);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`${err.message}\n`);
      return EXIT.usage;
    }
    io.stderr.write(failureReport(name, err, debug));
    return EXIT.failure;
  }
}

/** Runs the command line (argv without node and the script); resolves with the exit code. */
export async function runProgram(argv: readonly string[], io: ProgramIO): Promise<number> {
  let code: number = EXIT.ok;
  const program = buildProgram(io, (c) => { code = c; });
  // `pilotfish help serv`: commander would print the general help; say what is wrong instead.
  const unknownHelp = argv[0] === 'help' && argv[1] !== undefined && !COMMANDS.some((c) => c.name === argv[1]);
  try {
    await program.parseAsync(unknownHelp ? argv.slice(1, 2) : [...argv], { from: 'user' });
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err;
    // Help and --version exit 0; `pilotfish` alone prints help and is a usage error, as is every parse error.
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return EXIT.ok;
    if (err.code === 'commander.help') return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    return EXIT.usage;
  }
  return code;
}
