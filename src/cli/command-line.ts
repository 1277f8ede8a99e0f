// How a command and its flags are declared, and how one declaration becomes the parser (commander)
// and its help. Nothing else defines a flag: `pilotfish <cmd> --help`, the parser and the tests
// that check the help all read the same CommandSpec.
import { Command, CommanderError, Option } from 'commander';
import { UsageError } from './failure.js';

interface FlagSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  /** Applied when the flag is absent (string flags only). */
  readonly default?: string;
  /** The value's placeholder in help, like HOST:PORT. */
  readonly arg?: string;
  /** The only values accepted; listed in help and checked by the parser. */
  readonly choices?: readonly string[];
  readonly help: string;
}

export type FlagSpecs = Readonly<Record<string, FlagSpec>>;

/** Values by flag name as typed on the command line (`no-webhook`, not commander's `webhook`). */
type FlagValues<F extends FlagSpecs> = { -readonly [K in keyof F]?: F[K]['type'] extends 'boolean' ? boolean : string };

interface ArgSpec {
  readonly name: string;
  readonly help: string;
  readonly required?: boolean;
}

export interface ParsedLine<F extends FlagSpecs> {
  readonly values: FlagValues<F>;
  readonly positionals: readonly string[];
}

/** A command as declared: what the parser and the help are built from. */
interface CommandDefinition<F extends FlagSpecs = FlagSpecs> {
  readonly name: string;
  /** One line, for `pilotfish --help`. */
  readonly summary: string;
  /** Paragraphs after the usage line of `pilotfish <cmd> --help`. */
  readonly description?: string;
  readonly args?: readonly ArgSpec[];
  readonly flags: F;
  readonly examples?: readonly string[];
  /** Whether failures print their stack: the command's --log-level is debug. */
  debug?(values: FlagValues<F>): boolean;
}

/** A declared command with what runs it (command-table.ts pairs them). */
export interface CommandSpec<F extends FlagSpecs = FlagSpecs> extends CommandDefinition<F> {
  /** Imports the command's module (only when it is the one chosen) and runs it: the exit code. */
  run(line: ParsedLine<F>): Promise<number>;
}

/** Declares a command, keeping its flag names in the type of what its runner receives. */
export function defineCommand<F extends FlagSpecs>(spec: CommandDefinition<F>): CommandDefinition<F> {
  return spec;
}

/** A declared command with its runner. */
export function withRunner<F extends FlagSpecs>(spec: CommandDefinition<F>, run: (line: ParsedLine<F>) => Promise<number>): CommandSpec<F> {
  return { ...spec, run };
}

function optionOf(name: string, f: FlagSpec): Option {
  const flags = `${f.short ? `-${f.short}, ` : ''}--${name}${f.type === 'string' ? ` <${f.arg ?? 'VALUE'}>` : ''}`;
  const help = f.choices ? `${f.help} (one of: ${f.choices.join(', ')})` : f.help;
  const option = new Option(flags, help);
  if (f.default !== undefined) option.default(f.default);
  return option;
}

/** `error: unknown option '--x'\n(Did you mean --y?)` -> `pilotfish serve: unknown option '--x' (did you mean --y?)`. */
function usageMessage(command: string, commanderMessage: string): string {
  const text = commanderMessage.replace(/^error: /, '').replace(/\n\(Did you mean/, ' (did you mean').replace(/\s+$/, '');
  return `${command}: ${text}`;
}

/**
 * A commander Command parsing exactly what the spec declares: an unknown flag is an error (with a
 * suggestion when it is mistyped), help lists every flag. Read its result with parsedLineOf.
 */
export function buildCommand<F extends FlagSpecs>(spec: CommandDefinition<F>): Command {
  const cmd = new Command(spec.name)
    .summary(spec.summary)
    .description(spec.description ? `${spec.summary}\n\n${spec.description}` : spec.summary)
    // Surplus arguments are refused by parsedLineOf, with the argument named.
    .allowExcessArguments(true)
    .allowUnknownOption(false)
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      outputError: (str, write) => write(`${usageMessage(`pilotfish ${spec.name}`, str)}\n`),
    });
  for (const a of spec.args ?? []) cmd.argument(a.required ? `<${a.name}>` : `[${a.name}]`, a.help);
  for (const [name, f] of Object.entries(spec.flags)) cmd.addOption(optionOf(name, f));
  if (spec.examples && spec.examples.length > 0) {
    cmd.addHelpText('after', `\nExamples:\n${spec.examples.map((e) => `  ${e}`).join('\n')}`);
  }
  return cmd;
}

/**
 * The values of a parsed command, by flag name, with every flag's choices checked, and no more
 * arguments than the spec declares (commander's own message would not name the stray one).
 */
export function parsedLineOf<F extends FlagSpecs>(spec: CommandDefinition<F>, cmd: Command): ParsedLine<F> {
  const opts = cmd.opts<Record<string, unknown>>();
  const values: Record<string, string | boolean | undefined> = {};
  for (const option of cmd.options) {
    const name = option.long?.replace(/^--/, '');
    const f = name === undefined || !Object.prototype.hasOwnProperty.call(spec.flags, name) ? undefined : spec.flags[name];
    if (name === undefined || f === undefined) continue;
    const v = opts[option.attributeName()];
    if (f.type === 'boolean') {
      // commander stores `--no-webhook` as webhook=false; the flag's own name is what code reads.
      values[name] = option.negate ? v === false : v === true;
      continue;
    }
    if (typeof v !== 'string') continue;
    if (f.choices && !f.choices.includes(v)) {
      const flag = `${f.short ? `-${f.short}/` : ''}--${name}`;
      const allowed = f.choices.length === 2 ? `${f.choices[0]} or ${f.choices[1]}` : `one of ${f.choices.join(', ')}`;
      throw new UsageError(`pilotfish ${spec.name}: ${flag} must be ${allowed} (got "${v}")`);
    }
    values[name] = v;
  }
  const declared = spec.args?.length ?? 0;
  const extra = cmd.args[declared];
  if (extra !== undefined) {
    const takes = declared === 0 ? 'takes no arguments, only flags' : `takes at most ${declared} argument${declared === 1 ? '' : 's'}`;
    throw new UsageError(`pilotfish ${spec.name}: unexpected argument "${extra}" (${spec.name} ${takes})`);
  }
  return { values: values as FlagValues<F>, positionals: [...cmd.args] };
}

/**
 * Parses one command's arguments (argv after the command name) on its own, as the full program
 * would; for callers that run a command without the program around it (tests, embedders).
 * Usage mistakes throw UsageError; nothing is printed.
 */
export function parseCommandLine<F extends FlagSpecs>(spec: CommandDefinition<F>, argv: readonly string[]): ParsedLine<F> {
  const cmd = buildCommand(spec).configureOutput({ writeOut: () => undefined, writeErr: () => undefined, outputError: () => undefined });
  cmd.helpOption(false);
  try {
    cmd.parse([...argv], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) throw new UsageError(usageMessage(`pilotfish ${spec.name}`, err.message));
    throw err;
  }
  return parsedLineOf(spec, cmd);
}
